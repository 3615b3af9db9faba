#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The collective and point-to-point operations the engines need, implemented for real by
/// `MPICommunicator` and in-process by `SerialCommunicator`. Engines only see this protocol.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Ranks sharing this node (for the memory check).
    var ranksOnNode: Int { get }
    func barrier()
    /// Exchanges equal-sized byte buffers with `partner` (one message each way).
    /// Callers keep each message below 2^31 bytes.
    func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int)
    /// Sends `send` to `destination` while receiving from `source` into `receive`; the two sizes
    /// may differ (the receiver must know its incoming size, e.g. from a count exchanged first).
    /// Domain decomposition's halo swaps use it. Callers keep each message below 2^31 bytes.
    func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int,
                  into receive: UnsafeMutableRawBufferPointer, from source: Int)
    /// Element-wise sum over ranks, result on every rank.
    func allreduceSum(_ values: inout [Double])
    func allreduceSum(_ values: inout [UInt64])
    /// Every rank's values, concatenated in rank order (each rank gives the same count).
    func allgather(_ values: [Double]) -> [Double]
    /// Bytes of every rank on `root` (in rank order); nil elsewhere.
    func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]?
    func broadcast(_ bytes: inout [UInt8], root: Int)
    /// Ends every rank of the job at once (after a fatal error on one rank).
    func abort(code: Int32) -> Never
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// True on every rank if `flag` is true on any rank: ranks agree before acting on errors.
    public func any(_ flag: Bool) -> Bool {
        var v: [Double] = [flag ? 1 : 0]
        allreduceSum(&v)
        return v[0] > 0
    }

    /// Broadcasts a UTF-8 string from `root`.
    public func broadcast(_ text: String, root: Int) -> String {
        var bytes = Array(text.utf8)
        broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One process, one rank.
public final class SerialCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var ranksOnNode: Int { 1 }
    public func barrier() {}
    public func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int) {
        precondition(partner == 0 && send.count == receive.count)
        receive.copyMemory(from: send)
    }
    public func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int,
                         into receive: UnsafeMutableRawBufferPointer, from source: Int) {
        precondition(destination == 0 && source == 0 && send.count == receive.count)
        if send.count > 0 { receive.copyMemory(from: send) }
    }
    public func allreduceSum(_ values: inout [Double]) {}
    public func allreduceSum(_ values: inout [UInt64]) {}
    public func allgather(_ values: [Double]) -> [Double] { values }
    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]? { [bytes] }
    public func broadcast(_ bytes: inout [UInt8], root: Int) {}
    public func abort(code: Int32) -> Never { exit(code) }
}
