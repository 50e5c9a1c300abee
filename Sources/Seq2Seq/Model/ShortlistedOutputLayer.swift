import Foundation

/// The decoder's output layer restricted to a batch's shortlists (`BatchShortlist`), for decoding:
/// the rows of W_out and b_out of the batch's union of shortlisted tokens are gathered once, at
/// creation, into contiguous buffers; each step computes the logits of the union only,
/// `[n, H] × [H, U]`, then every row's log-softmax over its own sentence's shortlist, scattered
/// into the full `[n, V]` row with −∞ for every other token.
///
/// A row's log-probabilities depend on its own sentence's shortlist only (not on the union),
/// so a sentence's translation does not depend on what it is batched with (up to the last
/// float bits of the matrix product, as without a shortlist). Buffers are allocated at creation;
/// steps do not allocate.
final class ShortlistedOutputLayer {
    /// U: tokens of the union.
    let count: Int
    private let H: Int, V: Int, capacity: Int
    private let memberOffsets: [Int]                  // [B + 1] sentence b's members: offsets b ..< b + 1
    private let memberPositions: UnsafeMutablePointer<Int32>  // [ΣU_b] union positions, per sentence ascending
    private let memberTokens: UnsafeMutablePointer<Int32>     // [ΣU_b] their target ids
    private let weight: UnsafeMutablePointer<Float>   // [U, H] gathered rows of W_out
    private let bias: UnsafeMutablePointer<Float>     // [U]
    private let logits: UnsafeMutablePointer<Float>   // [cap, U]
    private let scratch: UnsafeMutablePointer<Float>  // [2, 2, U] per part: a row's shortlisted logits, their exps
    private let quantized: (any ReducedPrecisionMatrix)?  // int8 / bf16: the gathered rows

    /// - Parameters:
    ///   - shortlist: one member list per encoded sentence; every token id < V.
    ///   - capacity: most decoder rows.
    ///   - shared: the model's weights in `precision`'s form when they are made once (fixed
    ///     weights): the union's output rows come from there, each reduced once per model.
    init(outWeight: UnsafePointer<Float>, outBias: UnsafePointer<Float>, hiddenSize H: Int, vocabularySize V: Int,
         shortlist: BatchShortlist, capacity: Int, precision: DecodingPrecision, shared: DecodingWeights? = nil) {
        let U = shortlist.tokens.count
        (count, self.H, self.V, self.capacity) = (U, H, V, capacity)
        var offsets = [0]
        for list in shortlist.members { offsets.append(offsets[offsets.count - 1] + list.count) }
        memberOffsets = offsets
        memberPositions = .allocate(capacity: max(offsets[offsets.count - 1], 1))
        memberTokens = .allocate(capacity: max(offsets[offsets.count - 1], 1))
        for (b, list) in shortlist.members.enumerated() {
            for (i, u) in list.enumerated() {
                memberPositions[offsets[b] + i] = u
                memberTokens[offsets[b] + i] = shortlist.tokens[Int(u)]
            }
        }
        weight = .allocate(capacity: max(U * H, 1))
        bias = .allocate(capacity: max(U, 1))
        for (u, t) in shortlist.tokens.enumerated() {
            (weight + u * H).update(from: outWeight + Int(t) * H, count: H)
            bias[u] = outBias[Int(t)]
        }
        logits = .allocate(capacity: max(capacity * U, 1))
        scratch = .allocate(capacity: max(4 * U, 1))
        quantized = shared?.reducedOutputRows(shortlist.tokens, original: weight)
            ?? reducedPrecisionMatrix(weight, rows: U, columns: H, ldw: H, precision: precision)
    }

    deinit {
        weight.deallocate()
        bias.deallocate()
        logits.deallocate()
        scratch.deallocate()
        memberPositions.deallocate()
        memberTokens.deallocate()
    }

    /// Log-probabilities `[n, V]` into `output` for the rows `input` `[n, H]`; row r belongs to
    /// sentence `sources[r]`. The product is split by union columns into `parts`, the
    /// normalization by rows; `quantizationScratch` holds one scratch per part.
    func logSoftmax(input: UnsafeMutablePointer<Float>, rows n: Int, sources: [Int], parts: Int,
                    quantizationScratch: [QuantizationScratch], into output: UnsafeMutablePointer<Float>) {
        let U = count
        let (x, z) = (SharedPointer(input), SharedPointer(logits))
        let this = UncheckedSendable(self)   // parts write disjoint columns, then disjoint rows
        let scratches = UncheckedSendable(quantizationScratch)                      // one per part
        Parallel.forEach(parts: parts) { part in                                   // z = b + x·Wᵀ   [n, U]
            let layer = this.value, u0 = part * U / parts, w = (part + 1) * U / parts - u0
            for r in 0..<n { (z.pointer + r * U + u0).update(from: layer.bias + u0, count: w) }
            if let matrix = layer.quantized {
                matrix.addProductTransposed(m: n, x: x.pointer, lda: layer.H, outputs: u0..<u0 + w, c: z.pointer, ldc: U,
                                            scratch: scratches.value[part])
            } else {
                Kernels.addProductTransposed(m: n, n: w, k: layer.H, a: x.pointer, lda: layer.H, w: layer.weight + u0 * layer.H,
                                             ldw: layer.H, c: z.pointer + u0, ldc: U)
            }
        }
        let out = SharedPointer(output)
        Parallel.forEach(parts: parts) { part in
            let layer = this.value
            for r in part * n / parts..<(part + 1) * n / parts {
                layer.normalize(row: r, sentence: sources[r], scratch: layer.scratch + part * 2 * U, into: out.pointer + r * layer.V)
            }
        }
    }

    /// Row r's log-softmax over its sentence's shortlist (in token order, so the same whatever
    /// the union), written to the full row `output` `[V]`, −∞ elsewhere.
    private func normalize(row r: Int, sentence b: Int, scratch: UnsafeMutablePointer<Float>,
                           into output: UnsafeMutablePointer<Float>) {
        let z = logits + r * count, first = memberOffsets[b], m = memberOffsets[b + 1] - first
        let (positions, targets) = (memberPositions + first, memberTokens + first)
        for i in 0..<m { scratch[i] = z[Int(positions[i])] }
        let largest = Kernels.maximum(scratch, count: m)
        let sum = Kernels.expShifted(scratch, shift: largest, into: scratch + count, count: m)
        let shift = largest + Float(Double(sum).logValue)                   // log Σ_shortlist e^z
        Kernels.zero(output, count: V)                                      // −∞ fill at the machine's
        Kernels.subtract(.infinity, from: output, count: V)                 // width (a plain loop is SSE)
        for i in 0..<m { output[Int(targets[i])] = scratch[i] - shift }
    }
}
