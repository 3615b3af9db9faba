import Foundation

/// Money and cost arithmetic, all in integers: amounts in cents (minor units), prices in
/// micro-units per hour, resource use in core- or node-milliseconds.
public enum Cost {
    public static let msPerHour: Int64 = 3_600_000
    public static let microsPerCent: Int64 = 10_000

    /// Amount in cents of `coreMs` core-milliseconds and `nodeMs` node-milliseconds at `rate`:
    ///
    ///     cents = round_half_up((core_price × core_ms + node_price × node_ms) / (3,600,000 × 10,000))
    ///
    /// computed in 128-bit integers, rounded once per run (ties away from zero). Core-ms is
    /// ranks × threads × elapsed ms, so core-hours = ranks × threads × elapsed s / 3600 exactly.
    public static func cents(coreMs: Int64, nodeMs: Int64, rate: Rate) -> Int64 {
        let numerator = Int128(rate.coreHourMicros) * Int128(coreMs) + Int128(rate.nodeHourMicros) * Int128(nodeMs)
        return roundHalfUp(numerator, Int128(msPerHour) * Int128(microsPerCent))
    }

    static func roundHalfUp(_ n: Int128, _ d: Int128) -> Int64 {
        let (q, r) = n.quotientAndRemainder(dividingBy: d)
        let rounded = 2 * r.magnitude >= d.magnitude ? q + (n < 0 ? -1 : 1) : q
        return Int64(clamping: rounded)
    }

    /// Core-hours as an exact decimal string with 4 places (half-up), e.g. "1.2500".
    public static func hours(ms: Int64) -> String {
        let tenThousandths = roundHalfUp(Int128(ms) * 10_000, Int128(msPerHour))
        let whole = tenThousandths / 10_000, frac = tenThousandths % 10_000
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: 4 - f.count) + f
    }
}

/// Decimal text ↔ integer minor units, with no binary floating point on the way.
public enum Money {
    /// "12.34" for 1234 cents (negative amounts get a leading '-').
    public static func format(cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let m = cents.magnitude
        let frac = m % 100
        return "\(sign)\(m / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// Parses a non-negative decimal with at most `places` decimals into units of 10^-places.
    public static func parse(_ text: String, places: Int) -> Int64? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let whole = parts.first, !whole.isEmpty,
              whole.count <= 12, whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber) else { return nil }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= places, fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
              parts.count == 1 || !fraction.isEmpty else { return nil }
        fraction += String(repeating: "0", count: places - fraction.count)
        guard let w = Int64(whole), let f = Int64(fraction.isEmpty ? "0" : fraction) else { return nil }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let (product, overflow) = w.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        return product + f
    }

    /// "12.34" → 1234 cents.
    public static func parseCents(_ text: String) -> Int64? { parse(text, places: 2) }
    /// "0.015" → 15000 micro-units.
    public static func parseMicros(_ text: String) -> Int64? { parse(text, places: 6) }

    /// 15000 micro-units → "0.015".
    public static func formatMicros(_ micros: Int64) -> String {
        let whole = micros / 1_000_000, frac = micros % 1_000_000
        var f = String(frac)
        f = String(repeating: "0", count: 6 - f.count) + f
        while f.count > 2, f.hasSuffix("0") { f.removeLast() }
        return "\(whole).\(f)"
    }
}

