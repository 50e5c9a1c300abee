import Tokenize

/// Options for turning source sentences into translations.
public struct TranslationOptions: Sendable, Equatable {
    /// k: beams per sentence; 1 with `greedy` false still runs beam search.
    public var beamSize: Int = 5
    /// Greedy decoding (argmax per step) instead of beam search.
    public var greedy: Bool = false
    /// K ≤ k: hypotheses returned per sentence.
    public var nBest: Int = 1
    /// GNMT length penalty α: score = log P(Y|X) / ((5 + |Y|) / 6)^α.
    public var lengthPenalty: Float = 0.6
    /// Output length bound: at most `ratio · |X| + 10` target tokens.
    public var maxLengthRatio: Double = 2.0
    /// Source sentences longer than this many tokens are cut (with a warning).
    public var maxInputLength: Int = 200
    /// Feed the source tokens to the encoder last-to-first, as the model was
    /// trained (`ModelManifest.sourceOrderReversed`).
    public var reverseSourceOrder = false
    /// Also return the attention matrix of the best translation (models with attention only).
    public var alignment = false
    /// Forbid repeating any n-gram of this size within a translation (0: off).
    public var noRepeatNgram = 0
    /// Arithmetic of the decoder's products (int8: faster, slightly less exact).
    public var precision = DecodingPrecision.fp32
    /// Draw each next token from the model's distribution (`SamplingSearch`) instead of
    /// searching for the most probable translation (nil: beam or greedy search).
    public var sampling: TranslationSampling?

    public init() {}

    /// The most target tokens a source of `sourceLength` tokens may produce
    /// (at most `maximumOutputLength`, also for a non-finite or huge ratio).
    public func maxOutputLength(sourceLength: Int) -> Int {
        let length = (maxLengthRatio * Double(sourceLength)).rounded(.up)
        guard length.isFinite, length >= 0 else { return 10 }
        return Int(min(length, Double(TranslationOptions.maximumOutputLength - 10))) + 10
    }

    /// Upper bound of `maxOutputLength`: no output is longer than this many tokens.
    public static let maximumOutputLength = 100_000
}

/// One translated sentence.
public struct Translation: Sendable, Equatable {
    /// The input line as given.
    public var source: String
    /// The best translation (detokenized text).
    public var text: String
    /// Its score (length-normalized log-probability; 0 for an empty input).
    public var score: Float
    /// The n-best list, best first (the first entry is `text`/`score`).
    public var nBest: [(text: String, score: Float)]
    /// True if the source was cut to `maxInputLength` tokens.
    public var inputWasTruncated: Bool
    /// The attention of the best translation, when `TranslationOptions.alignment` was asked for.
    public var alignment: TranslationAlignment?
    /// Subword tokens of the best translation (`</s>` not counted).
    public var outputTokenCount: Int = 0

    public static func == (a: Translation, b: Translation) -> Bool {
        a.source == b.source && a.text == b.text && a.score == b.score
            && a.inputWasTruncated == b.inputWasTruncated && a.alignment == b.alignment
            && a.nBest.map(\.text) == b.nBest.map(\.text) && a.nBest.map(\.score) == b.nBest.map(\.score)
    }
}

/// Where the decoder looked while writing a translation: one row per target subword token
/// (the last one `</s>` when the translation ended normally), one column per source subword
/// token in reading order; each row is a probability distribution (sums to 1).
public struct TranslationAlignment: Sendable, Equatable, Codable {
    /// Source subword tokens, in the order of the input text.
    public var sourceTokens: [String]
    /// Target subword tokens, `</s>` included when emitted.
    public var targetTokens: [String]
    /// `[targetTokens.count][sourceTokens.count]` attention weights.
    public var weights: [[Float]]

    enum CodingKeys: String, CodingKey {
        case sourceTokens = "source_tokens", targetTokens = "target_tokens", weights
    }
}

/// Drives the model's decoder for `BeamSearch`/`GreedySearch`: each scorer row is
/// one row of a `DecoderState` (recurrent state, attentional state, source index).
struct ModelStepScorer: StepScorer {
    let state: DecoderState
    var vocabularySize: Int { state.vocabularySize }

    mutating func select(rows parents: [Int]) { state.select(rows: parents) }

    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        try state.step(tokens: tokens, into: logProbabilities.baseAddress!)   // [R, V]
    }
}

/// One further model of an ensemble: its weights and whether its encoder reads sources reversed.
public struct EnsembleMember {
    public let model: Seq2SeqModel
    public let sourceOrderReversed: Bool

    public init(model: Seq2SeqModel, sourceOrderReversed: Bool) {
        self.model = model
        self.sourceOrderReversed = sourceOrderReversed
    }
}

