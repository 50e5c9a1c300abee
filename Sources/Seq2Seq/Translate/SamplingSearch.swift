import Tokenize

/// How `SamplingSearch` draws each next token.
public struct TranslationSampling: Sendable, Equatable {
    /// Softmax temperature T: the next token is drawn from p ∝ P(y | …)^(1/T); 1 samples the
    /// model's own distribution, below 1 sharpens it.
    public var temperature: Float = 1
    /// Draw among the K most probable tokens only (nil: all; Edunov et al. 2018 compare both).
    public var topK: Int?
    /// Seed of the draws. With the same seed, model and source sentence, the translation is the
    /// same whatever the batch it is decoded in.
    public var seed: UInt64 = 1

    public init(temperature: Float = 1, topK: Int? = nil, seed: UInt64 = 1) {
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
    }
}

/// Batched sampling search (Edunov et al. 2018, back-translation by sampling): each step every
/// unfinished sentence draws its next token from the model's distribution (`TranslationSampling`),
/// never `<pad>`, `<unk>` or `<s>`. Finishing, dropping out of the batch and the score
/// (`logP / lp(|Y|)` of the model's untempered log-probabilities) are as in `GreedySearch`.
///
/// Each sentence draws from its own generator, seeded by `seeds[s]`, so its result does not
/// depend on the other sentences of the batch.
public struct SamplingSearch {
    public var sampling: TranslationSampling
    public var lengthPenalty: LengthPenalty
    public var beginOfSentence: Int32
    public var endOfSentence: Int32
    public var blocking = RepeatedNGramBlocking(size: 0)

    public init(sampling: TranslationSampling, lengthPenalty: LengthPenalty = .none, beginOfSentence: Int32,
                endOfSentence: Int32, blocking: RepeatedNGramBlocking = RepeatedNGramBlocking(size: 0)) {
        self.sampling = sampling
        self.lengthPenalty = lengthPenalty
        self.beginOfSentence = beginOfSentence
        self.endOfSentence = endOfSentence
        self.blocking = blocking
    }

    /// Decodes every sentence the scorer holds a row for.
    ///
    /// - Parameters:
    ///   - scorer: holds one row per sentence, in order.
    ///   - maxOutputLengths: per sentence, the most output tokens (EOS not counted).
    ///   - seeds: per sentence, the seed of its draws.
    /// - Returns: one hypothesis per sentence, in input order.
    /// - Throws: `SearchError` for invalid settings; whatever `scorer.step` throws.
    public func search<Scorer: StepScorer>(_ scorer: inout Scorer, maxOutputLengths: [Int],
                                           seeds: [UInt64]) throws -> [Hypothesis] {
        let V = scorer.vocabularySize
        try validateSearch(beamSize: 1, nBest: 1, lengthPenalty: lengthPenalty,
                           beginOfSentence: beginOfSentence, endOfSentence: endOfSentence,
                           vocabularySize: V, maxOutputLengths: maxOutputLengths)
        guard sampling.temperature.isFinite, sampling.temperature >= 0 else {
            throw SearchError.invalidTemperature(sampling.temperature)
        }
        let sentenceCount = maxOutputLengths.count
        guard seeds.count == sentenceCount else { throw SearchError.seedCount(seeds: seeds.count, sentences: sentenceCount) }
        var generators = seeds.map { RandomGenerator(seed: $0) }
        let categorical = CategoricalDraw(capacity: V)
        let reserved = [SubwordModel.padId, SubwordModel.unknownId, beginOfSentence]
        return try searchOneRowPerSentence(&scorer, maxOutputLengths: maxOutputLengths, lengthPenalty: lengthPenalty,
                                           beginOfSentence: beginOfSentence, endOfSentence: endOfSentence,
                                           blocking: blocking) { s, row, V, logP in
            guard let token = categorical.draw(row, count: V, temperature: sampling.temperature, topK: sampling.topK,
                                               excluding: { reserved.contains($0) }, random: &generators[s]) else { return nil }
            return (token, logP + row[Int(token)])
        }
    }
}
