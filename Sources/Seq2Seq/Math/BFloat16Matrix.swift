import Foundation

/// A weight matrix for reduced-precision decoding: `QuantizedMatrix` (int8) or
/// `BFloat16Matrix` (bf16), made once from fp32 weights and used by the decoder's products.
protocol ReducedPrecisionMatrix: AnyObject {
    /// `C[r, v] += (x · Wᵀ)[r, v]` for rows r < m and outputs v in `outputs`. x `[m, k]` (lda),
    /// C `[m, ·]` (ldc; column v of C is output v). `scratch` is one caller's at a time.
    func addProductTransposed(m: Int, x: UnsafePointer<Float>, lda: Int, outputs: Range<Int>,
                              c: UnsafeMutablePointer<Float>, ldc: Int, scratch: QuantizationScratch)
    /// The matrix of the given rows, in that order: row u is this matrix's row `rows[u]`, exactly
    /// (rows are reduced one by one, so gathering reduced rows equals reducing gathered rows).
    /// `original` `[rows.count, k]` holds the same rows in fp32 and must outlive the result.
    func gathering(rows: [Int32], original: UnsafePointer<Float>) -> any ReducedPrecisionMatrix
}

extension QuantizedMatrix: ReducedPrecisionMatrix {
    func gathering(rows: [Int32], original: UnsafePointer<Float>) -> any ReducedPrecisionMatrix {
        QuantizedMatrix(rows: rows, of: self)
    }
}

/// `w` `[n, k]` (ldw) in the form `precision` multiplies with; nil for fp32 (the weights as they are).
/// `deferred`: each row is reduced when `gathering` first asks for it (only gathered copies
/// multiply; `w` must outlive the matrix).
func reducedPrecisionMatrix(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int, ldw: Int,
                            precision: DecodingPrecision, deferred: Bool = false) -> (any ReducedPrecisionMatrix)? {
    switch precision {
    case .fp32: nil
    case .int8: QuantizedMatrix(w, rows: n, columns: k, ldw: ldw, deferred: deferred)
    case .bf16: BFloat16Matrix(w, rows: n, columns: k, ldw: ldw, deferred: deferred)
    }
}

/// A weight matrix `W` `[n, k]` rounded to bf16 once (`translate --precision bf16`): products
/// `x · Wᵀ` round the input rows to bf16 and accumulate in fp32 (`BLAS.gemmBFloat16`, two bf16
/// products per fp32 lane and instruction with AVX512_BF16). Keeps the fp32 weights' address
/// (which must outlive it) to fall back to fp32 if oneDNN refuses a product. Like the fp32 kernel
/// it replaces, a product runs on the calling thread (the decoder splits its steps itself).
final class BFloat16Matrix: ReducedPrecisionMatrix {
    let rows: Int     // n (outputs)
    let columns: Int  // k (inputs)
    private let weights: UnsafeMutablePointer<UInt16>   // [n, k]
    private let original: UnsafePointer<Float>, ldw: Int
    private var isRounded: [Bool]   // [n] when deferred, else empty (every row done)

    init(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int, ldw: Int, deferred: Bool = false) {
        (rows, columns, original, self.ldw) = (n, k, w, ldw)
        weights = .allocate(capacity: max(n * k, 1))
        isRounded = deferred ? [Bool](repeating: false, count: n) : []
        if !deferred { for v in 0..<n { Kernels.toBFloat16(w + v * ldw, weights + v * k, count: k) } }
    }

    /// Rows `picked` of `matrix`, copied (rounded once, in `matrix`: a deferred one rounds the
    /// rows it has not yet); `original` `[picked.count, k]` is their fp32 form.
    private init(rows picked: [Int32], of matrix: BFloat16Matrix, original: UnsafePointer<Float>) {
        let k = matrix.columns
        for v in picked.lazy.map(Int.init) where !matrix.isRounded.isEmpty && !matrix.isRounded[v] {
            Kernels.toBFloat16(matrix.original + v * matrix.ldw, matrix.weights + v * k, count: k)
            matrix.isRounded[v] = true
        }
        (rows, columns, self.original, ldw, isRounded) = (picked.count, k, original, k, [])
        weights = .allocate(capacity: max(picked.count * k, 1))
        for (u, v) in picked.enumerated() { (weights + u * k).update(from: matrix.weights + Int(v) * k, count: k) }
    }

    func gathering(rows: [Int32], original: UnsafePointer<Float>) -> any ReducedPrecisionMatrix {
        BFloat16Matrix(rows: rows, of: self, original: original)
    }

    deinit { weights.deallocate() }

    func addProductTransposed(m: Int, x: UnsafePointer<Float>, lda: Int, outputs: Range<Int>,
                              c: UnsafeMutablePointer<Float>, ldc: Int, scratch: QuantizationScratch) {
        let (k, n, v0) = (columns, outputs.count, outputs.lowerBound)
        if m == 0 || n == 0 { return }
        let x16 = scratch.reserveBFloat16(count: m * k)
        for r in 0..<m { Kernels.toBFloat16(x + r * lda, x16 + r * k, count: k) }
        // Few rows (decoding steps): stream W once with vdpbf16ps; the GEMM library would pack W
        // on every call (at batch 1 that made bf16 greedy slower than fp32).
        if m <= Kernels.fewRowsLimit,
           Kernels.bf16FewRowsTimesTransposed(m: m, n: n, k: k, a: x16, lda: k, w: weights + v0 * k, ldw: k,
                                              c: c + v0, ldc: ldc) { return }
        do {
            try BLAS.gemmBFloat16(transB: true, m: m, n: n, k: k, a: x16, lda: k, b: weights + v0 * k, ldb: k,
                                  accumulate: true, c: c + v0, ldc: ldc, splitsOverThreads: false)
        } catch {
            Kernels.addProductTransposed(m: m, n: n, k: k, a: x, lda: lda, w: original + v0 * ldw, ldw: ldw, c: c + v0, ldc: ldc)
        }
    }
}
