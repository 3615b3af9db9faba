import ForgeCore

/// One OpenQASM 2 token. Keywords are lexed as identifiers; the parser decides by text.
struct Token {
    enum Kind: Equatable {
        case identifier
        case integer    // digits only: register sizes, indices, condition values (and reals)
        case real       // has a '.' or an exponent
        case string     // text holds the contents, without quotes
        case symbol     // ; , ( ) [ ] { } -> == + - * / ^
        case end
    }
    var kind: Kind
    var text: String
    var location: SourceLocation

    func isSymbol(_ s: String) -> Bool { kind == .symbol && text == s }
    func isIdentifier(_ s: String) -> Bool { kind == .identifier && text == s }

    /// How the token is named in "expected X, got Y" messages.
    var display: String {
        switch kind {
        case .end: return "end of file"
        case .string: return "\"\(text)\""
        default: return "'\(text)'"
        }
    }
}

/// Turns source text into tokens on demand, so the first error in the file is the one reported.
/// Works on UTF-8 bytes (the language is ASCII; other text may only appear in comments and
/// strings); columns count characters, not bytes.
struct QASMLexer {
    private static let singleCharacterSymbols = Set(";,()[]{}+-*/^".utf8)
    private let file: String
    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var column = 1

    init(source: String, file: String) {
        self.file = file
        var bytes = Array(source.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // byte-order mark
        self.bytes = bytes
    }

    private var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private mutating func advance() {
        let b = bytes[position]
        if b == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {  // UTF-8 continuation bytes do not start a character
            column += 1
        }
        position += 1
    }

    private func text(from start: Int) -> String { String(decoding: bytes[start..<position], as: UTF8.self) }

    private mutating func skipWhitespaceAndComments() {
        while let c = peek() {
            if c == 0x20 || (0x09...0x0D).contains(c) {  // space, \t \n \v \f \r
                advance()
            } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                while let d = peek(), d != UInt8(ascii: "\n") { advance() }
            } else {
                return
            }
        }
    }

    mutating func next() throws -> Token {
        skipWhitespaceAndComments()
        let start = here, from = position
        guard let c = peek() else { return Token(kind: .end, text: "", location: start) }

        if c.isASCIILetter || c == UInt8(ascii: "_") {
            while let d = peek(), d.isASCIILetter || d.isASCIIDigit || d == UInt8(ascii: "_") { advance() }
            return Token(kind: .identifier, text: text(from: from), location: start)
        }
        if c.isASCIIDigit || (c == UInt8(ascii: ".") && peek(1)?.isASCIIDigit == true) {
            return try number(start: start, from: from)
        }
        if c == UInt8(ascii: "\"") {
            advance()
            while let d = peek(), d != UInt8(ascii: "\""), d != UInt8(ascii: "\n") { advance() }
            guard peek() == UInt8(ascii: "\"") else { throw inputError("unterminated string", at: start) }
            let contents = String(decoding: bytes[(from + 1)..<position], as: UTF8.self)
            advance()
            return Token(kind: .string, text: contents, location: start)
        }
        if (c == UInt8(ascii: "-") && peek(1) == UInt8(ascii: ">")) || (c == UInt8(ascii: "=") && peek(1) == UInt8(ascii: "=")) {
            advance()
            advance()
            return Token(kind: .symbol, text: text(from: from), location: start)
        }
        if Self.singleCharacterSymbols.contains(c) {
            advance()
            return Token(kind: .symbol, text: text(from: from), location: start)
        }
        throw inputError("unexpected character \(describeCharacter())", at: start)
    }

    /// `'#'` for printable ASCII, `U+00E9` for anything else (control bytes, non-ASCII).
    private func describeCharacter() -> String {
        let c = bytes[position]
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        var end = position + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        let scalar = String(decoding: bytes[position..<end], as: UTF8.self).unicodeScalars.first?.value ?? UInt32(c)
        return "U+" + String(scalar, radix: 16, uppercase: true).leftPadded(to: 4)
    }

    /// `123` is an integer; `1.5`, `.5`, `1.`, `1e-3`, `2.E+4` are reals.
    private mutating func number(start: SourceLocation, from: Int) throws -> Token {
        var isReal = false
        while let d = peek(), d.isASCIIDigit { advance() }
        if peek() == UInt8(ascii: ".") {
            isReal = true
            advance()
            while let d = peek(), d.isASCIIDigit { advance() }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isReal = true
            advance()
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { advance() }
            guard let d = peek(), d.isASCIIDigit else { throw inputError("malformed number", at: start) }
            while let d = peek(), d.isASCIIDigit { advance() }
        }
        // A letter glued to a number (`2pi`, `3q`) is a typo, not two tokens.
        if let d = peek(), d.isASCIILetter || d == UInt8(ascii: "_") { throw inputError("malformed number", at: start) }
        return Token(kind: isReal ? .real : .integer, text: text(from: from), location: start)
    }
}

/// Every problem in a program is an `InputError` pointing at the offending token.
func inputError(_ message: String, at location: SourceLocation) -> InputError {
    InputError(message, file: location.file, line: location.line, column: location.column)
}

extension UInt8 {
    var isASCIILetter: Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self) }
    var isASCIIDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
