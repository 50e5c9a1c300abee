/// Embedding → dropout → L stacked recurrent layers with dropout between layers, over one
/// packed side of a batch. Shared by `RNNEncoder` and `RNNDecoder`.
///
/// - The encoder's stack may be **bidirectional**: each layer runs a forward and a backward
///   direction of H/2 units; the backward direction reads each row from its own last real
///   token (the packed rows permuted by `Packing.reversedRows`, no work on padding), and
///   the layer's output is `[fwd ; bwd]` `[N, H]`, which layer k + 1 reads.
/// - The decoder's stack may take an extra per-step input of F floats in layer 0 (**input
///   feeding**). Then its layers must advance together, one step at a time: `beginSteps`,
///   `forwardStep(t)` for t = 0, 1, …; backward `beginBackwardSteps`, `backwardStep(t)` for
///   t = T−1, …, 0, `endBackwardSteps`. Otherwise `forward`/`backward` run layer by layer,
///   each with one input-projection GEMM over all steps.
///
/// Initial and final states are `[L, B, H]` in the side's sorted row order.
final class RecurrentStack {
    let cell: CellKind
    let E: Int, H: Int, L: Int
    /// Units per direction: H, or H/2 when bidirectional.
    let directionSize: Int
    let bidirectional: Bool
    /// F: per-step extra input of layer 0 (input feeding), 0 if none.
    let feedSize: Int
    let vocabularySize: Int
    let table: UnsafeMutablePointer<Float>   // [V, E]
    let dTable: UnsafeMutablePointer<Float>  // [V, E]
    let layers: [[RecurrentLayer]]           // [L][directions] parameter views
    let gradientLayers: [[RecurrentLayer]]   // gradient views (same layout)

    let caches: [[RecurrentCache]]           // [L][directions]
    let inputs: [FloatBuffer]       // per layer: input after dropout  [N, I_l] (layer 0: the embeddings)
    let masks: [FloatBuffer]        // per layer: dropout mask          [N, I_l]
    let joined: [FloatBuffer]       // bidirectional: per layer [fwd ; bwd]  [N, H]
    let reversedInputs: [FloatBuffer]  // bidirectional: per layer the input read backwards  [N, I_l]
    let gradA = FloatBuffer(), gradB = FloatBuffer()  // ping-pong [N, max(E, H)]
    let directionGradients = FloatBuffer()            // bidirectional: [N, Hd] ×2 and [N, I]
    let stepGradient = FloatBuffer()                  // step-major backward: [B, H]
    let finalScratch = FloatBuffer()                  // bidirectional final states [4, B, Hd]
    let zeros = FloatBuffer()                         // [B, H]
    private var reversal: [Int] = []                  // [N] bidirectional: packed row read backwards
    private(set) var droppedOut = false

    init(side: String, embedding: String, configuration c: ModelConfiguration,
         parameters: ParameterBuffer, gradients: ParameterBuffer) {
        let isEncoder = side == "encoder"
        cell = c.cell
        E = c.embeddingSize
        H = c.hiddenSize
        L = c.layerCount
        bidirectional = isEncoder && c.encoder == .bi
        directionSize = isEncoder ? c.encoderDirectionSize : c.hiddenSize
        feedSize = !isEncoder && c.inputFeeding ? c.hiddenSize : 0
        vocabularySize = isEncoder ? c.sourceVocabularySize : c.targetVocabularySize
        table = parameters.view(embedding)
        dTable = gradients.view(embedding)
        let (E, H, Hd, F, cell) = (E, H, directionSize, feedSize, cell)
        let directions = bidirectional ? ["forward", "backward"] : [""]
        func views(_ buffer: ParameterBuffer) -> [[RecurrentLayer]] {
            (0..<c.layerCount).map { l in
                directions.map { d in
                    RecurrentLayer(cell: cell, prefix: "\(side).l\(l)" + (d.isEmpty ? "" : ".\(d)"),
                                   inputSize: l == 0 ? E + F : H, hiddenSize: Hd, parameters: buffer)
                }
            }
        }
        layers = views(parameters)
        gradientLayers = views(gradients)
        caches = layers.map { $0.map { _ in RecurrentCache() } }
        inputs = (0..<L).map { _ in FloatBuffer() }
        masks = (0..<L).map { _ in FloatBuffer() }
        joined = (0..<(bidirectional ? L : 0)).map { _ in FloatBuffer() }
        reversedInputs = (0..<(bidirectional ? L : 0)).map { _ in FloatBuffer() }
    }

