import Foundation
import ForgeCore

/// OpenQASM 2.0 front end: source text → flattened `Circuit`. Every problem is reported as
/// an `InputError` with the file, line and column of the offending token.
///
/// Conventions: qelib1.inc is built in, with Qiskit's matrices (global phase included);
/// every instruction a call expands to carries the call's location and condition;
/// `sourceGateCount` counts gate applications after register broadcast (`h q;` on a 3-qubit
/// register counts 3), not measure/reset/barrier.
public enum QASMParser {
    /// The simulator indexes amplitudes with a 64-bit integer and needs headroom.
    public static let maxQubits = 62
    /// Bounds what a hostile `creg c[10000000000];` can make later stages allocate.
    public static let maxClbits = 4096
    /// Gate definitions can nest to double their size at each level; cap the expansion.
    public static let maxInstructions = 10_000_000
    /// Expansion recurses once per level of nested gate definitions.
    public static let maxGateNesting = 200
    static let maxIncludeDepth = 16
    static let maxFileBytes = 256 << 20

    /// Parse a program. `file` is the name used in error messages. Includes other than
    /// "qelib1.inc" are resolved relative to `directory` (the including file's folder;
    /// nil: the current directory).
    public static func parse(source: String, file: String, directory: String? = nil) throws -> Circuit {
        try QASMProgramParser(directory: directory).parseProgram(source: source, file: file)
    }

    /// Reads the file (missing/unreadable file, empty file, non-UTF-8 or binary content ->
    /// InputError with file name) then parses.
    public static func parse(contentsOf path: String) throws -> Circuit {
        let source: String
        switch readSource(path: path) {
        case .success(let text): source = text
        case .failure(let problem): throw InputError(problem.message, file: path)
        }
        let directory = (path as NSString).deletingLastPathComponent
        let parser = QASMProgramParser(directory: directory.isEmpty ? nil : directory)
        parser.includeStack = [canonicalPath(path)]
        return try parser.parseProgram(source: source, file: path)
    }

    struct ReadProblem: Error { var message: String }

    /// Reads a whole text file, refusing what cannot be an OpenQASM program.
    static func readSource(path: String) -> Result<String, ReadProblem> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(ReadProblem(message: "no such file"))
        }
        if isDirectory.boolValue { return .failure(ReadProblem(message: "is a directory, not a file")) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(ReadProblem(message: "cannot open file for reading"))
        }
        defer { try? handle.close() }
        // Read one byte past the limit so an oversized (or endless, /dev/zero) file is detected.
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            return .failure(ReadProblem(message: "cannot read file"))
        }
        if data.isEmpty { return .failure(ReadProblem(message: "empty file")) }
        if data.count > maxFileBytes { return .failure(ReadProblem(message: "file too large (limit \(maxFileBytes >> 20) MiB)")) }
        let bytes = [UInt8](data)
        if bytes.contains(0) { return .failure(ReadProblem(message: "binary file (contains NUL bytes), not OpenQASM text")) }
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding repairs invalid sequences with U+FFFD; any repair changes the bytes.
        guard text.utf8.elementsEqual(bytes) else { return .failure(ReadProblem(message: "not valid UTF-8 text")) }
        return .success(text)
    }

    static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

/// Recursive-descent parser over one program and the files it includes. It expands each gate
/// call as soon as it is parsed, so the program is read in one pass.
final class QASMProgramParser {
    /// Words that cannot name a register, gate, parameter or qubit.
    static let reservedWords: Set<String> = Set([
        "OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset", "barrier", "if",
        "U", "CX", "pi",
    ]).union(Expression.Function.allCases.map(\.rawValue))

    private var lexer = QASMLexer(source: "", file: "")
    private(set) var token = Token(kind: .end, text: "", location: SourceLocation(file: "", line: 1, column: 1))
    var expressionNesting = 0
    var expressionOperators = 0

    /// Folder that relative include paths are resolved against (that of the current file).
    private var directory: String?
    /// Canonical paths of the files being read, outermost first, to reject include cycles.
    var includeStack: [String] = []
    private var qelib1Included = false

    private var gates: [String: GateDefinition] = [:]
    private var registers: [String: (register: Register, isQuantum: Bool)] = [:]
    private var qregs: [Register] = []
    private var cregs: [Register] = []
    private var qubitCount = 0
    private var clbitCount = 0
    private var instructions: [Instruction] = []
    private var sourceGateCount = 0

    init(directory: String?) {
        self.directory = directory
        for name in StandardGates.builtinNames { gates[name] = StandardGates.native(named: name) }
    }

    // MARK: Token stream

