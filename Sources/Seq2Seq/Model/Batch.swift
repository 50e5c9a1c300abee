/// Time-major packed layout of a set of variable-length sequences.
///
/// Rows are sorted by length, longest first (stable, so ties keep their input
/// order). At step t the first `batchSizes[t]` sorted rows are active and
/// occupy packed rows `offsets[t] ..< offsets[t] + batchSizes[t]`.
///
/// In the *padded* variant (used only to test packing against masking) every
/// row is active at every step and `mask` marks real positions with 1.
struct Packing: Equatable {
    /// Sorted row r → original row.
    let order: [Int]
    /// Original row → sorted row.
    let rank: [Int]
    /// Sequence length of each sorted row (non-increasing when packed).
    let lengths: [Int]
    /// Active rows at each time step, `t < maxLength`.
    let batchSizes: [Int]
    /// First packed row of each step; `offsets[maxLength] == total`.
    let offsets: [Int]
    /// Number of packed rows N.
    let total: Int
    /// 1 at real positions, 0 at padding ([N]); nil for true packing.
    let mask: [Float]?
    /// Sorted row r → the key of its sentence, which seeds the sentence's own random streams
    /// (dropout masks, word dropout). By default the original row index; data-parallel ranks
    /// use the row's position in the global batch (`Batch.numberingRows(from:)`).
    var keys: [UInt64]

    var rowCount: Int { order.count }
    var maxLength: Int { batchSizes.count }

    init(lengths original: [Int], padded: Bool = false) {
        let B = original.count
        let order = padded ? Array(0..<B) : (0..<B).sorted { original[$0] > original[$1] || (original[$0] == original[$1] && $0 < $1) }
        var rank = [Int](repeating: 0, count: B)
        for (r, b) in order.enumerated() { rank[b] = r }
        let lengths = order.map { original[$0] }
        let T = original.max() ?? 0
        var sizes = [Int]()
        var offsets = [0]
        var mask: [Float]? = padded ? [] : nil
        for t in 0..<T {
            let active = padded ? B : lengths.prefix { $0 > t }.count
            sizes.append(active)
            offsets.append(offsets[t] + active)
            if padded { mask! += lengths.map { t < $0 ? 1 : 0 } }
        }
        self.order = order
        self.rank = rank
        self.lengths = lengths
        self.batchSizes = sizes
        self.offsets = offsets
        self.total = offsets[T]
        self.mask = mask
        self.keys = order.map { UInt64($0) }
    }

    /// The seed of one sentence's stream: a per-call draw `base` mixed with the sentence's key.
    static func streamSeed(_ base: UInt64, key: UInt64) -> UInt64 {
        var x = base ^ (key &* 0x9E37_79B9_7F4A_7C15)
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 29)
    }

    /// Packed row holding the last state of sorted row r (nil if the row is empty).
    func lastRow(_ r: Int) -> Int? {
        let n = lengths[r]
        if n == 0 { return nil }
        return mask == nil ? offsets[n - 1] + r : offsets[maxLength - 1] + r
    }

    /// For every packed row n = (step t, sorted row r) with t < len_r, the packed row of the
    /// same sorted row at step len_r − 1 − t: the row read backwards, starting at its own last
    /// real token. Padded positions (masked variant) map to themselves. Applying it twice gives n.
    func reversedRows(into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(total)
        for t in 0..<maxLength {
            for r in 0..<batchSizes[t] {
                let n = lengths[r]
                out.append(t < n ? offsets[n - 1 - t] + r : offsets[t] + r)
            }
        }
    }

    /// Packs `sequences` (original order) into [N] ids; padded positions get `fill`.
    /// The array has at least one element (so its base address is never nil); only the first N are used.
    func pack(_ sequences: [[Int32]], fill: Int32) -> [Int32] {
        var out = [Int32](repeating: fill, count: Swift.max(total, 1))
        for t in 0..<maxLength {
            for r in 0..<batchSizes[t] {
                let s = sequences[order[r]]
                if t < s.count { out[offsets[t] + r] = s[t] }
            }
        }
        return out
    }

    /// Unpacks a packed [N, D] buffer into [B, T, D] in original row order, zeros at padding.
    func unpack(_ packed: UnsafePointer<Float>, width D: Int) -> [Float] {
        let B = rowCount, T = maxLength
        var out = [Float](repeating: 0, count: B * T * D)
        for t in 0..<T {
            for r in 0..<batchSizes[t] where t < lengths[r] {
                let b = order[r]
                for j in 0..<D { out[(b * T + t) * D + j] = packed[(offsets[t] + r) * D + j] }
            }
        }
        return out
    }
}

/// A training batch of sentence pairs, padded and packed for the model.
///
/// The encoder reads `sources`; the decoder reads `decoderInputs` under teacher
/// forcing and is trained to predict `decoderTargets` (same length per row, by
/// convention the input shifted left by one). Each side is packed separately,
/// sorted by its own lengths; results are reported in the original row order.
public struct Batch: Sendable {
    /// Number of sentence pairs B.
    public let rowCount: Int
    /// Number of real (non-pad) target tokens: the loss is averaged over these.
    public let targetTokenCount: Int
    /// Longest source length S and longest decoder length T.
    public let maxSourceLength: Int, maxTargetLength: Int

    private(set) var source: Packing
    private(set) var target: Packing
    private(set) var sourceIDs: [Int32]        // [Ns]
    private(set) var decoderInputIDs: [Int32]  // [Nt]
    let decoderTargetIDs: [Int32] // [Nt]; −1 at padded positions (padded variant only)

