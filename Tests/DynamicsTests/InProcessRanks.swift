import Foundation
import ForgeCore

/// Several ranks as threads of one process (as swift-nio tests channels on an embedded loop):
/// collectives meet at a condition variable, point-to-point messages go through mailboxes.
final class InProcessRanks: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var slots: [[UInt8]?]
    private var arrived = 0, departed = 0, generation = 0
    private var mailboxes: [Int: [[UInt8]]] = [:]

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    func run(_ body: @escaping @Sendable (Communicator) -> Void) {
        let group = DispatchGroup()
        for r in 0..<size {
            let comm = RankCommunicator(world: self, rank: r)
            group.enter()
            let thread = Thread { body(comm); group.leave() }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
    }

    func exchangeAll(_ bytes: [UInt8], rank: Int) -> [[UInt8]] {
        condition.lock(); defer { condition.unlock() }
        let myGeneration = generation
        slots[rank] = bytes
        arrived += 1
        if arrived == size { condition.broadcast() } else { while arrived < size && generation == myGeneration { condition.wait() } }
        let all = slots.map { $0! }
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

    func send(_ bytes: [UInt8], from: Int, to: Int) {
        condition.lock(); defer { condition.unlock() }
        mailboxes[from * size + to, default: []].append(bytes)
        condition.broadcast()
    }

    func receive(from: Int, to: Int) -> [UInt8] {
        condition.lock(); defer { condition.unlock() }
        while (mailboxes[from * size + to] ?? []).isEmpty { condition.wait() }
        return mailboxes[from * size + to]!.removeFirst()
    }
}

final class RankCommunicator: Communicator, @unchecked Sendable {
    let world: InProcessRanks
    let rank: Int
    var size: Int { world.size }
    var ranksOnNode: Int { world.size }
    init(world: InProcessRanks, rank: Int) { (self.world, self.rank) = (world, rank) }

    func barrier() { _ = world.exchangeAll([], rank: rank) }
    func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int) {
        sendrecv(send, to: partner, into: receive, from: partner)
    }
    func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int, into receive: UnsafeMutableRawBufferPointer, from source: Int) {
        world.send(Array(send), from: rank, to: destination)
        let bytes = world.receive(from: source, to: rank)
        precondition(bytes.count == receive.count, "message size \(bytes.count) != expected \(receive.count)")
        bytes.withUnsafeBytes { if !$0.isEmpty { receive.copyMemory(from: $0) } }
    }
    func allreduceSum(_ values: inout [Double]) {
        let all = world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank)
        var sum = [Double](repeating: 0, count: values.count)
        for part in all { part.withUnsafeBytes { raw in for k in sum.indices { sum[k] += raw.load(fromByteOffset: 8 * k, as: Double.self) } } }
        values = sum
    }
    func allreduceSum(_ values: inout [UInt64]) {
        let all = world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank)
        var sum = [UInt64](repeating: 0, count: values.count)
        for part in all { part.withUnsafeBytes { raw in for k in sum.indices { sum[k] &+= raw.load(fromByteOffset: 8 * k, as: UInt64.self) } } }
        values = sum
    }
    func allgather(_ values: [Double]) -> [Double] {
        world.exchangeAll(values.withUnsafeBytes { Array($0) }, rank: rank).flatMap { part in
            part.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        }
    }
    func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]? {
        let all = world.exchangeAll(bytes, rank: rank)
        return rank == root ? all : nil
    }
    func broadcast(_ bytes: inout [UInt8], root: Int) { bytes = world.exchangeAll(bytes, rank: rank)[root] }
    func abort(code: Int32) -> Never { fatalError("abort(\(code)) in test") }
}

/// Thread-safe result collection.
final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func update(_ f: (inout Value) -> Void) { lock.lock(); f(&value); lock.unlock() }
    var current: Value { lock.lock(); defer { lock.unlock() }; return value }
}
