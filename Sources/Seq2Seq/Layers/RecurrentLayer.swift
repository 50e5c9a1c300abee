/// One recurrent layer (any `CellKind`) over a packed sequence, forward and backward.
///
/// Split as in Marian: the input projection `X · W_ihᵀ + b` for all time steps is one
/// GEMM over the packed rows; inside the time loop only `h_{t−1} · W_hhᵀ` for the b_t
/// active rows and the cell's element-wise step run. An input-feeding decoder adds a
/// per-step part of the input (`addStepInput`) to the same pre-activations.
///
/// The pass can run all at once (`forward`/`backward`) or step by step
/// (`beginForward`, `forwardStep` for t = 0, 1, …, `finalStates`; `beginBackward`,
/// `backwardStep` for t = T−1, …, 0, `endBackward`), which a stack uses when layers must
/// advance together (input feeding).
///
/// Weights: W_ih `[G·H, I]`, W_hh `[G·H, H]`, b_ih `[G·H]`, b_hh `[G·H]` (G = `cell.gateCount`).
struct RecurrentLayer {
    let cell: CellKind
    let inputSize: Int   // I: columns of W_ih
    let hiddenSize: Int  // H
    let wIH: UnsafeMutablePointer<Float>, wHH: UnsafeMutablePointer<Float>
    let bIH: UnsafeMutablePointer<Float>, bHH: UnsafeMutablePointer<Float>

    init(cell: CellKind, prefix: String, inputSize: Int, hiddenSize: Int, parameters: ParameterBuffer) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        wIH = parameters.view(prefix + ".weight_ih")
        wHH = parameters.view(prefix + ".weight_hh")
        bIH = parameters.view(prefix + ".bias_ih")
        bHH = parameters.view(prefix + ".bias_hh")
    }

    /// G·H: width of the stacked pre-activations.
    var gateWidth: Int { cell.gateCount * hiddenSize }

    /// Names and shapes of the layer's four tensors under `prefix`.
    static func parameterShapes(prefix: String, cell: CellKind, inputSize: Int, hiddenSize H: Int) -> [(name: String, shape: [Int])] {
        let GH = cell.gateCount * H
        return [(prefix + ".weight_ih", [GH, inputSize]), (prefix + ".weight_hh", [GH, H]),
                (prefix + ".bias_ih", [GH]), (prefix + ".bias_hh", [GH])]
    }
}

/// Activations kept by a `RecurrentLayer` forward for its backward. Buffers grow to the
/// largest batch seen and are reused afterwards.
final class RecurrentCache {
    let gates = FloatBuffer()      // [N, GH]  pre-activations, then activated gates (RNN: h_t)
    let recurrent = FloatBuffer()  // [N, GH]  GRU only: zh = h_{t−1}·W_hhᵀ + b_hh
    let c = FloatBuffer()          // [N, H]   LSTM cell state c_t
    let tanhC = FloatBuffer()      // [N, H]   LSTM tanh(c_t)
    let h = FloatBuffer()          // [N, H]   output h_t
    let hPrev = FloatBuffer()      // [N, H]   h_{t−1} per packed row (for dW_hh)
    let dz = FloatBuffer()         // [N, GH]  gradient w.r.t. the input-side pre-activations
    let dzh = FloatBuffer()        // [N, GH]  GRU only: gradient w.r.t. zh
    let dhState = FloatBuffer()    // [B, H]   recurrent gradient carried backwards
    let dcState = FloatBuffer()    // [B, H]   LSTM: cell-state gradient carried backwards
}

// MARK: Forward

extension RecurrentLayer {
    /// Whole-sequence forward.
    ///
    /// - x: `[N, I]` packed inputs. h0, c0: `[B, H]` initial state in sorted row order (nil = zeros).
    /// - Results in `cache.h` `[N, H]`; if given, `finalH`/`finalC` `[B, H]` receive each row's
    ///   state after its last step (the initial state for empty rows).
    func forward(
        input x: UnsafePointer<Float>, packing P: Packing,
        h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
        cache: RecurrentCache, finalH: UnsafeMutablePointer<Float>?, finalC: UnsafeMutablePointer<Float>?,
        zeros: UnsafePointer<Float>
    ) {
        beginForward(input: x, width: inputSize, packing: P, cache: cache)
        PhaseTimer.measure("rnn.fwd.recurrence") {
            for t in 0..<P.maxLength { forwardStep(t, packing: P, h0: h0, c0: c0, cache: cache, zeros: zeros) }
        }
        finalStates(packing: P, h0: h0, c0: c0, cache: cache, finalH: finalH, finalC: finalC, zeros: zeros)
    }