    func advance() throws { token = try lexer.next() }

    /// Consumes `symbol` if it is next.
    func accept(_ symbol: String) throws -> Bool {
        guard token.isSymbol(symbol) else { return false }
        try advance()
        return true
    }

    func expect(_ symbol: String) throws {
        guard try accept(symbol) else { throw inputError("expected '\(symbol)'", at: token.location) }
    }

    /// An identifier that is not a reserved word; `what` names it in the error.
    private func expectName(_ what: String) throws -> Token {
        let name = token
        guard name.kind == .identifier else {
            throw inputError("expected \(what), got \(name.display)", at: name.location)
        }
        guard !Self.reservedWords.contains(name.text) else {
            throw inputError("expected \(what), got reserved word '\(name.text)'", at: name.location)
        }
        try advance()
        return name
    }

    private func expectInteger() throws -> (value: Int, token: Token) {
        let number = token
        guard number.kind == .integer else {
            throw inputError("expected an integer, got \(number.display)", at: number.location)
        }
        guard let value = Int(number.text) else {
            throw inputError("integer \(number.text) is too large", at: number.location)
        }
        try advance()
        return (value, number)
    }

    /// Parses `source` as if its text stood in place of the current statement.
    private func withSource(_ source: String, file: String, directory: String?, _ body: () throws -> Void) throws {
        let saved = (lexer, token, self.directory)
        defer { (lexer, token, self.directory) = saved }
        lexer = QASMLexer(source: source, file: file)
        self.directory = directory
        try advance()
        try body()
    }

    // MARK: Program and statements

    func parseProgram(source: String, file: String) throws -> Circuit {
        lexer = QASMLexer(source: source, file: file)
        try advance()
        if token.kind == .end { throw inputError("empty program", at: token.location) }
        guard token.isIdentifier("OPENQASM") else {
            throw inputError("expected 'OPENQASM 2.0;' as the first statement", at: token.location)
        }
        try advance()
        let version = token
        guard version.kind == .integer || version.kind == .real else {
            throw inputError("expected a version number, got \(version.display)", at: version.location)
        }
        guard Double(version.text) == 2 else {
            throw inputError("unsupported OpenQASM version \(version.text) (only 2.0)", at: version.location)
        }
        try advance()
        try expect(";")
        try parseStatements()
        return Circuit(qubitCount: qubitCount, clbitCount: clbitCount, qregs: qregs, cregs: cregs,
                       instructions: instructions, sourceGateCount: sourceGateCount)
    }

    private func parseStatements() throws {
        while token.kind != .end {
            let start = token
            guard start.kind == .identifier else {
                throw inputError("expected a statement, got \(start.display)", at: start.location)
            }
            switch start.text {
            case "OPENQASM": throw inputError("'OPENQASM' may only appear once, at the start", at: start.location)
            case "include": try parseInclude()
            case "qreg", "creg": try parseRegister()
            case "gate": try parseGateDefinition()
            case "opaque": try parseOpaque()
            case "barrier": try parseBarrier()
            case "if": try parseConditional()
            default: try parseQuantumOperation(condition: nil)
            }
        }
    }

    /// `include "file";` — qelib1.inc is built in; anything else is read from disk.
    private func parseInclude() throws {
        try advance()
        let path = token
        guard path.kind == .string else {
            throw inputError("expected a file name in quotes, got \(path.display)", at: path.location)
        }
        try advance()
        try expect(";")
        if path.text == "qelib1.inc" {
            try includeStandardLibrary(at: path.location)
            return
        }
        var resolved = path.text
        if let directory, !path.text.hasPrefix("/") {
            resolved = (directory as NSString).appendingPathComponent(path.text)
        }
        let canonical = QASMParser.canonicalPath(resolved)
        guard !includeStack.contains(canonical) else {
            throw inputError("recursive include of '\(path.text)'", at: path.location)
        }
        guard includeStack.count < QASMParser.maxIncludeDepth else {
            throw inputError("includes nested too deeply (limit \(QASMParser.maxIncludeDepth))", at: path.location)
        }
        let source: String
        switch QASMParser.readSource(path: resolved) {
        case .success(let text): source = text
        case .failure(let problem): throw inputError("cannot include '\(path.text)': \(problem.message)", at: path.location)
        }
        includeStack.append(canonical)
        defer { includeStack.removeLast() }
        let folder = (resolved as NSString).deletingLastPathComponent
        try withSource(source, file: resolved, directory: folder.isEmpty ? nil : folder) { try parseStatements() }
    }

