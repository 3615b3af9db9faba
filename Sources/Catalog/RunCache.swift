import Foundation
import NIOCore

/// Encoded `GET /api/v1/runs/{id}` bodies of ended runs, so a repeated read costs neither a
/// store call (and its hop to the store threads) nor decoding and encoding the row — it was
/// about 60 % of a GET. Only ended runs are kept: a `running` record is replaced when the job
/// ends, an ended one only by recording it again.
///
/// A run recorded through this server is dropped from the cache once committed and before the
/// request is answered (`GroupCommit`), so a client always reads what it wrote. A write made
/// elsewhere (the CLI or a job recording straight into the database, another server) shows
/// within `ttlNanoseconds`, as a key revoked elsewhere does in `KeyCache`.
final class RunCache: @unchecked Sendable {
    struct Entry {
        let account: String
        let body: ByteBuffer
        let until: UInt64
    }

    static let ttlNanoseconds: UInt64 = 1_000_000_000
    /// About 1 KiB a run: at most ~10 MiB.
    static let capacity = 10_000

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Bumped by every invalidation: a read that started before a write must not cache what it read.
    private var generation: UInt64 = 0

    /// The cached body and owning account of run `id`, if fresh.
    func entry(for id: String) -> Entry? {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock(); defer { lock.unlock() }
        guard let hit = entries[id], hit.until > now else { return nil }
        return hit
    }

    /// Taken before reading a run from the store; pass it to `insert`.
    var currentGeneration: UInt64 { lock.withLock { generation } }

    /// Keeps the body of an ended run read from the store, unless a write was committed since
    /// `readGeneration` (the row read may then already be stale).
    func insert(_ run: RunRecord, body: ByteBuffer, readGeneration: UInt64) {
        guard run.state.isTerminal else { return }
        let until = DispatchTime.now().uptimeNanoseconds + Self.ttlNanoseconds
        lock.lock(); defer { lock.unlock() }
        guard generation == readGeneration else { return }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[run.id] = Entry(account: run.account, body: body, until: until)
    }

    /// Drops these runs; called after their writes committed, before anyone is answered.
    func invalidate<S: Sequence>(_ ids: S) where S.Element == String {
        lock.lock(); defer { lock.unlock() }
        generation &+= 1
        for id in ids { entries[id] = nil }
    }
}
