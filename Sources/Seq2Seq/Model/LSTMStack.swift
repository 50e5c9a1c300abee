/// Embedding → dropout → L stacked LSTM layers with dropout between layers,
/// over one packed side of a batch. Shared by `RNNEncoder` and `RNNDecoder`.
///
/// Initial and final states are `[L, B, H]` in the side's sorted row order.
final class LSTMStack {
    let E: Int, H: Int, L: Int
    let vocabularySize: Int
    let table: UnsafeMutablePointer<Float>   // [V, E]
    let dTable: UnsafeMutablePointer<Float>  // [V, E]
    let layers: [LSTMLayer]                   // parameter views
    let gradientLayers: [LSTMLayer]           // gradient views (same layout)

    let caches: [LSTMCache]
    let inputs: [FloatBuffer]      // per layer: input after dropout  [N, I_l]
    let masks: [FloatBuffer]       // per layer: dropout mask          [N, I_l]
    let gradA = FloatBuffer(), gradB = FloatBuffer()  // ping-pong [N, max(E, H)]
    let zeros = FloatBuffer()      // [B, H]
    private(set) var droppedOut = false

    init(side: String, embedding: String, configuration: ModelConfiguration,
         parameters: ParameterBuffer, gradients: ParameterBuffer) {
        E = configuration.embeddingSize
        H = configuration.hiddenSize
        L = configuration.layerCount
        vocabularySize = side == "encoder" ? configuration.sourceVocabularySize : configuration.targetVocabularySize
        table = parameters.view(embedding)
        dTable = gradients.view(embedding)
        let (E, H) = (E, H)
        layers = (0..<L).map { LSTMLayer(prefix: "\(side).l\($0)", inputSize: $0 == 0 ? E : H, hiddenSize: H, parameters: parameters) }
        gradientLayers = (0..<L).map { LSTMLayer(prefix: "\(side).l\($0)", inputSize: $0 == 0 ? E : H, hiddenSize: H, parameters: gradients) }
        caches = (0..<L).map { _ in LSTMCache() }
        inputs = (0..<L).map { _ in FloatBuffer() }
        masks = (0..<L).map { _ in FloatBuffer() }
    }

    /// The input of layer l as seen by its forward (after dropout).   [N, I_l]
    private func layerInput(_ l: Int) -> UnsafeMutablePointer<Float> {
        (l == 0 || droppedOut) ? inputs[l].pointer : caches[l - 1].h.pointer
    }

    /// Runs the stack; returns the top layer's output `[N, H]` (valid until the next forward).
    ///
    /// - ids: `[N]` packed token ids.  h0, c0: `[L, B, H]` or nil (zeros).
    /// - finalH, finalC: `[L, B, H]` receivers for the last state of every row, or nil.
    /// - dropout: probability p; masks are drawn from `random` when p > 0 and `random` is non-nil.
    @discardableResult
    func forward(
        ids: UnsafePointer<Int32>, packing P: Packing,
        h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
        finalH: UnsafeMutablePointer<Float>?, finalC: UnsafeMutablePointer<Float>?,
        dropout p: Float, random: inout RandomGenerator?
    ) -> UnsafeMutablePointer<Float> {
        let (N, B, H) = (P.total, P.rowCount, H)
        droppedOut = p > 0 && random != nil
        let zero = zeros.zeroed(B * H)
        let x0 = inputs[0].reserve(N * E)                                           // [N, E]
        Embedding.forward(table: table, ids: ids, count: N, width: E, output: x0)
        for l in 0..<L {
            let I = l == 0 ? E : H
            if droppedOut {
                let m = masks[l].reserve(N * I)                                     // [N, I]
                Dropout.makeMask(m, count: N * I, probability: p, random: &random!)
                let x = inputs[l].reserve(N * I)
                Dropout.forward(l == 0 ? x : caches[l - 1].h.pointer, mask: m, output: x, count: N * I)
            }
            layers[l].forward(
                input: layerInput(l), packing: P,
                h0: h0.map { $0 + l * B * H }, c0: c0.map { $0 + l * B * H },
                cache: caches[l],
                finalH: finalH.map { $0 + l * B * H }, finalC: finalC.map { $0 + l * B * H },
                zeros: zero)
        }
        return caches[L - 1].h.pointer
    }

    /// Backward of the last `forward`; accumulates parameter and embedding gradients.
    ///
    /// - dTop: `[N, H]` gradient w.r.t. the top output (nil = zeros, e.g. the encoder).
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
        if let dTop { dOut.update(from: dTop, count: N * H) } else { dOut.update(repeating: 0, count: N * H) }
        let zero = zeros.zeroed(B * H)
        for l in stride(from: L - 1, through: 0, by: -1) {
            let I = l == 0 ? E : H
            layers[l].backward(
                outputGradient: dOut, input: layerInput(l), packing: P,
                c0: c0.map { $0 + l * B * H }, cache: caches[l],
                dFinalH: dFinalH.map { $0 + l * B * H }, dFinalC: dFinalC.map { $0 + l * B * H },
                gradients: gradientLayers[l], inputGradient: dIn,
                dh0: dh0.map { $0 + l * B * H }, dc0: dc0.map { $0 + l * B * H },
                zeros: zero)
            if droppedOut { Dropout.backward(dIn, mask: masks[l].pointer, inputGradient: dIn, count: N * I) }
            swap(&dOut, &dIn)  // dIn of layer l is dOut of layer l − 1
        }
        PhaseTimer.measure("embedding.bwd") {
        Embedding.backward(outputGradient: dOut, ids: ids, count: N, width: E, tableGradient: dTable)
        }  // dOut is now d(embedding)
    }
}
