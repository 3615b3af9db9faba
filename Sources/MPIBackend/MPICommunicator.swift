import CMPI
import Foundation
import ForgeCore

/// `Communicator` over MPI_COMM_WORLD. The only place in QForge that calls MPI.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let ranksOnNode: Int
    private let comm = qf_comm_world()

    /// Initialises MPI (once per process).
    public init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 { MPI_Init(nil, nil) }
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
        var nodeComm = qf_comm_null()  // a handle is a pointer in Open MPI, an int in MPICH
        MPI_Comm_split_type(comm, qf_comm_type_shared(), r, qf_info_null(), &nodeComm)
        var n: Int32 = 1
        MPI_Comm_size(nodeComm, &n)
        MPI_Comm_free(&nodeComm)
        ranksOnNode = Int(n)
    }

    /// The MPI library's own name and version (callable before MPI_Init): "Open MPI v4.1.4, ...",
    /// "MPICH Version: 4.0.2 ...", first line only.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(qf_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)  // Open MPI counts the NUL
        let firstLine = text.split(separator: "\n").first ?? ""
        return firstLine.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // MPICH pads with tabs
    }

    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    public func barrier() { MPI_Barrier(comm) }

    public func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int) {
        precondition(send.count == receive.count && send.count < Int(Int32.max))
        MPI_Sendrecv(send.baseAddress, Int32(send.count), qf_byte(), Int32(partner), 7,
                     receive.baseAddress, Int32(receive.count), qf_byte(), Int32(partner), 7,
                     comm, qf_status_ignore())
    }

    public func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int,
                         into receive: UnsafeMutableRawBufferPointer, from source: Int) {
        precondition(send.count < Int(Int32.max) && receive.count < Int(Int32.max))
        MPI_Sendrecv(send.baseAddress, Int32(send.count), qf_byte(), Int32(destination), 8,
                     receive.baseAddress, Int32(receive.count), qf_byte(), Int32(source), 8,
                     comm, qf_status_ignore())
    }

    public func allreduceSum(_ values: inout [Double]) {
        let count = Int32(values.count)
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(qf_in_place(), $0.baseAddress, count, qf_double(), qf_op_sum(), comm)
        }
    }

    public func allreduceSum(_ values: inout [UInt64]) {
        let count = Int32(values.count)
        values.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(qf_in_place(), $0.baseAddress, count, qf_uint64(), qf_op_sum(), comm)
        }
    }

    public func allgather(_ values: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: values.count * size)
        values.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { r in
                _ = MPI_Allgather(s.baseAddress, Int32(values.count), qf_double(),
                                  r.baseAddress, Int32(values.count), qf_double(), comm)
            }
        }
        return out
    }

    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]? {
        var myCount = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: size)
        MPI_Gather(&myCount, 1, qf_int32(), &counts, 1, qf_int32(), Int32(root), comm)
        var displacements = [Int32](repeating: 0, count: size)
        for i in 1..<max(size, 1) { displacements[i] = displacements[i - 1] + counts[i - 1] }
        let total = Int(counts.reduce(0, +))
        var all = [UInt8](repeating: 0, count: rank == root ? max(total, 1) : 1)
        bytes.withUnsafeBufferPointer { s in
            _ = MPI_Gatherv(s.baseAddress, myCount, qf_byte(), &all, counts, displacements, qf_byte(), Int32(root), comm)
        }
        guard rank == root else { return nil }
        return (0..<size).map { Array(all[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])]) }
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) {
        var count = Int64(bytes.count)
        MPI_Bcast(&count, 1, qf_int64(), Int32(root), comm)
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count)) }
        if count > 0 { MPI_Bcast(&bytes, Int32(count), qf_byte(), Int32(root), comm) }
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}