    /// Registers the qelib1 natives and parses the composite gates (swap, rzz, ...) from
    /// their embedded definitions in a fresh parser, then adds them all here.
    private func includeStandardLibrary(at location: SourceLocation) throws {
        if qelib1Included { return }  // harmless repeat
        qelib1Included = true
        let library = QASMProgramParser(directory: nil)
        for native in StandardGates.natives where library.gates[native.name] == nil {
            library.gates[native.name] = StandardGates.native(named: native.name)
        }
        try library.withSource(StandardGates.qelib1Definitions, file: "qelib1.inc", directory: nil) {
            try library.parseStatements()
        }
        for (name, gate) in library.gates.sorted(by: { $0.key < $1.key }) where !StandardGates.builtinNames.contains(name) {
            guard gates[name] == nil else {
                throw inputError("gate '\(name)' of qelib1.inc is already defined", at: location)
            }
            gates[name] = gate
        }
    }

    /// `qreg name[size];` or `creg name[size];` — bits follow those already declared.
    private func parseRegister() throws {
        let isQuantum = token.text == "qreg"
        try advance()
        let name = try expectName("register name")
        if registers[name.text] != nil {
            throw inputError("register '\(name.text)' is already defined", at: name.location)
        }
        try expect("[")
        let (size, sizeToken) = try expectInteger()
        try expect("]")
        try expect(";")
        let offset = isQuantum ? qubitCount : clbitCount
        let limit = isQuantum ? QASMParser.maxQubits : QASMParser.maxClbits
        guard size <= limit - offset else {
            let kind = isQuantum ? "qubits" : "classical bits"
            throw inputError("too many \(kind): \(offset > 0 ? "\(offset) + " : "")\(size) (limit \(limit))",
                             at: sizeToken.location)
        }
        let register = Register(name: name.text, offset: offset, size: size)
        registers[name.text] = (register, isQuantum)
        if isQuantum {
            qregs.append(register)
            qubitCount += size
        } else {
            cregs.append(register)
            clbitCount += size
        }
    }

    // MARK: Gate definitions

    /// `gate name(params) qubits { body }`: the body may call only gates defined before it.
    private func parseGateDefinition() throws {
        try advance()
        let (name, parameters, qubits) = try parseGateSignature()
        try expect("{")
        var calls: [GateDefinition.GateCall] = []
        while !token.isSymbol("}") {
            let start = token
            if start.kind == .end { throw inputError("expected '}'", at: start.location) }
            guard start.kind == .identifier else {
                throw inputError("expected a gate call, got \(start.display)", at: start.location)
            }
            if start.text == "barrier" {  // meaningless inside a unitary: check and drop it
                try advance()
                repeat { _ = try parseFormalQubit(qubits) } while try accept(",")
                try expect(";")
                continue
            }
            if start.text != "U" && start.text != "CX" && Self.reservedWords.contains(start.text) {
                throw inputError("'\(start.text)' is not allowed in a gate body", at: start.location)
            }
            if start.text == name.text {
                throw inputError("gate '\(name.text)' cannot call itself", at: start.location)
            }
            guard let callee = gates[start.text] else {
                throw inputError("unknown gate '\(start.text)'", at: start.location)
            }
            try advance()
            let arguments = try parseCallParameters(parameters)
            var targets: [Int] = []
            repeat {
                let (index, location) = try parseFormalQubit(qubits)
                if targets.contains(index) {
                    throw inputError("duplicate qubit arguments to '\(callee.name)'", at: location)
                }
                targets.append(index)
            } while try accept(",")
            try expect(";")
            try checkArity(callee, parameters: arguments.count, qubits: targets.count, at: start.location)
            calls.append(.init(gate: callee, arguments: arguments, qubits: targets, location: start.location))
        }
        try advance()
        let gate = GateDefinition(name: name.text, parameterCount: parameters.count, qubitCount: qubits.count,
                                  body: .composite(calls))
        guard gate.depth <= QASMParser.maxGateNesting else {
            throw inputError("gate definitions nested too deeply (limit \(QASMParser.maxGateNesting))",
                             at: name.location)
        }
        gates[name.text] = gate
    }

    /// `opaque name(params) qubits;` — declared so programs that mention it parse; calling it fails.
    private func parseOpaque() throws {
        try advance()
        let (name, parameters, qubits) = try parseGateSignature()
        try expect(";")
        gates[name.text] = GateDefinition(name: name.text, parameterCount: parameters.count,
                                          qubitCount: qubits.count, body: .opaque)
    }

