// Unit sets, with LAMMPS' conversion constants (src/update.cpp) so thermo matches LAMMPS.

/// `lj`: reduced units (σ, ε, m, τ). `real`: Å, fs, kcal/mol, amu, atm. `metal`: Å, ps, eV, amu, bar.
public enum UnitStyle: String, Sendable, CaseIterable {
    case lj, real, metal

    /// Boltzmann constant in energy/temperature.
    public var boltz: Double {
        switch self { case .lj: 1; case .real: 0.0019872067; case .metal: 8.617343e-5 }
    }
    /// m·v² → energy.
    public var mvv2e: Double {
        switch self { case .lj: 1; case .real: 48.88821291 * 48.88821291; case .metal: 1.0364269e-4 }
    }
    /// force·time/mass → velocity.
    public var ftm2v: Double {
        switch self { case .lj: 1; case .real: 1 / 48.88821291 / 48.88821291; case .metal: 1 / 1.0364269e-4 }
    }
    /// energy/volume → pressure unit.
    public var nktv2p: Double {
        switch self { case .lj: 1; case .real: 68568.415; case .metal: 1.6021765e6 }
    }
    /// LAMMPS normalises thermo energies per atom in LJ units only (`thermo_modify norm`).
    public var normalizeThermo: Bool { self == .lj }

    /// H5MD `unit` attribute strings (MDAnalysis' spellings for the physical sets).
    public var length: String { self == .lj ? "sigma" : "Angstrom" }
    public var time: String { switch self { case .lj: "tau"; case .real: "fs"; case .metal: "ps" } }
    public var velocity: String { switch self { case .lj: "sigma/tau"; case .real: "Angstrom fs-1"; case .metal: "Angstrom ps-1" } }
    public var energy: String { switch self { case .lj: "epsilon"; case .real: "kcal mol-1"; case .metal: "eV" } }
    public var temperature: String { self == .lj ? "epsilon/k_B" : "K" }
    public var pressure: String { switch self { case .lj: "epsilon/sigma^3"; case .real: "atm"; case .metal: "bar" } }
}
