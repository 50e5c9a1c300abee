/// Batched greedy search: each step every unfinished sentence takes its most
/// probable next token (ties: the lower token id).
///
/// A sentence finishes when it emits EOS (|Y| = tokens + 1) or reaches
/// `maxOutputLengths[s]` tokens (finished as it is, |Y| = tokens), and then drops
/// out of the batch via `select`. Its score is `logP / lp(|Y|)` with the given
/// length penalty, so the result equals `BeamSearch` with beam size 1.
/// A maximum length of 0 gives an empty hypothesis with score 0; a row whose
/// every token is −∞/NaN is finished as it is.
public struct GreedySearch: Sendable {
    /// Only affects the reported `score` (greedy choices are per token).
    public var lengthPenalty: LengthPenalty
    /// Token fed at the first step.
    public var beginOfSentence: Int32
    /// Token that finishes a hypothesis.
    public var endOfSentence: Int32
    /// Repeated n-gram blocking (size 0: off).
    public var blocking = RepeatedNGramBlocking(size: 0)

    public init(lengthPenalty: LengthPenalty = .none, beginOfSentence: Int32, endOfSentence: Int32,
                blocking: RepeatedNGramBlocking = RepeatedNGramBlocking(size: 0)) {
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
    /// - Returns: one hypothesis per sentence, in input order.
    /// - Throws: `SearchError` for invalid settings; whatever `scorer.step` throws.
    public func search<Scorer: StepScorer>(_ scorer: inout Scorer, maxOutputLengths: [Int]) throws -> [Hypothesis] {
        let V = scorer.vocabularySize
        try validateSearch(beamSize: 1, nBest: 1, lengthPenalty: lengthPenalty,
                           beginOfSentence: beginOfSentence, endOfSentence: endOfSentence,
                           vocabularySize: V, maxOutputLengths: maxOutputLengths)
        return try searchOneRowPerSentence(&scorer, maxOutputLengths: maxOutputLengths, lengthPenalty: lengthPenalty,
                                           beginOfSentence: beginOfSentence, endOfSentence: endOfSentence,
                                           blocking: blocking) { _, row, V, base in
            // Compare cumulative log-probs, as beam search does, so that float
            // rounding ties resolve identically (lower token id).
            var best = -Float.infinity, arg = -1
            let raw = UnsafeRawPointer(row)
            let baseLanes = SIMD16<Float>(repeating: base)
            var v = 0
            while v < V {
                // Skip 16 tokens at a time when none beats `best` (same test as below, per lane).
                if v & 15 == 0 && v + 16 <= V {
                    let x16 = baseLanes + raw.loadUnaligned(fromByteOffset: 4 * v, as: SIMD16<Float>.self)
                    if !any(x16 .> SIMD16<Float>(repeating: best)) { v += 16; continue }
                }
                let x = base + row[v]
                if x > best { best = x; arg = v }   // NaN and −∞ never win
                v += 1
            }
            return arg < 0 ? nil : (Int32(arg), best)
        }
    }
}

/// The loop of the searches that keep one row per sentence (`GreedySearch`, `SamplingSearch`):
/// each step `choose(sentence, row [V], V, logP so far)` picks the next token and the new logP
/// (nil: no possible token, the sentence is finished as it is). A sentence finishes on EOS
/// (|Y| = tokens + 1) or at `maxOutputLengths[s]` tokens (|Y| = tokens) and drops out of the
/// batch via `select`; its score is `logP / lp(|Y|)`. A maximum length of 0 gives an empty
/// hypothesis with score 0.
func searchOneRowPerSentence<Scorer: StepScorer>(
    _ scorer: inout Scorer, maxOutputLengths: [Int], lengthPenalty: LengthPenalty, beginOfSentence: Int32,
    endOfSentence: Int32, blocking: RepeatedNGramBlocking,
    choose: (_ sentence: Int, _ row: UnsafeMutablePointer<Float>, _ V: Int, _ logP: Float) -> (token: Int32, logP: Float)?
) throws -> [Hypothesis] {
    let V = scorer.vocabularySize
    func finished(_ tokens: [Int32], logP: Float, length: Int, eos: Bool) -> Hypothesis {
        Hypothesis(tokens: tokens, score: lengthPenalty.score(logProbability: logP, length: length),
                   logProbability: logP, reachedEndOfSentence: eos)
    }
    let sentenceCount = maxOutputLengths.count
    var results = [Hypothesis?](repeating: nil, count: sentenceCount)
    var outputs = [[Int32]](repeating: [], count: sentenceCount)
    var logP = [Float](repeating: 0, count: sentenceCount)

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
            guard let (token, newLogP) = choose(s, row, V, logP[s]) else {
                results[s] = finished(outputs[s], logP: logP[s], length: outputs[s].count, eos: false)
                continue
            }
            logP[s] = newLogP
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