    /// Starts a forward pass: `z = x · W_ih[:, 0..<width]ᵀ + b_ih (+ b_hh unless GRU)` for all
    /// N packed rows, one GEMM. x: `[N, width]` (nil with width 0: bias only); the remaining
    /// `I − width` input columns are added per step by `addStepInput`.
    func beginForward(input x: UnsafePointer<Float>?, width: Int, packing P: Packing, cache: RecurrentCache) {
        let (N, H, GH, I) = (P.total, hiddenSize, gateWidth, inputSize)
        let z = cache.gates.reserve(N * GH)                  // [N, GH]
        cache.c.reserve(cell.hasCellState ? N * H : 0)
        cache.tanhC.reserve(cell.hasCellState ? N * H : 0)
        cache.h.reserve(N * H)
        cache.hPrev.reserve(N * H)
        cache.recurrent.reserve(cell.keepsRecurrentProjection ? N * GH : 0)
        PhaseTimer.measure("rnn.fwd.inputProjection") {
            let summed = !cell.keepsRecurrentProjection
            for n in 0..<N {
                let row = z + n * GH
                if summed { for k in 0..<GH { row[k] = bIH[k] + bHH[k] } } else { row.update(from: bIH, count: GH) }
            }
            if let x, width > 0 {
                BLAS.gemm(transB: true, m: N, n: GH, k: width, a: x, lda: width, b: wIH, ldb: I, beta: 1, c: z, ldc: GH)
            }
        }
    }

    /// `z_t += x_t · W_ih[:, column ..< column + width]ᵀ` for the b_t rows of step t.   x_t `[b_t, width]`.
    func addStepInput(_ x: UnsafePointer<Float>, column: Int, width: Int, step t: Int, packing P: Packing,
                      cache: RecurrentCache) {
        let (bt, off, GH) = (P.batchSizes[t], P.offsets[t], gateWidth)
        BLAS.gemm(transB: true, m: bt, n: GH, k: width, a: x, lda: width, b: wIH + column, ldb: inputSize,
                  beta: 1, c: cache.gates.pointer + off * GH, ldc: GH)
    }

    /// Step t: the recurrent product and the cell for the b_t active rows.
    func forwardStep(_ t: Int, packing P: Packing, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                     cache: RecurrentCache, zeros: UnsafePointer<Float>) {
        let (H, GH) = (hiddenSize, gateWidth)
        let bt = P.batchSizes[t], off = P.offsets[t]
        let z = cache.gates.pointer, h = cache.h.pointer, hp = cache.hPrev.pointer
        let hPrev = t == 0 ? (h0 ?? zeros) : UnsafePointer(h + P.offsets[t - 1] * H)   // [b_t, H]
        (hp + off * H).update(from: hPrev, count: bt * H)
        let mask = P.mask
        switch cell {
        case .lstm, .rnn:
            // z_t += h_{t−1}·W_hhᵀ for the active rows.   [b_t, GH]
            BLAS.gemm(transB: true, m: bt, n: GH, k: H, a: hPrev, lda: H, b: wHH, ldb: H, beta: 1, c: z + off * GH, ldc: GH)
        case .gru:
            // zh_t = h_{t−1}·W_hhᵀ + b_hh, kept apart from z.   [b_t, GH]
            let zh = cache.recurrent.pointer + off * GH
            for r in 0..<bt { (zh + r * GH).update(from: bHH, count: GH) }
            BLAS.gemm(transB: true, m: bt, n: GH, k: H, a: hPrev, lda: H, b: wHH, ldb: H, beta: 1, c: zh, ldc: GH)
        }
        let c = cache.c.pointer, tc = cache.tanhC.pointer
        let cPrev = t == 0 ? (c0 ?? zeros) : UnsafePointer(c + P.offsets[t - 1] * H)   // [b_t, H] (LSTM)
        for r in 0..<bt {
            let n = off + r
            switch cell {
            case .lstm:
                LSTMCell.forward(z: z + n * GH, cPrev: cPrev + r * H, c: c + n * H, tanhC: tc + n * H, h: h + n * H, H: H)
            case .gru:
                GRUCell.forward(zx: z + n * GH, zh: cache.recurrent.pointer + n * GH, hPrev: hPrev + r * H,
                                gates: z + n * GH, h: h + n * H, H: H)
            case .rnn:
                RNNCell.forward(z: z + n * GH, h: h + n * H, H: H)
            }
            if let mask, mask[n] == 0 {
                // Padded position (masked variant): the state passes through unchanged.
                (h + n * H).update(from: hPrev + r * H, count: H)
                if cell.hasCellState { (c + n * H).update(from: cPrev + r * H, count: H) }
            }
        }
    }