/// UTC timestamps with millisecond precision: ISO-8601 text in JSON, integer ms in the store.
public enum Timestamp {
    public static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// "2026-11-22T04:05:06.789Z".
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        write(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `format` appended as bytes, without building strings (two per run in every response).
    static func write(_ date: Date, to bytes: inout [UInt8]) {
        let total = ms(date)
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let millis = Int((total % 1000 + 1000) % 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        let year = Int(t.tm_year) + 1900
        guard (0...9999).contains(year) else { bytes.append(contentsOf: formatSlowly(date).utf8); return }
        func digits(_ v: Int, _ n: Int) {
            var divisor = 1
            for _ in 1..<n { divisor *= 10 }
            while divisor > 0 { bytes.append(UInt8(48 + v / divisor % 10)); divisor /= 10 }
        }
        digits(year, 4); bytes.append(45); digits(Int(t.tm_mon) + 1, 2); bytes.append(45); digits(Int(t.tm_mday), 2)
        bytes.append(84); digits(Int(t.tm_hour), 2); bytes.append(58); digits(Int(t.tm_min), 2); bytes.append(58)
        digits(Int(t.tm_sec), 2); bytes.append(46); digits(millis, 3); bytes.append(90)
    }

    /// Any year (outside 0–9999 the year takes as many digits as it needs).
    static func formatSlowly(_ date: Date) -> String {
        let total = ms(date)
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let millis = Int((total % 1000 + 1000) % 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        let m = String(millis)
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(String(repeating: "0", count: 3 - m.count) + m)Z"
    }

    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or `±HH:MM`, or a Unix time in seconds.
    public static func parse(_ text: String) -> Date? {
        // Foundation's trimming bridges through NSString (a few % of recording a run): skip it
        // when neither end can be whitespace, i.e. is a printable ASCII character.
        func printable(_ c: UInt8?) -> Bool { c.map { $0 > 32 && $0 < 127 } ?? false }
        let s = printable(text.utf8.first) && printable(text.utf8.last) ? Array(text.utf8) : Array(text.trimmingCharacters(in: .whitespaces).utf8)
        if !s.isEmpty, s.count <= 12, s.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int64(String(decoding: s, as: UTF8.self)) {
            return Date(timeIntervalSince1970: Double(v))
        }
        var i = 0
        func number(_ n: Int) -> Int? {
            guard i + n <= s.count else { return nil }
            var v = 0
            for c in s[i..<(i + n)] { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + Int(c - 48) }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool { guard i < s.count, s[i] == c else { return false }; i += 1; return true }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
              (1...12).contains(month), (1...31).contains(day), year >= 1970 else { return nil }
        var hour = 0, minute = 0, second = 0, millis = 0, offset = 0
        if i < s.count {
            guard expect(84) || expect(32), let h = number(2), expect(58), let m = number(2), h < 24, m < 60 else { return nil }
            hour = h; minute = m
            if expect(58) {
                guard let sec = number(2), sec < 61 else { return nil }
                second = sec
                if expect(46) {
                    var digits = 0
                    while i < s.count, s[i] >= 48, s[i] <= 57 {
                        if digits < 3 { millis = millis * 10 + Int(s[i] - 48) }
                        digits += 1; i += 1
                    }
                    guard digits > 0 else { return nil }
                    if digits < 3 { for _ in digits..<3 { millis *= 10 } }
                }
            }
            if expect(90) {
            } else if i < s.count, s[i] == 43 || s[i] == 45 {
                let sign = s[i] == 45 ? -1 : 1
                i += 1
                guard let oh = number(2), expect(58), let om = number(2) else { return nil }
                offset = sign * (oh * 60 + om) * 60
            } else if i < s.count {
                return nil
            }
            guard i == s.count else { return nil }
        }
        var t = tm()
        t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour); t.tm_min = Int32(minute); t.tm_sec = Int32(second)
        let epoch = Int64(timegm(&t)) - Int64(offset)
        return date(ms: epoch * 1000 + Int64(millis))
    }

    /// [start, end) of a month given as `YYYY-MM` (UTC).
    public static func month(_ period: String) -> (start: Date, end: Date)? {
        let p = Array(period.utf8)
        guard p.count == 7, p[4] == 45, let y = Int(String(period.prefix(4))), let m = Int(String(period.suffix(2))),
              (1970...9999).contains(y), (1...12).contains(m) else { return nil }
        guard let start = parse(String(format: "%04d-%02d-01", y, m)),
              let end = parse(m == 12 ? String(format: "%04d-01-01", y + 1) : String(format: "%04d-%02d-01", y, m + 1)) else { return nil }
        return (start, end)
    }
}

/// JSON as the catalog speaks it: snake_case keys, ISO-8601 UTC timestamps with milliseconds.
public enum CatalogJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Timestamp.format(date))
        }
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO-8601 time: \(text.prefix(40))")
            }
            return date
        }
        return d
    }

    /// One line describing why `data` is not the expected JSON (for 400 responses).
    public static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field '\(snake(key.stringValue))'"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at '\(ctx.codingPath.map { snake($0.stringValue) }.joined(separator: "."))'"
        case DecodingError.dataCorrupted(let ctx):
            let path = ctx.codingPath.map { snake($0.stringValue) }.joined(separator: ".")
            return path.isEmpty ? "body is not valid JSON" : "invalid value at '\(path)': \(ctx.debugDescription.prefix(80))"
        default: return "body is not valid JSON"
        }
    }

    static func snake(_ s: String) -> String {
        var out = ""
        for c in s {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}

/// RFC 4180 CSV: quote fields holding a comma, quote or line break; neutralise leading
/// formula characters so a spreadsheet never evaluates catalog text.
public enum CSV {
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }

    public static func escape(_ field: String) -> String {
        var f = field
        if let first = f.first, "=+-@".contains(first), Double(f) == nil { f = "'" + f }
        if f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return f
    }
}
