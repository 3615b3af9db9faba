// The fused-block kernels, generic over the vector type V and `@inlinable`, so they are
// compiled where a `KernelTable` is built for a concrete V (see there). No MPI, no allocation
// beyond stack temporaries.

@inlinable
func vectors<V: AmplitudeVector>(_ s: StateSlice<V.Scalar>, _: V.Type) -> UnsafeMutablePointer<V> {
    UnsafeMutableRawPointer(s.amplitudes).assumingMemoryBound(to: V.self)
}

// MARK: dense

@inlinable
func applyDense<V: AmplitudeVector>(_ k: DenseBlock<V.Scalar>, _ s: StateSlice<V.Scalar>, _: V.Type) {
    // A state (or window) narrower than one vector: amplitude by amplitude.
    guard s.localQubits >= V.laneShift else { return applyDenseByAmplitude(k, s) }
    let w = vectors(s, V.self)
    let items = s.count >> (k.highQubits.count + V.laneShift)
    k.highQubits.withUnsafeBufferPointer { qs in
        k.groupRowOffsets.withUnsafeBufferPointer { rows in
            k.groupColumnOffsets.withUnsafeBufferPointer { columns in
                k.groupEntries.withUnsafeBufferPointer { e in
                    k.laneCoefficients.withUnsafeBufferPointer { c in
                        let (d, g, mask) = (k.dimension, k.groupSize, k.lowMask)
                        let (rows, columns) = (rows.baseAddress!, columns.baseAddress!)
                        let coefficients = c.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: V.self) }
                        s.team.forEach(items) { range in
                            if mask == 0 {
                                denseAcross(w, range, dimension: d, groupSize: g, qs, rows, columns, e.baseAddress!)
                            } else {
                                denseMixed(w, range, dimension: d, groupSize: g, lowMask: mask, qs, rows, columns, coefficients!)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Dense block on a state of fewer amplitudes than a vector holds (tiny states and windows):
/// the same FMAs in the same order as the vector kernels, one amplitude at a time.
@inlinable
func applyDenseByAmplitude<T>(_ k: DenseBlock<T>, _ s: StateSlice<T>) {
    let a = s.amplitudes, d = k.dimension
    let offsets = groupOffsets(k.qubits)
    k.qubits.withUnsafeBufferPointer { qs in
        k.entries.withUnsafeBufferPointer { m in
            withUnsafeTemporaryAllocation(of: SIMD2<T>.self, capacity: 2 * d) { v in
                for group in 0..<(s.count >> qs.count) {
                    let base = insertingZeroBits(group, at: qs)
                    for c in 0..<d { v[c] = a[base + offsets[c]] }
                    for r in 0..<d {
                        var a = SIMD2<T>.zero, b = SIMD2<T>.zero
                        for c in 0..<d {
                            a.addProduct(SIMD2(repeating: m[2 * (c * d + r)]), v[c])
                            b.addProduct(SIMD2(repeating: m[2 * (c * d + r) + 1]), v[c])
                        }
                        v[d + r] = a + SIMD2(-b.y, b.x)
                    }
                    for r in 0..<d { a[base + offsets[r]] = v[d + r] }
                }
            }
        }
    }
}

/// Dense dispatch for one range of items: the group size and lane mask become literals
/// here, once per range, so each kernel's loops unroll and its shuffles fold.
@inlinable @inline(__always)
func denseAcross<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, groupSize g: Int,
                                     _ qubits: UnsafeBufferPointer<Int>, _ rows: UnsafePointer<Int>,
                                     _ columns: UnsafePointer<Int>, _ m: UnsafePointer<V.Scalar>) {
    switch g {
    case 2: denseAcrossKernel(w, items, dimension: d, groupSize: 2, qubits, rows, columns, m)
    case 4: denseAcrossKernel(w, items, dimension: d, groupSize: 4, qubits, rows, columns, m)
    case 8: denseAcrossKernel(w, items, dimension: d, groupSize: 8, qubits, rows, columns, m)
    case 16: denseAcrossKernel(w, items, dimension: d, groupSize: 16, qubits, rows, columns, m)
    default: denseAcrossKernel(w, items, dimension: d, groupSize: g, qubits, rows, columns, m)
    }
}

@inlinable @inline(__always)
func denseMixed<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, groupSize g: Int,
                                    lowMask: Int, _ qubits: UnsafeBufferPointer<Int>, _ rows: UnsafePointer<Int>,
                                    _ columns: UnsafePointer<Int>, _ m: UnsafePointer<V>) {
    switch lowMask {
    case 1: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask1.self, qubits, rows, columns, m)
    case 2: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask2.self, qubits, rows, columns, m)
    case 3: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask3.self, qubits, rows, columns, m)
    case 4: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask4.self, qubits, rows, columns, m)
    case 5: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask5.self, qubits, rows, columns, m)
    case 6: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask6.self, qubits, rows, columns, m)
    default: denseMixedSized(w, items, dimension: d, groupSize: g, LaneMask7.self, qubits, rows, columns, m)
    }
}

