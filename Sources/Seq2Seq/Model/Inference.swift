import Foundation

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
/// It reads the output layer and embeddings from the model's parameters, but
/// copies at creation the summed LSTM biases and each layer's `[W_ih, W_hh]`
/// (concatenated, so that one GEMM over `[x_t, h_{t−1}]` gives the gate
/// pre-activations): make a new state after changing the weights.
public final class DecoderState {
    /// Steps with at most this many rows (e.g. one sentence's beams) multiply by streaming the
    /// weights (`Kernels.fewRowsTimesTransposed`) instead of BLAS, which repacks them per call.
    static let fewRows = 8

    /// Whether LSTM steps split their products by gate columns (weights of at least 2^20 floats
    /// per layer, where reading them twice per step costs more than a second synchronization)
    /// rather than by rows. Measured: MEDIUM greedy LSTM phase 1.58 → 1.2 s, SMALL a bit slower.
    private let splitGateColumns: Bool

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
    private let xh: UnsafeMutablePointer<Float>        // [cap, I + H]  [x_t, h_{t−1}] of the current layer
    private let weights: [UnsafeMutablePointer<Float>] // per layer [4H, I + H]  [W_ih, W_hh]
    private let z: UnsafeMutablePointer<Float>         // [cap, 4H]
    private let tanhC: UnsafeMutablePointer<Float>     // [cap, H]
    private let bias: UnsafeMutablePointer<Float>      // [L, 4H]  b_ih + b_hh
    private var logProbs: UnsafeMutablePointer<Float>? // [cap, V], allocated by the first `step(tokens:)`
    private let scratch: UnsafeMutablePointer<Float>   // [2, V] one row per part
    private let stats: UnsafeMutablePointer<Float>     // [2, cap, 2] per part and row: max, Σ exp; then [cap] shifts

    init(model: Seq2SeqModel, encoded: EncodedSources, sourceRows: [Int], capacity: Int?) {
        let cfg = model.configuration
        (L, H, E, vocabularySize) = (cfg.layerCount, cfg.hiddenSize, cfg.embeddingSize, cfg.targetVocabularySize)
        self.model = model
        rowCount = sourceRows.count
        self.capacity = max(capacity ?? sourceRows.count, sourceRows.count, 1)
        let (cap, L, H, E, V) = (self.capacity, L, H, E, vocabularySize)
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        h = buffer(L * cap * H); c = buffer(L * cap * H)
        hSwap = buffer(L * cap * H); cSwap = buffer(L * cap * H)
        xh = buffer(cap * (max(E, H) + H)); z = buffer(cap * 4 * H); tanhC = buffer(cap * H)
        bias = buffer(L * 4 * H); scratch = buffer(2 * V); stats = buffer(5 * cap)
        splitGateColumns = 4 * H * (max(E, H) + H) >= 1 << 20
        weights = (0..<L).map { l in
            let layer = model.decoder.stack.layers[l]
            let I = l == 0 ? E : H, K = I + H
            let w = buffer(4 * H * K)
            for k in 0..<4 * H {
                (w + k * K).update(from: layer.wIH + k * I, count: I)
                (w + k * K + I).update(from: layer.wHH + k * H, count: H)
            }
            return w
        }
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
        for p in [h, c, hSwap, cSwap, xh, z, tanhC, bias, scratch, stats] + weights { p.deallocate() }
        logProbs?.deallocate()
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
        let out: UnsafeMutablePointer<Float>
        if let logProbs { out = logProbs } else {
            out = .allocate(capacity: max(capacity * vocabularySize, 1))
            out.initialize(repeating: 0, count: max(capacity * vocabularySize, 1))
            logProbs = out
        }
        try step(tokens: tokens, into: out)
        return UnsafeBufferPointer(start: out, count: tokens.count * vocabularySize)
    }

