// Run catalog (issue 5): work in progress.
