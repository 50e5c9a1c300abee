/// One LSTM layer (PyTorch `nn.LSTM` cell, gate order i, f, g, o):
///
///     z   = W_ih · x_t + b_ih + W_hh · h_{t−1} + b_hh        [4H]
///     i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
///     c_t = f ⊙ c_{t−1} + i ⊙ g
///     h_t = o ⊙ tanh(c_t)
///
/// Split as in Marian: the input projection `X · W_ihᵀ + b` for all time steps is
/// one GEMM over the packed rows; inside the time loop only `h_{t−1} · W_hhᵀ`
/// for the b_t active rows and the fused gate pass run.
///
/// Weights: W_ih `[4H, I]`, W_hh `[4H, H]`, b_ih `[4H]`, b_hh `[4H]`.
struct LSTMLayer {
    let inputSize: Int   // I
    let hiddenSize: Int  // H
    let wIH: UnsafeMutablePointer<Float>, wHH: UnsafeMutablePointer<Float>
    let bIH: UnsafeMutablePointer<Float>, bHH: UnsafeMutablePointer<Float>

    init(prefix: String, inputSize: Int, hiddenSize: Int, parameters: ParameterBuffer) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        wIH = parameters.view(prefix + ".weight_ih")
        wHH = parameters.view(prefix + ".weight_hh")
        bIH = parameters.view(prefix + ".bias_ih")
        bHH = parameters.view(prefix + ".bias_hh")
    }
}

/// Activations kept by `LSTMLayer.forward` for `backward`. Buffers grow to the
/// largest batch seen and are reused afterwards.
final class LSTMCache {
    let gates = FloatBuffer()   // [N, 4H] activated i, f, g, o
    let c = FloatBuffer()       // [N, H]  cell state c_t
    let tanhC = FloatBuffer()   // [N, H]  tanh(c_t)
    let h = FloatBuffer()       // [N, H]  output h_t
    let hPrev = FloatBuffer()   // [N, H]  h_{t−1} per packed row (for dW_hh)
    let dz = FloatBuffer()      // [N, 4H] gradient w.r.t. the pre-activations
    let dhState = FloatBuffer() // [B, H]  recurrent gradient carried backwards
    let dcState = FloatBuffer() // [B, H]
}

extension LSTMLayer {
    /// Forward over a packed sequence.
    ///
    /// - x: `[N, I]` packed inputs.  h0, c0: `[B, H]` initial state in sorted row order (nil = zeros).
    /// - Results in `cache.h` `[N, H]`; if given, `finalH`/`finalC` `[B, H]` receive each row's state
    ///   after its last step (the initial state for empty rows).
    func forward(
        input x: UnsafePointer<Float>, packing P: Packing,
        h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
        cache: LSTMCache, finalH: UnsafeMutablePointer<Float>?, finalC: UnsafeMutablePointer<Float>?,
        zeros: UnsafePointer<Float>
    ) {
        let (N, B, I, H, G) = (P.total, P.rowCount, inputSize, hiddenSize, 4 * hiddenSize)
        let z = cache.gates.reserve(N * G)      // [N, 4H]
        let c = cache.c.reserve(N * H)          // [N, H]
        let tc = cache.tanhC.reserve(N * H)     // [N, H]
        let h = cache.h.reserve(N * H)          // [N, H]
        let hp = cache.hPrev.reserve(N * H)     // [N, H]
        let h0 = h0 ?? zeros, c0 = c0 ?? zeros  // [B, H]

        // Input projection for all steps: z = x·W_ihᵀ + b_ih + b_hh.   [N, 4H]
        PhaseTimer.measure("lstm.fwd.inputProjection") {
        for n in 0..<N {
            let row = z + n * G
            for k in 0..<G { row[k] = bIH[k] + bHH[k] }
        }
        BLAS.gemm(transB: true, m: N, n: G, k: I, a: x, lda: I, b: wIH, ldb: I, beta: 1, c: z, ldc: G)
        }

        let mask = P.mask
        PhaseTimer.measure("lstm.fwd.recurrence") {
        for t in 0..<P.maxLength {
            let bt = P.batchSizes[t], off = P.offsets[t]
            let hPrev = t == 0 ? h0 : UnsafePointer(h + P.offsets[t - 1] * H)  // [b_t, H]
            let cPrev = t == 0 ? c0 : UnsafePointer(c + P.offsets[t - 1] * H)  // [b_t, H]
            (hp + off * H).update(from: hPrev, count: bt * H)
            // z_t += h_{t−1}·W_hhᵀ for the active rows.   [b_t, 4H]
            BLAS.gemm(transB: true, m: bt, n: G, k: H, a: hPrev, lda: H, b: wHH, ldb: H, beta: 1, c: z + off * G, ldc: G)
            for r in 0..<bt {
                let n = off + r
                Kernels.lstmCell(z: z + n * G, cPrev: cPrev + r * H, c: c + n * H, tanhC: tc + n * H, h: h + n * H, H: H)
                if let mask, mask[n] == 0 {
                    // Padded position: the state passes through unchanged.
                    (c + n * H).update(from: cPrev + r * H, count: H)
                    (h + n * H).update(from: hPrev + r * H, count: H)
                }
            }
        }
        }
        for r in 0..<B {
            let last = P.lastRow(r)
            if let finalH { (finalH + r * H).update(from: last.map { UnsafePointer(h + $0 * H) } ?? h0 + r * H, count: H) }
            if let finalC { (finalC + r * H).update(from: last.map { UnsafePointer(c + $0 * H) } ?? c0 + r * H, count: H) }
        }
    }