    /// Like `step(tokens:)`, but writes the log-probabilities `[rowCount, V]` into `output`
    /// (at least `rowCount · V` floats), e.g. straight into a search's buffer.
    public func step(tokens: [Int32], into output: UnsafeMutablePointer<Float>) throws {
        let (n, cap, H, G, V) = (rowCount, capacity, H, 4 * H, vocabularySize)
        guard tokens.count == n else {
            throw ModelError.mismatchedBatch("step got \(tokens.count) tokens for \(n) decoder rows")
        }
        for id in tokens where id < 0 || Int(id) >= V {
            throw ModelError.tokenOutOfRange(side: "target", id: id, vocabularySize: V)
        }
        if n == 0 { return }
        let decoder = model.decoder
        // Both cores, split by us: BLAS runs single-threaded inside each part, so no BLAS worker
        // spins while the element-wise work runs. The output layer is split by vocabulary columns.
        let threads = blasThreadCount()
        let parts = threads >= 2 && n >= 4 ? 2 : 1
        if parts > 1 { setBLASThreadCount(1) }
        defer { if parts > 1 { setBLASThreadCount(threads) } }
        if splitGateColumns {
            // Large layers (MEDIUM): split each product by gate columns, so each part reads only
            // half of the weights per step; gate math split by rows.
            let (L, E) = (L, E)
            let table = decoder.stack.table                                                 // [V, E]
            PhaseTimer.measure("decode.lstm") {
                for l in 0..<L {
                    let I = l == 0 ? E : H, K = I + H
                    let hl = h + l * cap * H, cl = c + l * cap * H                         // [n, H]
                    for r in 0..<n {
                        let row = xh + r * K                                                // [x_t, h_{t−1}]  [n, I + H]
                        if l == 0 {
                            row.update(from: table + Int(tokens[r]) * E, count: E)
                        } else {
                            row.update(from: h + ((l - 1) * cap + r) * H, count: H)         // layer l−1's new h
                        }
                        (row + I).update(from: hl + r * H, count: H)
                        (z + r * G).update(from: bias + l * G, count: G)                    // z = b   [n, 4H]
                    }
                    // z[:, g0..<g1] += [x_t, h_{t−1}] · [W_ih, W_hh][g0..<g1]ᵀ   [n, 4H]
                    let (xhS, zS, wS) = (SharedPointer(xh), SharedPointer(z), SharedPointer(weights[l]))
                    Parallel.forEach(parts: parts) { part in
                        let g0 = part * G / parts, width = (part + 1) * G / parts - g0
                        if n <= Self.fewRows {
                            Kernels.fewRowsTimesTransposed(m: n, n: width, k: K, a: xhS.pointer, lda: K, w: wS.pointer + g0 * K,
                                                           ldw: K, c: zS.pointer + g0, ldc: G)
                        } else {
                            BLAS.gemm(transB: true, m: n, n: width, k: K, a: xhS.pointer, lda: K, b: wS.pointer + g0 * K,
                                      ldb: K, beta: 1, c: zS.pointer + g0, ldc: G)
                        }
                    }
                    let (hlS, clS, tS) = (SharedPointer(hl), SharedPointer(cl), SharedPointer(tanhC))
                    let cellParts = min(parts, Parallel.parts(for: n * G))
                    Parallel.forEach(parts: cellParts) { part in
                        for r in part * n / cellParts..<(part + 1) * n / cellParts {
                            Kernels.lstmCell(z: zS.pointer + r * G, cPrev: clS.pointer + r * H, c: clS.pointer + r * H,
                                             tanhC: tS.pointer + r * H, h: hlS.pointer + r * H, H: H)
                        }
                    }
                }
            }
        } else {
            // Small layers: rows are independent through all layers, one part per half of the rows.
            let (L, E, Kmax) = (L, E, max(E, H) + H)
            let (hS, cS, xhS, zS) = (SharedPointer(h), SharedPointer(c), SharedPointer(xh), SharedPointer(z))
            let (tanhS, biasS, table) = (SharedPointer(tanhC), SharedPointer(bias), SharedPointer(decoder.stack.table))
            let weights = self.weights.map(SharedPointer.init)
            PhaseTimer.measure("decode.lstm") {
                Parallel.forEach(parts: parts) { part in
                    let lo = part * n / parts, hi = (part + 1) * n / parts
                    let xhp = xhS.pointer + lo * Kmax                                       // this part's [x_t, h_{t−1}] rows
                    for l in 0..<L {
                        let I = l == 0 ? E : H, K = I + H
                        let hl = hS.pointer + l * cap * H, cl = cS.pointer + l * cap * H   // [n, H]
                        for r in lo..<hi {
                            let row = xhp + (r - lo) * K                                    // [m, I + H]
                            if l == 0 {
                                row.update(from: table.pointer + Int(tokens[r]) * E, count: E)
                            } else {
                                row.update(from: hS.pointer + ((l - 1) * cap + r) * H, count: H)  // layer l−1's new h
                            }
                            (row + I).update(from: hl + r * H, count: H)
                            (zS.pointer + r * G).update(from: biasS.pointer + l * G, count: G)  // z = b   [m, 4H]
                        }
                        // z += [x_t, h_{t−1}] · [W_ih, W_hh]ᵀ   [m, 4H]
                        if hi - lo <= Self.fewRows {
                            Kernels.fewRowsTimesTransposed(m: hi - lo, n: G, k: K, a: xhp, lda: K, w: weights[l].pointer,
                                                           ldw: K, c: zS.pointer + lo * G, ldc: G)
                        } else {
                            BLAS.gemm(transB: true, m: hi - lo, n: G, k: K, a: xhp, lda: K, b: weights[l].pointer, ldb: K,
                                      beta: 1, c: zS.pointer + lo * G, ldc: G)
                        }
                        for r in lo..<hi {
                            Kernels.lstmCell(z: zS.pointer + r * G, cPrev: cl + r * H, c: cl + r * H,
                                             tanhC: tanhS.pointer + r * H, h: hl + r * H, H: H)
                        }
                    }
                }
            }
        }
        // Output layer logits = b + h·W_outᵀ, each part over its columns v0..<v1, followed by the
        // part's max and Σ e^(z − max) per row (the bias fill replaces BLAS's own zeroing pass).   [n, V]
        let (out, stats, scratch) = (SharedPointer(output), SharedPointer(self.stats), SharedPointer(self.scratch))
        let (top, wOut, bOut) = (SharedPointer(h + (L - 1) * cap * H), SharedPointer(decoder.outWeight),
                                 SharedPointer(decoder.outBias))
        PhaseTimer.measure("decode.output") {
            Parallel.forEach(parts: parts) { part in
                let v0 = part * V / parts, w = (part + 1) * V / parts - v0
                for r in 0..<n { (out.pointer + r * V + v0).update(from: bOut.pointer + v0, count: w) }
                if n <= Self.fewRows {
                    Kernels.fewRowsTimesTransposed(m: n, n: w, k: H, a: top.pointer, lda: H, w: wOut.pointer + v0 * H,
                                                   ldw: H, c: out.pointer + v0, ldc: V)
                } else {
                    BLAS.gemm(transB: true, m: n, n: w, k: H, a: top.pointer, lda: H, b: wOut.pointer + v0 * H, ldb: H,
                              beta: 1, c: out.pointer + v0, ldc: V)
                }
                for r in 0..<n {
                    let row = out.pointer + r * V + v0
                    let m = Kernels.maximum(row, count: w)
                    stats.pointer[(part * cap + r) * 2] = m
                    stats.pointer[(part * cap + r) * 2 + 1] = Kernels.expShifted(row, shift: m, into: scratch.pointer + part * V, count: w)
                }
            }
        }
        PhaseTimer.measure("decode.logSoftmax") {
            // log Σ_j e^(z_j) = M + log Σ_parts s_p · e^(m_p − M), M = max_p m_p (no overflow).
            let shift = SharedPointer(stats.pointer + 2 * parts * cap)                 // [n]
            for r in 0..<n {
                var M = -Float.infinity
                for p in 0..<parts { M = max(M, stats.pointer[(p * cap + r) * 2]) }
                var S = 0.0
                for p in 0..<parts {
                    let m = stats.pointer[(p * cap + r) * 2], s = stats.pointer[(p * cap + r) * 2 + 1]
                    S += parts == 1 ? Double(s) : Double(s) * Foundation.exp(Double(m - M))
                }
                shift.pointer[r] = M + Float(S.logValue)
            }
            Parallel.forEach(parts: parts) { part in
                let v0 = part * V / parts, w = (part + 1) * V / parts - v0
                for r in 0..<n { Kernels.subtract(shift.pointer[r], from: out.pointer + r * V + v0, count: w) }
            }
        }
    }
}
