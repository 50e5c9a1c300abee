/// Supplies next-token log-probabilities for a set of "rows" (live hypotheses).
///
/// A row is one decoder state: for the LSTM decoder, the per-layer (h, c) of
/// one hypothesis plus an index of its source sentence (for attention). At the
/// start of a search the scorer holds exactly one row per source sentence,
/// already encoded, in the order of the `maxOutputLengths` passed to the search.
///
/// The searches call `step` once per output position and `select` between two
/// steps (never before the first one unless some sentence needs no step at all).
/// The search never feeds a token after EOS.
public protocol StepScorer {
    /// V: the number of target tokens; log-probability rows have V entries.
    var vocabularySize: Int { get }

    /// Reorders rows: new row `r` continues old row `parents[r]`. Rows may be
    /// dropped (finished sentences), duplicated (several beams continue one
    /// hypothesis) or kept in place; `parents` may be the identity.
    /// Every entry is a valid old row index.
    mutating func select(rows parents: [Int])

    /// Feeds `tokens[r]` to row `r` (R = `tokens.count` rows) and writes the
    /// log-probabilities of the next token into
    /// `logProbabilities[r * V ..< (r + 1) * V]`   // [R, V]
    /// The buffer has exactly R·V entries. Entries should be ≤ 0 (a normalized
    /// distribution); −∞ marks an impossible token, NaN is never chosen.
    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws
}

/// One finished output of a search.
public struct Hypothesis: Sendable, Equatable {
    /// Output tokens without BOS and EOS.
    public var tokens: [Int32]
    /// Length-normalized score used for ranking: `logProbability / lp(|Y|)`.
    public var score: Float
    /// Raw log-probability: the sum of the chosen tokens' log-probabilities,
    /// including EOS when it was emitted.
    public var logProbability: Float
    /// `true` if the hypothesis ended with EOS; `false` if it was cut off at the
    /// maximum output length (or every continuation was impossible).
    public var reachedEndOfSentence: Bool

    public init(tokens: [Int32], score: Float, logProbability: Float, reachedEndOfSentence: Bool) {
        self.tokens = tokens
        self.score = score
        self.logProbability = logProbability
        self.reachedEndOfSentence = reachedEndOfSentence
    }
}

/// Invalid search settings; the message says which option to change.
public enum SearchError: Error, Equatable, CustomStringConvertible {
    case invalidBeamSize(Int)
    case invalidNBest(nBest: Int, beamSize: Int)
    case negativeMaxLength(sentence: Int, length: Int)
    case tokenOutOfVocabulary(role: String, token: Int32, vocabularySize: Int)
    case invalidLengthPenalty(alpha: Float)
    case invalidTemperature(Float)
    case seedCount(seeds: Int, sentences: Int)

    public var description: String {
        switch self {
        case let .invalidBeamSize(k):
            return "beam size \(k) is invalid: use a beam size of at least 1"
        case let .invalidNBest(n, k):
            return "n-best \(n) is invalid for beam size \(k): use 1 ≤ n-best ≤ beam size"
        case let .negativeMaxLength(s, l):
            return "sentence \(s) has a negative maximum output length (\(l)): use a length ≥ 0"
        case let .tokenOutOfVocabulary(role, t, v):
            return "the \(role) token id \(t) is outside the vocabulary of \(v) tokens: check the model's vocabulary"
        case let .invalidLengthPenalty(a):
            return "length penalty α = \(a) is invalid: use a finite number (typically 0 to 2)"
        case let .invalidTemperature(t):
            return "sampling temperature \(t) is invalid: use a finite number ≥ 0 (1 samples the model's distribution)"
        case let .seedCount(seeds, sentences):
            return "sampling got \(seeds) seeds for \(sentences) sentences: give one seed per sentence"
        }
    }
}