    /// Backward through the sequence, walking the forward in reverse.
    ///
    /// - dOut: `[N, H]` gradient w.r.t. `cache.h` from the layer above (or the output layer).
    /// - dFinalH, dFinalC: `[B, H]` gradient w.r.t. the final states (nil = zeros).
    /// - Writes dx `[N, I]`, dh0/dc0 `[B, H]` (if given); accumulates into the four parameter gradients.
    func backward(
        outputGradient dOut: UnsafePointer<Float>, input x: UnsafePointer<Float>, packing P: Packing,
        c0: UnsafePointer<Float>?, cache: LSTMCache,
        dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
        gradients dLayer: LSTMLayer,
        inputGradient dx: UnsafeMutablePointer<Float>?,
        dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?,
        zeros: UnsafePointer<Float>
    ) {
        let (N, B, I, H, G) = (P.total, P.rowCount, inputSize, hiddenSize, 4 * hiddenSize)
        let gates = cache.gates.pointer, c = cache.c.pointer, tc = cache.tanhC.pointer  // forward values
        let dz = cache.dz.reserve(N * G)              // [N, 4H]
        let dhs = cache.dhState.reserve(B * H)        // [B, H]
        let dcs = cache.dcState.reserve(B * H)        // [B, H]
        let c0 = c0 ?? zeros
        // Rows whose last step is t see dFinal as their "recurrent" gradient at t.
        if let dFinalH { dhs.update(from: dFinalH, count: B * H) } else { dhs.update(repeating: 0, count: B * H) }
        if let dFinalC { dcs.update(from: dFinalC, count: B * H) } else { dcs.update(repeating: 0, count: B * H) }

        let mask = P.mask
        PhaseTimer.measure("lstm.bwd.recurrence") {
        for t in stride(from: P.maxLength - 1, through: 0, by: -1) {
            let bt = P.batchSizes[t], off = P.offsets[t]
            let cPrev = t == 0 ? c0 : UnsafePointer(c + P.offsets[t - 1] * H)
            for r in 0..<bt {
                let n = off + r
                let dzn = dz + n * G
                let dh = dhs + r * H, dc = dcs + r * H, dy = dOut + n * H
                if let mask, mask[n] == 0 {
                    // Padded position: state passed through; so does its gradient.
                    for j in 0..<H { dh[j] += dy[j] }
                    dzn.update(repeating: 0, count: G)
                    continue
                }
                let gi = gates + n * G, gf = gi + H, gg = gi + 2 * H, go = gi + 3 * H
                let tcn = tc + n * H, cp = cPrev + r * H
                for j in 0..<H {
                    let dhj = dy[j] + dh[j]                                   // total gradient into h_t
                    let i = gi[j], f = gf[j], g = gg[j], o = go[j], tcj = tcn[j]
                    let dcj = dc[j] + dhj * o * (1 - tcj * tcj)              // backprop through tanh(c_t)
                    dzn[j] = dcj * g * i * (1 - i)                            // through σ into z_i
                    dzn[H + j] = dcj * cp[j] * f * (1 - f)                    // z_f
                    dzn[2 * H + j] = dcj * i * (1 - g * g)                    // z_g
                    dzn[3 * H + j] = dhj * tcj * o * (1 - o)                  // z_o
                    dc[j] = dcj * f                                           // into c_{t−1}
                }
                if mask != nil { dh.update(repeating: 0, count: H) }
            }
            // Recurrent gradient into h_{t−1}: dh = dz_t · W_hh.   [b_t, H]
            // (Padded variant: masked rows keep their carried dh, as dz = 0 there; real rows were cleared.)
            BLAS.gemm(m: bt, n: H, k: G, a: dz + off * G, lda: G, b: wHH, ldb: H, beta: mask == nil ? 0 : 1, c: dhs, ldc: H)
        }
        }
        // Parameter gradients, one GEMM each over all packed rows.
        PhaseTimer.measure("lstm.bwd.parameters") {
        BLAS.gemm(transA: true, m: G, n: I, k: N, a: dz, lda: G, b: x, ldb: I, beta: 1, c: dLayer.wIH, ldc: I)
        BLAS.gemm(transA: true, m: G, n: H, k: N, a: dz, lda: G, b: cache.hPrev.pointer, ldb: H, beta: 1, c: dLayer.wHH, ldc: H)
        Kernels.addColumnSums(dz, rows: N, columns: G, into: dLayer.bIH)
        Kernels.addColumnSums(dz, rows: N, columns: G, into: dLayer.bHH)
        }
        PhaseTimer.measure("lstm.bwd.inputGradient") {
        if let dx { BLAS.gemm(m: N, n: I, k: G, a: dz, lda: G, b: wIH, ldb: I, beta: 0, c: dx, ldc: I) }
        }
        if let dh0 { dh0.update(from: dhs, count: B * H) }
        if let dc0 { dc0.update(from: dcs, count: B * H) }
    }
}
