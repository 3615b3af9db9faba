// Every rank writes its own part of one result file at once, beside serial HDF5.
//
// Rank 0 creates the file with HDF5: metadata, small datasets, and the large datasets (the
// statevector, per-atom frames and restart columns) allocated early and never filled, so their
// bytes have a fixed place in the file that HDF5 itself never writes. Rank 0 shares those byte
// offsets; every rank opens the same file with POSIX `open` and `pwrite`s its own ranges, then
// `fsync`s; after a barrier rank 0 renames `.partial` to the final name. No byte is written by
// two processes, so serial HDF5 (Debian's libhdf5-dev) is enough and the result stays a plain
// HDF5 file. The choice is argued in docs/io.md.
import ForgeCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if !_endian(little)
#error("rows are written as they lie in memory; the file types are little-endian")
#endif

/// One rank's POSIX handle on a result file (a `.partial`) that rank 0 created: `pwrite`s of
/// ranges HDF5 allocated early (see `H5Location.createDataset(allocateEarly:)`).
public final class SharedFile {
    public let path: String
    private var fd: Int32
    /// Bytes this handle wrote.
    public private(set) var bytesWritten: UInt64 = 0

    /// Opens an existing file for writing (never creates or truncates it).
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError("cannot open '\(path)' for writing: \(String(cString: strerror(errno)))") }
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Writes `bytes` at byte `offset` of the file (in pieces of at most 1 GiB; retried on EINTR
    /// and short writes).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard fd >= 0 else { throw RuntimeError("'\(path)' is closed") }
        var done = 0
        while done < bytes.count {
            let n = min(bytes.count - done, 1 << 30)
            let written = pwrite(fd, bytes.baseAddress! + done, n, off_t(offset) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            done += written
        }
        bytesWritten += UInt64(bytes.count)
    }

    /// Flushes this rank's data to the device (before rank 0 may rename the file).
    public func sync() throws {
        guard fd >= 0 else { return }
        if fsync(fd) != 0 { throw RuntimeError("cannot sync '\(path)': \(String(cString: strerror(errno)))") }
    }

    /// `sync`, then close.
    public func close() throws {
        guard fd >= 0 else { return }
        defer { _ = Glibc.close(fd); fd = -1 }
        try sync()
    }
}

/// Runs `prepare` on rank 0 (creating or extending a file) and gives its result, the byte offsets
/// where the ranks are to write, to every rank. If it fails, every rank throws.
public func prepareOnRoot(comm: Communicator, _ prepare: () throws -> [UInt64]) throws -> [UInt64] {
    var offsets: [UInt64] = []
    try writeOnRoot(comm: comm) { offsets = try prepare() }
    var bytes = offsets.withUnsafeBytes { Array($0) }
    comm.broadcast(&bytes, root: 0)
    return bytes.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) } }
}

/// Every rank at once opens `path`, lets `body` write its ranges, then (after all have written)
/// syncs and closes it; returns
/// when every rank's data is on disk, with the bytes all ranks wrote. If any rank fails, every
/// rank throws the lowest failing rank's error (`Communicator.agree`).
@discardableResult
public func writeConcurrently(comm: Communicator, path: String, _ body: (SharedFile) throws -> Void) throws -> UInt64 {
    let file = try comm.agree { try SharedFile(path: path) }
    try comm.agree { try body(file) }
    // Every rank's writes are issued before any rank syncs: on a shared local disk an fsync
    // racing the other ranks' writes interleaves writeback with them (measured 20–50 % slower
    // for 2 GiB on 2 and 4 ranks); on a parallel file system each client syncs its own pages.
    try comm.agree { try file.close() }
    var total = [file.bytesWritten]
    comm.allreduceSum(&total)
    return total[0]
}

// MARK: Per-atom rows

/// Where each atom's row lies in a per-atom dataset: rows are in global id order, so an atom's
/// row is the position of its id among all ids. Ids 1…N (any contiguous range) need no table;
/// other id sets keep the sorted ids (the same on every rank).
public struct AtomRowIndex: Sendable {
    public let count: Int
    private let first: Int64
    private let sorted: [Int64]?

    public init(ids: [Int64]) {
        count = ids.count
        let lo = ids.min() ?? 0, hi = ids.max() ?? -1
        first = lo
        sorted = Self.fillsRange(ids, from: lo, to: hi) ? nil : ids.sorted()
    }

    /// The ids in ascending order (row order).
    public var sortedIDs: [Int64] { sorted ?? (0..<count).map { first + Int64($0) } }

