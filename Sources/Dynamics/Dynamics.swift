// Molecular dynamics engine (issue 4): work in progress.