    /// Width of layer l's input as stored in `inputs[l]` (the fed part of layer 0 is not stored there).
    private func inputWidth(_ l: Int) -> Int { l == 0 ? E : H }

    /// Layer l's output `[N, H]`.
    func output(_ l: Int) -> UnsafeMutablePointer<Float> {
        bidirectional ? joined[l].pointer : caches[l][0].h.pointer
    }

    /// The input of layer l as seen by its forward (after dropout).   [N, I_l]
    private func layerInput(_ l: Int) -> UnsafeMutablePointer<Float> {
        (l == 0 || droppedOut) ? inputs[l].pointer : output(l - 1)
    }

    /// Looks up the embeddings and draws the dropout masks of the embeddings and of every
    /// layer input (in that order, so both forward modes use the same random numbers).
    private func embed(ids: UnsafePointer<Int32>, packing P: Packing, dropout p: Float, random: inout RandomGenerator?) {
        let N = P.total
        droppedOut = p > 0 && random != nil
        let x0 = inputs[0].reserve(N * E)                                           // [N, E]
        Embedding.forward(table: table, ids: ids, count: N, width: E, output: x0)
        for l in 0..<L where droppedOut {
            let I = inputWidth(l)
            inputs[l].reserve(N * I)
            Dropout.makeMask(masks[l].reserve(N * I), packing: P, width: I, probability: p, random: &random!)
        }
        if droppedOut { Dropout.forward(x0, mask: masks[0].pointer, output: x0, count: N * E) }
    }

    // MARK: Layer by layer

    /// Runs the stack layer by layer (no input feeding); returns the top layer's output
    /// `[N, H]` (valid until the next forward).
    ///
    /// - ids: `[N]` packed token ids.  h0, c0: `[L, B, H]` or nil (zeros; a bidirectional stack
    ///   always starts from zeros).
    /// - finalH, finalC: `[L, B, H]` receivers for the last state of every row, or nil
    ///   (bidirectional: `[h_fwd ; h_bwd]` per layer; `c` only for the LSTM).
    /// - dropout: probability p; masks are drawn from `random` when p > 0 and `random` is non-nil.
    @discardableResult
    func forward(
        ids: UnsafePointer<Int32>, packing P: Packing,
        h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
        finalH: UnsafeMutablePointer<Float>?, finalC: UnsafeMutablePointer<Float>?,
        dropout p: Float, random: inout RandomGenerator?
    ) -> UnsafeMutablePointer<Float> {
        let (N, B, H) = (P.total, P.rowCount, H)
        let zero = zeros.zeroed(B * H)
        embed(ids: ids, packing: P, dropout: p, random: &random)
        if bidirectional { P.reversedRows(into: &reversal) }
        for l in 0..<L {
            if droppedOut && l > 0 {
                Dropout.forward(output(l - 1), mask: masks[l].pointer, output: inputs[l].pointer, count: N * H)
            }
            let slice = l * B * H
            if bidirectional {
                forwardBidirectional(l, packing: P, finalH: finalH.map { $0 + slice }, finalC: finalC.map { $0 + slice },
                                     zeros: zero)
            } else {
                layers[l][0].forward(
                    input: layerInput(l), packing: P,
                    h0: h0.map { $0 + slice }, c0: c0.map { $0 + slice }, cache: caches[l][0],
                    finalH: finalH.map { $0 + slice }, finalC: finalC.map { $0 + slice }, zeros: zero)
            }
        }
        return output(L - 1)
    }

