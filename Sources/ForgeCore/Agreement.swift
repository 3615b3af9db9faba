extension Communicator {
    /// Runs `body` on every rank; if it throws on any rank, every rank throws the error of the
    /// lowest failing rank, so all ranks leave together and rank 0 can report it.
    public func agree<R>(_ body: () throws -> R) throws -> R {
        var result: R? = nil
        var mine: [UInt8] = []
        do { result = try body() } catch let e as InputError {
            mine = [2] + Array(Self.encode(e).utf8)
        } catch {
            mine = [1] + Array(String(describing: error).utf8)
        }
        guard any(!mine.isEmpty) else { return result! }
        var first = gather(mine, root: 0)?.first(where: { !$0.isEmpty }) ?? []
        broadcast(&first, root: 0)
        let text = String(decoding: first.dropFirst(), as: UTF8.self)
        if first.first == 2 { throw Self.decode(text) }
        throw RuntimeError(text)
    }

    private static func encode(_ e: InputError) -> String {
        [e.file ?? "", e.line.map(String.init) ?? "", e.column.map(String.init) ?? "", e.message].joined(separator: "\u{1F}")
    }

    private static func decode(_ text: String) -> InputError {
        let f = text.split(separator: "\u{1F}", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard f.count == 4 else { return InputError(text) }
        return InputError(f[3], file: f[0].isEmpty ? nil : f[0], line: Int(f[1]), column: Int(f[2]))
    }
}
