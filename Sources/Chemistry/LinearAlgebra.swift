// Dense symmetric eigenproblems through LAPACK (OpenBLAS), and a small linear solve for DIIS.
import CBLAS

/// The matrices here are at most a few hundred wide: OpenBLAS's worker threads would only spin
/// (sched_yield) beside the one doing the work, on cores the ranks and their threads own.
let singleThreadedBLAS: Void = openblas_set_num_threads(1)

public struct SymmetricEigen: Sendable {
    /// Ascending eigenvalues.
    public let values: [Double]
    /// Eigenvector k is `vectors[k*n ..< (k+1)*n]`.
    public let vectors: [Double]

    /// `matrix` is n×n symmetric (row- or column-major alike).
    public init(_ matrix: [Double], n: Int) {
        precondition(matrix.count == n * n)
        _ = singleThreadedBLAS
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var nn = Int32(n), lda = Int32(max(n, 1)), info: Int32 = 0
        var lwork: Int32 = -1
        var query = 0.0
        let jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        var jz = jobz, ul = uplo
        dsyev_(&jz, &ul, &nn, &a, &lda, &w, &query, &lwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        dsyev_(&jz, &ul, &nn, &a, &lda, &w, &work, &lwork, &info)
        precondition(info == 0, "dsyev failed (info \(info))")
        (values, vectors) = (w, a)
    }
}

/// C = A·B for row-major n×n matrices.
func multiply(_ a: [Double], _ b: [Double], n: Int) -> [Double] { multiply(a, b, m: n, k: n, n: n) }

/// C = op(A)·B for row-major A (m×k, or k×m read transposed when `transposeA`) and B (k×n).
func multiply(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int, transposeA: Bool = false) -> [Double] {
    _ = singleThreadedBLAS
    var c = [Double](repeating: 0, count: m * n)
    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                a, Int32(transposeA ? m : k), b, Int32(n), 0, &c, Int32(n))
    return c
}

func transpose(_ a: [Double], n: Int) -> [Double] {
    var t = a
    for i in 0..<n { for j in 0..<n { t[j * n + i] = a[i * n + j] } }
    return t
}

/// Solves A x = b (m×m, row-major) by Gaussian elimination with partial pivoting; nil if singular.
func solveLinear(_ a: [Double], _ b: [Double], m: Int) -> [Double]? {
    var a = a, x = b
    for col in 0..<m {
        let pivot = (col..<m).max { abs(a[$0 * m + col]) < abs(a[$1 * m + col]) }!
        guard abs(a[pivot * m + col]) > 1e-300 else { return nil }
        if pivot != col {
            for k in 0..<m { a.swapAt(col * m + k, pivot * m + k) }
            x.swapAt(col, pivot)
        }
        for row in (col + 1)..<m {
            let f = a[row * m + col] / a[col * m + col]
            if f == 0 { continue }
            for k in col..<m { a[row * m + k] -= f * a[col * m + k] }
            x[row] -= f * x[col]
        }
    }
    for row in stride(from: m - 1, through: 0, by: -1) {
        var s = x[row]
        for k in (row + 1)..<m { s -= a[row * m + k] * x[k] }
        x[row] = s / a[row * m + row]
    }
    return x
}
