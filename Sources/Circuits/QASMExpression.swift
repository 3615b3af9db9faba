import Foundation
import ForgeCore
import RealModule

/// A parameter expression. Inside a gate body it refers to the gate's parameters by index and
/// is evaluated at each call; at top level it has no parameters and is evaluated at once.
indirect enum Expression {
    enum Operator: String { case add = "+", subtract = "-", multiply = "*", divide = "/", power = "^" }

    enum Function: String, CaseIterable {
        case sin, cos, tan, exp, ln, sqrt, asin, acos, atan  // asin/acos/atan: Qiskit accepts them

        func apply(_ x: Double) -> Double {
            switch self {
            case .sin: return .sin(x)
            case .cos: return .cos(x)
            case .tan: return .tan(x)
            case .exp: return .exp(x)
            case .ln: return .log(x)
            case .sqrt: return x.squareRoot()
            case .asin: return .asin(x)
            case .acos: return .acos(x)
            case .atan: return .atan(x)
            }
        }
    }

    case constant(Double)
    case parameter(Int)
    case negate(Expression)
    case binary(Operator, Expression, Expression, at: SourceLocation)
    case function(Function, Expression, at: SourceLocation)

    /// Every intermediate result must be finite: an angle of inf or NaN would silently poison
    /// the state vector, so it is reported at the operator or function that produced it.
    func evaluate(_ parameters: [Double]) throws -> Double {
        switch self {
        case .constant(let value):
            return value
        case .parameter(let index):
            return parameters[index]
        case .negate(let operand):
            return -(try operand.evaluate(parameters))
        case .binary(let op, let lhs, let rhs, let location):
            let a = try lhs.evaluate(parameters), b = try rhs.evaluate(parameters)
            let result: Double
            switch op {
            case .add: result = a + b
            case .subtract: result = a - b
            case .multiply: result = a * b
            case .divide:
                guard b != 0 else { throw inputError("division by zero in parameter expression", at: location) }
                result = a / b
            case .power: result = Foundation.pow(a, b)  // C pow: negative bases with integer exponents are fine (RealModule's pow is not)
            }
            guard result.isFinite else {
                throw inputError("non-finite result of '\(op.rawValue)' in parameter expression", at: location)
            }
            return result
        case .function(let function, let argument, let location):
            let result = function.apply(try argument.evaluate(parameters))
            guard result.isFinite else {
                throw inputError("non-finite result of '\(function.rawValue)' in parameter expression", at: location)
            }
            return result
        }
    }
}

/// Recursive descent over the OpenQASM 2 expression grammar. Precedence, loosest first:
/// `+ -`, then `* /`, then unary minus, then `^` (right-associative), so `-2^2 == -4`.
extension QASMProgramParser {
    /// Parentheses and signs nest the parser's recursion, operators deepen the tree that
    /// `evaluate` recurses over; both are bounded so hostile input cannot exhaust the stack.
    static let maxExpressionNesting = 100
    static let maxExpressionOperators = 1000

    /// `parameters` are the names visible in the expression (a gate's formal parameters).
    func parseExpression(parameters: [String]) throws -> Expression {
        expressionNesting = 0
        expressionOperators = 0
        return try parseSum(parameters)
    }

    private func parseSum(_ parameters: [String]) throws -> Expression {
        var lhs = try parseTerm(parameters)
        while token.isSymbol("+") || token.isSymbol("-") {
            let op = try takeOperator()
            let rhs = try parseTerm(parameters)
            lhs = .binary(op.text == "+" ? .add : .subtract, lhs, rhs, at: op.location)
        }
        return lhs
    }

    private func parseTerm(_ parameters: [String]) throws -> Expression {
        var lhs = try parseUnary(parameters)
        while token.isSymbol("*") || token.isSymbol("/") {
            let op = try takeOperator()
            let rhs = try parseUnary(parameters)
            lhs = .binary(op.text == "*" ? .multiply : .divide, lhs, rhs, at: op.location)
        }
        return lhs
    }

    private func parseUnary(_ parameters: [String]) throws -> Expression {
        if token.isSymbol("-") || token.isSymbol("+") {
            let negative = token.text == "-"
            return try nested {
                _ = try takeOperator()
                let operand = try parseUnary(parameters)
                return negative ? .negate(operand) : operand
            }
        }
        return try parsePower(parameters)
    }

    private func parsePower(_ parameters: [String]) throws -> Expression {
        let base = try parsePrimary(parameters)
        guard token.isSymbol("^") else { return base }
        return try nested {
            let op = try takeOperator()
            // The exponent may carry its own sign (`2^-1`) and is right-associative (`2^3^2`).
            let exponent = try parseUnary(parameters)
            return .binary(.power, base, exponent, at: op.location)
        }
    }

    private func parsePrimary(_ parameters: [String]) throws -> Expression {
        let start = token
        switch start.kind {
        case .integer, .real:
            try advance()
            guard let value = Double(start.text), value.isFinite else {
                throw inputError("number \(start.text) is out of range", at: start.location)
            }
            return .constant(value)
        case .identifier:
            try advance()
            if start.text == "pi" { return .constant(.pi) }
            if let function = Expression.Function(rawValue: start.text) {
                guard token.isSymbol("(") else { throw inputError("expected '(' after '\(start.text)'", at: token.location) }
                expressionOperators += 1
                let argument = try parenthesised(parameters)
                return .function(function, argument, at: start.location)
            }
            guard let index = parameters.firstIndex(of: start.text) else {
                throw inputError("undefined parameter '\(start.text)'", at: start.location)
            }
            return .parameter(index)
        case .symbol where start.text == "(":
            return try parenthesised(parameters)
        default:
            throw inputError("expected an expression, got \(start.display)", at: start.location)
        }
    }

    private func parenthesised(_ parameters: [String]) throws -> Expression {
        try nested {
            try expect("(")
            let inner = try parseSum(parameters)
            try expect(")")
            return inner
        }
    }

    private func takeOperator() throws -> Token {
        let op = token
        expressionOperators += 1
        guard expressionOperators <= Self.maxExpressionOperators else {
            throw inputError("expression too long", at: op.location)
        }
        try advance()
        return op
    }

    private func nested(_ body: () throws -> Expression) throws -> Expression {
        guard expressionNesting < Self.maxExpressionNesting else {
            throw inputError("expression nested too deeply", at: token.location)
        }
        expressionNesting += 1
        defer { expressionNesting -= 1 }
        return try body()
    }
}