/// Source text → translations with a trained model (or an ensemble of models with the same
/// vocabularies): tokenize, encode once, search (beam or greedy) over all sentences of a batch
/// together, detokenize. An ensemble scores each step by the mean of its models'
/// log-probabilities.
///
/// Not thread-safe (it owns tokenizers with ICU iterators).
public final class Translator {
    /// The (first) model; its source order (`options.reverseSourceOrder`) defines the input ids.
    public let model: Seq2SeqModel
    /// Further models of an ensemble.
    public let ensemble: [EnsembleMember]
    public var options: TranslationOptions
    /// With a shortlist, each sentence's decoder scores only its shortlisted target tokens
    /// (`VocabularyShortlist`); nil: the whole vocabulary. Set with `useShortlist(_:)`.
    public private(set) var shortlist: VocabularyShortlist?
    let sourceTokenizer: Tokenizer
    let targetTokenizer: Tokenizer
    /// With fixed weights: the decoder's weights prepared once per model and precision.
    private let prepared: DecodingWeightsCache?

    /// `weightsAreFixed`: the models' weights do not change while this translator lives (a loaded
    /// model), so the decoder's copy of them (and its int8 form) is made once, not per batch.
    /// Leave it false when translating with a model that is being trained.
    public init(model: Seq2SeqModel, sourceTokenizer: Tokenizer, targetTokenizer: Tokenizer,
                options: TranslationOptions = TranslationOptions(), ensemble: [EnsembleMember] = [],
                weightsAreFixed: Bool = false) {
        self.model = model
        self.ensemble = ensemble
        self.sourceTokenizer = sourceTokenizer
        self.targetTokenizer = targetTokenizer
        self.options = options
        prepared = weightsAreFixed ? DecodingWeightsCache() : nil
    }

    /// Decodes with `shortlist` from now on (nil: the whole vocabulary), for every model of an ensemble.
    /// - Throws: `ShortlistError.mismatch` if its vocabulary sizes are not the model's.
    public func useShortlist(_ shortlist: VocabularyShortlist?) throws {
        let configuration = model.configuration
        if let shortlist, shortlist.sourceVocabularySize != configuration.sourceVocabularySize
            || shortlist.targetVocabularySize != configuration.targetVocabularySize {
            throw ShortlistError.mismatch(
                path: VocabularyShortlist.fileName,
                reason: "vocabulary sizes \(shortlist.sourceVocabularySize)/\(shortlist.targetVocabularySize), the model's are \(configuration.sourceVocabularySize)/\(configuration.targetVocabularySize)")
        }
        self.shortlist = shortlist
    }

    /// Source ids of `text` in encoder order, cut to `maxInputLength` tokens.
    public func sourceIds(_ text: String) -> (ids: [Int32], truncated: Bool) {
        var ids = sourceTokenizer.encode(text)
        let truncated = ids.count > options.maxInputLength
        if truncated { ids.removeLast(ids.count - options.maxInputLength) }
        if options.reverseSourceOrder { ids.reverse() }
        return (ids, truncated)
    }

    /// Translates already tokenized sources (in the first model's encoder order); returns per
    /// sentence the n-best list (tokens without `<s>`/`</s>`, score), best first. Empty sources
    /// give one empty hypothesis with score 0.
    public func decode(sources: [[Int32]]) throws -> [[Hypothesis]] {
        var results = [[Hypothesis]](repeating: [Hypothesis(tokens: [], score: 0, logProbability: 0,
                                                             reachedEndOfSentence: true)],
                                     count: sources.count)
        let live = sources.indices.filter { !sources[$0].isEmpty }
        if live.isEmpty { return results }
        let liveSources = live.map { sources[$0] }
        let maxLengths = liveSources.map { options.maxOutputLength(sourceLength: $0.count) }
        let bos = SubwordModel.beginId, eos = SubwordModel.endId
        let penalty = LengthPenalty(alpha: options.lengthPenalty)
        let blocking = RepeatedNGramBlocking(size: options.noRepeatNgram)
        let oneRowEach = options.greedy || options.sampling != nil
        let capacity = oneRowEach ? live.count : live.count * max(1, options.beamSize)
        var scorer = try makeScorer(sources: liveSources, capacity: capacity, shortlist: shortlist?.batch(sources: liveSources))
        if let sampling = options.sampling {
            let drawn = try SamplingSearch(sampling: sampling, lengthPenalty: penalty, beginOfSentence: bos, endOfSentence: eos,
                                           blocking: blocking)
                .search(&scorer, maxOutputLengths: maxLengths,
                        seeds: liveSources.map { Translator.samplingSeed(sampling.seed, source: $0) })
            for (i, hypothesis) in zip(live, drawn) { results[i] = [hypothesis] }
        } else if options.greedy {
            let best = try GreedySearch(lengthPenalty: penalty, beginOfSentence: bos, endOfSentence: eos, blocking: blocking)
                .search(&scorer, maxOutputLengths: maxLengths)
            for (i, hypothesis) in zip(live, best) { results[i] = [hypothesis] }
        } else {
            let k = max(1, options.beamSize)
            let search = BeamSearch(beamSize: k, nBest: min(options.nBest, k), lengthPenalty: penalty,
                                    beginOfSentence: bos, endOfSentence: eos, blocking: blocking)
            let lists = try search.search(&scorer, maxOutputLengths: maxLengths)
            for (i, list) in zip(live, lists) { results[i] = list }
        }
        return results
    }

