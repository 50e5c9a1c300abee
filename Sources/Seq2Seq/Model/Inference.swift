/// The encoder's summary of a batch of source sentences, in the caller's order:
/// per layer the final `(h, c)` of every sentence.
public struct EncodedSources: Sendable {
    /// Number of source sentences B.
    public let count: Int
    public let layerCount: Int
    public let hiddenSize: Int
    /// Final hidden states `[L, B, H]` (original order).
    public let h: [Float]
    /// Final cell states `[L, B, H]` (original order).
    public let c: [Float]
}

extension Seq2SeqModel {
    /// Runs the encoder once over `sources` (no dropout).
    /// - Throws: `ModelError.emptyBatch`, `.tokenOutOfRange`.
    public func encode(sources: [[Int32]]) throws -> EncodedSources {
        guard !sources.isEmpty else { throw ModelError.emptyBatch }
        let V = configuration.sourceVocabularySize
        for s in sources { for id in s where id < 0 || Int(id) >= V {
            throw ModelError.tokenOutOfRange(side: "source", id: id, vocabularySize: V)
        } }
        let (B, H, L) = (sources.count, configuration.hiddenSize, configuration.layerCount)
        let P = Packing(lengths: sources.map(\.count))
        var none: RandomGenerator? = nil
        P.pack(sources, fill: 0).withUnsafeBufferPointer {
            encoder.forward(ids: $0.baseAddress!, packing: P, dropout: 0, random: &none)
        }
        var h = [Float](repeating: 0, count: L * B * H), c = h
        for l in 0..<L {
            for b in 0..<B {
                let s = (l * B + P.rank[b]) * H
                for j in 0..<H {
                    h[(l * B + b) * H + j] = encoder.finalH.pointer[s + j]
                    c[(l * B + b) * H + j] = encoder.finalC.pointer[s + j]
                }
            }
        }
        return EncodedSources(count: B, layerCount: L, hiddenSize: H, h: h, c: c)
    }

    /// A decoder state whose row i starts from source sentence `sourceRows[i]`
    /// (default: one row per sentence). `capacity` bounds the row count for
    /// later `select(rows:)` calls (default: the initial row count).
    public func makeDecoderState(
        for encoded: EncodedSources, sourceRows: [Int]? = nil, capacity: Int? = nil
    ) -> DecoderState {
        DecoderState(model: self, encoded: encoded, sourceRows: sourceRows ?? Array(0..<encoded.count), capacity: capacity)
    }

    /// Greedy decoding: from `<s>`, repeatedly feeds the most probable token
    /// until `</s>` or `maxLength` tokens. Returns the tokens without `<s>`/`</s>`.
    public func greedyDecode(sources: [[Int32]], maxLength: Int, bos: Int32 = 2, eos: Int32 = 3) throws -> [[Int32]] {
        let encoded = try encode(sources: sources)
        let state = makeDecoderState(for: encoded)
        let V = configuration.targetVocabularySize
        var outputs = [[Int32]](repeating: [], count: sources.count)
        var sentence = Array(0..<sources.count)  // state row → sentence
        var tokens = [Int32](repeating: bos, count: sources.count)
        for _ in 0..<maxLength {
            let logProbs = try state.step(tokens: tokens)  // [n, V]
            var keep = [Int]()
            var next = [Int32]()
            for r in 0..<state.rowCount {
                let row = logProbs.baseAddress! + r * V
                var best = 0
                for j in 1..<V where row[j] > row[best] { best = j }
                if Int32(best) == eos { continue }
                outputs[sentence[r]].append(Int32(best))
                keep.append(r)
                next.append(Int32(best))
            }
            if keep.isEmpty { break }
            if keep.count < state.rowCount {
                state.select(rows: keep)
                sentence = keep.map { sentence[$0] }
            }
            tokens = next
        }
        return outputs
    }
}

/// Per-row decoder LSTM states for step-by-step decoding (greedy or beam search).
///
/// Holds `(h, c)` `[L, N, H]` for N = `rowCount` rows. `step(tokens:)` feeds one
/// token per row and returns log-probabilities `[N, V]`; `select(rows:)` gathers
/// rows (beam reordering, dropping finished rows). Buffers are allocated once at
/// `capacity` rows; steps and selections do not allocate.
///
/// It reads the model's parameters directly, except the summed LSTM biases,
/// which are copied at creation: make a new state after changing the weights.
public final class DecoderState {
    /// Maximum number of rows.
    public let capacity: Int
    /// Current number of rows N.
    public private(set) var rowCount: Int
    /// Target vocabulary size V (width of each log-probability row).
    public let vocabularySize: Int

    private let model: Seq2SeqModel
    private let L: Int, H: Int, E: Int
    private var h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>          // [L, cap, H]
    private var hSwap: UnsafeMutablePointer<Float>, cSwap: UnsafeMutablePointer<Float>  // [L, cap, H]
    private let x: UnsafeMutablePointer<Float>         // [cap, E]
    private let z: UnsafeMutablePointer<Float>         // [cap, 4H]
    private let tanhC: UnsafeMutablePointer<Float>     // [cap, H]
    private let bias: UnsafeMutablePointer<Float>      // [L, 4H]  b_ih + b_hh
    private let logProbs: UnsafeMutablePointer<Float>  // [cap, V]
    private let scratch: UnsafeMutablePointer<Float>   // [V]

