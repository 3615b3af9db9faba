// LAMMPS data files as `write_data` writes them: header counts and box, Masses, Atoms in style
// atomic (id type x y z), charge (id type q x y z) or full (id mol type q x y z), each with
// optional image flags, Velocities, Bonds, Angles, Bond Coeffs and Angle Coeffs (harmonic:
// K r0 and K θ0 in degrees). Pair Coeffs are ignored (the job file sets the potential).
import ForgeCore
import Foundation

public struct LAMMPSDataFile: Sendable {
    public enum AtomStyle: String, Sendable { case atomic, charge, full }
    public var state: ParticleState
    public var atomStyle: AtomStyle
    /// Bonds and angles by atom id, 0-based types; coefficients per type.
    public var bonds: [Bond] = []
    public var angles: [Angle] = []
    public var bondTypes = 0, angleTypes = 0
    public var bondCoeffs: [[Double]] = []
    public var angleCoeffs: [[Double]] = []
    /// Lines of the Bonds and Angles rows (for error messages).
    public var bondLines: [Int] = [], angleLines: [Int] = []
    public var path: String
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
        let raw = text.split(separator: "\n", omittingEmptySubsequences: false)
        let lines = raw.map { line -> [Substring] in
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        }
        var atomCount: Int? = nil, types: Int? = nil
        var counts: [String: Int] = [:]  // bonds, angles, dihedrals, impropers and their types
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
            } else if w.count == 2 && ["bonds", "angles", "dihedrals", "impropers"].contains(String(w[1])) {
                counts[String(w[1])] = try integer(w[0], lineNo, String(w[1]))
                if ["dihedrals", "impropers"].contains(String(w[1])) && counts[String(w[1])]! != 0 {
                    throw fail("\(w[1]) are not supported (bonds and angles are)", lineNo)
                }
            } else if w.count == 3 && ["bond", "angle", "dihedral", "improper"].contains(String(w[1])) && w[2] == "types" {
                counts["\(w[1]) types"] = try integer(w[0], lineNo, "\(w[1]) types")
            } else if w.count == 4 && w[2] == "per" {
                // extra bond/angle/special per atom: LAMMPS storage hints
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
        var style = AtomStyle.atomic
        var charges = [Double](), molecules = [Int64]()
        var bonds = [Bond](), angles = [Angle](), bondLines = [Int](), angleLines = [Int]()
        let bondTypes = counts["bond types"] ?? 0, angleTypes = counts["angle types"] ?? 0
        var bondCoeffs = [[Double]?](repeating: nil, count: bondTypes), angleCoeffs = [[Double]?](repeating: nil, count: angleTypes)
        var positionOfID: [Int64: Int] = [:]
        while index < lines.count {
            let w = lines[index]
            if w.isEmpty { index += 1; continue }
            let headerLine = index + 1
            let title = w.prefix(2).joined(separator: " ")
            let name = sections.contains(title) ? title : String(w[0])
            guard sections.contains(name) else { throw fail("unknown section '\(w.joined(separator: " "))'", headerLine) }
            var declared: AtomStyle? = nil
            if name == "Atoms" {
                // `Atoms # charge`: write_data names the style in a comment.
                let comment = raw[index].split(separator: "#", maxSplits: 1).dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? ""
                if !comment.isEmpty {
                    guard let s = AtomStyle(rawValue: comment) else {
                        throw fail("atom style '\(comment)' is not supported (atomic, charge or full)", headerLine)
                    }
                    declared = s
                }
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
                // Without the comment, the column count tells the style.
                let columns = rows.first!.1.count
                style = declared ?? ([5: .atomic, 8: .atomic, 6: .charge, 9: .charge, 7: .full, 10: .full][columns] ?? .atomic)
                let base = [AtomStyle.atomic: 5, .charge: 6, .full: 7][style]!
                let layout = [AtomStyle.atomic: "id type x y z", .charge: "id type q x y z", .full: "id mol type q x y z"][style]!
                for (lineNo, row) in rows {
                    guard row.count == base || row.count == base + 3 else {
                        throw fail("Atoms (\(style.rawValue)): expected '\(layout) [ix iy iz]', found \(row.count) columns", lineNo)
                    }
                    var r = Array(row)
                    if style == .full {
                        molecules.append(Int64(try integer(r[1], lineNo, "molecule id")))
                        r.remove(at: 1)
                    }
                    if style != .atomic {
                        charges.append(try number(r[2], lineNo, "charge"))
                        r.remove(at: 2)
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
            case "Bonds", "Angles":
                let isBond = name == "Bonds"
                let expected = counts[isBond ? "bonds" : "angles"] ?? 0
                guard rows.count == expected else { throw fail("\(name): header says \(expected), section has \(rows.count)", headerLine) }
                let width = isBond ? 4 : 5
                let typeCount = isBond ? bondTypes : angleTypes
                for (lineNo, r) in rows {
                    guard r.count == width else {
                        throw fail("\(name): expected '\(isBond ? "id type atom1 atom2" : "id type atom1 atom2 atom3")'", lineNo)
                    }
                    let t = try integer(r[1], lineNo, "\(name) type")
                    guard (1...max(typeCount, 1)).contains(t), typeCount > 0 else {
                        throw fail("\(isBond ? "bond" : "angle") type \(t) outside 1…\(typeCount)", lineNo)
                    }
                    let atoms = try (2..<width).map { Int64(try integer(r[$0], lineNo, "atom id")) }
                    if isBond {
                        bonds.append(Bond(type: Int32(t - 1), atoms: (atoms[0], atoms[1])))
                        bondLines.append(lineNo)
                    } else {
                        angles.append(Angle(type: Int32(t - 1), atoms: (atoms[0], atoms[1], atoms[2])))
                        angleLines.append(lineNo)
                    }
                }
            case "Bond Coeffs", "Angle Coeffs":
                let isBond = name == "Bond Coeffs"
                let typeCount = isBond ? bondTypes : angleTypes
                for (lineNo, r) in rows {
                    guard r.count == 3 else { throw fail("\(name): expected 'type K \(isBond ? "r0" : "theta0")' (harmonic)", lineNo) }
                    let t = try integer(r[0], lineNo, "\(name) type")
                    guard (1...max(typeCount, 1)).contains(t), typeCount > 0 else { throw fail("\(name): type \(t) outside 1…\(typeCount)", lineNo) }
                    let values = [try number(r[1], lineNo, "K"), try number(r[2], lineNo, isBond ? "r0" : "theta0")]
                    if isBond { bondCoeffs[t - 1] = values } else { angleCoeffs[t - 1] = values }
                }
            default:
                throw fail("section '\(name)' is not supported", headerLine)
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
        // Every bond and angle names atoms that exist.
        for (k, b) in bonds.enumerated() {
            for a in [b.atoms.0, b.atoms.1] where positionOfID[a] == nil {
                throw fail("bond \(k + 1) names atom \(a), which is not in the Atoms section", bondLines[k])
            }
        }
        for (k, a) in angles.enumerated() {
            for atom in [a.atoms.0, a.atoms.1, a.atoms.2] where positionOfID[atom] == nil {
                throw fail("angle \(k + 1) names atom \(atom), which is not in the Atoms section", angleLines[k])
            }
        }
        if !bonds.isEmpty && !bondCoeffs.isEmpty && bondCoeffs.contains(where: { $0 == nil }) && bondCoeffs.contains(where: { $0 != nil }) {
            throw fail("Bond Coeffs: not every bond type has coefficients", 1)
        }
        state = ParticleState(boxLo: lo, boxHi: hi, masses: masses.map { $0! }, ids: ids, types: atomTypes,
                              positions: positions, velocities: velocities)
        if style != .atomic { state.charges = charges }
        if style == .full { state.molecules = molecules }
        atomStyle = style
        self.bonds = bonds
        self.angles = angles
        self.bondLines = bondLines
        self.angleLines = angleLines
        self.bondTypes = bondTypes
        self.angleTypes = angleTypes
        self.bondCoeffs = bondCoeffs.allSatisfy({ $0 != nil }) ? bondCoeffs.map { $0! } : []
        self.angleCoeffs = angleCoeffs.allSatisfy({ $0 != nil }) ? angleCoeffs.map { $0! } : []
        self.path = path
        typeCount = types
        hasVelocities = velocities != nil
        self.atomLines = atomLines
        self.boxLine = boxLine
    }
}

/// A bond between two atoms (by id), 0-based bond type.
public struct Bond: Sendable {
    public var type: Int32
    public var atoms: (Int64, Int64)
    public init(type: Int32, atoms: (Int64, Int64)) { (self.type, self.atoms) = (type, atoms) }
}

/// An angle i–j–k (j the vertex), by atom id, 0-based angle type.
public struct Angle: Sendable {
    public var type: Int32
    public var atoms: (Int64, Int64, Int64)
    public init(type: Int32, atoms: (Int64, Int64, Int64)) { (self.type, self.atoms) = (type, atoms) }
}