/// The mask is a type so each specialisation sees it as a constant and its shuffles fold.
@inlinable
func denseMixedSized<V: AmplitudeVector, M: LaneMask>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int,
                                                      groupSize g: Int, _: M.Type, _ qubits: UnsafeBufferPointer<Int>,
                                                      _ rows: UnsafePointer<Int>, _ columns: UnsafePointer<Int>,
                                                      _ m: UnsafePointer<V>) {
    switch g {
    case 1: denseMixedKernel(w, items, dimension: d, groupSize: 1, lowMask: M.bits, qubits, rows, columns, m)
    case 2: denseMixedKernel(w, items, dimension: d, groupSize: 2, lowMask: M.bits, qubits, rows, columns, m)
    case 4: denseMixedKernel(w, items, dimension: d, groupSize: 4, lowMask: M.bits, qubits, rows, columns, m)
    case 8: denseMixedKernel(w, items, dimension: d, groupSize: 8, lowMask: M.bits, qubits, rows, columns, m)
    default: denseMixedKernel(w, items, dimension: d, groupSize: g, lowMask: M.bits, qubits, rows, columns, m)
    }
}

/// 512-bit vectors come with 32 registers (AVX-512): room for 16 accumulators, four rows ×
/// two items; 256-bit ones with 16 (AVX2), where 8 accumulators avoid spills.
@inlinable @inline(__always)
func hasWideRegisterFile<V: AmplitudeVector>(_: V.Type) -> Bool { MemoryLayout<V>.size >= 64 }

