/// Test support shared by the test targets (not part of the qforge product).
import Foundation
import ForgeCore

/// Several ranks as threads of one process, for testing distributed code without mpirun
/// (as swift-nio tests channels on an embedded event loop). Every collective is a rendezvous.
public final class InProcessWorld: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var slots: [[UInt8]?]
    private var generation = 0
    private var arrived = 0
    private var mailboxes: [Int: [UInt8]] = [:]  // key: from * size + to

    public init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    /// Runs `body` once per rank on its own thread and waits for all.
    public func run(_ body: @escaping @Sendable (Communicator) -> Void) {
        let group = DispatchGroup()
        for r in 0..<size {
            let comm = InProcessCommunicator(world: self, rank: r)
            let thread = Thread { body(comm); group.leave() }
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }
        group.wait()
    }

    /// Every rank contributes bytes; every rank gets all contributions in rank order.
    func exchangeAll(_ bytes: [UInt8], rank: Int) -> [[UInt8]] {
        condition.lock(); defer { condition.unlock() }
        let myGeneration = generation
        slots[rank] = bytes
        arrived += 1
        if arrived == size {
            condition.broadcast()
        } else {
            while arrived < size && generation == myGeneration { condition.wait() }
        }
        let all = slots.map { $0! }
        // The second rendezvous lets every rank read before slots are reused.
        departed += 1
        if departed == size {
            departed = 0; arrived = 0; generation += 1
            slots = Array(repeating: nil, count: size)
            condition.broadcast()
        } else {
            while generation == myGeneration { condition.wait() }
        }
        return all
    }
    private var departed = 0

    func send(_ bytes: [UInt8], from: Int, to: Int) -> Void {
        condition.lock(); defer { condition.unlock() }
        while mailboxes[from * size + to] != nil { condition.wait() }
        mailboxes[from * size + to] = bytes
        condition.broadcast()
    }

    func receive(from: Int, to: Int) -> [UInt8] {
        condition.lock(); defer { condition.unlock() }
        while mailboxes[from * size + to] == nil { condition.wait() }
        let bytes = mailboxes.removeValue(forKey: from * size + to)!
        condition.broadcast()
        return bytes
    }
}

public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    let world: InProcessWorld
    public let rank: Int
    public var size: Int { world.size }
    public var ranksOnNode: Int { world.size }

    init(world: InProcessWorld, rank: Int) { (self.world, self.rank) = (world, rank) }

    public func barrier() { _ = world.exchangeAll([], rank: rank) }

    public func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int) {
        world.send(Array(send), from: rank, to: partner)
        let bytes = world.receive(from: partner, to: rank)
        bytes.withUnsafeBytes { receive.copyMemory(from: $0) }
    }

    public func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int,
                  into receive: UnsafeMutableRawBufferPointer, from source: Int) {
        world.send(Array(send), from: rank, to: destination)
        let bytes = world.receive(from: source, to: rank)
        bytes.withUnsafeBytes { if !$0.isEmpty { receive.copyMemory(from: $0) } }
    }

    public func allreduceSum(_ values: inout [Double]) {
        let all = world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank)
        var sum = [Double](repeating: 0, count: values.count)
        for part in all { part.withUnsafeBytes { raw in for k in 0..<sum.count { sum[k] += raw.load(fromByteOffset: 8 * k, as: Double.self) } } }
        values = sum
    }

    public func allreduceSum(_ values: inout [UInt64]) {
        let all = world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank)
        var sum = [UInt64](repeating: 0, count: values.count)
        for part in all { part.withUnsafeBytes { raw in for k in 0..<sum.count { sum[k] += raw.load(fromByteOffset: 8 * k, as: UInt64.self) } } }
        values = sum
    }

    public func allgather(_ values: [Double]) -> [Double] {
        world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank).flatMap { part in
            part.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        }
    }

    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]? {
        let all = world.exchangeAll(bytes, rank: rank)
        return rank == root ? all : nil
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) {
        bytes = world.exchangeAll(bytes, rank: rank)[root]
    }

    public func abort(code: Int32) -> Never { fatalError("abort(\(code)) in test") }
}

/// A value shared between test threads.
public final class Locked<T>: @unchecked Sendable {
    private var _value: T
    private let lock = NSLock()
    public init(_ value: T) { _value = value }
    public var value: T { lock.lock(); defer { lock.unlock() }; return _value }
    public func update(_ body: (inout T) -> Void) { lock.lock(); body(&_value); lock.unlock() }
}
