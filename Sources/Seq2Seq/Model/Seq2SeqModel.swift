/// Loss of one batch.
public struct LossResult: Sendable, Equatable {
    /// Mean loss per real target token (`lossSum / tokenCount`).
    public var loss: Float
    /// Summed token losses (natural log), accumulated in Double.
    public var lossSum: Double
    /// Number of real (non-pad) target tokens.
    public var tokenCount: Int
}

/// Recurrent encoder-decoder (RNN, GRU or LSTM cells; uni- or bidirectional encoder;
/// optional Luong attention with input feeding) with hand-written backward.
///
/// All parameters live in one `ParameterBuffer` using the PyTorch reference
/// names (`src_embedding` [Vs, E], `tgt_embedding` [Vt, E],
/// `encoder.l{k}.weight_ih` [G·H, I], `…weight_hh` [G·H, H], `…bias_ih` [G·H],
/// `…bias_hh` [G·H] (bidirectional: `encoder.l{k}.forward.*` and `.backward.*` with H/2),
/// the same for `decoder.l{k}`, `attention.W_a` [H, H], `attention.W_c` [H, 2H],
/// `attention.b_c` [H], `out_weight` [Vt, H], `out_bias` [Vt]); see
/// `ModelConfiguration.parameterShapes`. `gradients` has the same layout.
///
/// A model instance owns reusable work buffers and is not thread-safe: use one
/// instance per thread.
public final class Seq2SeqModel {
    public let configuration: ModelConfiguration
    /// Parameter values.
    public let parameters: ParameterBuffer
    /// Gradients of the last `computeGradients` call (same layout as `parameters`).
    public let gradients: ParameterBuffer

    let encoder: RNNEncoder
    let decoder: RNNDecoder
    /// Encoder outputs per sentence for attention (unused without attention).
    let memory = SourceMemory()
    private(set) var lastBatch: Batch?

    /// A new model with parameters drawn uniformly from [−initScale, initScale] using `seed`.
    public convenience init(configuration: ModelConfiguration, seed: UInt64, initScale: Float = 0.1) throws {
        try configuration.validate()
        let p = ParameterBuffer(shapes: configuration.parameterShapes)
        var random = RandomGenerator(seed: seed)
        for i in 0..<p.count { p.pointer[i] = (2 * random.nextUnitFloat() - 1) * initScale }
        try self.init(configuration: configuration, adopting: p, copy: false)
    }

    /// A model over existing parameter values (e.g. loaded from a checkpoint).
    /// The values are copied; the layout must be `configuration.parameterShapes`.
    public convenience init(configuration: ModelConfiguration, parameters values: ParameterBuffer) throws {
        try self.init(configuration: configuration, adopting: values, copy: true)
    }

    /// A model over `values`; with `copy: false` the model uses that buffer itself (the caller
    /// must not keep using it, e.g. a buffer just filled from a checkpoint).
    init(configuration: ModelConfiguration, adopting values: ParameterBuffer, copy: Bool) throws {
        try configuration.validate()
        let layout = configuration.parameterShapes
        guard layout.map(\.shape) == values.entries.map(\.shape),
              layout.map(\.name) == values.entries.map(\.name) else {
            throw ModelError.invalidConfiguration("the parameter tensors do not match the configuration's layout")
        }
        let p: ParameterBuffer
        if copy {
            p = ParameterBuffer(shapes: layout)
            p.copy(from: values)
        } else {
            p = values
        }
        self.configuration = configuration
        parameters = p
        gradients = ParameterBuffer(layoutOf: p)
        encoder = RNNEncoder(configuration: configuration, parameters: p, gradients: gradients)
        decoder = RNNDecoder(configuration: configuration, parameters: p, gradients: gradients)
    }