/// Batched beam search over many sentences at once.
///
/// All live hypotheses of all unfinished sentences are rows of one scorer call
/// per step, grouped by sentence in input order and, inside a sentence, by rank.
/// Each step, for each sentence (k = `beamSize`, K = `nBest`):
///
/// 1. Candidates are (live hypothesis, token) pairs with cumulative log-prob
///    `logP(hyp) + logp(token)`. The best 2k are found with a small heap over
///    the sentence's k·V entries (no sort of the vocabulary) and ranked by
///    log-prob, ties broken by lower token id, then lower row. (All candidates
///    of a step have the same length, so this is also the order by score.)
///    −∞ and NaN candidates are never taken.
/// 2. An EOS candidate among the first k ranks becomes a finished hypothesis
///    (|Y| = its tokens + 1); EOS candidates ranked lower are dropped. The first
///    k non-EOS candidates become the live hypotheses of the next step.
/// 3. A live hypothesis that reaches the sentence's maximum output length
///    (`maxOutputLengths[s]` tokens, EOS not counted) is finished as it is,
///    without EOS, and the sentence stops. So |Y| ≤ max length.
/// 4. Otherwise the sentence stops when it has k finished hypotheses, or when it
///    has at least K and the K-th best finished score is ≥ the best score any
///    live hypothesis could still reach: `max(logP/lp(t+1), logP/lp(max length))`
///    for the best live log-prob logP after t tokens (exact when log-probs are
///    ≤ 0, since lp is monotone in the length).
///
/// A stopped sentence drops out of the batch (`select`). The result for each
/// sentence is its best K finished hypotheses by score (ties: the one finished
/// first). Nothing in a sentence's result depends on the other sentences in the
/// batch, as long as the scorer's rows are independent.
///
/// Edge cases: a maximum length of 0 gives one empty hypothesis (score 0) without
/// calling the scorer for that sentence; a sentence whose every continuation is
/// −∞/NaN and that has nothing finished is finished as it is.
public struct BeamSearch: Sendable {
    /// k: live hypotheses kept per sentence.
    public var beamSize: Int
    /// K ≤ k: finished hypotheses returned per sentence.
    public var nBest: Int
    /// Ranking of finished hypotheses (GNMT, α = 0 → raw log-prob).
    public var lengthPenalty: LengthPenalty
    /// Token fed at the first step.
    public var beginOfSentence: Int32
    /// Token that finishes a hypothesis.
    public var endOfSentence: Int32
    /// Repeated n-gram blocking (size 0: off).
    public var blocking = RepeatedNGramBlocking(size: 0)

    public init(beamSize: Int = 5, nBest: Int = 1, lengthPenalty: LengthPenalty = .none,
                beginOfSentence: Int32, endOfSentence: Int32,
                blocking: RepeatedNGramBlocking = RepeatedNGramBlocking(size: 0)) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.beginOfSentence = beginOfSentence
        self.endOfSentence = endOfSentence
        self.blocking = blocking
    }

    /// Decodes every sentence the scorer holds a row for.
    ///
    /// - Parameters:
    ///   - scorer: holds one row per sentence, in order (S sentences).
    ///   - maxOutputLengths: per sentence, the most output tokens (EOS not counted).
    /// - Returns: per sentence, up to K hypotheses in descending score order
    ///   (at least one).
    /// - Throws: `SearchError` for invalid settings; whatever `scorer.step` throws.
    public func search<Scorer: StepScorer>(_ scorer: inout Scorer, maxOutputLengths: [Int]) throws -> [[Hypothesis]] {
        let V = scorer.vocabularySize
        try validateSearch(beamSize: beamSize, nBest: nBest, lengthPenalty: lengthPenalty,
                           beginOfSentence: beginOfSentence, endOfSentence: endOfSentence,
                           vocabularySize: V, maxOutputLengths: maxOutputLengths)
        let sentenceCount = maxOutputLengths.count
        guard sentenceCount > 0 else { return [] }
        var state = BeamSearchState(search: self, maxOutputLengths: maxOutputLengths, vocabularySize: V)
        var feed = [Int32](repeating: beginOfSentence, count: state.rowNode.count)
        let capacityRows = max(1, sentenceCount * beamSize)
        let logProbabilities = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacityRows * V)  // [R, V]
        defer { logProbabilities.deallocate() }
        if !state.groups.isEmpty && state.initialParents.count != sentenceCount { scorer.select(rows: state.initialParents) }

        var t = 0  // tokens in every live hypothesis
        while !state.groups.isEmpty {
            let R = state.rowNode.count
            try scorer.step(tokens: feed,
                            logProbabilities: UnsafeMutableBufferPointer(rebasing: logProbabilities[0..<(R * V)]))
            state.beginStep()
            for g in state.groups { state.expand(g, logProbabilities: logProbabilities.baseAddress!, t: t) }
            state.endStep()
            t += 1
            if state.groups.isEmpty { break }
            scorer.select(rows: state.parents)
            feed.removeAll(keepingCapacity: true)
            for n in state.rowNode { feed.append(state.nodeToken[Int(n)]) }
        }
        return state.results()
    }
}