    /// Both directions of layer l from zero states; joins their outputs and final states.
    private func forwardBidirectional(_ l: Int, packing P: Packing, finalH: UnsafeMutablePointer<Float>?,
                                      finalC: UnsafeMutablePointer<Float>?, zeros: UnsafePointer<Float>) {
        let (N, B, Hd, I) = (P.total, P.rowCount, directionSize, inputWidth(l))
        let x = layerInput(l)                                                  // [N, I]
        let xr = reversedInputs[l].reserve(N * I)                              // [N, I] read backwards
        for n in 0..<N { (xr + n * I).update(from: x + reversal[n] * I, count: I) }
        let finals = finalScratch.reserve(4 * B * Hd)                          // [4, B, Hd]: h_f, c_f, h_b, c_b
        layers[l][0].forward(input: x, packing: P, h0: nil, c0: nil, cache: caches[l][0],
                             finalH: finals, finalC: finals + B * Hd, zeros: zeros)
        layers[l][1].forward(input: xr, packing: P, h0: nil, c0: nil, cache: caches[l][1],
                             finalH: finals + 2 * B * Hd, finalC: finals + 3 * B * Hd, zeros: zeros)
        let out = joined[l].reserve(N * H)                                     // [N, H] = [fwd ; bwd]
        let hf = caches[l][0].h.pointer, hb = caches[l][1].h.pointer
        for n in 0..<N {
            (out + n * H).update(from: hf + n * Hd, count: Hd)
            (out + n * H + Hd).update(from: hb + reversal[n] * Hd, count: Hd)
        }
        for r in 0..<B {
            if let finalH {
                (finalH + r * H).update(from: finals + r * Hd, count: Hd)
                (finalH + r * H + Hd).update(from: finals + 2 * B * Hd + r * Hd, count: Hd)
            }
            if let finalC, cell.hasCellState {
                (finalC + r * H).update(from: finals + B * Hd + r * Hd, count: Hd)
                (finalC + r * H + Hd).update(from: finals + 3 * B * Hd + r * Hd, count: Hd)
            }
        }
    }

    /// Backward of the last layer-by-layer `forward`; accumulates parameter and embedding gradients.
    ///
    /// - dTop: `[N, H]` gradient w.r.t. the top output (nil = zeros, e.g. an encoder without attention).
    /// - dFinalH, dFinalC: `[L, B, H]` gradients w.r.t. the final states (nil = zeros).
    /// - dh0, dc0: `[L, B, H]` receivers for the gradients w.r.t. the initial states, or nil.
    func backward(
        dTop: UnsafePointer<Float>?, ids: UnsafePointer<Int32>, packing P: Packing,
        c0: UnsafePointer<Float>?,
        dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
        dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?
    ) {
        let (N, B, H) = (P.total, P.rowCount, H)
        let width = max(E, H)
        var dOut = gradA.reserve(N * width)   // gradient w.r.t. layer l's output  [N, H]
        var dIn = gradB.reserve(N * width)    // gradient w.r.t. layer l's input   [N, I]
        let zero = zeros.zeroed(B * H)
        for l in stride(from: L - 1, through: 0, by: -1) {
            let I = inputWidth(l), slice = l * B * H
            let dOutput: UnsafePointer<Float>? = l == L - 1 ? dTop : UnsafePointer(dOut)
            if bidirectional {
                backwardBidirectional(l, outputGradient: dOutput, packing: P, dFinalH: dFinalH.map { $0 + slice },
                                      dFinalC: dFinalC.map { $0 + slice }, inputGradient: dIn, zeros: zero)
            } else {
                layers[l][0].backward(
                    outputGradient: dOutput, input: layerInput(l), packing: P,
                    c0: c0.map { $0 + slice }, cache: caches[l][0],
                    dFinalH: dFinalH.map { $0 + slice }, dFinalC: dFinalC.map { $0 + slice },
                    gradients: gradientLayers[l][0], inputGradient: dIn,
                    dh0: dh0.map { $0 + slice }, dc0: dc0.map { $0 + slice }, zeros: zero)
            }
            if droppedOut { Dropout.backward(dIn, mask: masks[l].pointer, inputGradient: dIn, count: N * I) }
            swap(&dOut, &dIn)  // dIn of layer l is dOut of layer l − 1
        }
        PhaseTimer.measure("embedding.bwd") {
            Embedding.backward(outputGradient: dOut, ids: ids, count: N, width: E, tableGradient: dTable)
        }  // dOut is now d(embedding)
    }

