import Foundation

/// Progress of a long run on stderr: a rewritten line on a terminal, an occasional plain line
/// in a batch log. Silent for the first second, so short runs print nothing.
public final class ProgressReporter {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var printedAny = false

    public init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    public func update(done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let interval: TimeInterval = isTerminal ? 0.25 : 10
        guard elapsed > 1, now.timeIntervalSince(lastPrint) >= interval || done == total else { return }
        lastPrint = now
        let fraction = Double(done) / Double(total)
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let line = String(format: "qforge: %@ %d/%d (%.1f%%), %.0f s elapsed, ETA %.0f s", label, done, total, 100 * fraction, elapsed, eta)
        FileHandle.standardError.write(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).data(using: .utf8)!)
        printedAny = true
    }

    /// Ends the progress line on a terminal.
    public func finish() {
        if enabled && isTerminal && printedAny { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