    /// `name(p1, p2) a, b` of a `gate` or `opaque` declaration.
    private func parseGateSignature() throws -> (name: Token, parameters: [String], qubits: [String]) {
        let name = try expectName("gate name")
        if gates[name.text] != nil {
            throw inputError("gate '\(name.text)' is already defined", at: name.location)
        }
        var parameters: [String] = []
        if try accept("("), try !accept(")") {
            repeat {
                let parameter = try expectName("parameter name")
                if parameters.contains(parameter.text) {
                    throw inputError("duplicate parameter '\(parameter.text)'", at: parameter.location)
                }
                parameters.append(parameter.text)
            } while try accept(",")
            try expect(")")
        }
        var qubits: [String] = []
        repeat {
            let qubit = try expectName("qubit name")
            if qubits.contains(qubit.text) || parameters.contains(qubit.text) {
                throw inputError("duplicate argument name '\(qubit.text)'", at: qubit.location)
            }
            qubits.append(qubit.text)
        } while try accept(",")
        return (name, parameters, qubits)
    }

    private func parseFormalQubit(_ qubits: [String]) throws -> (index: Int, location: SourceLocation) {
        let name = try expectName("qubit name")
        guard let index = qubits.firstIndex(of: name.text) else {
            throw inputError("undefined qubit '\(name.text)'", at: name.location)
        }
        if token.isSymbol("[") { throw inputError("qubits cannot be indexed inside a gate body", at: token.location) }
        return (index, name.location)
    }

    /// The optional `(expr, ...)` after a gate name.
    private func parseCallParameters(_ parameters: [String]) throws -> [Expression] {
        guard try accept("(") else { return [] }
        var arguments: [Expression] = []
        if try accept(")") { return arguments }
        repeat { arguments.append(try parseExpression(parameters: parameters)) } while try accept(",")
        try expect(")")
        return arguments
    }

    private func checkArity(_ gate: GateDefinition, parameters: Int, qubits: Int, at location: SourceLocation) throws {
        if parameters != gate.parameterCount {
            throw inputError("gate '\(gate.name)' takes \(plural(gate.parameterCount, "parameter")), got \(parameters)",
                             at: location)
        }
        if qubits != gate.qubitCount {
            throw inputError("gate '\(gate.name)' takes \(plural(gate.qubitCount, "qubit")), got \(qubits)", at: location)
        }
    }

    // MARK: Quantum operations

    /// A register or one of its bits, as written in a top-level statement.
    private struct Argument {
        var register: Register
        var index: Int?
        var location: SourceLocation
    }

    private func parseArgument(quantum: Bool) throws -> Argument {
        let name = try expectName("register name")
        guard let entry = registers[name.text] else {
            throw inputError("undefined register '\(name.text)'", at: name.location)
        }
        let (register, isQuantum) = entry
        guard isQuantum == quantum else {
            throw inputError("'\(name.text)' is not a \(quantum ? "quantum" : "classical") register", at: name.location)
        }
        guard try accept("[") else { return Argument(register: register, index: nil, location: name.location) }
        let (index, _) = try expectInteger()
        try expect("]")
        guard index < register.size else {
            let bits = quantum ? "qubit" : "bit"
            throw inputError("\(bits) index \(name.text)[\(index)] out of range (\(name.text) has \(plural(register.size, bits)))",
                             at: name.location)
        }
        return Argument(register: register, index: index, location: name.location)
    }

    private func parseArgumentList() throws -> [Argument] {
        var arguments: [Argument] = []
        repeat { arguments.append(try parseArgument(quantum: true)) } while try accept(",")
        return arguments
    }

    /// Registers stand for each of their bits in turn, single bits stay fixed:
    /// `cx q[0], r;` is `cx q[0], r[0]; cx q[0], r[1]; ...`. Returns absolute bit indices.
    private func broadcast(_ arguments: [Argument]) throws -> [[Int]] {
        var size: Int?
        for argument in arguments where argument.index == nil {
            if let size, size != argument.register.size {
                throw inputError("register sizes differ in broadcast", at: argument.location)
            }
            size = argument.register.size
        }
        return (0..<(size ?? 1)).map { i in
            arguments.map { $0.register.offset + ($0.index ?? i) }
        }
    }

    /// `if(creg==value) op;` — the condition applies to every instruction `op` expands to.
    private func parseConditional() throws {
        try advance()
        try expect("(")
        let name = try expectName("classical register name")
        guard let entry = registers[name.text] else {
            throw inputError("undefined register '\(name.text)'", at: name.location)
        }
        let (register, isQuantum) = entry
        guard !isQuantum else { throw inputError("'\(name.text)' is not a classical register", at: name.location) }
        try expect("==")
        let number = token
        guard number.kind == .integer else {
            throw inputError("expected an integer, got \(number.display)", at: number.location)
        }
        guard let value = UInt64(number.text) else {
            throw inputError("condition value \(number.text) is too large", at: number.location)
        }
        try advance()
        try expect(")")
        let operation = token
        if operation.kind == .identifier && !["measure", "reset", "U", "CX"].contains(operation.text)
            && Self.reservedWords.contains(operation.text) {
            throw inputError("'\(operation.text)' cannot be conditional", at: operation.location)
        }
        try parseQuantumOperation(condition: Condition(clbitOffset: register.offset, width: register.size, value: value))
    }

