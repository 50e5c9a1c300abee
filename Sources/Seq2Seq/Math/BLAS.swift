import CMatrix

// The only file that imports the matrix library (CMatrix: oneDNN's sgemm and its OpenMP
// thread team). Everything else multiplies matrices through `BLAS.gemm` / `BLAS.gemv`, which
// take row-major operands and raw pointers, and sets threads through `ComputeThreads`.
//
// Backend, chosen by measurement on the model's shapes (`seq2seq bench peak` prints the table):
// oneDNN `dnnl_sgemm` reached 205–220 GFLOP/s on 2 threads for the output layer and input
// projections on a Zen 4 (92–95% of the measured FMA peak) against 150–200 for OpenBLAS 0.3.21,
// whose kernel choice also follows the environment's OPENBLAS_CORETYPE. For products with few
// rows (a recurrent step, [64, H]·[H, 4H]) oneDNN's own threading is poor, so those are split by
// columns over the team with each part single-threaded (see `cmatrix_sgemm`).

/// Threads for matrix products and for the element-wise work split with `Parallel.forEach`.
///
/// There is one thread team in the process (oneDNN's OpenMP team): `Parallel.forEach` runs its
/// parts on it, and a product called inside a part runs on that part's thread alone, so nothing
/// oversubscribes the cores. Results are bit-identical for a fixed thread count; different
/// counts may differ in the last bits (products split differently).
public enum ComputeThreads {
    /// Sets the number of threads (at least 1) for every following product and parallel split
    /// (process-wide; call it once, from the command's `run`).
    public static func configure(_ count: Int) {
        cmatrix_set_threads(Int32(clamping: max(1, count)))
    }

    /// Number of threads products use now (before `configure`: every core, or OMP_NUM_THREADS).
    public static var count: Int { Int(cmatrix_threads()) }

    /// True while the calling thread runs one part of a `Parallel.forEach` (where products are
    /// single-threaded).
    public static var insideParallelPart: Bool { cmatrix_in_parallel() != 0 }

    /// Runs `body(part)` for every `part < parts` on the team (at most the configured threads; the
    /// caller's thread is one of them). Products inside `body` run single-threaded.
    static func run(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 { if parts == 1 { body(0) }; return }
        withoutActuallyEscaping(body) { body in
            var context = body
            withUnsafeMutablePointer(to: &context) { pointer in
                cmatrix_parallel(parts, { raw, part in
                    raw!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                }, pointer)
            }
        }
    }
}

/// Description of the matrix library and the instruction set it dispatched to,
/// e.g. "oneDNN 2.6.3 (avx512_core, OpenMP)".
public func blasCoreName() -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    cmatrix_backend_description(&buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Old name, kept until `Model/Inference.swift` moves to `ComputeThreads`: sets the threads of
/// the products only, as `openblas_set_num_threads` did (the team of `Parallel.forEach` keeps
/// its size). New code calls `ComputeThreads.configure`.
public func setBLASThreadCount(_ count: Int) { cmatrix_set_product_threads(Int32(clamping: max(1, count))) }

/// Old name of `ComputeThreads.count`, kept until `Model/Inference.swift` moves to it.
public func blasThreadCount() -> Int { ComputeThreads.count }

/// Row-major single-precision matrix products (the CBLAS row-major contract).
enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// - `op(A)` is `[m, k]`: `A` is stored `[m, k]` (leading dimension `lda ≥ k`)
    ///   or, with `transA`, `[k, m]` (`lda ≥ m`).
    /// - `op(B)` is `[k, n]`: `B` is stored `[k, n]` (`ldb ≥ n`) or, with `transB`, `[n, k]` (`ldb ≥ k`).
    /// - `C` is `[m, n]` with `ldc ≥ n`.
    ///
    /// Empty products (`m`, `n` or `k` zero) are handled: with `k == 0`, `C` is scaled by `beta`
    /// (`beta == 0` clears it, NaNs included).
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
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { for j in 0..<n { row[j] = 0 } } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        cmatrix_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// The same product on the calling thread alone, whatever `ComputeThreads.count` is
    /// (for benchmarks that compare threading strategies).
    static func gemmSingleThreaded(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 || k == 0 { return gemm(m: m, n: n, k: 0, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc) }
        cmatrix_sgemm_single(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Products with at most this many rows (and enough columns) are split by columns over the
    /// threads, each part single-threaded; 0 turns the split off (for `bench peak` comparisons).
    static var columnSplitRows: Int {
        get { cmatrix_column_split_rows() }
        set { cmatrix_set_column_split_rows(newValue) }
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
        if trans {
            // y [1, n] = x [1, m] · A [m, n]
            cmatrix_sgemm(0, 0, 1, n, m, alpha, x, m, a, lda, beta, y, n)
        } else {
            // y [m, 1] = A [m, n] · x [n, 1]
            cmatrix_sgemm(0, 0, m, 1, n, alpha, a, lda, x, 1, beta, y, 1)
        }
    }
}
