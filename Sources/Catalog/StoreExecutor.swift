import Foundation
import NIOPosix

/// Runs blocking store calls on a few threads of their own, so the HTTP service's event loops
/// never wait for SQLite or PostgreSQL: a request suspends while its query runs, and the loop
/// goes on serving other connections.
final class StoreExecutor: Sendable {
    let pool: NIOThreadPool

    init(threads: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    deinit { pool.shutdownGracefully { _ in } }
}

/// Group commit for recorded runs: concurrent requests queue their run, one writer thread
/// commits everything queued in a single transaction, then answers each request — so each
/// response goes out only once its row is committed, and many runs share one commit (and one
/// fsync for a durable store). While a commit is in flight the next batch gathers.
final class GroupCommit: @unchecked Sendable {
    typealias Waiter = CheckedContinuation<RunRecord, Error>
    static let maxBatch = 512

    private let store: any CatalogStore
    private let cache: RunCache?
    private let lock = NSLock()
    private var pending: [(RunUpsert, Waiter)] = []
    private var draining = false
    private let writer = DispatchQueue(label: "qforge.catalog.group-commit")

    init(store: any CatalogStore, cache: RunCache? = nil) { self.store = store; self.cache = cache }

    func record(_ item: RunUpsert) async throws -> RunRecord {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            lock.lock()
            pending.append((item, waiter))
            let start = !draining
            draining = true
            lock.unlock()
            if start { writer.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            lock.lock()
            if pending.isEmpty { draining = false; lock.unlock(); return }
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            lock.unlock()
            let outcome = Result { try store.upsertRuns(batch.map(\.0)) }
            // Committed (or failed): stale cached GET bodies go before anyone is answered.
            cache?.invalidate(batch.lazy.map(\.0.run.id))
            switch outcome {
            case .success(let results):
                for ((_, waiter), result) in zip(batch, results) { waiter.resume(with: result.mapError { $0 as Error }) }
            case .failure(let error):
                for (_, waiter) in batch { waiter.resume(throwing: error) }
            }
        }
    }
}
