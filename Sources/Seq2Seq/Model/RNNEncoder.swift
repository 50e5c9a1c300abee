/// Many-to-one LSTM encoder: reads the packed source and keeps, for every
/// layer, the state after each row's last token as the sentence summary.
final class RNNEncoder {
    let stack: LSTMStack
    let finalH = FloatBuffer(), finalC = FloatBuffer()    // [L, B, H] source-sorted rows
    let dFinalH = FloatBuffer(), dFinalC = FloatBuffer()  // [L, B, H]

    init(configuration: ModelConfiguration, parameters: ParameterBuffer, gradients: ParameterBuffer) {
        stack = LSTMStack(side: "encoder", embedding: "src_embedding", configuration: configuration,
                          parameters: parameters, gradients: gradients)
    }

    /// Encodes `ids` `[Ns]`; the final states land in `finalH`/`finalC`.
    func forward(ids: UnsafePointer<Int32>, packing P: Packing, dropout: Float, random: inout RandomGenerator?) {
        let n = stack.L * P.rowCount * stack.H
        stack.forward(ids: ids, packing: P, h0: nil, c0: nil,
                      finalH: finalH.reserve(n), finalC: finalC.reserve(n), dropout: dropout, random: &random)
    }

    /// Backward from the gradients in `dFinalH`/`dFinalC` (the encoder outputs themselves are unused).
    func backward(ids: UnsafePointer<Int32>, packing P: Packing) {
        stack.backward(dTop: nil, ids: ids, packing: P, c0: nil,
                       dFinalH: dFinalH.pointer, dFinalC: dFinalC.pointer, dh0: nil, dc0: nil)
    }
}
