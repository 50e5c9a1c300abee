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
        var results = [Hypothesis?](repeating: nil, count: sentenceCount)
        var outputs = [[Int32]](repeating: [], count: sentenceCount)
        var logP = [Float](repeating: 0, count: sentenceCount)
        var generators = seeds.map { RandomGenerator(seed: $0) }

        var active: [Int] = []     // [R] sentence of each row
        for s in 0..<sentenceCount {
            if maxOutputLengths[s] == 0 {
                results[s] = Hypothesis(tokens: [], score: 0, logProbability: 0, reachedEndOfSentence: false)
            } else {
                active.append(s)
            }
        }
        if !active.isEmpty && active.count != sentenceCount { scorer.select(rows: active) }

        var feed = [Int32](repeating: beginOfSentence, count: active.count)   // [R]
        var parents: [Int] = [], nextActive: [Int] = []
        let logProbabilities = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, active.count) * V)  // [R, V]
        defer { logProbabilities.deallocate() }
        let categorical = CategoricalDraw(capacity: V)
        let reserved = [SubwordModel.padId, SubwordModel.unknownId, beginOfSentence]

        while !active.isEmpty {
            let R = active.count
            try scorer.step(tokens: feed,
                            logProbabilities: UnsafeMutableBufferPointer(rebasing: logProbabilities[0..<(R * V)]))
            parents.removeAll(keepingCapacity: true)
            nextActive.removeAll(keepingCapacity: true)
            feed.removeAll(keepingCapacity: true)
            for r in 0..<R {
                let s = active[r]
                let row = logProbabilities.baseAddress! + r * V
                if blocking.size > 0 { blocking.block(history: outputs[s], row: row, vocabularySize: V) }
                guard let token = categorical.draw(row, count: V, temperature: sampling.temperature, topK: sampling.topK,
                                                   excluding: { reserved.contains($0) }, random: &generators[s]) else {
                    results[s] = finished(outputs[s], logP: logP[s], length: outputs[s].count, eos: false)
                    continue
                }
                logP[s] += row[Int(token)]
                if token == endOfSentence {
                    results[s] = finished(outputs[s], logP: logP[s], length: outputs[s].count + 1, eos: true)
                    continue
                }
                outputs[s].append(token)
                if outputs[s].count >= maxOutputLengths[s] {
                    results[s] = finished(outputs[s], logP: logP[s], length: outputs[s].count, eos: false)
                    continue
                }
                parents.append(r)
                nextActive.append(s)
                feed.append(token)
            }
            swap(&active, &nextActive)
            if active.isEmpty { break }
            scorer.select(rows: parents)
        }
        return results.map { $0 ?? Hypothesis(tokens: [], score: 0, logProbability: 0, reachedEndOfSentence: false) }
    }

    private func finished(_ tokens: [Int32], logP: Float, length: Int, eos: Bool) -> Hypothesis {
        Hypothesis(tokens: tokens, score: lengthPenalty.score(logProbability: logP, length: length),
                   logProbability: logP, reachedEndOfSentence: eos)
    }
}