    /// `measure`, `reset` or a gate call, with an optional condition.
    private func parseQuantumOperation(condition: Condition?) throws {
        let start = token
        guard start.kind == .identifier else {
            throw inputError("expected a gate call, got \(start.display)", at: start.location)
        }
        switch start.text {
        case "measure": try parseMeasure(condition: condition)
        case "reset":
            try advance()
            let argument = try parseArgument(quantum: true)
            try expect(";")
            let qubits = try broadcast([argument]).map { $0[0] }
            try reserve(qubits.count, at: start.location)
            for qubit in qubits { emit(.reset(qubit: qubit), condition, start.location) }
        default: try parseGateCall(condition: condition)
        }
    }

    private func parseMeasure(condition: Condition?) throws {
        let start = token
        try advance()
        let qubit = try parseArgument(quantum: true)
        try expect("->")
        let bit = try parseArgument(quantum: false)
        try expect(";")
        if (qubit.index == nil) != (bit.index == nil) {
            throw inputError("measure needs two registers or two single bits", at: bit.location)
        }
        let pairs = try broadcast([qubit, bit])
        try reserve(pairs.count, at: start.location)
        for pair in pairs { emit(.measure(qubit: pair[0], clbit: pair[1]), condition, start.location) }
    }

    private func parseBarrier() throws {
        let start = token
        try advance()
        var qubits: [Int] = []
        for argument in try parseArgumentList() {
            let bits = argument.index.map { [argument.register.offset + $0] }
                ?? Array(argument.register.offset..<(argument.register.offset + argument.register.size))
            for bit in bits where !qubits.contains(bit) { qubits.append(bit) }
        }
        try expect(";")
        try reserve(1, at: start.location)
        emit(.barrier(qubits: qubits), nil, start.location)
    }

    private func parseGateCall(condition: Condition?) throws {
        let name = token
        guard let gate = gates[name.text] else {
            if Self.reservedWords.contains(name.text) {
                throw inputError("expected a statement, got reserved word '\(name.text)'", at: name.location)
            }
            throw inputError("unknown gate '\(name.text)'", at: name.location)
        }
        try advance()
        let parameters = try parseCallParameters([]).map { try $0.evaluate([]) }
        let arguments = try parseArgumentList()
        try expect(";")
        try checkArity(gate, parameters: parameters.count, qubits: arguments.count, at: name.location)
        for qubits in try broadcast(arguments) {
            for (position, qubit) in qubits.enumerated() where qubits[..<position].contains(qubit) {
                throw inputError("duplicate qubit arguments to '\(gate.name)'", at: arguments[position].location)
            }
            try reserve(gate.operationCount, at: name.location)
            sourceGateCount += 1
            try expand(gate, parameters, qubits, at: name.location) { emit($0, condition, name.location) }
        }
    }

    /// Flattens a call into native operations. `location` is where this (possibly nested) call
    /// is written, for errors; emitted instructions carry the top-level call site instead.
    private func expand(_ gate: GateDefinition, _ parameters: [Double], _ qubits: [Int], at location: SourceLocation,
                        _ output: (Operation) -> Void) throws {
        switch gate.body {
        case .native(let matrix):
            output(.unitary(target: qubits[qubits.count - 1], controls: Array(qubits.dropLast()), matrix: matrix(parameters)))
        case .opaque:
            throw inputError("opaque gate '\(gate.name)' cannot be simulated", at: location)
        case .composite(let calls):
            for call in calls {
                let values = try call.arguments.map { try $0.evaluate(parameters) }
                try expand(call.gate, values, call.qubits.map { qubits[$0] }, at: call.location, output)
            }
        }
    }

    private func reserve(_ count: Int, at location: SourceLocation) throws {
        guard count <= QASMParser.maxInstructions - instructions.count else {
            throw inputError("program expands to more than \(QASMParser.maxInstructions) operations", at: location)
        }
    }

    private func emit(_ operation: Operation, _ condition: Condition?, _ location: SourceLocation) {
        instructions.append(Instruction(operation, condition: condition, location: location))
    }
}

func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
