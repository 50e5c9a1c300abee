import Foundation

/// The encoder's summary of a batch of source sentences, in the caller's order: per layer
/// the final state of every sentence, and (with attention) the encoder outputs per sentence.
public struct EncodedSources: Sendable {
    /// Number of source sentences B.
    public let count: Int
    public let layerCount: Int
    public let hiddenSize: Int
    /// Final hidden states `[L, B, H]` (original order; bidirectional: `[h_fwd ; h_bwd]`).
    public let h: [Float]
    /// Final cell states `[L, B, H]` (LSTM only; empty for other cells).
    public let c: [Float]
    /// Tokens the encoder read per sentence, S_b.
    public let sourceLengths: [Int]
    /// First memory row of each sentence, `[B + 1]`.
    public let memoryOffsets: [Int]
    /// Encoder top-layer outputs e_j of every sentence, `[ΣS, H]` (empty without attention).
    public let memory: [Float]
    /// Attention keys W_a·e_j, `[ΣS, H]` ("general" attention only; empty otherwise).
    public let keys: [Float]
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
        let cellState = configuration.cell.hasCellState
        var h = [Float](repeating: 0, count: L * B * H), c = [Float](repeating: 0, count: cellState ? L * B * H : 0)
        for l in 0..<L {
            for b in 0..<B {
                let s = (l * B + P.rank[b]) * H
                for j in 0..<H {
                    h[(l * B + b) * H + j] = encoder.finalH.pointer[s + j]
                    if cellState { c[(l * B + b) * H + j] = encoder.finalC.pointer[s + j] }
                }
            }
        }
        var offsets = [0]
        for s in sources { offsets.append(offsets[offsets.count - 1] + s.count) }
        var memoryValues: [Float] = [], keys: [Float] = []
        if let attention = decoder.attention, let top = encoder.top {
            memory.gather(top: top, packing: P, hiddenSize: H, attention: attention)
            memoryValues = memory.values.array(memory.rowCount * H)
            if attention.kind == .general { keys = memory.keys.array(memory.rowCount * H) }
        }
        return EncodedSources(count: B, layerCount: L, hiddenSize: H, h: h, c: c, sourceLengths: sources.map(\.count),
                              memoryOffsets: offsets, memory: memoryValues, keys: keys)
    }

    /// A decoder state whose row i starts from source sentence `sourceRows[i]`
    /// (default: one row per sentence). `capacity` bounds the row count for
    /// later `select(rows:)` calls (default: the initial row count).
    /// With `precision: .int8` the recurrent and output-layer products of the steps run in int8
    /// (`QuantizedMatrix`). With a `shortlist` (one member list per encoded sentence) the output
    /// layer computes its union only, and each row's log-probabilities are those of its sentence's
    /// shortlist (−∞ for every other token; `ShortlistedOutputLayer`).
    public func makeDecoderState(
        for encoded: EncodedSources, sourceRows: [Int]? = nil, capacity: Int? = nil, precision: DecodingPrecision = .fp32,
        shortlist: BatchShortlist? = nil
    ) throws -> DecoderState {
        try makeDecoderState(for: encoded, sourceRows: sourceRows, capacity: capacity, precision: precision,
                             shortlist: shortlist, prepared: nil)
    }

    /// `makeDecoderState` reading `prepared` weights (made once for fixed weights) instead of its own copy.
    func makeDecoderState(for encoded: EncodedSources, sourceRows: [Int]?, capacity: Int?, precision: DecodingPrecision,
                          shortlist: BatchShortlist?, prepared: DecodingWeights?) throws -> DecoderState {
        let rows = sourceRows ?? Array(0..<encoded.count)
        for s in rows where s < 0 || s >= encoded.count {
            throw ModelError.mismatchedBatch("decoder row starts from source \(s), but \(encoded.count) sources were encoded")
        }
        if let shortlist {
            let V = configuration.targetVocabularySize
            guard shortlist.members.count == encoded.count else {
                throw ModelError.mismatchedBatch("a shortlist for \(shortlist.members.count) sentences, but \(encoded.count) sources were encoded")
            }
            if let bad = shortlist.tokens.first(where: { $0 < 0 || Int($0) >= V }) {
                throw ModelError.tokenOutOfRange(side: "shortlisted target", id: bad, vocabularySize: V)
            }
            let U = shortlist.tokens.count
            for list in shortlist.members where list.isEmpty || list.contains(where: { $0 < 0 || Int($0) >= U }) {
                throw ModelError.mismatchedBatch("a sentence's shortlist is empty or points outside the batch's \(U) tokens")
            }
        }
        return DecoderState(model: self, encoded: encoded, sourceRows: rows, capacity: capacity, precision: precision,
                            shortlist: shortlist, prepared: prepared)
    }

    /// Attention weights of given outputs (teacher-forced): for each sentence, one row per
    /// output token, plus one for `</s>` when `endedWithEOS`, each row over the sentence's
    /// source tokens (in encoder order) and summing to 1.
    /// - Throws: `ModelError.invalidConfiguration` for a model without attention; token errors.
    public func attentionWeights(sources: [[Int32]], outputs: [[Int32]], endedWithEOS: [Bool],
                                 bos: Int32 = 2) throws -> [[[Float]]] {
        guard configuration.attention != .none else {
            throw ModelError.invalidConfiguration("the model has no attention, so it has no alignments")
        }
        guard sources.count == outputs.count, outputs.count == endedWithEOS.count else {
            throw ModelError.mismatchedBatch("\(sources.count) sources, \(outputs.count) outputs, \(endedWithEOS.count) flags")
        }
        var result = [[[Float]]](repeating: [], count: sources.count)
        let live = sources.indices.filter { !sources[$0].isEmpty }
        if live.isEmpty { return result }
        let encoded = try encode(sources: live.map { sources[$0] })
        let state = try makeDecoderState(for: encoded)
        let steps = live.map { outputs[$0].count + (endedWithEOS[$0] ? 1 : 0) }
        var feed = [Int32](repeating: bos, count: live.count)
        for t in 0..<(steps.max() ?? 0) {
            _ = try state.step(tokens: feed)
            for r in live.indices where t < steps[r] { result[live[r]].append(state.attentionWeights(row: r)) }
            feed = live.map { t < outputs[$0].count ? outputs[$0][t] : bos }   // finished rows idle on <s>
        }
        return result
    }
}

