/// A weight matrix `W` `[n, k]` stored as int8 with one scale per row, for reduced-precision
/// decoding (`translate --precision int8`): products `x · Wᵀ` run as u8 × s8 integer GEMMs
/// (VNNI where the CPU has it) and are scaled back to float.
///
///     W ≈ scale_v · Wq[v, ·],   scale_v = max_j |W[v, j]| / 127           (per output row v)
///     x_r ≈ s_r · (xq[r, ·] − L), s_r = max_j |x[r, j]| / L, xq ∈ [0, 2L]    (per input row r)
///     (x · Wᵀ)[r, v] ≈ s_r · scale_v · Σ_j (xq[r, j] − L) · Wq[v, j]
///
/// L = 127 with VNNI; without it, u8·s8 pairs are summed in saturating 16-bit arithmetic, so the
/// inputs keep 7 bits (L = 63, 2L ≤ 127) and can never saturate.
final class QuantizedMatrix {
    let rows: Int     // n (outputs)
    let columns: Int  // k (inputs)
    private let weights: UnsafeMutablePointer<Int8>   // [n, k]
    private let scales: UnsafeMutablePointer<Float>   // [n]
    /// Input levels on each side of zero.
    let levels: Int

    /// Deferred: the fp32 rows, quantized one by one the first time `gathering` asks for them.
    private let source: UnsafePointer<Float>?, sourceStride: Int
    private var isQuantized: [Bool]   // [n] when deferred, else empty (every row done)

    /// Quantizes `w` `[n, k]` (leading dimension `ldw`). `inputLevels` overrides L (tests; values
    /// above 63 are only safe with VNNI). `deferred`: rows are quantized when `gathering` first
    /// asks for them (`w` must outlive the matrix), and only gathered copies may multiply.
    init(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int, ldw: Int, inputLevels: Int? = nil, deferred: Bool = false) {
        rows = n
        columns = k
        levels = inputLevels ?? (BLAS.int8HasVNNI ? 127 : 63)
        weights = .allocate(capacity: max(n * k, 1))
        scales = .allocate(capacity: max(n, 1))
        (source, sourceStride) = (deferred ? w : nil, ldw)
        isQuantized = deferred ? [Bool](repeating: false, count: n) : []
        if !deferred { for v in 0..<n { quantize(row: w + v * ldw, into: v) } }
    }

    /// Row v: scale = max_j |w_j| / 127, Wq[v, j] = round(w_j / scale) (ties to even) — the input
    /// rows' kernel with 127 levels, shifted back from [0, 254] to [−127, 127].
    private func quantize(row: UnsafePointer<Float>, into v: Int) {
        let k = columns
        let q = UnsafeMutableRawPointer(weights + v * k).assumingMemoryBound(to: UInt8.self)
        scales[v] = Kernels.quantizeRow(row, count: k, levels: 127, into: q)
        for j in 0..<k { q[j] = q[j] &- 127 }   // two's complement: the Int8 value q − 127
    }

    /// Rows `picked` of `matrix` with their scales, copied: the same integers and scales as
    /// quantizing those fp32 rows again (the shortlisted output layer of each batch). A deferred
    /// `matrix` quantizes the rows it has not yet (one caller at a time).
    init(rows picked: [Int32], of matrix: QuantizedMatrix) {
        if let source = matrix.source {
            for v in picked.lazy.map(Int.init) where !matrix.isQuantized[v] {
                matrix.quantize(row: source + v * matrix.sourceStride, into: v)
                matrix.isQuantized[v] = true
            }
        }
        let k = matrix.columns
        (rows, columns, levels) = (picked.count, k, matrix.levels)
        (source, sourceStride, isQuantized) = (nil, k, [])
        weights = .allocate(capacity: max(picked.count * k, 1))
        scales = .allocate(capacity: max(picked.count, 1))
        for (u, v) in picked.enumerated() {
            (weights + u * k).update(from: matrix.weights + Int(v) * k, count: k)
            scales[u] = matrix.scales[Int(v)]
        }
    }

    deinit {
        weights.deallocate()
        scales.deallocate()
    }

    /// `C[r, v] += (x · Wᵀ)[r, v]` for rows r < m and outputs v in `outputs`, in integers.
    /// x `[m, k]` (lda), C `[m, ·]` (ldc; column v of C is output v). `scratch` holds the
    /// quantized inputs and integer results of one caller at a time.
    func addProductTransposed(m: Int, x: UnsafePointer<Float>, lda: Int, outputs: Range<Int>,
                              c: UnsafeMutablePointer<Float>, ldc: Int, scratch: QuantizationScratch) {
        let (k, n, L) = (columns, outputs.count, levels)
        if m == 0 || n == 0 { return }
        let (xq, inputScales, products) = scratch.reserve(rows: m, columns: k, outputs: n)
        for r in 0..<m { inputScales[r] = Kernels.quantizeRow(x + r * lda, count: k, levels: L, into: xq + r * k) }
        let v0 = outputs.lowerBound
        guard BLAS.gemmInt8(m: m, n: n, k: k, a: xq, lda: k, aOffset: UInt8(L), b: weights + v0 * k, ldb: k,
                            c: products, ldc: n) else { return }
        for r in 0..<m {
            Kernels.dequantizeAdd(products + r * n, scale: inputScales[r], scales: scales + v0, into: c + r * ldc + v0, count: n)
        }
    }
}

/// Work buffers of `QuantizedMatrix.addProductTransposed`; grow to the largest use and are reused.
final class QuantizationScratch {
    private var inputs = UnsafeMutablePointer<UInt8>.allocate(capacity: 1), inputCapacity = 1
    private var scales = UnsafeMutablePointer<Float>.allocate(capacity: 1), scaleCapacity = 1
    private var products = UnsafeMutablePointer<Int32>.allocate(capacity: 1), productCapacity = 1
    private var bf16Inputs = UnsafeMutablePointer<UInt16>.allocate(capacity: 1), bf16Capacity = 1

    deinit {
        inputs.deallocate()
        scales.deallocate()
        products.deallocate()
        bf16Inputs.deallocate()
    }

    /// Room for `count` bf16 inputs (`BFloat16Matrix`).
    func reserveBFloat16(count: Int) -> UnsafeMutablePointer<UInt16> {
        if count > bf16Capacity { bf16Inputs.deallocate(); bf16Capacity = count; bf16Inputs = .allocate(capacity: count) }
        return bf16Inputs
    }

    func reserve(rows m: Int, columns k: Int, outputs n: Int)
        -> (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) {
        if m * k > inputCapacity { inputs.deallocate(); inputCapacity = m * k; inputs = .allocate(capacity: inputCapacity) }
        if m > scaleCapacity { scales.deallocate(); scaleCapacity = m; scales = .allocate(capacity: m) }
        if m * n > productCapacity { products.deallocate(); productCapacity = m * n; products = .allocate(capacity: m * n) }
        return (inputs, scales, products)
    }
}
