import AmplitudeKernels
import ForgeCore

extension DistributedState {
    /// Draws `shots` basis states from |ψ|² and returns the global indices this rank's slice
    /// produced. The draws and the pairwise probability tree depend only on the seed and the
    /// global index, so the union over ranks is identical for 1, 2, 4 … ranks.
    func sample(shots: Int, seed: UInt64) -> [UInt64] {
        // Per-block sums at a fixed granularity; within a block, subtree sums are recomputed.
        let blockBits = min(localQubitCount, 6)
        let blockSize = 1 << blockBits
        let blockCount = localCount >> blockBits
        var levels: [[Double]] = [[Double](repeating: 0, count: blockCount)]
        for b in 0..<blockCount { levels[0][b] = subtreeSum(start: b * blockSize, count: blockSize) }
        while levels[levels.count - 1].count > 1 { levels.append(parentLevel(levels[levels.count - 1])) }
        // Rank-level tree from every rank's root.
        var rankLevels: [[Double]] = [comm.allgather([levels.last![0]])]
        while rankLevels[rankLevels.count - 1].count > 1 { rankLevels.append(parentLevel(rankLevels[rankLevels.count - 1])) }
        let total = rankLevels.last![0]

        var rng = SplitMix64(seed: seed)
        var mine: [UInt64] = []
        for _ in 0..<shots {
            var t = rng.nextUnit() * total
            var node = descend(&t, levels: rankLevels)
            guard node == comm.rank else { continue }
            node = descend(&t, levels: levels)
            // Inside the block: halve with recomputed pairwise subtree sums.
            var start = node * blockSize, width = blockSize
            while width > 1 {
                width /= 2
                let left = subtreeSum(start: start, count: width)
                let right = subtreeSum(start: start + width, count: width)
                if goRight(&t, left: left, right: right) { start += width }
            }
            mine.append(globalOffset | UInt64(start))
        }
        return mine
    }

    private func parentLevel(_ below: [Double]) -> [Double] {
        var parents = [Double](repeating: 0, count: below.count / 2)
        for k in 0..<parents.count { parents[k] = below[2 * k] + below[2 * k + 1] }
        return parents
    }

    /// Walks a bottom-up list of tree levels from the root; returns the index at level 0.
    private func descend(_ t: inout Double, levels: [[Double]]) -> Int {
        var node = 0
        for level in stride(from: levels.count - 2, through: 0, by: -1) {
            let left = levels[level][2 * node], right = levels[level][2 * node + 1]
            node = 2 * node + (goRight(&t, left: left, right: right) ? 1 : 0)
        }
        return node
    }

    /// Chooses a child for target `t`; never enters an empty subtree (rounding at the edges).
    private func goRight(_ t: inout Double, left: Double, right: Double) -> Bool {
        if right == 0 { return false }
        if left == 0 || t >= left { t -= left; return true }
        return false
    }

    private func subtreeSum(start: Int, count: Int) -> Double {
        var sum = PairwiseSum()
        for i in start..<(start + count) { sum.add(Kernels.norm(amplitudes[i])) }
        return sum.total
    }
}