    /// Forward and backward on `batch` with dropout (if the configuration has it).
    ///
    /// Sets `gradients` to ∂loss/∂parameters (previous contents are discarded),
    /// where loss is the mean over real target tokens.
    /// - Parameters:
    ///   - batch: the padded, length-sorted batch (sources, decoder inputs and targets).
    ///   - labelSmoothing: probability mass spread evenly over the vocabulary (0: plain cross-entropy).
    ///   - random: source of dropout masks; advanced only when dropout > 0.
    public func computeGradients(
        for batch: Batch, labelSmoothing: Float = 0, random: inout RandomGenerator
    ) throws -> LossResult {
        var r: RandomGenerator? = random
        let result = try run(batch, labelSmoothing: labelSmoothing, training: true, random: &r)
        random = r!
        return result
    }

    /// Forward-only loss on `batch` (no dropout, gradients untouched), e.g. for validation.
    public func loss(for batch: Batch, labelSmoothing: Float = 0) throws -> LossResult {
        var r: RandomGenerator? = nil
        return try run(batch, labelSmoothing: labelSmoothing, training: false, random: &r)
    }

    func run(_ batch: Batch, labelSmoothing: Float, training: Bool, random: inout RandomGenerator?) throws -> LossResult {
        try batch.validate(for: configuration)
        let (S, T) = (batch.source, batch.target)
        let p = training ? configuration.dropout : 0
        let count = T.mask == nil ? batch.targetTokenCount : batch.decoderTargetIDs.filter { $0 >= 0 }.count
        lastBatch = batch

        batch.sourceIDs.withUnsafeBufferPointer { src in
            encoder.forward(ids: src.baseAddress!, packing: S, dropout: p, random: &random)
        }
        if let attention = decoder.attention {
            memory.gather(top: encoder.top!, packing: S, hiddenSize: configuration.hiddenSize, attention: attention)
        }
        handOverStates(batch)
        let sum = batch.decoderInputIDs.withUnsafeBufferPointer { input in
            batch.decoderTargetIDs.withUnsafeBufferPointer { target in
                decoder.forward(inputIDs: input.baseAddress!, targetIDs: target.baseAddress!, packing: T,
                                memory: decoder.attention == nil ? nil : memory,
                                labelSmoothing: labelSmoothing, gradientScale: training ? 1 / Float(max(count, 1)) : nil,
                                dropout: p, random: &random)
            }
        }
        if training {
            PhaseTimer.measure("zeroGradients") { gradients.zero() }
            backward(batch)
        }
        return LossResult(loss: Float(sum / Double(max(count, 1))), lossSum: sum, tokenCount: count)
    }

    /// Decoder row r starts from the encoder's final state of the same sentence.   [L, B, H]
    private func handOverStates(_ batch: Batch) {
        let (S, T) = (batch.source, batch.target)
        let (B, H, L) = (batch.rowCount, configuration.hiddenSize, configuration.layerCount)
        let (eh, ec) = (encoder.finalH.pointer, encoder.finalC.pointer)
        let (dh, dc) = (decoder.h0.reserve(L * B * H), decoder.c0.reserve(L * B * H))
        let cellState = configuration.cell.hasCellState
        for l in 0..<L {
            for r in 0..<B {
                let s = (l * B + S.rank[T.order[r]]) * H, d = (l * B + r) * H
                (dh + d).update(from: eh + s, count: H)
                if cellState { (dc + d).update(from: ec + s, count: H) }
            }
        }
    }