/// The working state of one `BeamSearch.search`: the token history tree, the live rows grouped
/// by sentence, the rows of the next step being built, and the finished hypotheses.
private struct BeamSearchState {
    let search: BeamSearch
    let maxOutputLengths: [Int]
    let V: Int
    var finished: [[FinishedHypothesis]]
    var finishOrder: [Int]
    /// History of live tokens as a tree: node i = (parent node, token); −1 = BOS.
    var nodeParent: [Int32] = [], nodeToken: [Int32] = []
    /// Current rows: grouped by sentence; per row its history node and log-prob.
    var groups: [SentenceRows] = []                    // [active sentences]
    var rowNode: [Int32] = [], rowLogP: [Float] = []   // [R]
    /// Sentences that start with a row (maximum length > 0), in order.
    var initialParents: [Int] = []
    var nextGroups: [SentenceRows] = [], nextNode: [Int32] = [], nextLogP: [Float] = []
    /// Per next row, the current row it continues.
    var parents: [Int] = []
    var heap: CandidateHeap
    var ranked: [Candidate] = []
    var scratchScores: [Float] = []

    init(search: BeamSearch, maxOutputLengths: [Int], vocabularySize: Int) {
        self.search = search
        self.maxOutputLengths = maxOutputLengths
        V = vocabularySize
        let sentenceCount = maxOutputLengths.count
        finished = [[FinishedHypothesis]](repeating: [], count: sentenceCount)
        finishOrder = [Int](repeating: 1, count: sentenceCount)
        heap = CandidateHeap(capacity: 2 * search.beamSize)
        for s in 0..<sentenceCount {
            if maxOutputLengths[s] == 0 {
                finished[s].append(FinishedHypothesis(
                    hypothesis: Hypothesis(tokens: [], score: 0, logProbability: 0, reachedEndOfSentence: false),
                    order: 0))
            } else {
                groups.append(SentenceRows(sentence: s, start: rowNode.count, count: 1))
                initialParents.append(s)
                rowNode.append(-1)
                rowLogP.append(0)
            }
        }
    }

    func tokens(upTo node: Int32) -> [Int32] {
        var out: [Int32] = []
        var n = node
        while n >= 0 { out.append(nodeToken[Int(n)]); n = nodeParent[Int(n)] }
        return out.reversed()
    }

    mutating func beginStep() {
        nextGroups.removeAll(keepingCapacity: true)
        nextNode.removeAll(keepingCapacity: true)
        nextLogP.removeAll(keepingCapacity: true)
        parents.removeAll(keepingCapacity: true)
    }

    /// The next rows become the current ones.
    mutating func endStep() {
        swap(&groups, &nextGroups)
        swap(&rowNode, &nextNode)
        swap(&rowLogP, &nextLogP)
    }

    /// Sentence `g` after step `t`: its best 2k continuations over [R, V] `logProbabilities`;
    /// EOS among the first k finishes a hypothesis, up to k others live on unless the sentence is done.
    mutating func expand(_ g: SentenceRows, logProbabilities: UnsafeMutablePointer<Float>, t: Int) {
        let s = g.sentence, k = search.beamSize
        heap.reset(size: min(2 * k, g.count * V))
        for b in 0..<g.count {
            if search.blocking.size > 0 {
                search.blocking.block(history: tokens(upTo: rowNode[g.start + b]), row: logProbabilities + (g.start + b) * V,
                                      vocabularySize: V)
            }
            heap.scan(row: UnsafePointer(logProbabilities) + (g.start + b) * V, count: V, base: rowLogP[g.start + b], beam: Int32(b))
        }
        heap.sortedCandidates(into: &ranked)
        let firstNew = nextNode.count
        for (rank, c) in ranked.enumerated() {
            let parentRow = g.start + Int(c.beam)
            if c.token == search.endOfSentence {
                guard rank < k else { continue }
                finished[s].append(FinishedHypothesis(
                    hypothesis: Hypothesis(
                        tokens: tokens(upTo: rowNode[parentRow]),
                        score: search.lengthPenalty.score(logProbability: c.score, length: t + 1),
                        logProbability: c.score, reachedEndOfSentence: true),
                    order: finishOrder[s]))
                finishOrder[s] += 1
            } else if nextNode.count - firstNew < k {
                nodeParent.append(rowNode[parentRow])
                nodeToken.append(c.token)
                nextNode.append(Int32(nodeToken.count - 1))
                nextLogP.append(c.score)
                parents.append(parentRow)
            }
        }
        if isDone(g, firstNew: firstNew, t: t) {
            nextNode.removeSubrange(firstNew...)
            nextLogP.removeSubrange(firstNew...)
            parents.removeSubrange(firstNew...)
        } else {
            nextGroups.append(SentenceRows(sentence: s, start: firstNew, count: nextNode.count - firstNew))
        }
    }

