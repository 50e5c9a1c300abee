/// One-to-many recurrent decoder under teacher forcing: starts from the encoder's final
/// states, reads `<s> y1 … yn` and scores `y1 … yn </s>` through the output layer and
/// softmax cross-entropy over all Nt target positions at once.
///
/// With attention, the top layer's output h_t attends over the row's own source memory
/// and the output layer reads h̃_t (after dropout). With input feeding, layer 0 reads
/// `[emb(y_t) ; h̃_{t−1}]`, so the layers, the attention and h̃ advance one step at a time
/// (`RecurrentStack`'s step mode); without it, the whole stack runs first and attention
/// follows over all rows at once.
final class RNNDecoder {
    let stack: RecurrentStack
    let attention: GlobalAttention?
    let gradientAttention: GlobalAttention?
    let inputFeeding: Bool
    let V: Int, H: Int
    let outWeight: UnsafeMutablePointer<Float>, outBias: UnsafeMutablePointer<Float>    // [V, H], [V]
    let dOutWeight: UnsafeMutablePointer<Float>, dOutBias: UnsafeMutablePointer<Float>  // [V, H], [V]
    let h0 = FloatBuffer(), c0 = FloatBuffer()    // [L, B, H] target-sorted rows
    let dh0 = FloatBuffer(), dc0 = FloatBuffer()  // [L, B, H]
    let logits = FloatBuffer()                    // [Nt, V] (gradient after backward)
    let dOutput = FloatBuffer()                   // [Nt, H] gradient w.r.t. the output layer's input
    let scratch = FloatBuffer()                   // [V]
    let roundedLogits = BFloat16Buffer()          // [Nt, V] the logit gradient in bf16 (mixed precision)
    private var roundedGradient: RoundedOperand?  // roundedLogits as the backward products' operand
    let attentionCache = DecoderAttentionCache()
    private(set) var top: UnsafeMutablePointer<Float>?     // [Nt, H] top-layer outputs of the last forward
    private(set) var outputInput: UnsafeMutablePointer<Float>?  // [Nt, H] what the output layer read
    private var droppedOut = false

    init(configuration: ModelConfiguration, parameters: ParameterBuffer, gradients: ParameterBuffer) {
        stack = RecurrentStack(side: "decoder", embedding: "tgt_embedding", configuration: configuration,
                               parameters: parameters, gradients: gradients)
        let kind = configuration.attention
        attention = kind == .none ? nil : GlobalAttention(kind: kind, hiddenSize: configuration.hiddenSize, parameters: parameters)
        gradientAttention = kind == .none ? nil : GlobalAttention(kind: kind, hiddenSize: configuration.hiddenSize, parameters: gradients)
        inputFeeding = configuration.inputFeeding
        V = configuration.targetVocabularySize
        H = configuration.hiddenSize
        // Tied embeddings: the output layer reads the target embedding table, and both uses add
        // their gradients into the same tensor.
        let weight = configuration.tieEmbeddings ? "tgt_embedding" : "out_weight"
        outWeight = parameters.view(weight); outBias = parameters.view("out_bias")
        dOutWeight = gradients.view(weight); dOutBias = gradients.view("out_bias")
    }