/// Arithmetic of the decoder's matrix products during decoding.
public enum DecodingPrecision: String, CaseIterable, Sendable {
    /// 32-bit floats, as trained.
    case fp32
    /// Weights in int8 with a scale per output, inputs quantized per row: integer products (VNNI
    /// where present) for the recurrent layers and the output layer (`QuantizedMatrix`).
    case int8
    /// Weights rounded to bf16 once, inputs per step, fp32 accumulation (`BFloat16Matrix`):
    /// twice the products per instruction on CPUs with AVX512_BF16; elsewhere emulated (slower).
    case bf16
}

/// Per-row decoder states for step-by-step decoding (greedy or beam search), for every
/// cell and with attention and input feeding.
///
/// Holds per row the recurrent state of every layer (`h`, and `c` for the LSTM), the
/// attentional state h̃ fed back with input feeding, and the index of the row's source
/// sentence. `step(tokens:)` feeds one token per row and returns log-probabilities
/// `[N, V]`; `select(rows:)` gathers rows (beam reordering, dropping finished rows). The
/// encoder memory is held once per source sentence and looked up by the row's source
/// index: beams never copy it. Buffers are allocated once at `capacity` rows; steps and
/// selections do not allocate.
///
/// The element-wise math of every step is the cells' own row functions (`LSTMCell`,
/// `GRUCell`, `RNNCell`) and `GlobalAttention.forwardRow`/`combine`, shared with training.
/// The products are arranged for decoding: LSTM and RNN layers multiply `[x_t, h_{t−1}]` by a
/// copy of `[W_ih, W_hh]` (`DecodingWeights`, made at creation or shared by a `Translator` whose
/// weights are fixed), so make a new state after changing the weights.
public final class DecoderState {
    /// Whether layer products split by gate columns (weights of at least 2^20 floats per layer,
    /// where reading them twice per step costs more than a second synchronization) rather than
    /// by rows. Measured: MEDIUM greedy LSTM phase 1.58 → 1.2 s, SMALL a bit slower.
    private let splitGateColumns: Bool

