/// One-to-many LSTM decoder under teacher forcing: starts from the encoder's
/// final states, reads `<s> y1 … yn` and scores `y1 … yn </s>` through the
/// output layer and softmax cross-entropy over all Nt target positions at once.
final class RNNDecoder {
    let stack: LSTMStack
    let V: Int
    let outWeight: UnsafeMutablePointer<Float>, outBias: UnsafeMutablePointer<Float>    // [V, H], [V]
    let dOutWeight: UnsafeMutablePointer<Float>, dOutBias: UnsafeMutablePointer<Float>  // [V, H], [V]
    let h0 = FloatBuffer(), c0 = FloatBuffer()    // [L, B, H] target-sorted rows
    let dh0 = FloatBuffer(), dc0 = FloatBuffer()  // [L, B, H]
    let logits = FloatBuffer()                    // [Nt, V] (gradient after backward)
    let dTop = FloatBuffer()                      // [Nt, H]
    let scratch = FloatBuffer()                   // [V]
    private(set) var top: UnsafeMutablePointer<Float>?  // [Nt, H] top-layer outputs of the last forward

    init(configuration: ModelConfiguration, parameters: ParameterBuffer, gradients: ParameterBuffer) {
        stack = LSTMStack(side: "decoder", embedding: "tgt_embedding", configuration: configuration,
                          parameters: parameters, gradients: gradients)
        V = configuration.targetVocabularySize
        outWeight = parameters.view("out_weight"); outBias = parameters.view("out_bias")
        dOutWeight = gradients.view("out_weight"); dOutBias = gradients.view("out_bias")
    }

    /// Runs the decoder from `h0`/`c0` and returns the summed loss over real target tokens.
    /// With `gradientScale`, `logits` then holds `gradientScale · ∂loss/∂logits` for `backward`.
    func forward(
        inputIDs: UnsafePointer<Int32>, targetIDs: UnsafePointer<Int32>, packing P: Packing,
        labelSmoothing: Float, gradientScale: Float?, dropout: Float, random: inout RandomGenerator?
    ) -> Double {
        let (N, H) = (P.total, stack.H)
        let y = stack.forward(ids: inputIDs, packing: P, h0: h0.pointer, c0: c0.pointer,
                              finalH: nil, finalC: nil, dropout: dropout, random: &random)  // [Nt, H]
        top = y
        let z = logits.reserve(N * V)                                                       // [Nt, V]
        PhaseTimer.measure("output.fwd") {
        Linear.forward(input: y, rows: N, inputSize: H, outputSize: V, weight: outWeight, bias: outBias, output: z)
        }
        return PhaseTimer.measure("softmaxCE") { SoftmaxCrossEntropy.forwardBackward(
            logits: z, targets: targetIDs, rows: N, classes: V, labelSmoothing: labelSmoothing, gradientScale: gradientScale,
            scratch: scratch.reserve(V)) }
    }

    /// Backward of the last training `forward`; fills `dh0`/`dc0`.
    func backward(inputIDs: UnsafePointer<Int32>, packing P: Packing) {
        let (N, H, n) = (P.total, stack.H, stack.L * P.rowCount * stack.H)
        let d = dTop.reserve(N * H)
        PhaseTimer.measure("output.bwd") {
        Linear.backward(outputGradient: logits.pointer, input: stack.caches[stack.L - 1].h.pointer,
                        rows: N, inputSize: H, outputSize: V, weight: outWeight,
                        weightGradient: dOutWeight, biasGradient: dOutBias, inputGradient: d)
        }
        stack.backward(dTop: d, ids: inputIDs, packing: P, c0: c0.pointer,
                       dFinalH: nil, dFinalC: nil, dh0: dh0.reserve(n), dc0: dc0.reserve(n))
    }
}
