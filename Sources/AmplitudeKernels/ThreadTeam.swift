import Dispatch

/// Threads inside a rank: a sweep over `count` work items is cut into `threads` contiguous
/// parts. Every kernel computes each amplitude the same way whatever the cut, so results are
/// identical for any number of threads (reductions sum fixed blocks).
public struct ThreadTeam: Sendable {
    public let threads: Int
    /// Sweeps smaller than this many items per thread run on fewer threads (waking one costs µs).
    public let minimumItemsPerThread: Int

    public init(threads: Int, minimumItemsPerThread: Int = 1 << 12) {
        self.threads = max(1, threads)
        self.minimumItemsPerThread = max(1, minimumItemsPerThread)
    }

    public func forEach(_ count: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / minimumItemsPerThread))
        if parts <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            let work = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                work.value(count * p / parts ..< count * (p + 1) / parts)
            }
        }
    }
}

/// Kernels write disjoint ranges of the state through raw pointers; the box only carries the
/// closure across the thread boundary.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