/// lowMask 0: vector = the same entry of 2^s neighbouring groups (item p: groups p·2^s …).
/// Row groups of g rows reading g columns each (`DenseBlock.groupSize`; one group for a dense
/// block). Two items at a time and up to four rows per pass: each coefficient loaded once
/// feeds several FMAs. Each output is re·Σ + i·(im·Σ): the real and imaginary parts of the
/// coefficients accumulate separately against the loaded vector, and the one shuffle of i·z
/// is paid per output, not per column. (An odd last item is computed twice, harmlessly.)
@inlinable @inline(__always)
func denseAcrossKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, groupSize g: Int,
                                           _ qubits: UnsafeBufferPointer<Int>, _ rowOffsets: UnsafePointer<Int>,
                                           _ columnOffsets: UnsafePointer<Int>, _ m: UnsafePointer<V.Scalar>) {
    let s = V.laneShift, four = hasWideRegisterFile(V.self) && g >= 4
    let skip = vectorMask(qubits, shift: s)
    withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * d) { out in
        var item = items.lowerBound, base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
        while item < items.upperBound {
            let base1 = item &+ 1 < items.upperBound ? nextIndex(after: base0, skipping: skip) : base0
            var group = 0, rowStart = 0   // group: its first row and column in the lists
            repeat {
                // a, b: real / imaginary coefficient sums of item 0; e, f: of item 1.
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero, b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                var e0 = V.zero, e1 = V.zero, e2 = V.zero, e3 = V.zero, f0 = V.zero, f1 = V.zero, f2 = V.zero, f3 = V.zero
                let offsets = columnOffsets + group
                for c in 0..<g {
                    let x = w[base0 &+ offsets[c]], y = w[base1 &+ offsets[c]]
                    let k = m + 2 &* (group &* g &+ c &* g &+ rowStart)
                    var (re, im) = (V(repeating: k[0]), V(repeating: k[1]))
                    a0.addProduct(re, x); b0.addProduct(im, x); e0.addProduct(re, y); f0.addProduct(im, y)
                    (re, im) = (V(repeating: k[2]), V(repeating: k[3]))
                    a1.addProduct(re, x); b1.addProduct(im, x); e1.addProduct(re, y); f1.addProduct(im, y)
                    if four {
                        (re, im) = (V(repeating: k[4]), V(repeating: k[5]))
                        a2.addProduct(re, x); b2.addProduct(im, x); e2.addProduct(re, y); f2.addProduct(im, y)
                        (re, im) = (V(repeating: k[6]), V(repeating: k[7]))
                        a3.addProduct(re, x); b3.addProduct(im, x); e3.addProduct(re, y); f3.addProduct(im, y)
                    }
                }
                let o = out.baseAddress! + (group &+ rowStart), p = out.baseAddress! + (d &+ group &+ rowStart)
                o[0] = a0 + b0.timesI; o[1] = a1 + b1.timesI; p[0] = e0 + f0.timesI; p[1] = e1 + f1.timesI
                if four { o[2] = a2 + b2.timesI; o[3] = a3 + b3.timesI; p[2] = e2 + f2.timesI; p[3] = e3 + f3.timesI }
                rowStart &+= four ? 4 : 2
                if rowStart == g { (group, rowStart) = (group &+ g, 0) }
            } while group < d
            for r in 0..<d {
                w[base0 &+ rowOffsets[r]] = out[r]
                w[base1 &+ rowOffsets[r]] = out[d &+ r]
            }
            item &+= 2
            base0 = nextIndex(after: base1, skipping: skip)
        }
    }
}