    /// Backward of both directions of layer l; writes the summed input gradient `[N, I]`.
    private func backwardBidirectional(_ l: Int, outputGradient dOut: UnsafePointer<Float>?, packing P: Packing,
                                       dFinalH: UnsafePointer<Float>?, dFinalC: UnsafePointer<Float>?,
                                       inputGradient dx: UnsafeMutablePointer<Float>, zeros: UnsafePointer<Float>) {
        let (N, B, H, Hd, I) = (P.total, P.rowCount, H, directionSize, inputWidth(l))
        let scratch = directionGradients.reserve(2 * N * Hd + N * I)
        let dF = scratch, dB = scratch + N * Hd, dxr = scratch + 2 * N * Hd  // [N, Hd], [N, Hd], [N, I]
        if let dOut {
            for n in 0..<N {
                (dF + n * Hd).update(from: dOut + n * H, count: Hd)
                (dB + n * Hd).update(from: dOut + reversal[n] * H + Hd, count: Hd)   // read backwards
            }
        }
        let finals = finalScratch.reserve(4 * B * Hd)                              // [4, B, Hd] dh_f, dc_f, dh_b, dc_b
        finals.update(repeating: 0, count: 4 * B * Hd)
        for r in 0..<B {
            if let dFinalH {
                (finals + r * Hd).update(from: dFinalH + r * H, count: Hd)
                (finals + 2 * B * Hd + r * Hd).update(from: dFinalH + r * H + Hd, count: Hd)
            }
            if let dFinalC, cell.hasCellState {
                (finals + B * Hd + r * Hd).update(from: dFinalC + r * H, count: Hd)
                (finals + 3 * B * Hd + r * Hd).update(from: dFinalC + r * H + Hd, count: Hd)
            }
        }
        layers[l][0].backward(outputGradient: dOut == nil ? nil : UnsafePointer(dF), input: layerInput(l), packing: P,
                              c0: nil, cache: caches[l][0], dFinalH: finals, dFinalC: finals + B * Hd,
                              gradients: gradientLayers[l][0], inputGradient: dx, dh0: nil, dc0: nil, zeros: zeros)
        layers[l][1].backward(outputGradient: dOut == nil ? nil : UnsafePointer(dB), input: reversedInputs[l].pointer,
                              packing: P, c0: nil, cache: caches[l][1],
                              dFinalH: finals + 2 * B * Hd, dFinalC: finals + 3 * B * Hd,
                              gradients: gradientLayers[l][1], inputGradient: dxr, dh0: nil, dc0: nil, zeros: zeros)
        for n in 0..<N { Kernels.add(dxr + reversal[n] * I, into: dx + n * I, count: I) }
    }

    // MARK: Step by step (input feeding)

    /// Starts a step-by-step forward: embeddings, dropout masks, layer 0's input projection of
    /// the embedding part over all steps (the fed part is added per step).
    func beginSteps(ids: UnsafePointer<Int32>, packing P: Packing, dropout p: Float, random: inout RandomGenerator?) {
        embed(ids: ids, packing: P, dropout: p, random: &random)
        for l in 0..<L {
            if l > 0 { inputs[l].reserve(P.total * H) }
            layers[l][0].beginForward(input: l == 0 ? inputs[0].pointer : nil, width: l == 0 ? E : 0, packing: P,
                                      cache: caches[l][0])
        }
        zeros.zeroed(P.rowCount * H)
    }

