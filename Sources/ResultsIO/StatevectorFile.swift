// The statevector result file (README "Result files", job_kind "statevector") and the root attributes
// shared by every result file.
import CHDF5
import ForgeCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Root attributes of every result file.
public struct RunMetadata: Sendable, Equatable {
    public var qforgeVersion: String
    public var jobKind: String
    /// A UUID string.
    public var runID: String
    /// ISO-8601 UTC, e.g. "2025-01-31T12:00:00Z".
    public var created: String
    public var ranks: Int
    public var wallSeconds: Double
    /// The job text (TOML, or the equivalent of the command line).
    public var config: String
    public var slurmJobID: String?

    public init(jobKind: String, config: String, ranks: Int, wallSeconds: Double,
                runID: String = UUID().uuidString.lowercased(),
                created: String = RunMetadata.timestamp(),
                slurmJobID: String? = RunMetadata.environmentSlurmJobID,
                qforgeVersion: String = ForgeCore.qforgeVersion) {
        self.qforgeVersion = qforgeVersion
        self.jobKind = jobKind
        self.runID = runID
        self.created = created
        self.ranks = ranks
        self.wallSeconds = wallSeconds
        self.config = config
        self.slurmJobID = slurmJobID
    }

    /// Every field given, in declaration order.
    public init(qforgeVersion: String, jobKind: String, runID: String, created: String, ranks: Int,
                wallSeconds: Double, config: String, slurmJobID: String? = nil) {
        self.init(jobKind: jobKind, config: config, ranks: ranks, wallSeconds: wallSeconds, runID: runID,
                  created: created, slurmJobID: slurmJobID, qforgeVersion: qforgeVersion)
    }

    /// ISO-8601 in UTC with seconds, e.g. "2025-01-31T12:00:00Z".
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// `SLURM_JOB_ID` when running under Slurm.
    public static var environmentSlurmJobID: String? {
        guard let id = ProcessInfo.processInfo.environment["SLURM_JOB_ID"], !id.isEmpty else { return nil }
        return id
    }

    /// Writes the root attributes: strings as variable-length UTF-8, `ranks` int64, `wall_seconds` float64.
    public func write(to object: H5Object) throws {
        try object.setAttribute("qforge_version", qforgeVersion)
        try object.setAttribute("job_kind", jobKind)
        try object.setAttribute("run_id", runID)
        try object.setAttribute("created", created)
        try object.setAttribute("ranks", Int64(ranks))
        try object.setAttribute("wall_seconds", wallSeconds)
        try object.setAttribute("config", config)
        if let slurmJobID { try object.setAttribute("slurm_job_id", slurmJobID) }
    }

    /// Reads the root attributes back; nil if `job_kind` is missing (e.g. an unfinished file).
    public static func read(from object: H5Object) throws -> RunMetadata? {
        guard let kind = try object.attributeIfPresent("job_kind")?.stringValue else { return nil }
        func string(_ name: String) throws -> String { try object.attributeIfPresent(name)?.stringValue ?? "" }
        return RunMetadata(
            jobKind: kind,
            config: try string("config"),
            ranks: Int(try object.attributeIfPresent("ranks")?.intValue ?? 0),
            wallSeconds: try object.attributeIfPresent("wall_seconds")?.doubleValue ?? 0,
            runID: try string("run_id"),
            created: try string("created"),
            slurmJobID: try object.attributeIfPresent("slurm_job_id")?.stringValue,
            qforgeVersion: try string("qforge_version"))
    }
}

/// Writer and readers for statevector results. Rank 0 creates the file (metadata and an
/// allocated, unwritten /state/amplitudes) and finishes it; every rank writes its own slice of
/// the amplitudes at once, with `pwrite` at the dataset's byte offset (see `SharedFile`).
public enum StatevectorFile {
    public static let qasmPath = "/circuit/qasm"
    public static let amplitudesPath = "/state/amplitudes"
    public static let countsPath = "/measurements/counts"
    public static let expectationsPath = "/observables/expectations"

    /// Bytes per stored amplitude: compound {r: f64, i: f64}.
    public static let amplitudeBytes: UInt64 = 16
    /// Amplitudes per block when converting or reading: 2^16 × 16 bytes = 1 MiB.
    public static let amplitudesPerBlock: UInt64 = 1 << 16

    /// Rank 0: creates `path` (pass the `.partial` name) with /circuit/qasm (attributes
    /// n_qubits, n_gates, sha256) and, unless `amplitudeCount` is nil, /state/amplitudes of that
    /// length, compound {r: f64, i: f64} (attribute `precision`), contiguous, its file space
    /// allocated now and never filled. Returns the byte offset of amplitude 0 in the file (nil
    /// without amplitudes), where the ranks write their slices (`writeAmplitudes`).
    @discardableResult
    public static func create(path: String, qasm: String, qubits: Int, gates: Int,
                              amplitudeCount: UInt64?, precision: String) throws -> UInt64? {
        guard precision == "double" || precision == "single" else {
            throw InputError("precision must be 'double' or 'single', not '\(precision)'")
        }
        let file = try H5File.create(path)
        let circuit = try file.writeDataset(qasmPath, string: qasm)
        try circuit.setAttribute("n_qubits", Int64(qubits))
        try circuit.setAttribute("n_gates", Int64(gates))
        try circuit.setAttribute("sha256", SHA256.hex(qasm.utf8))
        try circuit.close()
        var offset: UInt64? = nil
        if let amplitudeCount {
            let amplitudes = try file.createDataset(amplitudesPath, type: .complex128(), shape: [amplitudeCount],
                                                    allocateEarly: amplitudeCount > 0)
            try amplitudes.setAttribute("precision", precision)
            offset = amplitudeCount > 0 ? try amplitudes.fileOffset() : 0
            try amplitudes.close()
        }
        try file.close()
        return offset
    }