    /// Whether sentence `g` stops after step `t` (its live rows from `firstNew` on): nothing lives
    /// (finished as it is when nothing finished), the length limit (live rows finished), k
    /// finished, or K finished that no live row can beat.
    private mutating func isDone(_ g: SentenceRows, firstNew: Int, t: Int) -> Bool {
        let s = g.sentence, maxLength = maxOutputLengths[s], K = search.nBest
        if nextNode.count == firstNew {
            if finished[s].isEmpty {  // every continuation impossible: finish as it is
                for b in 0..<g.count {
                    finish(s, tokens: tokens(upTo: rowNode[g.start + b]), logP: rowLogP[g.start + b], length: t)
                }
            }
            return true
        } else if t + 1 >= maxLength {
            for r in firstNew..<nextNode.count {
                finish(s, tokens: tokens(upTo: nextNode[r]), logP: nextLogP[r], length: t + 1)
            }
            return true
        } else if finished[s].count >= search.beamSize {
            return true
        } else if finished[s].count >= K {
            scratchScores.removeAll(keepingCapacity: true)
            for f in finished[s] { scratchScores.append(f.hypothesis.score) }
            scratchScores.sort(by: >)
            let best = nextLogP[firstNew]
            let reachable = max(search.lengthPenalty.score(logProbability: best, length: t + 2),
                                search.lengthPenalty.score(logProbability: best, length: maxLength))
            return scratchScores[K - 1] >= reachable
        }
        return false
    }

    private mutating func finish(_ s: Int, tokens: [Int32], logP: Float, length: Int) {
        finished[s].append(FinishedHypothesis(
            hypothesis: Hypothesis(tokens: tokens, score: search.lengthPenalty.score(logProbability: logP, length: length),
                                   logProbability: logP, reachedEndOfSentence: false),
            order: finishOrder[s]))
        finishOrder[s] += 1
    }

    /// Per sentence, the best K finished hypotheses (ties: first finished first).
    func results() -> [[Hypothesis]] {
        finished.map { list in
            list.sorted { a, b in
                a.hypothesis.score > b.hypothesis.score
                    || (a.hypothesis.score == b.hypothesis.score && a.order < b.order)
            }.prefix(search.nBest).map(\.hypothesis)
        }
    }
}

/// Checks the settings shared by beam and greedy search.
func validateSearch(beamSize: Int, nBest: Int, lengthPenalty: LengthPenalty,
                    beginOfSentence: Int32, endOfSentence: Int32,
                    vocabularySize V: Int, maxOutputLengths: [Int]) throws(SearchError) {
    guard beamSize >= 1 else { throw .invalidBeamSize(beamSize) }
    guard nBest >= 1 && nBest <= beamSize else { throw .invalidNBest(nBest: nBest, beamSize: beamSize) }
    guard lengthPenalty.alpha.isFinite else { throw .invalidLengthPenalty(alpha: lengthPenalty.alpha) }
    guard beginOfSentence >= 0 && Int(beginOfSentence) < V else {
        throw .tokenOutOfVocabulary(role: "begin-of-sentence", token: beginOfSentence, vocabularySize: V)
    }
    guard endOfSentence >= 0 && Int(endOfSentence) < V else {
        throw .tokenOutOfVocabulary(role: "end-of-sentence", token: endOfSentence, vocabularySize: V)
    }
    for (s, l) in maxOutputLengths.enumerated() where l < 0 {
        throw .negativeMaxLength(sentence: s, length: l)
    }
}

