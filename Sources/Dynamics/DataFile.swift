// LAMMPS data files, `atomic` style (what `write_data` writes): header counts and box,
// Masses, Atoms (id type x y z [ix iy iz]), optional Velocities; Pair Coeffs are ignored
// (the job file sets the potential).
import ForgeCore
import Foundation

public struct LAMMPSDataFile: Sendable {
    public var state: ParticleState
    public var typeCount: Int
    public var hasVelocities: Bool
    /// Line of each atom in the Atoms section, by position in `state` (for error messages).
    public var atomLines: [Int]
    /// Line of the `xlo xhi` header (for box errors).
    public var boxLine: Int

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError("cannot read LAMMPS data file (no such file or not readable)", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError("data file is not UTF-8 text", file: path) }
        try self.init(text: text, path: path)
    }

    public init(text: String, path: String) throws {
        func fail(_ message: String, _ line: Int) -> InputError { InputError(message, file: path, line: line) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> [Substring] in
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        }
        var atomCount: Int? = nil, types: Int? = nil
        var lo = SIMD3<Double>(repeating: .nan), hi = SIMD3<Double>(repeating: .nan)
        var boxLine = 1
        var index = 1  // line 1 is the title
        func number(_ s: Substring, _ line: Int, _ what: String) throws -> Double {
            guard let v = Double(s), v.isFinite else { throw fail("\(what): '\(s)' is not a number", line) }
            return v
        }
        func integer(_ s: Substring, _ line: Int, _ what: String) throws -> Int {
            guard let v = Int(s) else { throw fail("\(what): '\(s)' is not an integer", line) }
            return v
        }
        let sections: Set<String> = ["Masses", "Atoms", "Velocities", "Pair Coeffs", "PairIJ Coeffs", "Bonds", "Angles",
                                     "Dihedrals", "Impropers", "Bond Coeffs", "Angle Coeffs"]
        // Header.
        while index < lines.count {
            let w = lines[index]
            let lineNo = index + 1
            if w.isEmpty { index += 1; continue }
            if sections.contains(w.joined(separator: " ")) || sections.contains(String(w[0])) { break }
            if w.count == 2 && w[1] == "atoms" { atomCount = try integer(w[0], lineNo, "atom count") }
            else if w.count == 3 && w[1] == "atom" && w[2] == "types" { types = try integer(w[0], lineNo, "atom types") }
            else if w.count == 4 && ["xlo", "ylo", "zlo"].contains(w[2]) {
                let d = ["xlo": 0, "ylo": 1, "zlo": 2][String(w[2])]!
                lo[d] = try number(w[0], lineNo, "box")
                hi[d] = try number(w[1], lineNo, "box")
                guard hi[d] > lo[d] else { throw fail("box: \(w[3]) must be greater than \(w[2])", lineNo) }
                if d == 0 { boxLine = lineNo }
            } else if w.count == 6 && w[3] == "xy" {
                throw fail("triclinic boxes (xy xz yz) are not supported", lineNo)
            } else if w.count >= 2 && ["bonds", "angles", "dihedrals", "impropers"].contains(String(w.last!)) {
                if (Int(w[0]) ?? 0) != 0 { throw fail("only atom_style atomic is supported (this file has \(w.last!))", lineNo) }
            } else if w.count >= 3 && w[1] != "atom" && w.last == "types" {
                // bond/angle types: zero for atomic style
            } else {
                throw fail("unrecognised header line '\(w.joined(separator: " "))'", lineNo)
            }
            index += 1
        }
        guard let atomCount, atomCount > 0 else { throw fail("missing or zero '<N> atoms' header line", 1) }
        guard let types, types > 0 else { throw fail("missing '<N> atom types' header line", 1) }
        for d in 0..<3 where lo[d].isNaN { throw fail("missing '\(["x", "y", "z"][d])lo \(["x", "y", "z"][d])hi' header line", 1) }

        var masses = [Double?](repeating: nil, count: types)
        var ids = [Int64](), atomTypes = [Int32](), positions = [Double](), atomLines = [Int]()
        var velocityByID: [Int64: (Double, Double, Double)] = [:]
        var seenAtoms = false
        var positionOfID: [Int64: Int] = [:]
        while index < lines.count {
            let w = lines[index]
            if w.isEmpty { index += 1; continue }
            let headerLine = index + 1
            let title = w.prefix(2).joined(separator: " ")
            let name = ["Pair Coeffs", "PairIJ Coeffs"].contains(title) ? title : String(w[0])
            guard sections.contains(name) else { throw fail("unknown section '\(w.joined(separator: " "))'", headerLine) }
            if name == "Atoms" && w.count >= 2 && w[1] != "#" {
                // `Atoms # atomic`: the comment was stripped; anything else names another style.
                throw fail("only atom_style atomic is supported (Atoms section says '\(w[1...].joined(separator: " "))')", headerLine)
            }
            index += 1
            // Skip the blank line after the section title, then read rows until a blank line.
            while index < lines.count && lines[index].isEmpty { index += 1 }
            var rows: [(Int, [Substring])] = []
            while index < lines.count && !lines[index].isEmpty {
                let w = lines[index]
                let lead = w.prefix(2).joined(separator: " ")
                if sections.contains(String(w[0])) || sections.contains(lead) { break }
                rows.append((index + 1, w))
                index += 1
            }
            switch name {
            case "Masses":
                guard rows.count == types else { throw fail("Masses: expected \(types) rows, found \(rows.count)", headerLine) }
                for (lineNo, r) in rows {
                    guard r.count == 2 else { throw fail("Masses: expected 'type mass'", lineNo) }
                    let t = try integer(r[0], lineNo, "Masses type")
                    guard (1...types).contains(t) else { throw fail("Masses: type \(t) outside 1…\(types)", lineNo) }
                    let m = try number(r[1], lineNo, "mass")
                    guard m > 0 else { throw fail("Masses: mass must be > 0", lineNo) }
                    masses[t - 1] = m
                }
            case "Atoms":
                seenAtoms = true
                guard rows.count == atomCount else { throw fail("Atoms: header says \(atomCount) atoms, section has \(rows.count)", headerLine) }
                for (lineNo, r) in rows {
                    guard r.count == 5 || r.count == 8 else {
                        throw fail("Atoms (atomic): expected 'id type x y z [ix iy iz]', found \(r.count) columns", lineNo)
                    }
                    let atomID = try integer(r[0], lineNo, "atom id")
                    guard atomID > 0 else { throw fail("atom id must be > 0", lineNo) }
                    guard positionOfID[Int64(atomID)] == nil else { throw fail("atom id \(atomID) appears twice", lineNo) }
                    let t = try integer(r[1], lineNo, "atom type")
                    guard (1...types).contains(t) else { throw fail("atom type \(t) outside 1…\(types)", lineNo) }
                    var p = [0.0, 0.0, 0.0]
                    for d in 0..<3 {
                        p[d] = try number(r[2 + d], lineNo, "coordinate")
                        if r.count == 8 { _ = try integer(r[5 + d], lineNo, "image flag") }
                        // Atoms just outside (round-off) are wrapped; far outside is an error.
                        let L = hi[d] - lo[d]
                        guard p[d] >= lo[d] - 0.5 * L && p[d] < hi[d] + 0.5 * L else {
                            throw fail("atom \(atomID) lies outside the box", lineNo)
                        }
                    }
                    positionOfID[Int64(atomID)] = ids.count
                    ids.append(Int64(atomID))
                    atomTypes.append(Int32(t - 1))
                    positions += p
                    atomLines.append(lineNo)
                }
            case "Velocities":
                guard rows.count == atomCount else { throw fail("Velocities: expected \(atomCount) rows, found \(rows.count)", headerLine) }
                for (lineNo, r) in rows {
                    guard r.count == 4 else { throw fail("Velocities: expected 'id vx vy vz'", lineNo) }
                    let atomID = Int64(try integer(r[0], lineNo, "atom id"))
                    velocityByID[atomID] = (try number(r[1], lineNo, "velocity"), try number(r[2], lineNo, "velocity"),
                                            try number(r[3], lineNo, "velocity"))
                }
            case "Pair Coeffs", "PairIJ Coeffs":
                break
            default:
                throw fail("section '\(name)' is not supported (atom_style atomic only)", headerLine)
            }
        }
        guard seenAtoms else { throw fail("no Atoms section", lines.count) }
        for t in 0..<types where masses[t] == nil {
            throw fail("no mass for atom type \(t + 1) (add a Masses section)", 1)
        }
        var velocities: [Double]? = nil
        if !velocityByID.isEmpty {
            var vs = [Double](repeating: 0, count: 3 * atomCount)
            for (k, atomID) in ids.enumerated() {
                guard let v = velocityByID[atomID] else { throw fail("Velocities: no row for atom \(atomID)", atomLines[k]) }
                vs[3 * k] = v.0; vs[3 * k + 1] = v.1; vs[3 * k + 2] = v.2
            }
            velocities = vs
        }
        state = ParticleState(boxLo: lo, boxHi: hi, masses: masses.map { $0! }, ids: ids, types: atomTypes,
                              positions: positions, velocities: velocities)
        typeCount = types
        hasVelocities = velocities != nil
        self.atomLines = atomLines
        self.boxLine = boxLine
    }
}
