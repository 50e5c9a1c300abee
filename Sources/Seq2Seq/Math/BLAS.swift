import CBLAS

// The only file that imports CBLAS. Everything else multiplies matrices through
// `BLAS.gemm` / `BLAS.gemv`, which take row-major operands and raw pointers.

/// Name of the OpenBLAS kernel chosen at run time (e.g. "Zen").
public func blasCoreName() -> String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
}

/// Sets the number of threads OpenBLAS uses for every following product.
///
/// Results are bit-identical for a fixed thread count; products of different
/// thread counts may differ in the last bits.
public func setBLASThreadCount(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}

/// Number of threads OpenBLAS currently uses.
public func blasThreadCount() -> Int { Int(openblas_get_num_threads()) }

/// Thin row-major wrapper over single-precision CBLAS.
enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// - `op(A)` is `[m, k]`: `A` is stored `[m, k]` (leading dimension `lda ≥ k`)
    ///   or, with `transA`, `[k, m]` (`lda ≥ m`).
    /// - `op(B)` is `[k, n]`: `B` is stored `[k, n]` (`ldb ≥ n`) or, with `transB`, `[n, k]` (`ldb ≥ k`).
    /// - `C` is `[m, n]` with `ldc ≥ n`.
    ///
    /// Empty products (`m`, `n` or `k` zero) are handled: with `k == 0`, `C` is scaled by `beta`.
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // OpenBLAS handles k == 0, but scale explicitly so beta == 0 also clears NaNs.
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { for j in 0..<n { row[j] = 0 } } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// `y = alpha · op(A) · x + beta · y`, row-major. `A` is stored `[m, n]` (`lda ≥ n`);
    /// without `trans`, `x` has `n` entries and `y` has `m`; with `trans`, `x` has `m` and `y` has `n`.
    @inline(__always)
    static func gemv(
        trans: Bool = false,
        m: Int, n: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>,
        beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 {
            let count = trans ? n : m
            for i in 0..<count { y[i] = beta == 0 ? 0 : y[i] * beta }
            return
        }
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}