    /// Builds a batch from explicit decoder inputs and targets.
    ///
    /// - Parameters:
    ///   - sources: B source id sequences (any lengths, empty allowed).
    ///   - decoderInputs: B decoder input sequences, e.g. `<s> y1 … yn`.
    ///   - decoderTargets: B sequences of the same lengths as `decoderInputs`, e.g. `y1 … yn </s>`.
    /// - Throws: `ModelError.emptyBatch`, `.mismatchedBatch`, `.emptyTarget`.
    public init(sources: [[Int32]], decoderInputs: [[Int32]], decoderTargets: [[Int32]]) throws {
        try self.init(sources: sources, decoderInputs: decoderInputs, decoderTargets: decoderTargets, padded: false)
    }

    /// Builds a batch from target token sequences: the decoder reads `[bos] + y`
    /// and predicts `y + [eos]`. Defaults are this project's vocabulary ids
    /// (`<pad>` 0, `<s>` 2, `</s>` 3). Sequences must not contain BOS/EOS already.
    public init(sources: [[Int32]], targets: [[Int32]], bos: Int32 = 2, eos: Int32 = 3) throws {
        try self.init(
            sources: sources,
            decoderInputs: targets.map { [bos] + $0 },
            decoderTargets: targets.map { $0 + [eos] },
            padded: false)
    }

    /// `padded: true` builds the padded-with-mask variant (tests only).
    init(sources: [[Int32]], decoderInputs: [[Int32]], decoderTargets: [[Int32]], padded: Bool) throws {
        guard !sources.isEmpty else { throw ModelError.emptyBatch }
        guard sources.count == decoderInputs.count, sources.count == decoderTargets.count else {
            throw ModelError.mismatchedBatch(
                "\(sources.count) sources, \(decoderInputs.count) decoder inputs, \(decoderTargets.count) decoder targets")
        }
        for (b, (x, y)) in zip(decoderInputs, decoderTargets).enumerated() {
            guard !x.isEmpty else { throw ModelError.emptyTarget(row: b) }
            guard x.count == y.count else {
                throw ModelError.mismatchedBatch("row \(b): decoder input has \(x.count) tokens, target \(y.count)")
            }
        }
        rowCount = sources.count
        source = Packing(lengths: sources.map(\.count), padded: padded)
        target = Packing(lengths: decoderInputs.map(\.count), padded: padded)
        sourceIDs = source.pack(sources, fill: 0)
        decoderInputIDs = target.pack(decoderInputs, fill: 0)
        decoderTargetIDs = target.pack(decoderTargets, fill: -1)
        targetTokenCount = decoderTargets.reduce(0) { $0 + $1.count }
        maxSourceLength = source.maxLength
        maxTargetLength = target.maxLength
    }

    /// Word dropout: a copy in which every source token, and every decoder input token after the
    /// first (`<s>`), is replaced by `unknown` with probability p. Targets are unchanged.
    /// Each sentence draws from its own stream (seeded by one draw from `random` and its key), so
    /// a sentence's drops do not depend on the rest of its batch (see `Dropout.makeMask`).
    public func droppingWords(probability p: Float, unknown: Int32, random: inout RandomGenerator) -> Batch {
        var copy = self
        let base = random.next()
        Self.dropWords(&copy.sourceIDs, packing: source, from: 0, probability: p, unknown: unknown,
                       seed: base)
        Self.dropWords(&copy.decoderInputIDs, packing: target, from: 1, probability: p, unknown: unknown,
                       seed: base ^ 0x5851_F42D_4C95_7F2D)
        return copy
    }

    /// Replaces the packed ids of steps t ≥ `first` of every real position by `unknown` with probability p.
    private static func dropWords(_ ids: inout [Int32], packing P: Packing, from first: Int, probability p: Float,
                                  unknown: Int32, seed: UInt64) {
        for r in 0..<P.rowCount {
            var stream = RandomGenerator(seed: Packing.streamSeed(seed, key: P.keys[r]))
            for t in min(first, P.lengths[r])..<P.lengths[r] where stream.nextUnitFloat() < p {
                ids[P.offsets[t] + r] = unknown
            }
        }
    }

    /// A copy whose sentences are keyed `first`, `first + 1`, … in row order: the positions of
    /// this batch's rows in a larger global batch, so that their dropout masks and word drops are
    /// those the whole batch would draw in one process (data-parallel training).
    public func numberingRows(from first: Int) -> Batch {
        var copy = self
        copy.source.keys = source.order.map { UInt64(first + $0) }
        copy.target.keys = target.order.map { UInt64(first + $0) }
        return copy
    }

    /// Throws `ModelError.tokenOutOfRange` if an id does not fit the configuration's vocabularies.
    func validate(for configuration: ModelConfiguration) throws {
        for id in sourceIDs where id < 0 || Int(id) >= configuration.sourceVocabularySize {
            throw ModelError.tokenOutOfRange(side: "source", id: id, vocabularySize: configuration.sourceVocabularySize)
        }
        for id in decoderInputIDs where id < 0 || Int(id) >= configuration.targetVocabularySize {
            throw ModelError.tokenOutOfRange(side: "target", id: id, vocabularySize: configuration.targetVocabularySize)
        }
        for id in decoderTargetIDs where (id < 0 && target.mask == nil) || Int(id) >= configuration.targetVocabularySize {
            throw ModelError.tokenOutOfRange(side: "target", id: id, vocabularySize: configuration.targetVocabularySize)
        }
    }
}