    /// Maximum number of rows.
    public let capacity: Int
    /// Current number of rows N.
    public private(set) var rowCount: Int
    /// Target vocabulary size V (width of each log-probability row).
    public let vocabularySize: Int

    private let model: Seq2SeqModel
    private let cell: CellKind
    private let L: Int, H: Int, E: Int, F: Int, GH: Int
    private let attention: GlobalAttention?
    private var h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>          // [L, cap, H]
    private var hSwap: UnsafeMutablePointer<Float>, cSwap: UnsafeMutablePointer<Float>  // [L, cap, H]
    private var fed: UnsafeMutablePointer<Float>, fedSwap: UnsafeMutablePointer<Float>  // [cap, F] h̃_{t−1}
    private var source: [Int], sourceSwap: [Int]                                        // [cap] row → sentence
    private let inputWidth: [Int]                         // per layer: K_l, columns of the layer's input rows
    private let prepared: DecodingWeights                 // [W_ih, W_hh] per layer, biases, int8 forms
    private let x: UnsafeMutablePointer<Float>            // [cap, K_max]  layer input rows (see `inputRows`)
    private let maxInputWidth: Int                        // K_max
    private let weights: [UnsafeMutablePointer<Float>]    // per layer [GH, K_l]: [W_ih, W_hh] (LSTM/RNN) or W_ih (GRU)
    private let bias: UnsafeMutablePointer<Float>         // [L, GH]  b_ih + b_hh (LSTM/RNN) or b_ih (GRU)
    private let z: UnsafeMutablePointer<Float>            // [cap, GH]  pre-activations / gates
    private let zh: UnsafeMutablePointer<Float>           // [cap, GH]  GRU: h_{t−1}·W_hhᵀ + b_hh
    private let tanhC: UnsafeMutablePointer<Float>        // [cap, H]
    private let memory: UnsafeMutablePointer<Float>       // [ΣS, H]  encoder outputs per sentence
    private let keys: UnsafeMutablePointer<Float>         // [ΣS, H]  W_a·e_j ("general")
    private let memoryOffsets: [Int], sourceLengths: [Int]
    private let longest: Int                              // Smax
    private let weightsOfRow: UnsafeMutablePointer<Float> // [cap, Smax] attention weights of the last step
    private let contextAndHidden: UnsafeMutablePointer<Float>  // [cap, 2H]
    private let hidden: UnsafeMutablePointer<Float>       // [cap, H]  h̃
    private var logProbs: UnsafeMutablePointer<Float>?    // [cap, V], allocated by the first `step(tokens:)`
    private var owned: [UnsafeMutablePointer<Float>] = []
    /// int8 decoding: per layer the products' weights, the GRU's W_hh, the output layer.
    private let quantizedLayers: [any ReducedPrecisionMatrix]?, quantizedRecurrent: [any ReducedPrecisionMatrix]?
    private let quantizedOutput: (any ReducedPrecisionMatrix)?
    private let quantizationScratch: [QuantizationScratch]   // one per part
    /// With a shortlist: the output layer over the batch's shortlisted tokens (replaces the full one).
    private let shortlistedOutput: ShortlistedOutputLayer?

