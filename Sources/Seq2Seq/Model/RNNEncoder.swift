/// Many-to-one recurrent encoder: reads the packed source (left to right, or both ways
/// with a bidirectional stack) and keeps, for every layer, the state after each row's
/// last token as the sentence summary that starts the decoder. Its top-layer outputs
/// `[Ns, H]` are the memory that attention reads.
final class RNNEncoder {
    let stack: RecurrentStack
    let finalH = FloatBuffer(), finalC = FloatBuffer()    // [L, B, H] source-sorted rows
    let dFinalH = FloatBuffer(), dFinalC = FloatBuffer()  // [L, B, H]
    let dTop = FloatBuffer()                              // [Ns, H] gradient w.r.t. the top outputs (attention)
    private(set) var top: UnsafeMutablePointer<Float>?    // [Ns, H] top-layer outputs of the last forward

    init(configuration: ModelConfiguration, parameters: ParameterBuffer, gradients: ParameterBuffer) {
        stack = RecurrentStack(side: "encoder", embedding: "src_embedding", configuration: configuration,
                               parameters: parameters, gradients: gradients)
    }

    /// Encodes `ids` `[Ns]`; the final states land in `finalH`/`finalC`, the top outputs in `top`.
    func forward(ids: UnsafePointer<Int32>, packing P: Packing, dropout: Float, random: inout RandomGenerator?) {
        let n = stack.L * P.rowCount * stack.H
        top = stack.forward(ids: ids, packing: P, h0: nil, c0: nil,
                            finalH: finalH.reserve(n), finalC: finalC.reserve(n), dropout: dropout, random: &random)
    }

    /// Backward from the gradients in `dFinalH`/`dFinalC` and, with attention, `topGradient` `[Ns, H]`.
    func backward(ids: UnsafePointer<Int32>, packing P: Packing, topGradient: UnsafePointer<Float>?) {
        stack.backward(dTop: topGradient, ids: ids, packing: P, c0: nil,
                       dFinalH: dFinalH.pointer, dFinalC: stack.cell.hasCellState ? dFinalC.pointer : nil,
                       dh0: nil, dc0: nil)
    }
}
