// Forces from outside the MD engine (LAMMPS fix external, called at post_force): QM/MM's quantum
// region. They join the step after pair, bond and k-space forces and before SHAKE, so constraints
// see them.
import Foundation

/// A force on the owned atoms, computed each step by every rank together (collective).
public protocol ExternalForce: AnyObject {
    /// Adds forces with `MDEngine.addForce` and returns the energy of this step (the same on every
    /// rank, in the engine's energy unit; it joins the potential energy).
    func apply(_ engine: MDEngine, energy: Bool) throws -> Double
}

/// One owned atom as an external force sees it (position wrapped into the box).
public struct OwnedAtom: Sendable {
    public var index: Int
    public var id: Int64
    public var type: Int32
    public var molecule: Int64
    public var charge: Double
    public var position: SIMD3<Double>
}

extension MDEngine {
    /// Calls `body` with every owned atom.
    public func forEachOwnedAtom(_ body: (OwnedAtom) throws -> Void) rethrows {
        for i in 0..<nlocal {
            let p = SIMD3(wrapped(x[3 * i], 0), wrapped(x[3 * i + 1], 1), wrapped(x[3 * i + 2], 2))
            try body(OwnedAtom(index: i, id: id[i], type: type[i], molecule: mol[i], charge: q[i], position: p))
        }
    }

    /// Adds `force` to owned atom `index` (as `forEachOwnedAtom` numbered it this step).
    public func addForce(_ force: SIMD3<Double>, toOwned index: Int) {
        precondition(index < nlocal)
        addForce(index, force)
    }

    /// The minimum-image displacement b − a in this periodic box.
    public func minimumImage(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> { minimumImage(b - a) }

    func applyExternal(energy: Bool) throws {
        guard let external else { return }
        let e = try external.apply(self, energy: energy)
        if energy { lastExternal = e }
    }
}
