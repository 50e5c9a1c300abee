import Foundation

/// The decoder's weights arranged the way decoding steps read them, made from a model once:
/// per layer the product's weights `[GH, K_l]` (LSTM and RNN: `[W_ih, W_hh]` side by side, so one
/// product takes `[x_t, h_{t−1}]`; GRU: `W_ih`), the summed biases, and for int8 or bf16 decoding
/// their `ReducedPrecisionMatrix` forms (the full output layer's on first use; with a shortlist,
/// only the rows the batches' shortlists ask for, each reduced once).
///
/// A copy: after the model's weights change, make a new one. `Translator` keeps one per model
/// and precision when its models are fixed (`weightsAreFixed`), so a batch or a served request
/// does not copy and quantize every weight again; otherwise each `DecoderState` makes its own.
final class DecodingWeights: @unchecked Sendable {
    let precision: DecodingPrecision
    /// Per layer: K_l, the columns of the layer's input rows.
    let inputWidth: [Int]
    /// Per layer `[GH, K_l]`.
    let layers: [UnsafeMutablePointer<Float>]
    /// `[L, GH]`  b_ih + b_hh (LSTM/RNN) or b_ih (GRU).
    let bias: UnsafeMutablePointer<Float>
    /// int8 / bf16: per layer the products' weights, and the GRU's W_hh.
    let quantizedLayers: [any ReducedPrecisionMatrix]?, quantizedRecurrent: [any ReducedPrecisionMatrix]?
    private let model: Seq2SeqModel
    private let lock = NSLock()
    private var fullOutput: (any ReducedPrecisionMatrix)?
    private var deferredOutput: (any ReducedPrecisionMatrix)?   // rows reduced as shortlists ask for them

    init(model: Seq2SeqModel, precision: DecodingPrecision) {
        let cfg = model.configuration
        let (L, H, E) = (cfg.layerCount, cfg.hiddenSize, cfg.embeddingSize)
        let GH = cfg.cell.gateCount * H, F = cfg.inputFeeding ? H : 0
        let concatenated = !cfg.cell.keepsRecurrentProjection
        let widths = (0..<L).map { l in (l == 0 ? E + F : H) + (concatenated ? H : 0) }
        let stack = model.decoder.stack.layers.map { $0[0] }
        var layers: [UnsafeMutablePointer<Float>] = []
        for l in 0..<L {
            let layer = stack[l], I = layer.inputSize, K = widths[l]
            let w = UnsafeMutablePointer<Float>.allocate(capacity: max(GH * K, 1))
            for k in 0..<GH {
                (w + k * K).update(from: layer.wIH + k * I, count: I)
                if concatenated { (w + k * K + I).update(from: layer.wHH + k * H, count: H) }
            }
            layers.append(w)
        }
        bias = .allocate(capacity: max(L * GH, 1))
        for l in 0..<L { for k in 0..<GH { bias[l * GH + k] = stack[l].bIH[k] + (concatenated ? stack[l].bHH[k] : 0) } }
        if precision != .fp32 {
            quantizedLayers = (0..<L).compactMap { l in
                reducedPrecisionMatrix(layers[l], rows: GH, columns: widths[l], ldw: widths[l], precision: precision)
            }
            quantizedRecurrent = concatenated ? nil : (0..<L).compactMap { l in
                reducedPrecisionMatrix(stack[l].wHH, rows: GH, columns: H, ldw: H, precision: precision)
            }
        } else {
            quantizedLayers = nil
            quantizedRecurrent = nil
        }
        self.precision = precision
        self.model = model
        self.layers = layers
        inputWidth = widths
    }

    deinit {
        for w in layers { w.deallocate() }
        bias.deallocate()
    }

    /// int8 / bf16: the whole output layer `[V, H]` in that form (made on the first call); fp32: nil.
    var quantizedOutput: (any ReducedPrecisionMatrix)? {
        guard precision != .fp32 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if fullOutput == nil {
            let cfg = model.configuration
            fullOutput = reducedPrecisionMatrix(model.decoder.outWeight, rows: cfg.targetVocabularySize, columns: cfg.hiddenSize,
                                                ldw: cfg.hiddenSize, precision: precision)
        }
        return fullOutput
    }

    /// int8 / bf16: rows `tokens` of the output layer in that form, reduced the first time any
    /// batch asks for them and kept (a one-sentence `translate` reduces only its shortlist);
    /// `original` `[tokens.count, H]` holds them in fp32. fp32: nil.
    func reducedOutputRows(_ tokens: [Int32], original: UnsafePointer<Float>) -> (any ReducedPrecisionMatrix)? {
        guard precision != .fp32 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if deferredOutput == nil {
            let cfg = model.configuration
            deferredOutput = reducedPrecisionMatrix(model.decoder.outWeight, rows: cfg.targetVocabularySize,
                                                    columns: cfg.hiddenSize, ldw: cfg.hiddenSize, precision: precision,
                                                    deferred: true)
        }
        return deferredOutput?.gathering(rows: tokens, original: original)
    }
}

/// `DecodingWeights` made once per model (by its index in an ensemble) and precision.
final class DecodingWeightsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var made: [String: DecodingWeights] = [:]

    func weights(of model: Seq2SeqModel, member: Int, precision: DecodingPrecision) -> DecodingWeights {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(member).\(precision.rawValue)"
        if let weights = made[key] { return weights }
        let weights = DecodingWeights(model: model, precision: precision)
        made[key] = weights
        return weights
    }
}