/// lowMask ≠ 0 (h block qubits inside a vector): for each high column C and low column
/// value, the loaded vector is shuffled so each group's lanes all hold that column's entry,
/// then multiplied by lane-wise coefficients of rows (R, ℓ's low bits), real and imaginary
/// parts into separate sums as in `denseAcrossKernel` (one shuffle per column, i·z once per
/// output). Columns go in ascending order j = C·2^h + low, as there. Two items per pass, of
/// up to four high rows with 512-bit vectors and two with 256-bit ones (eight accumulators fit
/// 16 registers). One item of four rows would shuffle each column once, but its lane-wise
/// coefficients then cost a load per FMA and bound it by the load ports (measured ~10 % slower).
/// An odd last item is computed twice, harmlessly.
@inlinable @inline(__always)
func denseMixedKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, groupSize g: Int,
                                          lowMask: Int, _ qubits: UnsafeBufferPointer<Int>, _ rowOffsets: UnsafePointer<Int>,
                                          _ columnOffsets: UnsafePointer<Int>, _ m: UnsafePointer<V>) {
    let s = V.laneShift, lowCount = 1 &<< lowMask.nonzeroBitCount, rows = d / lowCount
    guard rows >= 1 else { return }  // mask wider than the block: never planned
    let perPass = hasWideRegisterFile(V.self) ? min(g, 4) : min(g, 2)
    let skip = vectorMask(qubits, shift: s)
    withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * rows) { out in
        var item = items.lowerBound, base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
        while item < items.upperBound {
            let base1 = item &+ 1 < items.upperBound ? nextIndex(after: base0, skipping: skip) : base0
            var group = 0, rowStart = 0   // group: its first row and column vector in the lists
            repeat {
                var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero, b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                var e0 = V.zero, e1 = V.zero, e2 = V.zero, e3 = V.zero, f0 = V.zero, f1 = V.zero, f2 = V.zero, f3 = V.zero
                let offsets = columnOffsets + group
                for high in 0..<g {
                    let x0 = w[base0 &+ offsets[high]], y0 = w[base1 &+ offsets[high]]
                    for low in 0..<lowCount {
                        let value = depositingLowBits(low, mask: lowMask)
                        let x = x0.broadcastingLanes(mask: lowMask, value: value)
                        let y = y0.broadcastingLanes(mask: lowMask, value: value)
                        let k = m + 2 &* (group &* g &* lowCount &+ (high &* lowCount &+ low) &* g &+ rowStart)
                        var (re, im) = (k[0], k[1])
                        a0.addProduct(re, x); b0.addProduct(im, x)
                        e0.addProduct(re, y); f0.addProduct(im, y)
                        if perPass >= 2 {
                            (re, im) = (k[2], k[3])
                            a1.addProduct(re, x); b1.addProduct(im, x)
                            e1.addProduct(re, y); f1.addProduct(im, y)
                        }
                        if perPass >= 4 {
                            (re, im) = (k[4], k[5])
                            a2.addProduct(re, x); b2.addProduct(im, x)
                            e2.addProduct(re, y); f2.addProduct(im, y)
                            (re, im) = (k[6], k[7])
                            a3.addProduct(re, x); b3.addProduct(im, x)
                            e3.addProduct(re, y); f3.addProduct(im, y)
                        }
                    }
                }
                let o = out.baseAddress! + (group &+ rowStart), p = out.baseAddress! + (rows &+ group &+ rowStart)
                o[0] = a0 + b0.timesI; p[0] = e0 + f0.timesI
                if perPass >= 2 { o[1] = a1 + b1.timesI; p[1] = e1 + f1.timesI }
                if perPass >= 4 { o[2] = a2 + b2.timesI; o[3] = a3 + b3.timesI; p[2] = e2 + f2.timesI; p[3] = e3 + f3.timesI }
                rowStart &+= perPass
                if rowStart == g { (group, rowStart) = (group &+ g, 0) }
            } while group < rows
            for r in 0..<rows { w[base0 &+ rowOffsets[r]] = out[r] }
            for r in 0..<rows { w[base1 &+ rowOffsets[r]] = out[rows &+ r] }
            item &+= 2
            base0 = nextIndex(after: base1, skipping: skip)
        }
    }
}

// MARK: permutation