    /// Copies each row's state after its last step into `finalH`/`finalC` `[B, H]`
    /// (the initial state for empty rows).
    func finalStates(packing P: Packing, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, cache: RecurrentCache,
                     finalH: UnsafeMutablePointer<Float>?, finalC: UnsafeMutablePointer<Float>?, zeros: UnsafePointer<Float>) {
        let H = hiddenSize
        let h = cache.h.pointer, c = cache.c.pointer
        let h0 = h0 ?? zeros, c0 = c0 ?? zeros
        for r in 0..<P.rowCount {
            let last = P.lastRow(r)
            if let finalH { (finalH + r * H).update(from: last.map { UnsafePointer(h + $0 * H) } ?? h0 + r * H, count: H) }
            if let finalC, cell.hasCellState {
                (finalC + r * H).update(from: last.map { UnsafePointer(c + $0 * H) } ?? c0 + r * H, count: H)
            }
        }
    }
}

// MARK: Backward

extension RecurrentLayer {
    /// Whole-sequence backward, walking the forward in reverse.
    ///
    /// - dOut: `[N, H]` gradient w.r.t. `cache.h` from above (nil = zeros).
    /// - dFinalH, dFinalC: `[B, H]` gradients w.r.t. the final states (nil = zeros).
    /// - Writes dx `[N, I]`, dh0/dc0 `[B, H]` (if given); accumulates the parameter gradients.
    func backward(
        outputGradient dOut: UnsafePointer<Float>?, input x: UnsafePointer<Float>, packing P: Packing,
        c0: UnsafePointer<Float>?, cache: RecurrentCache,
        dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
        gradients dLayer: RecurrentLayer,
        inputGradient dx: UnsafeMutablePointer<Float>?,
        dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?,
        zeros: UnsafePointer<Float>
    ) {
        let H = hiddenSize
        beginBackward(packing: P, dFinalH: dFinalH, dFinalC: dFinalC, cache: cache)
        PhaseTimer.measure("rnn.bwd.recurrence") {
            for t in stride(from: P.maxLength - 1, through: 0, by: -1) {
                backwardStep(t, outputGradient: dOut.map { $0 + P.offsets[t] * H }, packing: P, c0: c0, cache: cache,
                             zeros: zeros)
            }
        }
        endBackward(input: x, width: inputSize, packing: P, cache: cache, gradients: dLayer, inputGradient: dx,
                    dh0: dh0, dc0: dc0)
    }

    /// Starts a backward pass: the carried gradients start from dFinalH/dFinalC `[B, H]`
    /// (rows whose last step is t see them as their recurrent gradient at t; nil = zeros).
    func beginBackward(packing P: Packing, dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
                       cache: RecurrentCache) {
        let (N, B, H, GH) = (P.total, P.rowCount, hiddenSize, gateWidth)
        cache.dz.reserve(N * GH)
        cache.dzh.reserve(cell.keepsRecurrentProjection ? N * GH : 0)
        let dhs = cache.dhState.reserve(B * H), dcs = cache.dcState.reserve(B * H)
        if let dFinalH { dhs.update(from: dFinalH, count: B * H) } else { dhs.update(repeating: 0, count: B * H) }
        if let dFinalC, cell.hasCellState { dcs.update(from: dFinalC, count: B * H) } else { dcs.update(repeating: 0, count: B * H) }
    }

    /// Backward of step t: adds `dOut` `[b_t, H]` (gradient w.r.t. the step's outputs from
    /// above; nil = none) to the carried gradient, runs the cell backward into `dz` (and `dzh`)
    /// for the step's rows, and carries dh (and dc) to step t−1.
    func backwardStep(_ t: Int, outputGradient dOut: UnsafePointer<Float>?, packing P: Packing,
                      c0: UnsafePointer<Float>?, cache: RecurrentCache, zeros: UnsafePointer<Float>) {
        let (H, GH) = (hiddenSize, gateWidth)
        let bt = P.batchSizes[t], off = P.offsets[t]
        let gates = cache.gates.pointer, dz = cache.dz.pointer
        let dhs = cache.dhState.pointer, dcs = cache.dcState.pointer
        let c = cache.c.pointer, tc = cache.tanhC.pointer
        let cPrev = t == 0 ? (c0 ?? zeros) : UnsafePointer(c + P.offsets[t - 1] * H)
        let mask = P.mask
        for r in 0..<bt {
            let n = off + r
            let dh = dhs + r * H
            if let dOut { Kernels.add(dOut + r * H, into: dh, count: H) }   // total gradient into h_t
            if let mask, mask[n] == 0 {
                // Padded position: the state passed through, and so does its gradient.
                (dz + n * GH).update(repeating: 0, count: GH)
                if cell.keepsRecurrentProjection { (cache.dzh.pointer + n * GH).update(repeating: 0, count: GH) }
                continue
            }
            switch cell {
            case .lstm:
                LSTMCell.backward(dh: dh, dc: dcs + r * H, gates: gates + n * GH, tanhC: tc + n * H, cPrev: cPrev + r * H,
                                  dz: dz + n * GH, H: H)
            case .gru:
                GRUCell.backward(dh: dh, gates: gates + n * GH, zh: cache.recurrent.pointer + n * GH,
                                 hPrev: cache.hPrev.pointer + n * H, dzx: dz + n * GH, dzh: cache.dzh.pointer + n * GH, H: H)
            case .rnn:
                RNNCell.backward(dh: dh, h: cache.h.pointer + n * H, dz: dz + n * GH, H: H)
            }
        }
        // Recurrent gradient into h_{t−1}: dh += dzh_t · W_hh.   [b_t, H]
        // (The cells left only their direct term in dh; masked rows keep their carried dh, their dz is 0.)
        let dzh = cell.keepsRecurrentProjection ? cache.dzh.pointer : dz
        BLAS.gemm(m: bt, n: H, k: GH, a: dzh + off * GH, lda: GH, b: wHH, ldb: H, beta: 1, c: dhs, ldc: H)
    }