    /// Step t of every layer. fed: `[b_t, F]` layer 0's per-step input. h0, c0: `[L, B, H]` or nil.
    func forwardStep(_ t: Int, packing P: Packing, fed: UnsafePointer<Float>,
                     h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?) {
        let (B, H) = (P.rowCount, H)
        let bt = P.batchSizes[t], off = P.offsets[t]
        for l in 0..<L {
            let layer = layers[l][0], cache = caches[l][0]
            if l == 0 {
                layer.addStepInput(fed, column: E, width: feedSize, step: t, packing: P, cache: cache)
            } else {
                // Layer l's input at step t: layer l − 1's new outputs (after dropout).   [b_t, H]
                let x = inputs[l].pointer + off * H
                let below = caches[l - 1][0].h.pointer + off * H
                if droppedOut {
                    Dropout.forward(below, mask: masks[l].pointer + off * H, output: x, count: bt * H)
                } else {
                    x.update(from: below, count: bt * H)
                }
                layer.addStepInput(x, column: 0, width: H, step: t, packing: P, cache: cache)
            }
            layer.forwardStep(t, packing: P, h0: h0.map { $0 + l * B * H }, c0: c0.map { $0 + l * B * H },
                              cache: cache, zeros: zeros.pointer)
        }
    }

    /// Starts a step-by-step backward (no gradient w.r.t. the final states).
    func beginBackwardSteps(packing P: Packing) {
        for l in 0..<L { layers[l][0].beginBackward(packing: P, dFinalH: nil, dFinalC: nil, cache: caches[l][0]) }
        stepGradient.reserve(P.rowCount * H)
        zeros.zeroed(P.rowCount * H)
    }

    /// Backward of step t through every layer, top to bottom.
    ///
    /// - dTop: `[b_t, H]` gradient w.r.t. the top layer's outputs at step t.
    /// - feedGradient: receives `[b_t, F]`, the gradient w.r.t. layer 0's fed input at step t.
    func backwardStep(_ t: Int, packing P: Packing, dTop: UnsafePointer<Float>, c0: UnsafePointer<Float>?,
                      feedGradient: UnsafeMutablePointer<Float>) {
        let (B, H) = (P.rowCount, H)
        let bt = P.batchSizes[t], off = P.offsets[t]
        var dOut = dTop
        for l in stride(from: L - 1, through: 0, by: -1) {
            let layer = layers[l][0], cache = caches[l][0]
            layer.backwardStep(t, outputGradient: dOut, packing: P, c0: c0.map { $0 + l * B * H }, cache: cache,
                               zeros: zeros.pointer)
            if l > 0 {
                // Gradient into layer l − 1's outputs at step t (through this layer's input and dropout).
                let dx = stepGradient.pointer                                                   // [b_t, H]
                layer.stepInputGradient(step: t, column: 0, width: H, packing: P, cache: cache, into: dx)
                if droppedOut { Dropout.backward(dx, mask: masks[l].pointer + off * H, inputGradient: dx, count: bt * H) }
                dOut = UnsafePointer(dx)
            } else {
                layer.stepInputGradient(step: t, column: E, width: feedSize, packing: P, cache: cache, into: feedGradient)
            }
        }
    }

    /// Finishes a step-by-step backward: parameter gradients over all rows (`fed` `[N, F]` is
    /// layer 0's per-step input of every packed row), initial-state gradients, embeddings.
    func endBackwardSteps(ids: UnsafePointer<Int32>, packing P: Packing, fed: UnsafePointer<Float>,
                          dh0: UnsafeMutablePointer<Float>?, dc0: UnsafeMutablePointer<Float>?) {
        let (N, B, H) = (P.total, P.rowCount, H)
        let dEmbedding = gradA.reserve(N * max(E, H))                                         // [N, E]
        for l in 0..<L {
            let layer = layers[l][0], cache = caches[l][0], slice = l * B * H
            layer.endBackward(input: inputs[l].pointer, width: inputWidth(l), packing: P, cache: cache,
                              gradients: gradientLayers[l][0], inputGradient: l == 0 ? dEmbedding : nil,
                              dh0: dh0.map { $0 + slice }, dc0: dc0.map { $0 + slice })
            if l == 0 {
                layer.addInputWeightGradient(input: fed, column: E, width: feedSize, packing: P, cache: cache,
                                             gradients: gradientLayers[0][0])
            }
        }
        if droppedOut { Dropout.backward(dEmbedding, mask: masks[0].pointer, inputGradient: dEmbedding, count: N * E) }
        Embedding.backward(outputGradient: dEmbedding, ids: ids, count: N, width: E, tableGradient: dTable)
    }
}
