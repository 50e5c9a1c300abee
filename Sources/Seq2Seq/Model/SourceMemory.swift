/// The encoder outputs that attention reads, one contiguous block of rows per source
/// sentence (original batch order): `values[offsets[b] + j]` is e_j of sentence b, j < S_b.
/// For "general" attention `keys` holds W_a·e_j of the same rows (see `GlobalAttention`).
///
/// Built from the packed encoder output once per batch; in training it also collects the
/// gradients of both and hands them back to the packed layout.
final class SourceMemory {
    /// First memory row of each sentence; `offsets[B]` = ΣS.
    private(set) var offsets: [Int] = [0]
    let values = FloatBuffer()   // [ΣS, H]  e_j
    let keys = FloatBuffer()     // [ΣS, H]  W_a·e_j ("general" only)
    let dValues = FloatBuffer()  // [ΣS, H]
    let dKeys = FloatBuffer()    // [ΣS, H]
    private(set) var longest = 0 // max S_b

    var sentenceCount: Int { offsets.count - 1 }
    var rowCount: Int { offsets[offsets.count - 1] }
    func length(_ b: Int) -> Int { offsets[b + 1] - offsets[b] }

    /// Gathers the real positions of every sentence from the packed top outputs `[Ns, H]`
    /// and prepares the keys.
    func gather(top: UnsafePointer<Float>, packing P: Packing, hiddenSize H: Int, attention: GlobalAttention) {
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        longest = 0
        for b in 0..<P.rowCount {
            let S = P.lengths[P.rank[b]]
            offsets.append(offsets[b] + S)
            longest = max(longest, S)
        }
        let M = values.reserve(rowCount * H)
        for b in 0..<P.rowCount {
            let r = P.rank[b]
            for j in 0..<length(b) { (M + (offsets[b] + j) * H).update(from: top + (P.offsets[j] + r) * H, count: H) }
        }
        if attention.kind == .general { attention.prepareKeys(memory: M, rows: rowCount, keys: keys.reserve(rowCount * H)) }
    }

    /// Keys of sentence b's rows: W_a·e_j ("general") or e_j ("dot").   [S_b, H]
    func keys(of b: Int, hiddenSize H: Int, kind: AttentionKind) -> UnsafeMutablePointer<Float> {
        (kind == .general ? keys.pointer : values.pointer) + offsets[b] * H
    }

    /// Clears the gradient buffers before a backward pass.
    func zeroGradients(hiddenSize H: Int) {
        dValues.zeroed(rowCount * H)
        dKeys.zeroed(rowCount * H)
    }

    /// Backward of `gather`: folds the key gradients into the value gradients, then writes the
    /// gradient w.r.t. the packed top outputs `[Ns, H]` (zero at padded positions).
    func scatterGradients(into dTop: UnsafeMutablePointer<Float>, packing P: Packing, hiddenSize H: Int,
                          attention: GlobalAttention, gradients: GlobalAttention) {
        attention.prepareKeysBackward(keysGradient: dKeys.pointer, memory: values.pointer, rows: rowCount,
                                      memoryGradient: dValues.pointer, gradients: gradients)
        dTop.update(repeating: 0, count: P.total * H)
        for b in 0..<P.rowCount {
            let r = P.rank[b]
            for j in 0..<length(b) {
                (dTop + (P.offsets[j] + r) * H).update(from: dValues.pointer + (offsets[b] + j) * H, count: H)
            }
        }
    }
}