@inlinable
func applyPermutation<V: AmplitudeVector>(_ k: PermutationBlock<V.Scalar>, _ s: StateSlice<V.Scalar>, _: V.Type) {
    if k.across { return permuteAcross(k, s, V.self) }
    if s.localQubits >= V.laneShift + k.itemQubits.count { return permuteByItem(k, s, V.self) }
    // Amplitude by amplitude: `permuteAcross` on SIMD2 would do the same, but a specialisation
    // on SIMD2 alone is emitted by both kernel modules under one symbol, and the linker may keep
    // the AVX-512 one; inside this V-specialised function it stays each module's own.
    let a = s.amplitudes, dimension = k.sources.count
    k.positions.withUnsafeBufferPointer { qs in
        k.offsets.withUnsafeBufferPointer { offs in
            k.sources.withUnsafeBufferPointer { column in
                k.factors.withUnsafeBufferPointer { f in
                    k.rowKinds.withUnsafeBufferPointer { kind in
                        s.team.forEach(s.count >> qs.count) { range in
                            withUnsafeTemporaryAllocation(of: SIMD2<V.Scalar>.self, capacity: dimension) { v in
                                for group in range {
                                    let base = insertingZeroBits(group, at: qs)
                                    for c in 0..<dimension { v[c] = a[base &+ offs[c]] }
                                    for r in 0..<dimension where kind[r] != 0 {
                                        let x = v[column[r]]
                                        a[base &+ offs[r]] = kind[r] == 1 ? x : complexProduct(f[r], x)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A block with lane qubits, item by item: whole vectors in and out, the moves inside a copy
/// in L1 (the same products as the amplitude-by-amplitude loop, so the same bits).
@inlinable
func permuteByItem<V: AmplitudeVector>(_ k: PermutationBlock<V.Scalar>, _ s: StateSlice<V.Scalar>, _: V.Type) {
    typealias T = V.Scalar
    let w = vectors(s, V.self)
    let shift = V.laneShift, rows = k.itemOffsets.count
    k.itemQubits.withUnsafeBufferPointer { qs in
        k.itemOffsets.withUnsafeBufferPointer { offs in
            k.changedVectors.withUnsafeBufferPointer { changed in
                k.copies.withUnsafeBufferPointer { copies in
                    k.products.withUnsafeBufferPointer { products in
                        k.productFactors.withUnsafeBufferPointer { f in
                            s.team.forEach(s.count >> (qs.count + shift)) { range in
                                withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * rows) { t in
                                    let vIn = t.baseAddress!, vOut = vIn + rows
                                    let aIn = UnsafeMutableRawPointer(vIn).assumingMemoryBound(to: SIMD2<T>.self)
                                    let aOut = UnsafeMutableRawPointer(vOut).assumingMemoryBound(to: SIMD2<T>.self)
                                    let skip = vectorMask(qs, shift: shift)
                                    var base = insertingZeroBits(range.lowerBound &<< shift, at: qs) &>> shift
                                    for _ in range {
                                        defer { base = nextIndex(after: base, skipping: skip) }
                                        for r in 0..<rows { vIn[r] = w[base &+ offs[r]] }
                                        for r in changed { vOut[r] = vIn[r] }
                                        for m in copies { aOut[Int(m.x)] = aIn[Int(m.y)] }
                                        for (j, m) in products.enumerated() { aOut[Int(m.x)] = complexProduct(f[j], aIn[Int(m.y)]) }
                                        for r in changed { w[base &+ offs[r]] = vOut[r] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// 2^s neighbouring groups at a time, as whole vectors; f·x as re(f)·x + im(f)·(i·x),
/// unfused, which is `complexProduct` lane by lane. Only the moved rows' sources are read.
@inlinable
func permuteAcross<V: AmplitudeVector>(_ k: PermutationBlock<V.Scalar>, _ s: StateSlice<V.Scalar>, _: V.Type) {
    let w = vectors(s, V.self)
    k.positions.withUnsafeBufferPointer { qs in
        k.vectorOffsets.withUnsafeBufferPointer { offs in
            k.sources.withUnsafeBufferPointer { column in
                k.factors.withUnsafeBufferPointer { f in
                    k.rowKinds.withUnsafeBufferPointer { kind in
                        k.movedRows.withUnsafeBufferPointer { moved in
                            s.team.forEach(s.count >> (qs.count + V.laneShift)) { range in
                                withUnsafeTemporaryAllocation(of: V.self, capacity: moved.count) { v in
                                    let skip = vectorMask(qs, shift: V.laneShift)
                                    var base = insertingZeroBits(range.lowerBound &<< V.laneShift, at: qs) &>> V.laneShift
                                    for _ in range {
                                        defer { base = nextIndex(after: base, skipping: skip) }
                                        for (j, r) in moved.enumerated() { v[j] = w[base &+ offs[column[r]]] }
                                        for (j, r) in moved.enumerated() {
                                            let x = v[j]
                                            w[base &+ offs[r]] = kind[r] == 1 ? x : V(repeating: f[r].x) * x + V(repeating: f[r].y) * x.timesI
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// MARK: diagonal

/// A run of diagonals in one pass: each block of 2^blockBits amplitudes is multiplied by every
/// diagonal in turn while it sits in L1, so a run of k diagonals streams the state (or window)
/// once instead of k times. Per amplitude the products are those of k separate passes, in the
/// same order: the same bits.
@inlinable
func applyDiagonals<V: AmplitudeVector>(_ run: DiagonalRun<V.Scalar>, _ s: StateSlice<V.Scalar>, _: V.Type) {
    let a = s.amplitudes, offset = s.globalOffset
    let blockBits = DiagonalBlock<V.Scalar>.blockBits, shift = V.laneShift
    guard s.localQubits >= blockBits else {
        for k in run.blocks {
            for i in 0..<s.count {
                let g = offset | UInt64(i)
                let j = k.qubits.enumerated().reduce(0) { g & (UInt64(1) << UInt64($1.element)) != 0 ? $0 | 1 << $1.offset : $0 }
                a[i] = complexProduct(k.table[j], a[i])
            }
        }
        return
    }
    let w = vectors(s, V.self), vectorsPerBlock = 1 << (blockBits - shift), count = run.blocks.count
    run.vectorIndex.withUnsafeBufferPointer { mids in
        run.laneFactors.withUnsafeBufferPointer { scalars in
            run.factorStart.withUnsafeBufferPointer { starts in
                run.highBits.withUnsafeBufferPointer { bits in
                    run.highQubits.withUnsafeBufferPointer { qubits in
                        run.highStart.withUnsafeBufferPointer { highStart in
                            let factors = UnsafeRawPointer(scalars.baseAddress!).assumingMemoryBound(to: V.self)
                            s.team.forEach(s.count >> blockBits) { blocks in
                                for block in blocks {
                                    let g = offset | UInt64(block << blockBits)
                                    let v = w + block << (blockBits - shift)
                                    for t in 0..<count {
                                        var jHigh = 0
                                        for h in highStart[t]..<highStart[t &+ 1] {
                                            jHigh |= Int(truncatingIfNeeded: (g &>> UInt64(qubits[h])) & 1) &<< bits[h]
                                        }
                                        let mid = mids.baseAddress! + t &* vectorsPerBlock, f = factors + starts[t]
                                        // (re·z) + i·(im·z), products then sums: `complexProduct`'s operations lane by lane.
                                        for r in 0..<vectorsPerBlock {
                                            let j = jHigh | mid[r], x = v[r]
                                            v[r] = f[2 &* j] * x + (f[2 &* j &+ 1] * x).timesI
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// MARK: cache windows

/// Runs are short (8 amplitudes and up in a planned stage): inline loops, not a memcpy call per
/// run; whole vectors where a run holds one, else pairs or single amplitudes.
@inlinable
func copyWindowRuns<V: AmplitudeVector>(_ packed: UnsafeMutablePointer<SIMD2<V.Scalar>>, _ slice: UnsafeMutablePointer<SIMD2<V.Scalar>>,
                                        _ runs: UnsafeBufferPointer<Int>, _ runLength: Int, _ gather: Bool, _: V.Type) {
    @inline(__always) func copy<U>(_: U.Type) {
        let width = MemoryLayout<U>.size / MemoryLayout<SIMD2<V.Scalar>>.size, run = runLength / width
        let p0 = UnsafeMutableRawPointer(packed).assumingMemoryBound(to: U.self)
        let a0 = UnsafeMutableRawPointer(slice).assumingMemoryBound(to: U.self)
        for (r, offset) in runs.enumerated() {
            let (p, a) = (p0 + r &* run, a0 + offset / width)
            if gather { for j in 0..<run { p[j] = a[j] } } else { for j in 0..<run { a[j] = p[j] } }
        }
    }
    if runLength >= 1 << V.laneShift {
        copy(V.self)
    } else if runLength >= 2 {
        copy(SIMD4<V.Scalar>.self)
    } else {
        copy(SIMD2<V.Scalar>.self)
    }
}
