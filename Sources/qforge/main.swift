import ArgumentParser
import ForgeCore
import Foundation
import MPIBackend

// Under mpirun every rank runs this; only rank 0 prints.
setvbuf(stdout, nil, _IOLBF, 0)
let status = QForge.main(arguments: Array(CommandLine.arguments.dropFirst()))
Launch.finalize()
exit(status)