    /// Runs the decoder from `h0`/`c0` and returns the summed loss over real target tokens.
    /// With `gradientScale`, `logits` then holds `gradientScale · ∂loss/∂logits` for `backward`.
    /// `memory` is required with attention.
    func forward(
        inputIDs: UnsafePointer<Int32>, targetIDs: UnsafePointer<Int32>, packing P: Packing, memory: SourceMemory?,
        labelSmoothing: Float, gradientScale: Float?, dropout: Float, random: inout RandomGenerator?
    ) -> Double {
        let (N, H) = (P.total, H)
        let y: UnsafeMutablePointer<Float>                                                   // [Nt, H]
        if let attention, let memory {
            y = forwardWithAttention(attention, inputIDs: inputIDs, packing: P, memory: memory, dropout: dropout,
                                     random: &random)
        } else {
            y = stack.forward(ids: inputIDs, packing: P, h0: h0.pointer, c0: c0.pointer, finalH: nil, finalC: nil,
                              dropout: dropout, random: &random)
            top = y
        }
        outputInput = y
        let z = logits.reserve(N * V)                                                       // [Nt, V]
        PhaseTimer.measure("output.fwd") {
            Linear.forward(input: y, rows: N, inputSize: H, outputSize: V, weight: outWeight, bias: outBias, output: z)
        }
        // In mixed precision the softmax also rounds the logit gradient for both backward products.
        let z16 = gradientScale != nil && BLAS.roundsToBFloat16 ? roundedLogits.reserve(N * V) : nil   // [Nt, V]
        roundedGradient = z16.map { RoundedOperand(floats: z, count: N * V, rounded: $0) }
        return PhaseTimer.measure("softmaxCE") { SoftmaxCrossEntropy.forwardBackward(
            logits: z, targets: targetIDs, rows: N, classes: V, labelSmoothing: labelSmoothing, gradientScale: gradientScale,
            scratch: scratch.reserve(V), roundedGradient: z16) }
    }

    /// Backward of the last training `forward`; fills `dh0`/`dc0` and, with attention, the
    /// memory's gradients.
    func backward(inputIDs: UnsafePointer<Int32>, packing P: Packing, memory: SourceMemory?) {
        let (N, H, n) = (P.total, H, stack.L * P.rowCount * stack.H)
        let d = dOutput.reserve(N * H)
        PhaseTimer.measure("output.bwd") {
            let products = {
                Linear.backward(outputGradient: self.logits.pointer, input: self.outputInput!, rows: N, inputSize: H,
                                outputSize: self.V, weight: self.outWeight, weightGradient: self.dOutWeight,
                                biasGradient: self.dOutBias, inputGradient: d)
            }
            if let roundedGradient { BFloat16Operands.using(roundedGradient, products) } else { products() }
        }
        let (dh0, dc0) = (dh0.reserve(n), dc0.reserve(n))
        if let attention, let gradientAttention, let memory {
            backwardWithAttention(attention, gradients: gradientAttention, inputIDs: inputIDs, packing: P, memory: memory,
                                  dh0: dh0, dc0: dc0)
        } else {
            stack.backward(dTop: d, ids: inputIDs, packing: P, c0: c0.pointer, dFinalH: nil, dFinalC: nil, dh0: dh0, dc0: dc0)
        }
    }
}

/// Activations of the decoder's attention for the backward pass.   (Smax: longest source.)
final class DecoderAttentionCache {
    let weights = FloatBuffer()            // [Nt, Smax]  a_t (zeros past the row's source length)
    let contextAndHidden = FloatBuffer()   // [Nt, 2H]    [c_t ; h_t]
    let hidden = FloatBuffer()             // [Nt, H]     h̃_t
    let output = FloatBuffer()             // [Nt, H]     h̃_t after dropout (output layer input; fed back)
    let mask = FloatBuffer()               // [Nt, H]     dropout mask on h̃
    let fed = FloatBuffer()                // [Nt, H]     input feeding: h̃_{t−1} per packed row (0 at t = 0)
    let dPre = FloatBuffer()               // [Nt, H]     gradient before tanh
    let dContextAndHidden = FloatBuffer()  // [Nt, 2H]
    let dTop = FloatBuffer()               // [Nt, H]     gradient w.r.t. the top layer's outputs
    let dFed = FloatBuffer()               // [B, H]      gradient w.r.t. the fed input of the step above
    let scratch = FloatBuffer()            // [Smax]
    var longest = 0                        // Smax of the last forward
}

// MARK: Attention, forward and backward

