// Element-wise kernels over raw buffers, written so the compiler auto-vectorizes
// them: no library calls (glibc `expf`/`tanhf` are scalar), no checked integer
// arithmetic, no branches other than selects.
//
// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 ∈ [−ln2/2, ln2/2];
// e^r comes from the Cephes degree-6 polynomial (relative error ≈ 1e-7). n is
// rounded with the 1.5·2^23 "magic number" trick, whose bit pattern also holds n
// as an integer, so 2^n is built by integer shifts without a float→int trap check.
// Inputs are clamped to [−87.3, 88.3] (n stays in −126…127): exp then neither overflows to inf nor
// produces denormals, so sigmoid/tanh saturate cleanly.

//
// The library targets are compiled with whole-module optimization in every
// configuration (Package.swift), so the scalar functions below inline into the
// cells' loops in other files (Layers/*Cell.swift) and vectorize there.

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
        for i in 0..<count { y[i] = exp(x[i]) }
    }

    /// `y[i] = σ(x[i])`; `x` and `y` may be the same buffer.
    static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = sigmoid(x[i]) }
    }

    /// `y[i] = tanh(x[i])`; `x` and `y` may be the same buffer.
    static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = tanh(x[i]) }
    }

    /// `x[i] = σ(x[i])` (in place: no overlap check, so the loop always vectorizes).
    static func sigmoidInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = sigmoid(x[i]) }
    }

    /// `x[i] = tanh(x[i])` (in place: no overlap check, so the loop always vectorizes).
    static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = tanh(x[i]) }
    }

    /// `y[i] += x[i]`.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// Sets `count` floats to zero.
    @inline(__always)
    static func zero(_ y: UnsafeMutablePointer<Float>, count: Int) {
        y.update(repeating: 0, count: count)
    }

    /// `y[j] += Σ_r x[r, j]` for `x` of shape `[rows, columns]` (column sums, e.g. bias gradients).
    static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * columns
            for j in 0..<columns { y[j] += row[j] }
        }
    }

    /// Σ x[i]·y[i] with eight partial sums (fixed order, so deterministic).
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

    /// Σ x[i] with eight independent partial sums (fixed order, so deterministic).
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= count {
            acc += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }

    /// Σ x[i]² with eight partial sums (fixed order).
    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            acc += v * v
            i += 8
        }
        var s = acc.sum()
        while i < count { s += x[i] * x[i]; i += 1 }
        return s
    }

    /// max_i x[i] (count ≥ 1).
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var i = 0
        var m = x[0]
        let raw = UnsafeRawPointer(x)
        if count >= 8 {
            var acc = raw.loadUnaligned(as: SIMD8<Float>.self)
            i = 8
            while i + 8 <= count {
                let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                acc.replace(with: v, where: v .> acc)
                i += 8
            }
            m = acc.max()
        }
        while i < count { m = x[i] > m ? x[i] : m; i += 1 }
        return m
    }

    /// `y[i] = exp(x[i] − shift)`; returns Σ y. `x` and `y` must not overlap
    /// (use `expShiftedInPlace` for that: LLVM's overlap check would fall back to scalar code).
    static func expShifted(_ x: UnsafePointer<Float>, shift: Float, into y: UnsafeMutablePointer<Float>, count: Int) -> Float {
        for i in 0..<count { y[i] = exp(x[i] - shift) }
        return sum(y, count: count)
    }

    /// `x[i] = exp(x[i] − shift)`; returns Σ x.
    static func expShiftedInPlace(_ x: UnsafeMutablePointer<Float>, shift: Float, count: Int) -> Float {
        for i in 0..<count { x[i] = exp(x[i] - shift) }
        return sum(x, count: count)
    }

    /// `C[r, v] += Σ_k A[r, k] · W[v, k]` for r < m, v < n: a product with few rows
    /// (`m` ≤ 8, e.g. one sentence's beams) that streams `W` `[n, k]` once, four rows at a
    /// time, instead of packing it as BLAS does on every call (for a 5-row beam step the
    /// packing of the `[V, H]` output weights costs more than the arithmetic).
    /// A `[m, k]` (lda), W `[n, k]` (ldw), C `[m, n]` (ldc).
    static func fewRowsTimesTransposed(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let k8 = k & ~7
        var v = 0
        while v < n {
            let rowsOfW = min(4, n - v)
            let w0 = UnsafeRawPointer(w + v * ldw)
            let w1 = UnsafeRawPointer(w + (v + min(1, rowsOfW - 1)) * ldw)
            let w2 = UnsafeRawPointer(w + (v + min(2, rowsOfW - 1)) * ldw)
            let w3 = UnsafeRawPointer(w + (v + min(3, rowsOfW - 1)) * ldw)
            for r in 0..<m {
                let ar = UnsafeRawPointer(a + r * lda)
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var j = 0
                while j < k8 {
                    let x = ar.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    s0 += x * w0.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    s1 += x * w1.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    s2 += x * w2.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    s3 += x * w3.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                    j += 8
                }
                var t0 = s0.sum(), t1 = s1.sum(), t2 = s2.sum(), t3 = s3.sum()
                let af = a + r * lda
                let (f0, f1, f2, f3) = (w0.assumingMemoryBound(to: Float.self), w1.assumingMemoryBound(to: Float.self),
                                        w2.assumingMemoryBound(to: Float.self), w3.assumingMemoryBound(to: Float.self))
                while j < k {
                    t0 += af[j] * f0[j]; t1 += af[j] * f1[j]; t2 += af[j] * f2[j]; t3 += af[j] * f3[j]
                    j += 1
                }
                let cr = c + r * ldc + v
                cr[0] += t0
                if rowsOfW > 1 { cr[1] += t1 }
                if rowsOfW > 2 { cr[2] += t2 }
                if rowsOfW > 3 { cr[3] += t3 }
            }
            v += rowsOfW
        }
    }

    /// `C += A · Wᵀ` for A `[m, k]` (lda), W `[n, k]` (ldw), C `[m, n]` (ldc): streams W with
    /// `fewRowsTimesTransposed` for at most 8 rows (decoding steps of one sentence's beams),
    /// BLAS otherwise.
    static func addProductTransposed(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>, ldw: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m <= 8 {
            fewRowsTimesTransposed(m: m, n: n, k: k, a: a, lda: lda, w: w, ldw: ldw, c: c, ldc: ldc)
        } else {
            BLAS.gemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: w, ldb: ldw, beta: 1, c: c, ldc: ldc)
        }
    }

    /// `x[i] -= c`.
    static func subtract(_ c: Float, from x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] -= c }
    }

    /// Replaces `row` by its log-softmax: `row[j] − m − log Σ_k e^(row[k] − m)` with
    /// `m = max_k row[k]` (no overflow in exp). `scratch` holds `count` floats.
    static func logSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int, scratch: UnsafeMutablePointer<Float>) {
        let m = maximum(row, count: count)
        let c = m + Float(Double(expShifted(row, shift: m, into: scratch, count: count)).logValue)
        for j in 0..<count { row[j] -= c }
    }

    /// One Adam update over raw buffers (see `AdamOptimizer` for the formula):
    /// `stepSize = lr / (1 − β1^t)`, `invCorrection2 = 1 / sqrt(1 − β2^t)`.
    static func adamStep(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        m mm: UnsafeMutablePointer<Float>, v vv: UnsafeMutablePointer<Float>, count: Int,
        beta1 b1: Float, beta2 b2: Float, epsilon eps: Float, stepSize: Float, invCorrection2: Float
    ) {
        let (c1, c2) = (1 - b1, 1 - b2)
        for i in 0..<count {
            let gi = g[i]
            let mi = b1 * mm[i] + c1 * gi
            let vi = b2 * vv[i] + c2 * gi * gi
            mm[i] = mi
            vv[i] = vi
            p[i] -= stepSize * mi / (squareRoot(vi) * invCorrection2 + eps)
        }
    }
}