    init(model: Seq2SeqModel, encoded: EncodedSources, sourceRows: [Int], capacity: Int?) {
        let cfg = model.configuration
        (L, H, E, vocabularySize) = (cfg.layerCount, cfg.hiddenSize, cfg.embeddingSize, cfg.targetVocabularySize)
        self.model = model
        rowCount = sourceRows.count
        self.capacity = max(capacity ?? sourceRows.count, sourceRows.count, 1)
        let (cap, L, H, V) = (self.capacity, L, H, vocabularySize)
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        h = buffer(L * cap * H); c = buffer(L * cap * H)
        hSwap = buffer(L * cap * H); cSwap = buffer(L * cap * H)
        x = buffer(cap * E); z = buffer(cap * 4 * H); tanhC = buffer(cap * H)
        bias = buffer(L * 4 * H); logProbs = buffer(cap * V); scratch = buffer(V)
        for l in 0..<L {
            let layer = model.decoder.stack.layers[l]
            for k in 0..<4 * H { bias[l * 4 * H + k] = layer.bIH[k] + layer.bHH[k] }
        }
        let B = encoded.count
        for l in 0..<L {
            for (r, s) in sourceRows.enumerated() {
                precondition(s >= 0 && s < B, "source row \(s) out of range 0..<\(B)")
                for j in 0..<H {
                    h[(l * cap + r) * H + j] = encoded.h[(l * B + s) * H + j]
                    c[(l * cap + r) * H + j] = encoded.c[(l * B + s) * H + j]
                }
            }
        }
    }

    deinit {
        for p in [h, c, hSwap, cSwap, x, z, tanhC, bias, logProbs, scratch] { p.deallocate() }
    }

    /// Reorders rows: new row i is old row `rows[i]`. Rows may repeat (beam
    /// expansion) or be dropped; `rows.count` must be ≤ `capacity` and each entry < `rowCount`.
    public func select(rows: [Int]) {
        precondition(rows.count <= capacity, "select: \(rows.count) rows exceed capacity \(capacity)")
        let (cap, H) = (capacity, H)
        for l in 0..<L {
            for (i, r) in rows.enumerated() {
                precondition(r >= 0 && r < rowCount, "select: row \(r) out of range 0..<\(rowCount)")
                (hSwap + (l * cap + i) * H).update(from: h + (l * cap + r) * H, count: H)
                (cSwap + (l * cap + i) * H).update(from: c + (l * cap + r) * H, count: H)
            }
        }
        swap(&h, &hSwap)
        swap(&c, &cSwap)
        rowCount = rows.count
    }

    /// Feeds `tokens[i]` to row i and returns log-probabilities `[rowCount, V]`
    /// (row-major) of the next token. The buffer stays valid until the next `step`.
    /// - Throws: `ModelError.mismatchedBatch` if `tokens.count != rowCount`, `.tokenOutOfRange`.
    public func step(tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let (n, cap, H, G, V) = (rowCount, capacity, H, 4 * H, vocabularySize)
        guard tokens.count == n else {
            throw ModelError.mismatchedBatch("step got \(tokens.count) tokens for \(n) decoder rows")
        }
        for id in tokens where id < 0 || Int(id) >= V {
            throw ModelError.tokenOutOfRange(side: "target", id: id, vocabularySize: V)
        }
        if n == 0 { return UnsafeBufferPointer(start: logProbs, count: 0) }
        let decoder = model.decoder
        tokens.withUnsafeBufferPointer {
            Embedding.forward(table: decoder.stack.table, ids: $0.baseAddress!, count: n, width: E, output: x)  // [n, E]
        }
        var input = UnsafePointer(x), I = E
        for l in 0..<L {
            let layer = decoder.stack.layers[l]
            let hl = h + l * cap * H, cl = c + l * cap * H                          // [n, H]
            for r in 0..<n { (z + r * G).update(from: bias + l * G, count: G) }     // z = b       [n, 4H]
            BLAS.gemm(transB: true, m: n, n: G, k: I, a: input, lda: I, b: layer.wIH, ldb: I, beta: 1, c: z, ldc: G)
            BLAS.gemm(transB: true, m: n, n: G, k: H, a: hl, lda: H, b: layer.wHH, ldb: H, beta: 1, c: z, ldc: G)
            for r in 0..<n {
                Kernels.lstmCell(z: z + r * G, cPrev: cl + r * H, c: cl + r * H, tanhC: tanhC + r * H, h: hl + r * H, H: H)
            }
            input = UnsafePointer(hl); I = H
        }
        Linear.forward(input: input, rows: n, inputSize: H, outputSize: V,
                       weight: decoder.outWeight, bias: decoder.outBias, output: logProbs)       // [n, V]
        SoftmaxCrossEntropy.logSoftmax(logProbs, rows: n, classes: V, scratch: scratch)
        return UnsafeBufferPointer(start: logProbs, count: n * V)
    }
}
