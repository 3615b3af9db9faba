/// A problem with what the user gave us (a file, a flag, a job key). The CLI prints it as
/// `qforge: error: FILE:LINE:COL: message` and exits with code 2.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var location = ""
        if let file { location += file + ":" }
        if let line {
            location += "\(line):"
            if let column { location += "\(column):" }
        }
        return location.isEmpty ? message : location + " " + message
    }
}

/// A failure while running (I/O, communication, resources): exit code 1.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