extension RNNDecoder {
    private func forwardWithAttention(
        _ attention: GlobalAttention, inputIDs: UnsafePointer<Int32>, packing P: Packing, memory: SourceMemory,
        dropout p: Float, random: inout RandomGenerator?
    ) -> UnsafeMutablePointer<Float> {
        let (N, H, cache) = (P.total, H, attentionCache)
        cache.longest = max(memory.longest, 1)
        cache.weights.zeroed(N * cache.longest)
        cache.contextAndHidden.reserve(N * 2 * H)
        cache.hidden.reserve(N * H)
        let out = cache.output.reserve(N * H)
        if inputFeeding {
            stack.beginSteps(ids: inputIDs, packing: P, dropout: p, random: &random)
        } else {
            top = stack.forward(ids: inputIDs, packing: P, h0: h0.pointer, c0: c0.pointer, finalH: nil, finalC: nil,
                                dropout: p, random: &random)
        }
        droppedOut = p > 0 && random != nil
        if droppedOut { Dropout.makeMask(cache.mask.reserve(N * H), packing: P, width: H, probability: p, random: &random!) }
        if inputFeeding {
            let fed = cache.fed.reserve(N * H)
            top = stack.caches[stack.L - 1][0].h.pointer
            for t in 0..<P.maxLength {
                let off = P.offsets[t], bt = P.batchSizes[t]
                // Row r at step t reads h̃ of row r at step t − 1 (rows of a step are a prefix of the previous step's).
                if t == 0 {
                    fed.update(repeating: 0, count: bt * H)
                } else {
                    (fed + off * H).update(from: out + P.offsets[t - 1] * H, count: bt * H)
                }
                stack.forwardStep(t, packing: P, fed: fed + off * H, h0: h0.pointer, c0: c0.pointer)
                attend(attention, rows: off..<off + bt, packing: P, step: t, memory: memory)
            }
        } else {
            for t in 0..<P.maxLength { attendScores(attention, rows: P.offsets[t]..<P.offsets[t + 1], step: t, packing: P, memory: memory) }
            attention.combine(rows: N, contextAndHidden: cache.contextAndHidden.pointer, output: cache.hidden.pointer)
            if droppedOut { Dropout.forward(cache.hidden.pointer, mask: cache.mask.pointer, output: out, count: N * H) }
            else { out.update(from: cache.hidden.pointer, count: N * H) }
        }
        return out
    }

    /// Attention of the packed rows `rows` of step t, then h̃ and its dropout for those rows.
    private func attend(_ attention: GlobalAttention, rows: Range<Int>, packing P: Packing, step t: Int, memory: SourceMemory) {
        let (H, cache) = (H, attentionCache)
        attendScores(attention, rows: rows, step: t, packing: P, memory: memory)
        let (lo, n) = (rows.lowerBound, rows.count)
        attention.combine(rows: n, contextAndHidden: cache.contextAndHidden.pointer + lo * 2 * H,
                          output: cache.hidden.pointer + lo * H)
        let hidden = cache.hidden.pointer + lo * H, out = cache.output.pointer + lo * H
        if droppedOut { Dropout.forward(hidden, mask: cache.mask.pointer + lo * H, output: out, count: n * H) }
        else { out.update(from: hidden, count: n * H) }
    }

    /// Weights and contexts of the packed rows `rows` (all of step t); fills `[c_t ; h_t]`.
    private func attendScores(_ attention: GlobalAttention, rows: Range<Int>, step t: Int, packing P: Packing,
                              memory: SourceMemory) {
        let (H, cache, top) = (H, attentionCache, top!)
        let S = cache.longest
        for n in rows {
            let b = P.order[n - P.offsets[t]]                       // the row's sentence (original order)
            let ch = cache.contextAndHidden.pointer + n * 2 * H
            attention.forwardRow(query: top + n * H, memory: memory.values.pointer + memory.offsets[b] * H,
                                 keys: memory.keys(of: b, hiddenSize: H, kind: attention.kind), length: memory.length(b),
                                 weights: cache.weights.pointer + n * S, context: ch)
            (ch + H).update(from: top + n * H, count: H)
        }
    }

