import ArgumentParser
import ForgeCore
import Foundation
import Statevector

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job file (TOML); `kind` selects the engine.",
        discussion: """
        Paths in the job file are relative to the job file's folder; `output` is relative to the
        current directory (default results/<job name>.h5). See README.md for every key.

        Example job (configs/ghz.toml):
          kind = "statevector"
          circuit = "ghz.qasm"
          shots = 1000
          seed = 7
          observables = ["Z0 Z9"]

        Kinds: statevector, md, vqe (VQE ground energy), bomd (Born–Oppenheimer MD on the VQE
        energy), qmmm (a VQE molecule in a Lennard-Jones bath); docs/vqe.md covers the last three.

        Examples:
          qforge run configs/ghz.toml
          qforge run configs/h2-vqe.toml
          mpirun -np 2 qforge run configs/qft.toml -o results/qft.h5
        """
    )

    @Argument(help: "Job file (TOML).")
    var job: String

    @Option(name: .shortAndLong, help: "Result file; overrides the job's `output`.")
    var output: String?

    @Flag(help: "No progress output on stderr.")
    var quiet = false

    @OptionGroup(title: "Run catalog")
    var catalog: CatalogOptions

    func run() throws {
        let file = try JobFile(contentsOf: job)
        let kind = try file.require("kind", file.string)
        let jobName = ((job as NSString).lastPathComponent as NSString).deletingPathExtension
        let defaultOutput = try output ?? file.string("output") ?? "results/\(jobName).h5"
        switch kind {
        case "statevector":
            var job = try StatevectorJob(file: file, output: defaultOutput)
            job.catalog = catalog
            try job.run(config: file.text, quiet: quiet)
        case "md":
            try RunRecording.recorded(kind: "md", options: catalog, resultPath: try output ?? file.string("output") ?? "results/\(jobName).h5md") { _ in
                try MDJob(file: file, output: output ?? file.string("output") ?? "results/\(jobName).h5md").run(config: file.text, quiet: quiet)
            }
        case "vqe":
            try RunRecording.recorded(kind: "vqe", options: catalog, resultPath: defaultOutput) { recording in
                try VQEJob(file: file, output: defaultOutput).run(config: file.text, quiet: quiet, recording: recording)
            }
        case "bomd":
            try RunRecording.recorded(kind: "bomd", options: catalog, resultPath: defaultOutput) { recording in
                try BOMDJob(file: file, output: defaultOutput).run(config: file.text, quiet: quiet, recording: recording)
            }
        case "qmmm":
            try RunRecording.recorded(kind: "qmmm", options: catalog, resultPath: defaultOutput) { recording in
                try QMMMJob(file: file, output: defaultOutput).run(config: file.text, quiet: quiet, recording: recording)
            }
        default:
            throw file.error("unknown job kind '\(kind)' (known: statevector, md, vqe, bomd, qmmm)", at: "kind")
        }
    }
}

extension StatevectorJob {
    static let keys: Set<String> = ["kind", "circuit", "output", "shots", "seed", "observables", "precision", "write_state", "threads", "max_fused"]

    init(file: JobFile, output: String) throws {
        try file.checkKeys(allowed: Self.keys)
        let circuitPath = try file.require("circuit", file.string)
        let folder = (file.path as NSString).deletingLastPathComponent
        circuit = circuitPath.hasPrefix("/") || folder.isEmpty ? circuitPath : folder + "/" + circuitPath
        self.output = output
        shots = try file.integer("shots") ?? 0
        guard shots >= 0 else { throw file.error("'shots' must be ≥ 0", at: "shots") }
        let seedValue = try file.integer("seed") ?? 1
        guard seedValue >= 0 else { throw file.error("'seed' must be ≥ 0", at: "seed") }
        seed = UInt64(seedValue)
        observables = try file.strings("observables") ?? []
        if let p = try file.string("precision") {
            guard let value = Precision(rawValue: p) else { throw file.error("'precision' must be \"double\" or \"single\"", at: "precision") }
            precision = value
        }
        writeState = try file.boolean("write_state") ?? true
        if let t = try file.integer("threads") {
            guard t >= 1 else { throw file.error("'threads' must be ≥ 1", at: "threads") }
            threads = t
        }
        if let f = try file.integer("max_fused") {
            guard (0...6).contains(f) else { throw file.error("'max_fused' must be between 0 and 6", at: "max_fused") }
            maxFused = f
        }
    }
}