    init(model: Seq2SeqModel, encoded: EncodedSources, sourceRows: [Int], capacity: Int?, precision: DecodingPrecision,
         shortlist: BatchShortlist?, prepared: DecodingWeights?) {
        let cfg = model.configuration
        self.model = model
        cell = cfg.cell
        (L, H, E, vocabularySize) = (cfg.layerCount, cfg.hiddenSize, cfg.embeddingSize, cfg.targetVocabularySize)
        F = cfg.inputFeeding ? cfg.hiddenSize : 0
        GH = cfg.cell.gateCount * cfg.hiddenSize
        attention = model.decoder.attention
        rowCount = sourceRows.count
        self.capacity = max(capacity ?? sourceRows.count, sourceRows.count, 1)
        let (cap, L, H, F, GH, V, cell) = (self.capacity, L, H, F, GH, vocabularySize, cell)
        var owned: [UnsafeMutablePointer<Float>] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            owned.append(p)
            return p
        }
        h = buffer(L * cap * H); c = buffer(L * cap * H)
        hSwap = buffer(L * cap * H); cSwap = buffer(L * cap * H)
        fed = buffer(cap * F); fedSwap = buffer(cap * F)
        source = sourceRows + [Int](repeating: 0, count: self.capacity - sourceRows.count)
        sourceSwap = source
        let shared = prepared.flatMap { $0.precision == precision ? $0 : nil }
        let prepared = shared ?? DecodingWeights(model: model, precision: precision)
        self.prepared = prepared
        let widths = prepared.inputWidth
        inputWidth = widths
        maxInputWidth = widths.max() ?? 1
        x = buffer(cap * (widths.max() ?? 1))
        z = buffer(cap * GH); zh = buffer(cell.keepsRecurrentProjection ? cap * GH : 0); tanhC = buffer(cap * H)
        splitGateColumns = GH * (widths.max() ?? 0) >= 1 << 20
        weights = prepared.layers
        bias = prepared.bias
        quantizedLayers = prepared.quantizedLayers
        quantizedRecurrent = prepared.quantizedRecurrent
        quantizedOutput = shortlist == nil ? prepared.quantizedOutput : nil
        quantizationScratch = (0..<2).map { _ in QuantizationScratch() }
        shortlistedOutput = shortlist.map {
            ShortlistedOutputLayer(outWeight: model.decoder.outWeight, outBias: model.decoder.outBias, hiddenSize: H,
                                   vocabularySize: V, shortlist: $0, capacity: cap, precision: precision, shared: shared)
        }
        let B = encoded.count
        for l in 0..<L {
            for (r, s) in sourceRows.enumerated() {
                (h + (l * cap + r) * H).update(from: encoded.h, at: (l * B + s) * H, count: H)
                if cell.hasCellState { (c + (l * cap + r) * H).update(from: encoded.c, at: (l * B + s) * H, count: H) }
            }
        }
        memoryOffsets = encoded.memoryOffsets
        sourceLengths = encoded.sourceLengths
        longest = max(encoded.sourceLengths.max() ?? 1, 1)
        memory = buffer(encoded.memory.count); keys = buffer(encoded.keys.count)
        memory.update(from: encoded.memory, at: 0, count: encoded.memory.count)
        keys.update(from: encoded.keys, at: 0, count: encoded.keys.count)
        let attending = attention != nil
        weightsOfRow = buffer(attending ? cap * longest : 0)
        contextAndHidden = buffer(attending ? cap * 2 * H : 0)
        hidden = buffer(attending ? cap * H : 0)
        self.owned = owned
    }

    deinit {
        for p in owned { p.deallocate() }   // every buffer, including the swapped state pairs
        logProbs?.deallocate()
    }

    /// Reorders rows: new row i is old row `rows[i]`. Rows may repeat (beam
    /// expansion) or be dropped. Entries outside `0..<rowCount` and more than `capacity`
    /// rows are ignored (the searches never pass them).
    public func select(rows: [Int]) {
        let (cap, H, F) = (capacity, H, F)
        let rows = rows.prefix(capacity).filter { $0 >= 0 && $0 < rowCount }
        for l in 0..<L {
            for (i, r) in rows.enumerated() {
                (hSwap + (l * cap + i) * H).update(from: h + (l * cap + r) * H, count: H)
                if cell.hasCellState { (cSwap + (l * cap + i) * H).update(from: c + (l * cap + r) * H, count: H) }
            }
        }
        for (i, r) in rows.enumerated() {
            if F > 0 { (fedSwap + i * F).update(from: fed + r * F, count: F) }
            sourceSwap[i] = source[r]
        }
        swap(&h, &hSwap)
        swap(&c, &cSwap)
        swap(&fed, &fedSwap)
        swap(&source, &sourceSwap)
        rowCount = rows.count
    }

    /// Attention weights of row r at the last step, over its source's tokens (encoder order).
    public func attentionWeights(row r: Int) -> [Float] {
        guard attention != nil, r >= 0, r < rowCount else { return [] }
        return Array(UnsafeBufferPointer(start: weightsOfRow + r * longest, count: sourceLengths[source[r]]))
    }

    /// Feeds `tokens[i]` to row i and returns log-probabilities `[rowCount, V]`
    /// (row-major) of the next token; with a shortlist, −∞ outside the row's sentence's list.
    /// The buffer stays valid until the next `step`.
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
    /// Multiply-adds per row and step below which `step` does not split (n · rowWork < 2^23, about
    /// 0.15 ms on one core): SMALL beam 5 of one sentence with a shortlist went 24 → 17 ms.
    static let splitWork = 1 << 23

    /// Multiply-adds of one row's step: the layers' products and the output layer's.
    private var rowWork: Int {
        inputWidth.reduce(0) { $0 + GH * $1 } + (shortlistedOutput?.count ?? vocabularySize) * H
    }

    public func step(tokens: [Int32], into output: UnsafeMutablePointer<Float>) throws {
        let n = rowCount
        guard tokens.count == n else {
            throw ModelError.mismatchedBatch("step got \(tokens.count) tokens for \(n) decoder rows")
        }
        for id in tokens where id < 0 || Int(id) >= vocabularySize {
            throw ModelError.tokenOutOfRange(side: "target", id: id, vocabularySize: vocabularySize)
        }
        if n == 0 { return }
        // Both cores, split by us: products run single-threaded inside each part (the facade never
        // splits a product inside a part). The output layer is split by vocabulary columns. A step
        // too small to repay waking the second thread (a few beams of one sentence) runs on one.
        let parts = ComputeThreads.count >= 2 && n >= 4 && n * rowWork >= Self.splitWork ? 2 : 1
        let this = UncheckedSendable(self)   // parts touch disjoint rows (or disjoint columns of a product)
        PhaseTimer.measure("decode.rnn") {
            if splitGateColumns {
                // Large layers (MEDIUM): each product split by gate columns, so each part reads only
                // half of the weights per step; the cells split by rows.
                let cellParts = min(parts, Parallel.parts(for: n * GH))
                for l in 0..<L {
                    prepareInputs(layer: l, rows: 0..<n, tokens: tokens)
                    Parallel.forEach(parts: parts) { part in
                        let GH = this.value.GH
                        this.value.layerProducts(l, rows: 0..<n, columns: part * GH / parts..<(part + 1) * GH / parts, part: part)
                    }
                    Parallel.forEach(parts: cellParts) { part in
                        this.value.cells(l, rows: part * n / cellParts..<(part + 1) * n / cellParts)
                    }
                }
            } else {
                // Small layers: rows are independent through all layers, one part per half of the rows.
                Parallel.forEach(parts: parts) { part in
                    let state = this.value, rows = part * n / parts..<(part + 1) * n / parts
                    for l in 0..<state.L {
                        state.prepareInputs(layer: l, rows: rows, tokens: tokens)
                        state.layerProducts(l, rows: rows, columns: 0..<state.GH, part: part)
                        state.cells(l, rows: rows)
                    }
                }
            }
        }
        if attention != nil {
            PhaseTimer.measure("decode.attention") {
                Parallel.forEach(parts: parts) { part in this.value.attend(rows: part * n / parts..<(part + 1) * n / parts) }
            }
        }
        let top = attention != nil ? hidden : h + (L - 1) * capacity * H                      // [n, H]
        PhaseTimer.measure("decode.output") {
            if let shortlistedOutput {
                shortlistedOutput.logSoftmax(input: top, rows: n, sources: source, parts: parts,
                                             quantizationScratch: quantizationScratch, into: output)
            } else {
                logSoftmaxOutput(input: top, rows: n, parts: parts, into: output)
            }
        }
    }

    // MARK: Step phases

    /// Where the input rows `rows` of a layer with K columns live: `[rows.count, K]` from the
    /// rows' own block of the buffer, so parts working on different rows (and possibly on
    /// different layers at the same moment) never overlap.
    private func inputRows(_ rows: Range<Int>) -> UnsafeMutablePointer<Float> { x + rows.lowerBound * maxInputWidth }

    /// Layer l's input rows: `[x_t, (h̃_{t−1}), (h_{t−1})]` with x_t the embedding (l = 0) or
    /// layer l − 1's new h; h_{t−1} is appended for cells whose products are concatenated.
    private func prepareInputs(layer l: Int, rows: Range<Int>, tokens: [Int32]) {
        let (K, cap, H, E, F) = (inputWidth[l], capacity, H, E, F)
        let table = model.decoder.stack.table
        let base = inputRows(rows)
        for r in rows {
            let row = base + (r - rows.lowerBound) * K
            var column = 0
            if l == 0 {
                row.update(from: table + Int(tokens[r]) * E, count: E)
                if F > 0 { (row + E).update(from: fed + r * F, count: F) }
                column = E + F
            } else {
                row.update(from: h + ((l - 1) * cap + r) * H, count: H)                    // layer l−1's new h
                column = H
            }
            if !cell.keepsRecurrentProjection { (row + column).update(from: h + (l * cap + r) * H, count: H) }
        }
    }

    /// Pre-activation columns `columns` of layer l for `rows`: `z = b + inputs · Wᵀ` and, for the
    /// GRU, `zh = b_hh + h_{t−1} · W_hhᵀ`.
    /// `part` picks the quantization scratch (one per concurrent part).
    private func layerProducts(_ l: Int, rows: Range<Int>, columns: Range<Int>, part: Int) {
        let (K, GH, H) = (inputWidth[l], GH, H)
        let (lo, m, g0, w) = (rows.lowerBound, rows.count, columns.lowerBound, columns.count)
        if m == 0 || w == 0 { return }
        for r in rows { (z + r * GH + g0).update(from: bias + l * GH + g0, count: w) }
        if let quantized = quantizedLayers?[l] {
            quantized.addProductTransposed(m: m, x: inputRows(rows), lda: K, outputs: columns, c: z + lo * GH, ldc: GH,
                                           scratch: quantizationScratch[part])
        } else {
            Kernels.addProductTransposed(m: m, n: w, k: K, a: inputRows(rows), lda: K, w: weights[l] + g0 * K, ldw: K,
                                         c: z + lo * GH + g0, ldc: GH)
        }
        if cell.keepsRecurrentProjection {
            let layer = model.decoder.stack.layers[l][0]
            let hPrev = h + (l * capacity + lo) * H
            for r in rows { (zh + r * GH + g0).update(from: layer.bHH + g0, count: w) }
            if let quantized = quantizedRecurrent?[l] {
                quantized.addProductTransposed(m: m, x: hPrev, lda: H, outputs: columns, c: zh + lo * GH, ldc: GH,
                                               scratch: quantizationScratch[part])
            } else {
                Kernels.addProductTransposed(m: m, n: w, k: H, a: hPrev, lda: H, w: layer.wHH + g0 * H, ldw: H,
                                             c: zh + lo * GH + g0, ldc: GH)
            }
        }
    }

    /// The cell's step for `rows` of layer l, in place on the layer's state.
    private func cells(_ l: Int, rows: Range<Int>) {
        let (GH, H) = (GH, H)
        for r in rows {
            let hr = h + (l * capacity + r) * H
            switch cell {
            case .lstm:
                let cr = c + (l * capacity + r) * H
                LSTMCell.forward(z: z + r * GH, cPrev: cr, c: cr, tanhC: tanhC + r * H, h: hr, H: H)
            case .gru:
                GRUCell.forward(zx: z + r * GH, zh: zh + r * GH, hPrev: hr, gates: z + r * GH, h: hr, H: H)
            case .rnn:
                RNNCell.forward(z: z + r * GH, h: hr, H: H)
            }
        }
    }

    /// Attention of `rows` over their sentences' memory, h̃ and (input feeding) the fed state.
    private func attend(rows: Range<Int>) {
        guard let attention, !rows.isEmpty else { return }
        let (H, S, F) = (H, longest, F)
        let top = h + (L - 1) * capacity * H
        for r in rows {
            let b = source[r], ch = contextAndHidden + r * 2 * H
            let keyBase = attention.kind == .general ? keys : memory
            attention.forwardRow(query: top + r * H, memory: memory + memoryOffsets[b] * H, keys: keyBase + memoryOffsets[b] * H,
                                 length: sourceLengths[b], weights: weightsOfRow + r * S, context: ch)
            (ch + H).update(from: top + r * H, count: H)
        }
        let lo = rows.lowerBound
        attention.combine(rows: rows.count, contextAndHidden: contextAndHidden + lo * 2 * H, output: hidden + lo * H)
        if F > 0 { (fed + lo * F).update(from: hidden + lo * H, count: rows.count * F) }
    }

    /// Output layer logits = b + x·W_outᵀ, each part over its vocabulary columns, then the
    /// log-softmax of every row, written to `output`.   x `[n, H]`, output `[n, V]`.
    private func logSoftmaxOutput(input: UnsafeMutablePointer<Float>, rows n: Int, parts: Int,
                                  into output: UnsafeMutablePointer<Float>) {
        let (H, V) = (H, vocabularySize)
        let decoder = model.decoder
        let out = SharedPointer(output)
        let (top, wOut, bOut) = (SharedPointer(input), SharedPointer(decoder.outWeight), SharedPointer(decoder.outBias))
        let quantized = UncheckedSendable((matrix: quantizedOutput, scratch: quantizationScratch))
        // The product, each part its columns v0..<v1, so each reads its half of W_out (the bias
        // fill replaces BLAS's own zeroing pass).   [n, V]
        Parallel.forEach(parts: parts) { part in
            let v0 = part * V / parts, w = (part + 1) * V / parts - v0
            for r in 0..<n { (out.pointer + r * V + v0).update(from: bOut.pointer + v0, count: w) }
            if let matrix = quantized.value.matrix {
                matrix.addProductTransposed(m: n, x: top.pointer, lda: H, outputs: v0..<v0 + w, c: out.pointer, ldc: V,
                                            scratch: quantized.value.scratch[part])
            } else {
                Kernels.addProductTransposed(m: n, n: w, k: H, a: top.pointer, lda: H, w: wOut.pointer + v0 * H, ldw: H,
                                             c: out.pointer + v0, ldc: V)
            }
        }
        // Then the log-softmax, each part its rows, each row read from memory once.
        Parallel.forEach(parts: parts) { part in
            for r in part * n / parts..<(part + 1) * n / parts { Kernels.logSoftmax(out.pointer + r * V, count: V) }
        }
    }
}

private extension UnsafeMutablePointer where Pointee == Float {
    /// Copies `count` floats of `array` starting at `index` (no-op for count 0).
    func update(from array: [Float], at index: Int, count: Int) {
        guard count > 0 else { return }
        array.withUnsafeBufferPointer { self.update(from: $0.baseAddress! + index, count: count) }
    }
}