    /// Backward of the last forward: decoder, then the state hand-over and the attention
    /// memory back to the encoder, then the encoder.
    private func backward(_ batch: Batch) {
        let (S, T) = (batch.source, batch.target)
        let (B, H, L) = (batch.rowCount, configuration.hiddenSize, configuration.layerCount)
        let memory = decoder.attention == nil ? nil : self.memory
        batch.decoderInputIDs.withUnsafeBufferPointer { decoder.backward(inputIDs: $0.baseAddress!, packing: T, memory: memory) }
        let (gh, gc) = (encoder.dFinalH.reserve(L * B * H), encoder.dFinalC.reserve(L * B * H))
        let cellState = configuration.cell.hasCellState
        for l in 0..<L {
            for r in 0..<B {
                let s = (l * B + S.rank[T.order[r]]) * H, d = (l * B + r) * H
                (gh + s).update(from: decoder.dh0.pointer + d, count: H)
                if cellState { (gc + s).update(from: decoder.dc0.pointer + d, count: H) }
            }
        }
        var topGradient: UnsafePointer<Float>? = nil
        if let memory, let attention = decoder.attention, let gradientAttention = decoder.gradientAttention {
            let dTop = encoder.dTop.reserve(S.total * H)
            memory.scatterGradients(into: dTop, packing: S, hiddenSize: H, attention: attention, gradients: gradientAttention)
            topGradient = UnsafePointer(dTop)
        }
        batch.sourceIDs.withUnsafeBufferPointer { encoder.backward(ids: $0.baseAddress!, packing: S, topGradient: topGradient) }
    }

    // MARK: Inspection of the last forward (tests)

    /// Encoder final states `[L, B, H]` in original row order (`c` is empty without a cell state).
    func lastEncoderFinalStates() -> (h: [Float], c: [Float]) {
        guard let batch = lastBatch else { return ([], []) }
        let (B, H, L) = (batch.rowCount, configuration.hiddenSize, configuration.layerCount)
        var h = [Float](repeating: 0, count: L * B * H), c = h
        for l in 0..<L {
            for b in 0..<B {
                let s = (l * B + batch.source.rank[b]) * H
                for j in 0..<H {
                    h[(l * B + b) * H + j] = encoder.finalH.pointer[s + j]
                    if configuration.cell.hasCellState { c[(l * B + b) * H + j] = encoder.finalC.pointer[s + j] }
                }
            }
        }
        return (h, configuration.cell.hasCellState ? c : [])
    }

    /// Encoder top-layer outputs `[B, S, H]`, zeros at padding.
    func lastEncoderOutput() -> [Float] {
        guard let batch = lastBatch, let top = encoder.top else { return [] }
        return batch.source.unpack(top, width: configuration.hiddenSize)
    }

    /// Decoder top-layer outputs `[B, T, H]`, zeros at padding.
    func lastDecoderOutput() -> [Float] {
        guard let batch = lastBatch, let top = decoder.top else { return [] }
        return batch.target.unpack(top, width: configuration.hiddenSize)
    }

    /// Attention weights `[B, T, S]` of the last forward, zeros at padding (empty without attention).
    func lastAttentionWeights() -> [Float] {
        guard let batch = lastBatch, decoder.attention != nil else { return [] }
        let cache = decoder.attentionCache, S = batch.maxSourceLength
        let rows = batch.target.unpack(cache.weights.pointer, width: cache.longest)   // [B, T, Smax]
        var out = [Float](repeating: 0, count: batch.rowCount * batch.maxTargetLength * S)
        for i in 0..<batch.rowCount * batch.maxTargetLength {
            for j in 0..<min(S, cache.longest) { out[i * S + j] = rows[i * cache.longest + j] }
        }
        return out
    }

    /// Attention contexts c_t and attentional states h̃_t `[B, T, H]` of the last forward.
    func lastAttentionContextAndHidden() -> (context: [Float], hidden: [Float]) {
        guard let batch = lastBatch, decoder.attention != nil else { return ([], []) }
        let H = configuration.hiddenSize, cache = decoder.attentionCache
        let both = batch.target.unpack(cache.contextAndHidden.pointer, width: 2 * H)
        var context = [Float](repeating: 0, count: both.count / 2)
        for i in 0..<both.count / (2 * H) { for j in 0..<H { context[i * H + j] = both[i * 2 * H + j] } }
        return (context, batch.target.unpack(cache.hidden.pointer, width: H))
    }

    /// Logits `[B, T, V]` of the last forward-only `loss(for:)` call, zeros at padding.
    func lastLogits() -> [Float] {
        guard let batch = lastBatch else { return [] }
        return batch.target.unpack(decoder.logits.pointer, width: configuration.targetVocabularySize)
    }
}
