import CKernels

// Element-wise kernels over raw buffers. The only file that imports CKernels.
//
// Array kernels (everything taking a pointer and a count) run in C at the machine's vector
// width, chosen at run time: AVX-512 where the CPU has it, AVX2 + FMA otherwise, baseline
// x86-64 on anything older (Sources/CKernels; SEQ2SEQ_ISA=avx2|generic narrows the choice,
// `Kernels.withInstructionSet` narrows it for one thread in tests). The binary needs nothing
// beyond baseline x86-64. They compute exactly the formulas of the scalar functions below.
//
// Scalar functions (`exp`, `sigmoid`, `tanh`, `squareRoot` of one Float) stay in Swift,
// written so the compiler auto-vectorizes loops that call them: no library calls (glibc
// `expf`/`tanhf` are scalar), no checked integer arithmetic, no branches other than selects.
// Cells should prefer the array kernels: `sigmoidInPlace`, `tanhInPlace`, `sigmoid(_:_:count:)`,
// `tanh(_:_:count:)`, `multiply`, `add`, `scaleAndAdd` over whole gate rows run 2–4× wider
// than Swift loops, which the compiler builds for baseline x86-64 (128-bit SSE2). The library
// targets are compiled with whole-module optimization (Package.swift), so the scalar functions
// inline into loops in other files too.
//
// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 ∈ [−ln2/2, ln2/2];
// e^r comes from the Cephes degree-6 polynomial (relative error ≈ 1e-7). n is
// rounded with the 1.5·2^23 "magic number" trick, whose bit pattern also holds n
// as an integer, so 2^n is built by integer shifts without a float→int trap check.
// Inputs are clamped to [−87.3, 88.3] (n stays in −126…127): exp then neither overflows to inf nor
// produces denormals, so sigmoid/tanh saturate cleanly.


enum Kernels {
    @inline(__always)
    static func exp(_ x0: Float) -> Float {
        let lo: Float = -87.3, hi: Float = 88.3
        var x = x0 < lo ? lo : x0
        x = x > hi ? hi : x
        let magic: Float = 12_582_912  // 1.5 · 2^23
        let t = x * 1.442_695_04 + magic
        let n = t - magic
        // r = x − n·ln2, with ln2 split in two for precision (Cephes C1, C2).
        let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * (r * r) + r + 1
        // bits(t) = 0x4B40_0000 + n, so 2^n has bits (n + 127) << 23.
        let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return er * Float(bitPattern: bits)
    }

    /// σ(x) = 1 / (1 + e^(−x)); absolute error ≲ 2e-7 for every finite x.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// tanh(x) = 2σ(2x) − 1; absolute error ≲ 4e-7 (relative error grows near 0, absolute does not).
    @inline(__always)
    static func tanh(_ x: Float) -> Float { 2 / (1 + exp(-2 * x)) - 1 }

    /// √x for x ≥ 0 (relative error ≲ 2e-7): x · rsqrt(x), with rsqrt from the
    /// bit-level initial guess and three Newton steps. Swift's `squareRoot()` keeps
    /// a scalar errno path on Linux (`sqrtss` + `sqrtf` call) that blocks
    /// vectorization; this stays in plain vectorizable arithmetic. √0 = 0.
    @inline(__always)
    static func squareRoot(_ x: Float) -> Float {
        var y = Float(bitPattern: 0x5F37_59DF &- (x.bitPattern &>> 1))
        let h = 0.5 * x
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        return x * y
    }