/// The rows of one active sentence: `start ..< start + count`.
struct SentenceRows {
    var sentence: Int
    var start: Int
    var count: Int
}

struct FinishedHypothesis {
    var hypothesis: Hypothesis
    /// Finish order inside the sentence (breaks score ties deterministically).
    var order: Int
}

/// A (row, token) expansion with its cumulative log-probability.
struct Candidate {
    var score: Float
    var token: Int32
    var beam: Int32
}

/// Fixed-size min-heap keeping the best `size` candidates seen; the root is the
/// worst kept one. "Better" = higher score, then lower token, then lower beam.
struct CandidateHeap {
    private var score: [Float], token: [Int32], beam: [Int32]
    private(set) var size = 0

    init(capacity: Int) {
        score = Array(repeating: -.infinity, count: max(1, capacity))
        token = Array(repeating: .max, count: max(1, capacity))
        beam = Array(repeating: .max, count: max(1, capacity))
    }

    /// Empties the heap to `size` sentinel slots (score −∞, token/beam Int32.max).
    mutating func reset(size m: Int) {
        if m > score.count {
            score = Array(repeating: -.infinity, count: m)
            token = Array(repeating: .max, count: m)
            beam = Array(repeating: .max, count: m)
        }
        size = m
        for i in 0..<m { score[i] = -.infinity; token[i] = .max; beam[i] = .max }
    }

    /// Offers `base + row[v]` for v = 0..<count as candidates (token v, `beam`).
    mutating func scan(row: UnsafePointer<Float>, count: Int, base: Float, beam b: Int32) {
        let m = size
        guard m > 0 else { return }
        score.withUnsafeMutableBufferPointer { sp in
            token.withUnsafeMutableBufferPointer { tp in
                beam.withUnsafeMutableBufferPointer { bp in
                    let s = sp.baseAddress!, t = tp.baseAddress!, bb = bp.baseAddress!
                    var worst = s[0]
                    let raw = UnsafeRawPointer(row)
                    let baseLanes = SIMD16<Float>(repeating: base)
                    var v = 0
                    while v < count {
                        // Skip 16 tokens at a time when none of them reaches the worst kept score
                        // (the same `base + row[v] >= worst` test as below, lane by lane).
                        if v & 15 == 0 && v + 16 <= count {
                            let x16 = baseLanes + raw.loadUnaligned(fromByteOffset: 4 * v, as: SIMD16<Float>.self)
                            if !any(x16 .>= SIMD16<Float>(repeating: worst)) { v += 16; continue }
                        }
                        defer { v += 1 }
                        let x = base + row[v]
                        if !(x >= worst) { continue }          // also skips NaN
                        if x == -.infinity { continue }        // impossible token
                        let tv = Int32(truncatingIfNeeded: v)
                        if x == worst && !(tv < t[0] || (tv == t[0] && b < bb[0])) { continue }
                        // replace the root, sift down
                        var i = 0
                        while true {
                            let l = 2 * i + 1
                            if l >= m { break }
                            var c = l
                            let r = l + 1
                            if r < m && Self.worse(s[r], t[r], bb[r], than: s[l], t[l], bb[l]) { c = r }
                            if Self.worse(s[c], t[c], bb[c], than: x, tv, b) {
                                s[i] = s[c]; t[i] = t[c]; bb[i] = bb[c]
                                i = c
                            } else {
                                break
                            }
                        }
                        s[i] = x; t[i] = tv; bb[i] = b
                        worst = s[0]
                    }
                }
            }
        }
    }

    @inline(__always)
    static func worse(_ s1: Float, _ t1: Int32, _ b1: Int32, than s2: Float, _ t2: Int32, _ b2: Int32) -> Bool {
        if s1 != s2 { return s1 < s2 }
        if t1 != t2 { return t1 > t2 }
        return b1 > b2
    }

    /// The kept candidates, best first (sentinels left out).
    func sortedCandidates(into out: inout [Candidate]) {
        out.removeAll(keepingCapacity: true)
        for i in 0..<size where token[i] != .max || beam[i] != .max {
            out.append(Candidate(score: score[i], token: token[i], beam: beam[i]))
        }
        out.sort { a, b in Self.worse(b.score, b.token, b.beam, than: a.score, a.token, a.beam) }
    }
}