    private func backwardWithAttention(
        _ attention: GlobalAttention, gradients: GlobalAttention, inputIDs: UnsafePointer<Int32>, packing P: Packing,
        memory: SourceMemory, dh0: UnsafeMutablePointer<Float>, dc0: UnsafeMutablePointer<Float>
    ) {
        let (N, H, cache) = (P.total, H, attentionCache)
        let dOut = dOutput.pointer                                                           // [Nt, H]
        cache.dPre.reserve(N * H)
        cache.dContextAndHidden.reserve(N * 2 * H)
        cache.dTop.reserve(N * H)
        cache.scratch.reserve(cache.longest)
        memory.zeroGradients(hiddenSize: H)
        if inputFeeding {
            let dFed = cache.dFed.reserve(P.rowCount * H)                                   // [b_t, H]
            stack.beginBackwardSteps(packing: P)
            for t in stride(from: P.maxLength - 1, through: 0, by: -1) {
                let off = P.offsets[t], bt = P.batchSizes[t]
                if t + 1 < P.maxLength {
                    // h̃ of step t was also fed to step t + 1.
                    Kernels.add(dFed, into: dOut + off * H, count: P.batchSizes[t + 1] * H)
                }
                attendBackward(attention, rows: off..<off + bt, step: t, packing: P, memory: memory)
                stack.backwardStep(t, packing: P, dTop: cache.dTop.pointer + off * H, c0: c0.pointer, feedGradient: dFed)
            }
            attention.combineWeightGradients(rows: N, preActivationGradient: cache.dPre.pointer,
                                             contextAndHidden: cache.contextAndHidden.pointer, gradients: gradients)
            stack.endBackwardSteps(ids: inputIDs, packing: P, fed: cache.fed.pointer, dh0: dh0, dc0: dc0)
        } else {
            for t in stride(from: P.maxLength - 1, through: 0, by: -1) {
                attendBackward(attention, rows: P.offsets[t]..<P.offsets[t + 1], step: t, packing: P, memory: memory)
            }
            attention.combineWeightGradients(rows: N, preActivationGradient: cache.dPre.pointer,
                                             contextAndHidden: cache.contextAndHidden.pointer, gradients: gradients)
            stack.backward(dTop: cache.dTop.pointer, ids: inputIDs, packing: P, c0: c0.pointer, dFinalH: nil, dFinalC: nil,
                           dh0: dh0, dc0: dc0)
        }
    }

    /// Backward of `attend` for the packed rows `rows` of step t: from `dOutput` (gradient w.r.t.
    /// h̃ after dropout) to `dTop` (w.r.t. the top layer's outputs) and the memory's gradients.
    private func attendBackward(_ attention: GlobalAttention, rows: Range<Int>, step t: Int, packing P: Packing,
                                memory: SourceMemory) {
        let (H, cache, top) = (H, attentionCache, top!)
        let (lo, n, S) = (rows.lowerBound, rows.count, cache.longest)
        let dHidden = dOutput.pointer + lo * H                                              // [n, H]
        if droppedOut { Dropout.backward(dHidden, mask: cache.mask.pointer + lo * H, inputGradient: dHidden, count: n * H) }
        attention.combineBackward(rows: n, outputGradient: dHidden, output: cache.hidden.pointer + lo * H,
                                  preActivationGradient: cache.dPre.pointer + lo * H,
                                  inputGradient: cache.dContextAndHidden.pointer + lo * 2 * H)
        for i in rows {
            let b = P.order[i - P.offsets[t]]
            let dch = cache.dContextAndHidden.pointer + i * 2 * H
            let dTop = cache.dTop.pointer + i * H
            dTop.update(from: dch + H, count: H)                                            // h_t went into [c ; h] directly
            attention.backwardRow(query: top + i * H, memory: memory.values.pointer + memory.offsets[b] * H,
                                  keys: memory.keys(of: b, hiddenSize: H, kind: attention.kind), length: memory.length(b),
                                  weights: cache.weights.pointer + i * S, contextGradient: dch, queryGradient: dTop,
                                  memoryGradient: memory.dValues.pointer + memory.offsets[b] * H,
                                  keysGradient: memory.dKeys.pointer + memory.offsets[b] * H,
                                  scratch: cache.scratch.pointer)
        }
    }
}
