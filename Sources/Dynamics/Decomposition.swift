// 3-D brick decomposition: the box is cut into px × py × pz bricks, one per rank.
import ForgeCore

public struct BrickGrid: Sendable, Equatable {
    public var counts: SIMD3<Int>
    public var size: Int { counts.x * counts.y * counts.z }

    /// Rank at grid coordinates (x fastest).
    public func rank(_ c: SIMD3<Int>) -> Int { c.x + counts.x * (c.y + counts.y * c.z) }
    public func coordinates(of rank: Int) -> SIMD3<Int> {
        SIMD3(rank % counts.x, (rank / counts.x) % counts.y, rank / (counts.x * counts.y))
    }

    /// The factorisation of `ranks` with the smallest brick surface (LAMMPS' procs2box), among
    /// those whose bricks are at least `minWidth` wide along every split axis; nil if none is.
    public static func choose(ranks: Int, box: SIMD3<Double>, minWidth: Double) -> BrickGrid? {
        var best: (area: Double, grid: BrickGrid)? = nil
        for px in 1...ranks where ranks % px == 0 {
            for py in 1...(ranks / px) where (ranks / px) % py == 0 {
                let pz = ranks / px / py
                let c = SIMD3(px, py, pz)
                let w = box / SIMD3(Double(px), Double(py), Double(pz))
                var fits = true
                for d in 0..<3 where c[d] > 1 && w[d] < minWidth { fits = false }
                guard fits else { continue }
                let area = w.x * w.y + w.y * w.z + w.x * w.z
                if best == nil || area < best!.area - 1e-12 * area { best = (area, BrickGrid(counts: c)) }
            }
        }
        return best?.grid
    }
}