    /// `y[i] = exp(x[i])` for `i < count`; `x` and `y` may be the same buffer.
    static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        ck_exp(x, y, count)
    }

    /// `y[i] = σ(x[i])`; `x` and `y` may be the same buffer.
    static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        ck_sigmoid(x, y, count)
    }

    /// `y[i] = tanh(x[i])`; `x` and `y` may be the same buffer.
    static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        ck_tanh(x, y, count)
    }

    /// `x[i] = σ(x[i])` in place (e.g. a gate row of a cell).
    static func sigmoidInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        ck_sigmoid(x, x, count)
    }

    /// `x[i] = tanh(x[i])` in place.
    static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        ck_tanh(x, x, count)
    }

    /// `y[i] += x[i]`.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        ck_add(x, y, count)
    }

    /// `x[i] *= c`.
    static func scale(_ x: UnsafeMutablePointer<Float>, by c: Float, count: Int) {
        ck_scale(c, x, count)
    }

    /// `x[i] = x[i] · a + b` (e.g. a softmax row into its gradient: `a = scale / Σ`, `b = −scale·ε/V`).
    static func scaleAndAdd(_ x: UnsafeMutablePointer<Float>, multiplier a: Float, addend b: Float, count: Int) {
        ck_scale_and_add(a, b, x, count)
    }

    /// `y[i] = x[i] · m[i]` (e.g. dropout with a mask of 0 and 1/(1 − p)); `x` and `y` may alias.
    static func multiply(_ x: UnsafePointer<Float>, by m: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                         count: Int) {
        ck_multiply(x, m, y, count)
    }

    /// Sets `count` floats to zero.
    @inline(__always)
    static func zero(_ y: UnsafeMutablePointer<Float>, count: Int) {
        y.update(repeating: 0, count: count)
    }

    /// `y[j] += Σ_r x[r, j]` for `x` of shape `[rows, columns]` (column sums, e.g. bias gradients).
    static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>) {
        ck_add_column_sums(x, rows, columns, y)
    }

    /// Σ x[i]·y[i] with eight partial sums (fixed order, so deterministic). Stays in Swift so it
    /// inlines into short loops (attention scores over H).
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        while i + 8 <= count {
            acc += rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                * ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < count { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// `y[i] += scale · x[i]` (axpy).
    @inline(__always)
    static func addScaled(_ x: UnsafePointer<Float>, scale: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += scale * x[i] }
    }

    /// Fused LSTM gate pass for one row (gate order i, f, g, o): reads the
    /// pre-activations `z` [4H], writes the activated gates back into `z`, and
    /// c_t = f·c_{t−1} + i·g, tanh(c_t), h_t = o·tanh(c_t) [H]. `cPrev` may alias `c`.
    static func lstmCell(
        z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>, H: Int
    ) {
        ck_lstm_cell(z, cPrev, c, tanhC, h, H)
    }

    /// Backward of `lstmCell` for one row, the loop body of `LSTMLayer.backward`:
    /// with dh_total = dy + dh,
    ///
    ///     dc' = dc + dh_total·o·(1 − tanh²c_t)        (through tanh(c_t))
    ///     dz_i = dc'·g·i(1 − i)   dz_f = dc'·c_{t−1}·f(1 − f)   dz_g = dc'·i·(1 − g²)
    ///     dz_o = dh_total·tanh(c_t)·o(1 − o)          dc ← dc'·f  (into c_{t−1})
    ///
    /// gates: activated i, f, g, o `[4H]`; tanhC, cPrev, dy, dh `[H]`; dc `[H]` in/out; dz `[4H]` out.
    static func lstmCellBackward(
        gates: UnsafePointer<Float>, tanhC: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
        outputGradient dy: UnsafePointer<Float>, hiddenGradient dh: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>, gateGradient dz: UnsafeMutablePointer<Float>, H: Int
    ) {
        ck_lstm_cell_backward(gates, tanhC, cPrev, dy, dh, dc, dz, H)
    }

    /// Σ x[i] with vector partial sums added in a fixed order (deterministic for a given instruction set).
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float { ck_sum(x, count) }

    /// Σ x[i]² with vector partial sums (fixed order).
    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float { ck_sum_of_squares(x, count) }

    /// One input row of an int8 product: `s = max_j |x[j]| / levels` (1 for zeros) and
    /// `q[j] = round(x[j] / s) + levels` (ties to even) in [0, 2·levels]; returns s.
    static func quantizeRow(_ x: UnsafePointer<Float>, count: Int, levels: Int, into q: UnsafeMutablePointer<UInt8>) -> Float {
        ck_quantize_row(x, count, levels, q)
    }

    /// `out[v] += s · scales[v] · Float(p[v])`: one row of int8 products back to float.
    static func dequantizeAdd(_ p: UnsafePointer<Int32>, scale s: Float, scales: UnsafePointer<Float>,
                              into out: UnsafeMutablePointer<Float>, count: Int) {
        ck_dequantize_add(p, s, scales, out, count)
    }

    /// max_i x[i] (count ≥ 1).
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float { ck_maximum(x, count) }

    /// `y[i] = exp(x[i] − shift)`; returns Σ y. `x` and `y` may be the same buffer.
    static func expShifted(_ x: UnsafePointer<Float>, shift: Float, into y: UnsafeMutablePointer<Float>, count: Int) -> Float {
        ck_exp_shifted(x, shift, y, count)
    }

    /// `x[i] = exp(x[i] − shift)`; returns Σ x.
    static func expShiftedInPlace(_ x: UnsafeMutablePointer<Float>, shift: Float, count: Int) -> Float {
        ck_exp_shifted(x, shift, x, count)
    }

    /// `C[r, v] += Σ_k A[r, k] · W[v, k]` for r < m, v < n: a product with few rows
    /// (e.g. one sentence's beams, or a few sentences) that streams `W` `[n, k]` once, four rows at a
    /// time, instead of packing it as a GEMM library does on every call (for a 5-row beam step
    /// the packing of the `[V, H]` output weights costs more than the arithmetic).
    /// A `[m, k]` (lda), W `[n, k]` (ldw), C `[m, n]` (ldc).
    static func fewRowsTimesTransposed(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        ck_few_rows_times_transposed(m, n, k, a, lda, w, ldw, c, ldc)
    }

    /// `C += A · Wᵀ` over bf16 A `[m, k]` (lda) and W `[n, k]` (ldw), fp32 sums into C `[m, n]`
    /// (ldc), streaming W once (few rows); a row's result does not depend on the others.
    /// Returns false, having done nothing, on a CPU without AVX512_BF16.
    static func bf16FewRowsTimesTransposed(
        m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int, w: UnsafePointer<UInt16>, ldw: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        ck_bf16_few_rows_times_transposed(m, n, k, a, lda, w, ldw, c, ldc) != 0
    }

    /// fp32 → bf16 (round to nearest even, NaN stays NaN): `y[i]` = the upper 16 bits of the rounded `x[i]`.
    static func toBFloat16(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_to_bf16(x, y, count)
    }

    /// `TensorIntegrity`'s checksum lanes over `blocks` 32-byte blocks at `base` (lane j ←
    /// (lane j ^ little-endian word j) · FNV prime), and the number of F32 values among them
    /// whose exponent bits are all ones (NaN, ±∞) when `floats`.
    static func integrityScan(_ base: UnsafeRawPointer, blocks: Int, lanes: inout (UInt64, UInt64, UInt64, UInt64),
                              floats: Bool) -> Int {
        var words: [UInt64] = [lanes.0, lanes.1, lanes.2, lanes.3]
        var nonFinite = 0
        words.withUnsafeMutableBufferPointer { w in
            ck_integrity_scan(base.assumingMemoryBound(to: UInt8.self), blocks, w.baseAddress, floats ? 1 : 0, &nonFinite)
        }
        lanes = (words[0], words[1], words[2], words[3])
        return nonFinite
    }

    /// Most rows `addProductTransposed` streams through `fewRowsTimesTransposed`. Up to here the
    /// GEMM library's packing of W on every call costs more than it saves: beam 5 over batches of
    /// 8 sentences (40 rows, the server under 8 clients) ran 12% faster than through oneDNN with
    /// E256 H256 and ~8% faster with E512 H512 L2; greedy batches of 32 sentences ran the same.
    static let fewRowsLimit = 48

    /// `C += A · Wᵀ` for A `[m, k]` (lda), W `[n, k]` (ldw), C `[m, n]` (ldc): streams W with
    /// `fewRowsTimesTransposed` for at most `fewRowsLimit` rows (decoding steps of a few
    /// sentences or one sentence's beams), BLAS otherwise.
    static func addProductTransposed(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m <= Self.fewRowsLimit {
            fewRowsTimesTransposed(m: m, n: n, k: k, a: a, lda: lda, w: w, ldw: ldw, c: c, ldc: ldc)
        } else {
            BLAS.gemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: w, ldb: ldw, beta: 1, c: c, ldc: ldc)
        }
    }

    /// `x[i] -= c`.
    static func subtract(_ c: Float, from x: UnsafeMutablePointer<Float>, count: Int) {
        ck_add_scalar(-c, x, count)
    }

    /// Replaces `row` by its log-softmax: `row[j] − m − log Σ_k e^(row[k] − m)` with
    /// `m = max_k row[k]` (no overflow in exp), in three passes over the row while it is in cache.
    static func logSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        _ = ck_log_softmax_row(row, count)
    }

    /// One Adam update over raw buffers (see `AdamOptimizer` for the formula):
    /// `stepSize = lr / (1 − β1^t)`, `invCorrection2 = 1 / sqrt(1 − β2^t)`.
    static func adamStep(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        m mm: UnsafeMutablePointer<Float>, v vv: UnsafeMutablePointer<Float>, count: Int,
        beta1 b1: Float, beta2 b2: Float, epsilon eps: Float, stepSize: Float, invCorrection2: Float
    ) {
        ck_adam_step(p, g, mm, vv, count, b1, b2, eps, stepSize, invCorrection2)
    }
}

