// Simple cubic lattices, filled like LAMMPS' `lattice` + `create_atoms box`.

public enum LatticeKind: String, Sendable, CaseIterable {
    case sc, bcc, fcc

    /// Basis positions in units of the lattice constant.
    public var basis: [SIMD3<Double>] {
        switch self {
        case .sc: [SIMD3(0, 0, 0)]
        case .bcc: [SIMD3(0, 0, 0), SIMD3(0.5, 0.5, 0.5)]
        case .fcc: [SIMD3(0, 0, 0), SIMD3(0.5, 0.5, 0), SIMD3(0.5, 0, 0.5), SIMD3(0, 0.5, 0.5)]
        }
    }

    /// Lattice constant for a reduced number density (LAMMPS' `lattice fcc 0.8442` in LJ units).
    public func latticeConstant(density: Double) -> Double {
        Foundation.pow(Double(basis.count) / density, 1.0 / 3.0)
    }
}

import Foundation

public struct LatticeSpec: Sendable {
    public var kind: LatticeKind
    public var constant: Double
    public var cells: SIMD3<Int>
    /// Type (0-based) of each basis atom.
    public var basisTypes: [Int32]

    public init(kind: LatticeKind, constant: Double, cells: SIMD3<Int>, basisTypes: [Int32]? = nil) {
        self.kind = kind
        self.constant = constant
        self.cells = cells
        self.basisTypes = basisTypes ?? Array(repeating: 0, count: kind.basis.count)
    }

    public var atomCount: Int { cells.x * cells.y * cells.z * kind.basis.count }
    public var boxLength: SIMD3<Double> { SIMD3(Double(cells.x), Double(cells.y), Double(cells.z)) * constant }

    /// Every atom: ids 1…N in z, y, x, basis order.
    public func particles(masses: [Double]) -> ParticleState {
        let basis = kind.basis
        var ids: [Int64] = [], types: [Int32] = [], x: [Double] = []
        ids.reserveCapacity(atomCount)
        types.reserveCapacity(atomCount)
        x.reserveCapacity(3 * atomCount)
        var id: Int64 = 1
        for k in 0..<cells.z {
            for j in 0..<cells.y {
                for i in 0..<cells.x {
                    for (m, b) in basis.enumerated() {
                        let p = (SIMD3(Double(i), Double(j), Double(k)) + b) * constant
                        x += [p.x, p.y, p.z]
                        ids.append(id)
                        types.append(basisTypes[m])
                        id += 1
                    }
                }
            }
        }
        return ParticleState(boxLo: .zero, boxHi: boxLength, masses: masses, ids: ids, types: types, positions: x)
    }
}

/// A whole system as every rank first sees it (from a lattice, a data file or a restart).
public struct ParticleState: Sendable {
    public var boxLo: SIMD3<Double>
    public var boxHi: SIMD3<Double>
    /// Mass per type (0-based types).
    public var masses: [Double]
    public var ids: [Int64]
    /// 0-based types.
    public var types: [Int32]
    /// x0 y0 z0 x1 …
    public var positions: [Double]
    /// Same layout; nil: create from a temperature.
    public var velocities: [Double]?
    /// Charge per atom (nil: all zero).
    public var charges: [Double]?
    /// Molecule id per atom (atom_style full; nil: none).
    public var molecules: [Int64]?
    /// Forces at the restart step (restart only): thermostat forces depend on the half-step
    /// velocities, so they are carried over rather than recomputed.
    public var forces: [Double]?
    public var step: Int = 0
    public var time: Double = 0
    /// Nosé–Hoover ξ and η (restart only).
    public var thermostatState: [Double] = []

    public init(boxLo: SIMD3<Double>, boxHi: SIMD3<Double>, masses: [Double], ids: [Int64], types: [Int32],
                positions: [Double], velocities: [Double]? = nil) {
        self.boxLo = boxLo
        self.boxHi = boxHi
        self.masses = masses
        self.ids = ids
        self.types = types
        self.positions = positions
        self.velocities = velocities
    }

    public var count: Int { ids.count }
}