    /// Writes amplitudes [first, first + interleaved.count/2) from (re, im, re, im, ...) into a
    /// file whose /state/amplitudes (of `total` amplitudes) begins at byte `dataOffset`
    /// (`create`'s result): the buffer goes out as it is (the stored compound has its layout).
    public static func writeAmplitudes(_ file: SharedFile, dataOffset: UInt64, total: UInt64, first: UInt64,
                                       interleaved: UnsafeBufferPointer<Double>) throws {
        try checkSlice(file, total: total, first: first, values: interleaved.count)
        guard interleaved.count > 0 else { return }
        try file.write(UnsafeRawBufferPointer(interleaved), at: dataOffset + first * amplitudeBytes)
    }

    /// Single-precision variant: converted to f64 through a 1 MiB scratch block (never a
    /// full-size copy), written block by block.
    public static func writeAmplitudes(_ file: SharedFile, dataOffset: UInt64, total: UInt64, first: UInt64,
                                       interleaved: UnsafeBufferPointer<Float>) throws {
        try checkSlice(file, total: total, first: first, values: interleaved.count)
        let n = UInt64(interleaved.count / 2)
        var scratch = [Double](repeating: 0, count: Int(2 * min(amplitudesPerBlock, max(n, 1))))
        var done: UInt64 = 0
        while done < n {
            let count = min(n - done, amplitudesPerBlock)
            let source = interleaved.baseAddress! + Int(2 * done)
            try scratch.withUnsafeMutableBufferPointer { target in
                for k in 0..<Int(2 * count) { target[k] = Double(source[k]) }
                try file.write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(target)[0..<Int(count * amplitudeBytes)]),
                               at: dataOffset + (first + done) * amplitudeBytes)
            }
            done += count
        }
    }

    /// A slice of `values` interleaved numbers from amplitude `first` must lie inside the state.
    private static func checkSlice(_ file: SharedFile, total: UInt64, first: UInt64, values: Int) throws {
        guard values % 2 == 0 else {
            throw RuntimeError("amplitudes for '\(file.path)': interleaved buffer has odd length \(values)")
        }
        guard first <= total, UInt64(values / 2) <= total - first else {
            throw RuntimeError("amplitudes [\(first), \(first + UInt64(values / 2))) lie outside the \(total) of '\(file.path)'")
        }
    }

    /// Rank 0 at the end: /measurements/counts (sorted by outcome; attributes shots, seed) when
    /// `counts` is not nil, /observables/expectations, and the root attributes.
    public static func finish(path: String, metadata: RunMetadata, counts: [(outcome: UInt64, count: UInt64)]?,
                              shots: Int, seed: UInt64, expectations: [(label: String, value: Double)]) throws {
        let file = try H5File.open(path, mode: .readWrite)
        if let counts {
            let sorted = counts.sorted { $0.outcome < $1.outcome }
            var flat: [UInt64] = []
            flat.reserveCapacity(2 * sorted.count)
            for c in sorted { flat.append(c.outcome); flat.append(c.count) }
            let dataset = try file.createDataset(countsPath, type: try countsType(file: true), shape: [UInt64(sorted.count)])
            if !sorted.isEmpty {
                try flat.withUnsafeBytes { raw in
                    try dataset.write(raw: raw.baseAddress!, memoryType: try countsType(file: false),
                                      offset: [0], count: [UInt64(sorted.count)])
                }
            }
            try dataset.setAttribute("shots", Int64(shots))
            try dataset.setAttribute("seed", seed)
            try dataset.close()
        }
        try writeExpectations(file, expectations)
        try metadata.write(to: file)
        try file.close()
    }

    static func countsType(file: Bool) throws -> H5Type {
        let u64 = file ? H5Type.file(UInt64.self) : H5Type.memory(UInt64.self)
        return try .compound(size: 16, [("outcome", 0, u64), ("count", 8, u64)])
    }

    /// {label: variable-length UTF-8 string, value: f64}; in memory {char *label; double value}.
    static func expectationsType(file: Bool) throws -> H5Type {
        let pointerSize = MemoryLayout<UnsafeMutablePointer<CChar>?>.size
        let valueOffset = max(pointerSize, MemoryLayout<Double>.alignment)
        return try .compound(size: file ? 16 : valueOffset + 8,
                             [("label", 0, try .variableString()),
                              ("value", file ? 8 : valueOffset, file ? .file(Double.self) : .memory(Double.self))])
    }

    private static func writeExpectations(_ file: H5File, _ expectations: [(label: String, value: Double)]) throws {
        let memoryType = try expectationsType(file: false)
        let stride = H5Tget_size(memoryType.id)
        let valueOffset = stride - 8
        let dataset = try file.createDataset(expectationsPath, type: try expectationsType(file: true),
                                             shape: [UInt64(expectations.count)])
        defer { try? dataset.close() }
        if expectations.isEmpty { return }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: stride * expectations.count, alignment: 8)
        var labels: [UnsafeMutablePointer<CChar>?] = []
        defer {
            for label in labels { free(label) }
            buffer.deallocate()
        }
        for (i, e) in expectations.enumerated() {
            let label = strdup(e.label)
            labels.append(label)
            buffer.storeBytes(of: label, toByteOffset: i * stride, as: UnsafeMutablePointer<CChar>?.self)
            buffer.storeBytes(of: e.value, toByteOffset: i * stride + valueOffset, as: Double.self)
        }
        try dataset.write(raw: buffer, memoryType: memoryType, offset: [0], count: [UInt64(expectations.count)])
    }

    // MARK: Readers

    /// Amplitudes [offset, offset+count) as interleaved (re, im) pairs.
    public static func readAmplitudes(path: String, offset: UInt64, count: UInt64) throws -> [Double] {
        let file = try H5File.open(path)
        let dataset = try file.openDataset(amplitudesPath)
        let memoryType = try H5Type.complex128(file: false)
        var values = [Double](repeating: 0, count: Int(2 * count))
        try values.withUnsafeMutableBytes { raw in
            try dataset.read(into: raw.baseAddress!, memoryType: memoryType, offset: [offset], count: [count])
        }
        return values
    }

    /// Streams /state/amplitudes of an open file in blocks of at most `block` amplitudes:
    /// `body(firstIndex, interleaved)`. Memory stays at one block whatever the state size.
    public static func forEachAmplitudeBlock(in file: H5File, block: UInt64 = amplitudesPerBlock,
                                             _ body: (UInt64, UnsafeBufferPointer<Double>) throws -> Void) throws {
        let dataset = try file.openDataset(amplitudesPath)
        guard let total = try dataset.shape().first else { return }
        let memoryType = try H5Type.complex128(file: false)
        let step = max(block, 1)
        var scratch = [Double](repeating: 0, count: Int(2 * min(step, max(total, 1))))
        var start: UInt64 = 0
        while start < total {
            let count = min(step, total - start)
            try scratch.withUnsafeMutableBytes { raw in
                try dataset.read(into: raw.baseAddress!, memoryType: memoryType, offset: [start], count: [count])
            }
            try scratch.withUnsafeBufferPointer { try body(start, UnsafeBufferPointer(rebasing: $0[0..<Int(2 * count)])) }
            start += count
        }
    }

    /// /measurements/counts, or nil if the file has none.
    public static func readCounts(path: String) throws -> [(outcome: UInt64, count: UInt64)]? {
        let file = try H5File.open(path)
        return try readCounts(in: file)
    }

    public static func readCounts(in file: H5File) throws -> [(outcome: UInt64, count: UInt64)]? {
        guard file.exists(countsPath) else { return nil }
        let dataset = try file.openDataset(countsPath)
        let n = try dataset.shape().first ?? 0
        var flat = [UInt64](repeating: 0, count: Int(2 * n))
        try flat.withUnsafeMutableBytes { raw in
            try dataset.read(into: raw.baseAddress!, memoryType: try countsType(file: false), offset: [0], count: [n])
        }
        return (0..<Int(n)).map { (flat[2 * $0], flat[2 * $0 + 1]) }
    }

    /// /observables/expectations, or nil if the file has none.
    public static func readExpectations(path: String) throws -> [(label: String, value: Double)]? {
        let file = try H5File.open(path)
        return try readExpectations(in: file)
    }

    public static func readExpectations(in file: H5File) throws -> [(label: String, value: Double)]? {
        guard file.exists(expectationsPath) else { return nil }
        let dataset = try file.openDataset(expectationsPath)
        let n = Int(try dataset.shape().first ?? 0)
        if n == 0 { return [] }
        let memoryType = try expectationsType(file: false)
        let stride = H5Tget_size(memoryType.id)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: stride * n, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: stride * n)
        defer { buffer.deallocate() }
        try dataset.read(into: buffer, memoryType: memoryType, offset: [0], count: [UInt64(n)])
        var result: [(label: String, value: Double)] = []
        for i in 0..<n {
            let label = buffer.load(fromByteOffset: i * stride, as: UnsafeMutablePointer<CChar>?.self)
            let value = buffer.load(fromByteOffset: i * stride + stride - 8, as: Double.self)
            result.append((label.map { String(cString: $0) } ?? "", value))
        }
        let space = H5Space(try H5.check(H5Screate_simple(1, [hsize_t(n)], nil), "H5Screate_simple", dataset.location))
        _ = qf_vlen_reclaim(memoryType.id, space.id, buffer)
        return result
    }
}