    /// The seed of one sentence's draws: a function of the run's seed and the sentence's ids only,
    /// so a sentence gets the same sample in any batch, window or worker.
    static func samplingSeed(_ seed: UInt64, source: [Int32]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325   // FNV-1a over the ids' bytes
        for id in source {
            var word = UInt32(bitPattern: id)
            for _ in 0..<4 {
                hash = (hash ^ UInt64(word & 0xFF)) &* 0x100_0000_01B3
                word >>= 8
            }
        }
        return hash ^ (seed &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The model's decoder rows, or an ensemble of every member's (each member encodes the
    /// sources in its own order; all score the same shortlisted tokens).
    private func makeScorer(sources: [[Int32]], capacity: Int, shortlist: BatchShortlist?) throws -> EnsembleStepScorer {
        let precision = options.precision
        var members = [ModelStepScorer(state: try model.makeDecoderState(
            for: try model.encode(sources: sources), sourceRows: nil, capacity: capacity, precision: precision, shortlist: shortlist,
            prepared: prepared?.weights(of: model, member: 0, precision: precision)))]
        for (m, member) in ensemble.enumerated() {
            let ordered = member.sourceOrderReversed == options.reverseSourceOrder ? sources : sources.map { $0.reversed() }
            members.append(ModelStepScorer(state: try member.model.makeDecoderState(
                for: try member.model.encode(sources: ordered), sourceRows: nil, capacity: capacity, precision: precision,
                shortlist: shortlist, prepared: prepared?.weights(of: member.model, member: m + 1, precision: precision))))
        }
        return EnsembleStepScorer(members: members)
    }

    /// Model output can hold stray word-boundary marks (a mark token with no
    /// word after it); they detokenize to spaces. Drop spaces at both ends and
    /// merge runs of spaces, which no well-formed output contains.
    ///
    /// A barely trained model can also emit byte tokens of control characters
    /// (ESC, NUL, a newline that would split the output line): line and tab
    /// breaks (C0 and C1, U+2028/U+2029) become spaces, every other C0/C1
    /// control character and DEL is dropped. The result never contains a control
    /// character, so one input line always gives exactly one output line.
    static func tidy(_ text: String) -> String {
        var text = text
        if text.unicodeScalars.contains(where: isControlOrLineBreak) {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                switch scalar.value {
                case 0x09...0x0D, 0x85, 0x2028, 0x2029: scalars.append(" ")
                case 0x00...0x1F, 0x7F...0x9F: continue
                default: scalars.append(scalar)
                }
            }
            text = String(scalars)
        }
        guard text.contains(" ") else { return text }
        return text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    private static func isControlOrLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// Translates a batch of lines; one result per line, in order.
    /// - Throws: `ModelError` (e.g. `alignment` asked of a model without attention), search errors.
    public func translate(_ lines: [String]) throws -> [Translation] {
        let prepared = lines.map(sourceIds)
        let lists = try decode(sources: prepared.map(\.ids))
        let alignments = options.alignment ? try alignments(sources: prepared.map(\.ids), best: lists.map { $0[0] }) : nil
        return lines.indices.map { i in
            let nBest = lists[i].map { (text: Translator.tidy(targetTokenizer.decode($0.tokens)), score: $0.score) }
            return Translation(source: lines[i], text: nBest.first?.text ?? "", score: nBest.first?.score ?? 0,
                               nBest: nBest, inputWasTruncated: prepared[i].truncated, alignment: alignments?[i],
                               outputTokenCount: lists[i].first?.tokens.count ?? 0)
        }
    }

    /// The attention matrices of the best hypotheses (teacher-forced through the decoder),
    /// with columns in the input text's order.
    func alignments(sources: [[Int32]], best: [Hypothesis]) throws -> [TranslationAlignment] {
        // An ensemble shows the first model's attention.
        let weights = try model.attentionWeights(sources: sources, outputs: best.map(\.tokens),
                                                 endedWithEOS: best.map(\.reachedEndOfSentence),
                                                 bos: SubwordModel.beginId)
        let sourcePieces = sourceTokenizer.model.tokens, targetPieces = targetTokenizer.model.tokens
        return sources.indices.map { i in
            var sourceIDs = sources[i], rows = weights[i]
            if options.reverseSourceOrder {
                sourceIDs.reverse()
                rows = rows.map { $0.reversed() }
            }
            var targets = best[i].tokens.map { targetPieces[Int($0)] }
            if best[i].reachedEndOfSentence && !sources[i].isEmpty { targets.append(targetPieces[Int(SubwordModel.endId)]) }
            return TranslationAlignment(sourceTokens: sourceIDs.map { sourcePieces[Int($0)] }, targetTokens: targets,
                                        weights: rows)
        }
    }
}