    /// `dx_t = dz_t · W_ih[:, column ..< column + width]` for the b_t rows of step t, written to
    /// (or, with `accumulate`, added to) `dx` `[b_t, width]`.
    func stepInputGradient(step t: Int, column: Int, width: Int, packing P: Packing, cache: RecurrentCache,
                           into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (bt, off, GH) = (P.batchSizes[t], P.offsets[t], gateWidth)
        BLAS.gemm(m: bt, n: width, k: GH, a: cache.dz.pointer + off * GH, lda: GH, b: wIH + column, ldb: inputSize,
                  beta: accumulate ? 1 : 0, c: dx, ldc: width)
    }

    /// Finishes a backward pass: parameter gradients, one GEMM each over all packed rows
    /// (`dW_ih[:, 0..<width] += dzᵀ·x`, `dW_hh += dzhᵀ·h_{t−1}`, bias sums); `dx = dz · W_ih[:, 0..<width]`
    /// `[N, width]` if given; each row's gradient w.r.t. its initial state into dh0/dc0 `[B, H]`.
    func endBackward(input x: UnsafePointer<Float>?, width: Int, packing P: Packing, cache: RecurrentCache,
                     gradients dLayer: RecurrentLayer, inputGradient dx: UnsafeMutablePointer<Float>?,
                     dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?) {
        let (N, B, H, GH, I) = (P.total, P.rowCount, hiddenSize, gateWidth, inputSize)
        let dz = cache.dz.pointer, dzh = cell.keepsRecurrentProjection ? cache.dzh.pointer : dz
        PhaseTimer.measure("rnn.bwd.parameters") {
            if let x, width > 0 {
                BLAS.gemm(transA: true, m: GH, n: width, k: N, a: dz, lda: GH, b: x, ldb: width, beta: 1, c: dLayer.wIH, ldc: I)
            }
            BLAS.gemm(transA: true, m: GH, n: H, k: N, a: dzh, lda: GH, b: cache.hPrev.pointer, ldb: H, beta: 1,
                      c: dLayer.wHH, ldc: H)
            Kernels.addColumnSums(dz, rows: N, columns: GH, into: dLayer.bIH)
            Kernels.addColumnSums(dzh, rows: N, columns: GH, into: dLayer.bHH)
        }
        PhaseTimer.measure("rnn.bwd.inputGradient") {
            if let dx, width > 0 { BLAS.gemm(m: N, n: width, k: GH, a: dz, lda: GH, b: wIH, ldb: I, beta: 0, c: dx, ldc: width) }
        }
        if let dh0 { dh0.update(from: cache.dhState.pointer, count: B * H) }
        if let dc0, cell.hasCellState { dc0.update(from: cache.dcState.pointer, count: B * H) }
    }

    /// `dW_ih[:, column ..< column + width] += dzᵀ · x` for an input part fed per step and stored
    /// per packed row, x `[N, width]`.
    func addInputWeightGradient(input x: UnsafePointer<Float>, column: Int, width: Int, packing P: Packing,
                                cache: RecurrentCache, gradients dLayer: RecurrentLayer) {
        BLAS.gemm(transA: true, m: gateWidth, n: width, k: P.total, a: cache.dz.pointer, lda: gateWidth, b: x, ldb: width,
                  beta: 1, c: dLayer.wIH + column, ldc: inputSize)
    }
}