    /// True when `ids` are lo…hi, each once (a bitmap: N/8 bytes).
    private static func fillsRange(_ ids: [Int64], from lo: Int64, to hi: Int64) -> Bool {
        guard hi - lo + 1 == Int64(ids.count) else { return false }
        var seen = [UInt64](repeating: 0, count: (ids.count + 63) / 64)
        for id in ids {
            let k = Int(id - lo), bit = UInt64(1) << UInt64(k % 64)
            if seen[k / 64] & bit != 0 { return false }
            seen[k / 64] |= bit
        }
        return true
    }

    public func row(of id: Int64) -> Int {
        guard let sorted else { return Int(id - first) }
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// This rank's atoms in row order: the k-th is local atom `local[k]`, at row `rows[k]`.
public struct OwnedRows: Sendable {
    public let local: [Int]
    public let rows: [Int]
    public var count: Int { rows.count }

    /// `ids[i]` is the id of local atom i.
    public init(ids: [Int64], index: AtomRowIndex) {
        let pairs = ids.indices.map { (row: index.row(of: ids[$0]), local: $0) }.sorted { $0.row < $1.row }
        local = pairs.map(\.local)
        rows = pairs.map(\.row)
    }

    private init(local: [Int], rows: [Int]) { (self.local, self.rows) = (local, rows) }

    /// Every row 0..<n, held by one writer in row order.
    public static func all(_ n: Int) -> OwnedRows { OwnedRows(local: Array(0..<n), rows: Array(0..<n)) }
    public static let none = OwnedRows(local: [], rows: [])
}

/// One per-atom dataset's values for this rank's atoms: `rowBytes` per atom (as stored, e.g. 24
/// for x, y, z in f64); `fill(i, destination)` writes local atom i's row.
public struct AtomColumn {
    public let name: String
    public let rowBytes: Int
    public let fill: (Int, UnsafeMutableRawPointer) -> Void

    public init(_ name: String, rowBytes: Int, fill: @escaping (Int, UnsafeMutableRawPointer) -> Void) {
        (self.name, self.rowBytes, self.fill) = (name, rowBytes, fill)
    }

    /// `width` values of type T per atom from a flat array indexed by local atom.
    public static func values<T>(_ name: String, _ values: [T], width: Int = 1) -> AtomColumn {
        AtomColumn(name, rowBytes: width * MemoryLayout<T>.stride) { i, destination in
            values.withUnsafeBufferPointer { src in
                destination.copyMemory(from: src.baseAddress! + width * i, byteCount: width * MemoryLayout<T>.stride)
            }
        }
    }
}

extension SharedFile {
    /// Scratch for coalescing rows: 4 MiB whatever the atom count.
    static let rowScratchBytes = 4 << 20

    /// Writes `column` for the `owned` atoms into a per-atom block whose row 0 lies at `offset`
    /// (row r at offset + r·rowBytes). Rows of consecutive row numbers go out in one `pwrite`,
    /// through a scratch of at most 4 MiB.
    public func writeRows(_ column: AtomColumn, owned: OwnedRows, at offset: UInt64) throws {
        let size = column.rowBytes
        guard owned.count > 0, size > 0 else { return }
        let capacity = max(1, Self.rowScratchBytes / size)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: min(capacity, owned.count) * size, alignment: 16)
        defer { scratch.deallocate() }
        var k = 0
        while k < owned.count {
            // A run: consecutive rows, at most `capacity` of them.
            let start = owned.rows[k]
            var n = 0
            while k + n < owned.count && n < capacity && owned.rows[k + n] == start + n {
                column.fill(owned.local[k + n], scratch + n * size)
                n += 1
            }
            try write(UnsafeRawBufferPointer(start: scratch, count: n * size), at: offset + UInt64(start) * UInt64(size))
            k += n
        }
    }
}

// MARK: Write statistics

/// Bytes and wall time of one kind of output (result, frames, restarts, checkpoints), summed
/// over writes, for the run summary.
public struct WriteStatistics: Sendable {
    public var writes = 0
    public var bytes: UInt64 = 0
    public var seconds = 0.0
    public init() {}

    public mutating func add(bytes: UInt64, seconds: Double) {
        writes += 1
        self.bytes += bytes
        self.seconds += seconds
    }

    /// "2.00 GiB in 1.234 s (1.62 GiB/s)".
    public var summary: String {
        let rate = seconds > 0 ? Double(bytes) / seconds : 0
        return "\(formatBytes(bytes)) in \(String(format: "%.3f", seconds)) s (\(formatBytes(UInt64(rate)))/s)"
    }
}