/// Vector instruction sets the array kernels are compiled for, narrowest first.
public enum InstructionSet: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Baseline x86-64 (128-bit SSE2); any other architecture.
    case generic = 0
    /// AVX2 with FMA (256-bit).
    case avx2 = 1
    /// AVX-512 F/DQ/BW/VL (512-bit).
    case avx512 = 2

    /// The widest set this CPU and operating system support.
    public static var supported: InstructionSet { InstructionSet(rawValue: Int(ck_isa_supported())) ?? .generic }
    /// The set the kernels use: `supported`, narrowed by SEQ2SEQ_ISA=avx2|generic if set.
    public static var active: InstructionSet { InstructionSet(rawValue: Int(ck_isa_active())) ?? .generic }

    /// The set the calling thread's kernels use now (`active`, or what `Kernels.withInstructionSet` forced).
    public static var current: InstructionSet { InstructionSet(rawValue: Int(ck_isa_current())) ?? .generic }

    public var description: String { String(cString: ck_isa_name(Int32(rawValue))) }
    /// Float lanes in one vector register of this set.
    public var lanes: Int { Int(ck_isa_lanes(Int32(rawValue))) }

    /// Seconds taken by `iterations` rounds of 12 independent vector FMAs on this thread (register
    /// only), or nil if the CPU lacks this set. FLOP = iterations · 12 · lanes · 2.
    public func fmaSeconds(iterations: Int) -> Double? {
        let s = ck_fma_seconds(Int32(rawValue), iterations)
        return s < 0 ? nil : s
    }
}

extension InstructionSet {
    /// Whether the CPU has AVX512_BF16 (`vdpbf16ps`: 32 bf16 products per 512-bit instruction,
    /// summed in pairs into fp32 lanes) and `SEQ2SEQ_ISA` does not narrow the kernels below AVX-512.
    public static var hasBF16DotProduct: Bool { ck_has_avx512_bf16() != 0 }

    /// Seconds taken by `iterations` rounds of 12 independent `vdpbf16ps` on this thread
    /// (register only), or nil without AVX512_BF16. FLOP = iterations · 12 · 32 · 2.
    public static func bf16DotSeconds(iterations: Int) -> Double? {
        let s = ck_bf16_dot_seconds(iterations)
        return s < 0 ? nil : s
    }
}

extension Kernels {
    /// Runs `body` with the array kernels of the calling thread narrowed to `set` (never wider
    /// than `InstructionSet.supported`), so a test can check every path in one process without
    /// affecting other threads. Returns what `body` returns.
    static func withInstructionSet<R>(_ set: InstructionSet, _ body: () throws -> R) rethrows -> R {
        ck_isa_set_thread_override(Int32(set.rawValue))
        defer { ck_isa_set_thread_override(-1) }
        return try body()
    }
}
