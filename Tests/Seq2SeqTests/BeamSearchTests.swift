import Foundation
import Testing
@testable import Seq2Seq

// Beam and greedy search against a stub scorer whose next-token distributions
// are hand-made tables keyed by (sentence, prefix), so every hypothesis, score
// and stopping decision can be predicted by hand.

private let PAD: Int32 = 0, BOS: Int32 = 1, EOS: Int32 = 2, A: Int32 = 3, B: Int32 = 4, C: Int32 = 5
private let V = 6

/// Log-probabilities over V tokens: the listed probabilities; tokens not listed
/// share whatever mass is left (−∞ if none is left).
private func dist(_ p: [Int32: Double]) -> [Float] {
    let rest = max(0, 1 - p.values.reduce(0, +))
    let others = V - p.count
    return (0..<V).map { v in
        let q = p[Int32(v)] ?? (rest > 1e-12 && others > 0 ? rest / Double(others) : 0)
        return q > 0 ? Float(log(q)) : -.infinity
    }
}

/// Stub decoder: each row remembers its sentence and every token fed to it.
private struct TableScorer: StepScorer {
    let vocabularySize: Int
    let table: (_ sentence: Int, _ prefix: [Int32]) -> [Float]
    var rows: [(sentence: Int, fed: [Int32])]
    var rowCounts: [Int] = []        // rows per step call
    var selectCalls: [[Int]] = []
    var violations: [String] = []    // protocol misuse seen by the stub

    init(sentences: [Int], vocabularySize: Int = V, table: @escaping (Int, [Int32]) -> [Float]) {
        self.vocabularySize = vocabularySize
        self.table = table
        self.rows = sentences.map { ($0, []) }
    }

    mutating func select(rows parents: [Int]) {
        selectCalls.append(parents)
        if parents.contains(where: { $0 < 0 || $0 >= rows.count }) { violations.append("bad parent \(parents)") }
        rows = parents.map { rows[$0] }
    }

    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        if tokens.count != rows.count { violations.append("\(tokens.count) tokens for \(rows.count) rows") }
        if logProbabilities.count != rows.count * vocabularySize { violations.append("buffer size") }
        rowCounts.append(rows.count)
        for r in rows.indices {
            let token = tokens[r]
            if rows[r].fed.isEmpty != (token == BOS) { violations.append("BOS misplaced: \(rows[r].fed) + \(token)") }
            if token == EOS { violations.append("EOS fed after \(rows[r].fed)") }
            rows[r].fed.append(token)
            let lp = table(rows[r].sentence, Array(rows[r].fed.dropFirst()))
            for v in 0..<vocabularySize { logProbabilities[r * vocabularySize + v] = lp[v] }
        }
    }
}

private func lp(_ ps: Double...) -> Float { ps.reduce(Float(0)) { $0 + Float(log($1)) } }

private func gnmt(_ length: Int, _ alpha: Double) -> Float { Float(pow((5 + Double(length)) / 6, alpha)) }

private func expectClose(_ a: Float, _ b: Float, _ what: String = "",
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(abs(a - b) <= 1e-5, "\(what): \(a) vs \(b)", sourceLocation: sourceLocation)
}

// MARK: - Hand-made tables

@Test func beamFindsABetterPathThanGreedy() throws {
    // [] : a .5, b .4, EOS .05, c .05     [a]: EOS .3, a .25, b .25, c .2     [b]: EOS .9, a .05, b .05
    // Greedy: a (.5), then EOS (.3) -> [a], P = .15.
    // Beam k=2: step 0 keeps a, b (EOS ranks 3rd ≥ k: dropped). Step 1 ranks b·EOS .36, a·EOS .15,
    // a·a .125, a·b .125 -> two finished = k -> stop. Best [b] with P = .36.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        switch prefix {
        case []: return dist([A: 0.5, B: 0.4, EOS: 0.05, C: 0.05])
        case [A]: return dist([EOS: 0.3, A: 0.25, B: 0.25, C: 0.2])
        case [B]: return dist([EOS: 0.9, A: 0.05, B: 0.05])
        default: return dist([EOS: 1])
        }
    }
    var g = TableScorer(sentences: [0], table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&g, maxOutputLengths: [10])
    #expect(greedy[0].tokens == [A])
    expectClose(greedy[0].logProbability, lp(0.5, 0.3))

    var s = TableScorer(sentences: [0], table: table)
    let beam = try BeamSearch(beamSize: 2, nBest: 2, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&s, maxOutputLengths: [10])
    #expect(beam[0].map(\.tokens) == [[B], [A]])
    expectClose(beam[0][0].logProbability, lp(0.4, 0.9))
    expectClose(beam[0][0].score, lp(0.4, 0.9), "α = 0 -> score = log P")
    expectClose(beam[0][1].logProbability, lp(0.5, 0.3))
    #expect(beam[0].allSatisfy { $0.reachedEndOfSentence })
    #expect(s.rowCounts == [1, 2])
    #expect(s.violations.isEmpty && g.violations.isEmpty, "\(s.violations) \(g.violations)")
}

@Test func eosFinishesHypothesesAndIsNeverFed() throws {
    // [] : EOS .6, a .4 (others impossible)     [a]: EOS .5, b .5     [a b]: EOS 1
    // k=2, K=2: step 0: EOS -> finished [] (|Y| = 1), a live (only one live row).
    // Step 1: a·EOS and a·b tie at .2; the lower token id (EOS = 2 < b = 4) ranks first
    // -> finished [a]; a·b live; 2 finished = k -> stop. [a b] is never scored.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        switch prefix {
        case []: return dist([EOS: 0.6, A: 0.4])
        case [A]: return dist([EOS: 0.5, B: 0.5])
        default: return dist([EOS: 1])
        }
    }
    var s = TableScorer(sentences: [0], table: table)
    let out = try BeamSearch(beamSize: 2, nBest: 2, lengthPenalty: LengthPenalty(alpha: 1),
                             beginOfSentence: BOS, endOfSentence: EOS).search(&s, maxOutputLengths: [10])
    #expect(out[0].map(\.tokens) == [[], [A]])
    #expect(out[0].allSatisfy { $0.reachedEndOfSentence })
    // |Y| counts EOS: lp(1) = 1, lp(2) = 7/6 at α = 1.
    expectClose(out[0][0].score, lp(0.6) / gnmt(1, 1))
    expectClose(out[0][1].score, lp(0.4, 0.5) / gnmt(2, 1))
    #expect(s.rowCounts == [1, 1])
    #expect(s.rows.allSatisfy { !$0.fed.contains(EOS) })
    #expect(s.violations.isEmpty, "\(s.violations)")
}

@Test func eosRankedBelowTheBeamIsDropped() throws {
    // [] : a .5, b .3, EOS .2   [a]: EOS .9, c .1   [b]: EOS .5, c .5
    // k = 2: at step 0 EOS ranks 3rd (≥ k), so [] is NOT finished although P([]) = .2.
    // Step 1 ranks a·EOS .45, then b·EOS and b·c tie at .15 (EOS = 2 < c = 5 first) -> both
    // EOS candidates are in the first k ranks -> finished [a], [b]; 2 = k -> stop.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        switch prefix {
        case []: return dist([A: 0.5, B: 0.3, EOS: 0.2])
        case [A]: return dist([EOS: 0.9, C: 0.1])
        case [B]: return dist([EOS: 0.5, C: 0.5])
        default: return dist([EOS: 1])
        }
    }
    var s = TableScorer(sentences: [0], table: table)
    let out = try BeamSearch(beamSize: 2, nBest: 2, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&s, maxOutputLengths: [10])
    #expect(out[0].map(\.tokens) == [[A], [B]])
    expectClose(out[0][1].logProbability, lp(0.3, 0.5))
    #expect(s.rowCounts == [1, 2])
}

@Test func nBestListIsOrderedWithExactScores() throws {
    // [] : a .5, b .3, c .15, EOS .05   [a]: EOS .6, a .2, b .1, c .1   [b]: EOS .9, a .05, b .05   [c]: EOS 1
    // k=3: step 0 keeps a, b, c. Step 1 ranks a·EOS .3, b·EOS .27, c·EOS .15 (all within the first
    // k ranks -> finished), then a·a .1 ... -> 3 finished = k -> stop.
    // α = 0.5, |Y| = 2: score = log P / (7/6)^0.5.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        switch prefix {
        case []: return dist([A: 0.5, B: 0.3, C: 0.15, EOS: 0.05])
        case [A]: return dist([EOS: 0.6, A: 0.2, B: 0.1, C: 0.1])
        case [B]: return dist([EOS: 0.9, A: 0.05, B: 0.05])
        case [C]: return dist([EOS: 1])
        default: return dist([EOS: 1])
        }
    }
    for nBest in 1...3 {
        var s = TableScorer(sentences: [0], table: table)
        let out = try BeamSearch(beamSize: 3, nBest: nBest, lengthPenalty: LengthPenalty(alpha: 0.5),
                                 beginOfSentence: BOS, endOfSentence: EOS).search(&s, maxOutputLengths: [5])
        let expected: [([Int32], Float)] = [([A], lp(0.5, 0.6)), ([B], lp(0.3, 0.9)), ([C], lp(0.15, 1))]
        #expect(out[0].count == nBest)
        for (h, (tokens, logP)) in zip(out[0], expected.prefix(nBest)) {
            #expect(h.tokens == tokens)
            expectClose(h.logProbability, logP)
            expectClose(h.score, logP / gnmt(2, 0.5))
        }
        #expect(zip(out[0], out[0].dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(s.violations.isEmpty, "\(s.violations)")
    }
}

@Test func lengthPenaltyChangesTheWinner() throws {
    // [] : EOS .5, a .45, b .05    [a]: b .98, EOS .01, c .01    [a b]: c .98, EOS .01, a .01
    // [a b c]: EOS .98, a .02      anything else: uniform over a, b, c (never EOS).
    // A = []      : log .5 = -0.6931, |Y| = 1, lp = 1 for every α.
    // B = [a b c] : log(.45 · .98³) = -0.8591, |Y| = 4, lp = (9/6)^α.
    // α = 0: after step 0, A is finished and the best live (a: log .45 = -0.7985) cannot beat it
    //        -> stop after one step, A wins.
    // α = 1: the best reachable score of a is -0.7985 / lp(10) = -0.319 > -0.693, so the search
    //        goes on; B finishes at step 3 with -0.8591 / 1.5 = -0.5728 > -0.6931 -> B wins.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        switch prefix {
        case []: return dist([EOS: 0.5, A: 0.45, B: 0.05])
        case [A]: return dist([B: 0.98, EOS: 0.01, C: 0.01])
        case [A, B]: return dist([C: 0.98, EOS: 0.01, A: 0.01])
        case [A, B, C]: return dist([EOS: 0.98, A: 0.02])
        default: return dist([A: 1.0 / 3, B: 1.0 / 3, C: 1.0 / 3])
        }
    }
    var s0 = TableScorer(sentences: [0], table: table)
    let noPenalty = try BeamSearch(beamSize: 2, nBest: 1, lengthPenalty: .none,
                                   beginOfSentence: BOS, endOfSentence: EOS).search(&s0, maxOutputLengths: [10])
    #expect(noPenalty[0].map(\.tokens) == [[]])
    expectClose(noPenalty[0][0].score, lp(0.5))
    #expect(s0.rowCounts == [1], "α = 0 must stop after the first step")

    var s1 = TableScorer(sentences: [0], table: table)
    let penalty = try BeamSearch(beamSize: 2, nBest: 2, lengthPenalty: LengthPenalty(alpha: 1),
                                 beginOfSentence: BOS, endOfSentence: EOS).search(&s1, maxOutputLengths: [10])
    #expect(penalty[0].map(\.tokens) == [[A, B, C], []])
    expectClose(penalty[0][0].logProbability, lp(0.45, 0.98, 0.98, 0.98))
    expectClose(penalty[0][0].score, lp(0.45, 0.98, 0.98, 0.98) / 1.5)
    expectClose(penalty[0][1].score, lp(0.5))
    #expect(s1.rowCounts == [1, 2, 2, 2])
    #expect(s0.violations.isEmpty && s1.violations.isEmpty)
}

@Test func stopsWhenTheNthBestCannotBeBeaten() throws {
    // [] : EOS .6, a .3, b .1; then a/b continue with EOS .5, a .5.
    // K = 1: [] (log .6) beats the best live a (log .3) at α = 0 -> one step.
    // K = 2: the second-best finished must also be safe: step 1 finishes a·EOS (.15) and
    // b·EOS (.05) -> 3 finished ≥ k = 2 -> stop after two steps; the n-best is [], [a].
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        prefix.isEmpty ? dist([EOS: 0.6, A: 0.3, B: 0.1]) : dist([EOS: 0.5, A: 0.5])
    }
    var s1 = TableScorer(sentences: [0], table: table)
    let one = try BeamSearch(beamSize: 2, nBest: 1, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&s1, maxOutputLengths: [10])
    #expect(one[0].map(\.tokens) == [[]])
    #expect(s1.rowCounts == [1])
    var s2 = TableScorer(sentences: [0], table: table)
    let two = try BeamSearch(beamSize: 2, nBest: 2, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&s2, maxOutputLengths: [10])
    #expect(two[0].map(\.tokens) == [[], [A]])
    expectClose(two[0][1].logProbability, lp(0.3, 0.5))
    #expect(s2.rowCounts == [1, 2])
}

@Test func maximumLengthFinishesHypothesesAsTheyAre() throws {
    // Every prefix: a .9, EOS .1. Max length 2, k = 2, K = 2:
    // step 0: a live, EOS (rank 1 < k) -> [] finished (.1). Step 1: a·a .81 live, a·EOS .09 finished;
    // a·a has 2 tokens = max length -> finished without EOS, |Y| = 2. Scores at α = 1:
    // [a a] log .81 / (7/6) = -0.181, [a] log .09 / (7/6) = -2.064, [] log .1 / 1 = -2.303
    // -> the 2-best is [a a], [a] (the penalty puts [a] ahead of the more probable []).
    // A max length of 0 gives an empty hypothesis and never reaches the scorer.
    let table: (Int, [Int32]) -> [Float] = { _, _ in dist([A: 0.9, EOS: 0.1]) }
    var s = TableScorer(sentences: [0, 1], table: table)
    let out = try BeamSearch(beamSize: 2, nBest: 2, lengthPenalty: LengthPenalty(alpha: 1),
                             beginOfSentence: BOS, endOfSentence: EOS).search(&s, maxOutputLengths: [0, 2])
    #expect(out[0] == [Hypothesis(tokens: [], score: 0, logProbability: 0, reachedEndOfSentence: false)])
    #expect(out[1].map(\.tokens) == [[A, A], [A]])
    #expect(out[1].map(\.reachedEndOfSentence) == [false, true])
    expectClose(out[1][0].score, lp(0.9, 0.9) / gnmt(2, 1))
    expectClose(out[1][1].score, lp(0.9, 0.1) / gnmt(2, 1))
    #expect(s.selectCalls.first == [1], "sentence 0 needs no step: dropped before the first step")
    #expect(s.rowCounts == [1, 1])
    #expect(s.rows.allSatisfy { $0.fed.count <= 2 })

    var g = TableScorer(sentences: [0, 1], table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&g, maxOutputLengths: [0, 2])
    #expect(greedy[0].tokens.isEmpty && greedy[0].score == 0)
    #expect(greedy[1].tokens == [A, A] && !greedy[1].reachedEndOfSentence)
    expectClose(greedy[1].logProbability, lp(0.9, 0.9))
    #expect(g.rowCounts == [1, 1])
    #expect(s.violations.isEmpty && g.violations.isEmpty)
}

@Test func greedyDropsFinishedRows() throws {
    // Sentence 0 ends at once (EOS .9); sentence 1 says a, a, then EOS.
    let table: (Int, [Int32]) -> [Float] = { sentence, prefix in
        if sentence == 0 { return dist([EOS: 0.9, A: 0.1]) }
        return prefix.count < 2 ? dist([A: 0.8, EOS: 0.2]) : dist([EOS: 0.7, A: 0.3])
    }
    var g = TableScorer(sentences: [0, 1], table: table)
    let out = try GreedySearch(lengthPenalty: LengthPenalty(alpha: 0.6), beginOfSentence: BOS, endOfSentence: EOS)
        .search(&g, maxOutputLengths: [5, 5])
    #expect(out.map(\.tokens) == [[], [A, A]])
    expectClose(out[1].logProbability, lp(0.8, 0.8, 0.7))
    expectClose(out[1].score, lp(0.8, 0.8, 0.7) / gnmt(3, 0.6))
    #expect(g.rowCounts == [2, 1, 1])
    #expect(g.selectCalls == [[1], [0]])
    #expect(g.violations.isEmpty)
}

// MARK: - Pseudo-random tables: batching invariance and beam(1) == greedy

/// SplitMix64 over (sentence, prefix): a deterministic distribution per prefix,
/// with EOS growing likelier as the prefix gets longer.
private func randomTable(vocabularySize: Int) -> (Int, [Int32]) -> [Float] {
    return { sentence, prefix in
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(sentence + 1)
        for t in prefix { h = (h ^ UInt64(t)) &* 0xBF58_476D_1CE4_E5B9; h ^= h >> 31 }
        var logits = [Double](repeating: 0, count: vocabularySize)
        for v in 0..<vocabularySize {
            h &+= 0x9E37_79B9_7F4A_7C15
            var z = h
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            logits[v] = Double(z >> 11) / Double(1 << 53) * 4 - 2
        }
        logits[Int(EOS)] += 0.6 * Double(prefix.count) - 1
        logits[Int(BOS)] = -.infinity
        let m = logits.max()!
        let logZ = m + log(logits.reduce(0) { $0 + exp($1 - m) })
        return logits.map { Float($0 - logZ) }
    }
}

@Test func batchedSearchEqualsOneSentenceAtATime() throws {
    let vocabularySize = 9
    let table = randomTable(vocabularySize: vocabularySize)
    let maxLengths = [1, 3, 5, 8, 0, 12, 8]
    let search = BeamSearch(beamSize: 3, nBest: 3, lengthPenalty: LengthPenalty(alpha: 0.7),
                            beginOfSentence: BOS, endOfSentence: EOS)
    var all = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let batched = try search.search(&all, maxOutputLengths: maxLengths)
    #expect(all.violations.isEmpty, "\(all.violations)")
    #expect(batched.count == maxLengths.count)
    var sawLong = false
    for (s, maxLength) in maxLengths.enumerated() {
        var one = TableScorer(sentences: [s], vocabularySize: vocabularySize, table: table)
        let alone = try search.search(&one, maxOutputLengths: [maxLength])
        #expect(alone[0] == batched[s], "sentence \(s) depends on its batch")
        #expect(batched[s].allSatisfy { $0.tokens.count <= maxLength })
        #expect(zip(batched[s], batched[s].dropFirst()).allSatisfy { $0.score >= $1.score })
        sawLong = sawLong || batched[s].contains { $0.tokens.count >= 3 }
    }
    #expect(sawLong, "the tables should produce some multi-token outputs")
    // A different batch order gives the same per-sentence results.
    let order = [5, 2, 6, 0, 3, 1, 4]
    var shuffled = TableScorer(sentences: order, vocabularySize: vocabularySize, table: table)
    let reordered = try search.search(&shuffled, maxOutputLengths: order.map { maxLengths[$0] })
    for (i, s) in order.enumerated() { #expect(reordered[i] == batched[s]) }

    // Greedy too.
    let greedy = GreedySearch(lengthPenalty: LengthPenalty(alpha: 0.7), beginOfSentence: BOS, endOfSentence: EOS)
    var g = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let greedyBatched = try greedy.search(&g, maxOutputLengths: maxLengths)
    for (s, maxLength) in maxLengths.enumerated() {
        var one = TableScorer(sentences: [s], vocabularySize: vocabularySize, table: table)
        #expect(try greedy.search(&one, maxOutputLengths: [maxLength])[0] == greedyBatched[s])
    }
}

@Test(arguments: [Float(0), 0.6, 1.2])
func beamOfOneEqualsGreedy(alpha: Float) throws {
    let vocabularySize = 11
    let table = randomTable(vocabularySize: vocabularySize)
    let maxLengths = [2, 4, 6, 9, 15, 15, 1, 7]
    var b = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let beam = try BeamSearch(beamSize: 1, nBest: 1, lengthPenalty: LengthPenalty(alpha: alpha),
                              beginOfSentence: BOS, endOfSentence: EOS).search(&b, maxOutputLengths: maxLengths)
    var g = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let greedy = try GreedySearch(lengthPenalty: LengthPenalty(alpha: alpha), beginOfSentence: BOS, endOfSentence: EOS)
        .search(&g, maxOutputLengths: maxLengths)
    #expect(beam.map { $0.count } == Array(repeating: 1, count: maxLengths.count))
    #expect(beam.map { $0[0] } == greedy)
    #expect(b.rowCounts == g.rowCounts)
    #expect(greedy.contains { $0.reachedEndOfSentence } && greedy.contains { !$0.reachedEndOfSentence })
}

@Test func wideBeamNeverScoresBelowGreedyAtAlphaZero() throws {
    // With α = 0 and no early cut-off by max length, a wider beam can only find an equal or
    // more probable finished hypothesis on these tables than greedy.
    let vocabularySize = 8
    let table = randomTable(vocabularySize: vocabularySize)
    let maxLengths = Array(repeating: 30, count: 6)
    var g = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&g, maxOutputLengths: maxLengths)
    var b = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: vocabularySize, table: table)
    let beam = try BeamSearch(beamSize: 6, nBest: 1, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&b, maxOutputLengths: maxLengths)
    for s in maxLengths.indices {
        #expect(greedy[s].reachedEndOfSentence)
        #expect(beam[s][0].score >= greedy[s].score - 1e-6, "sentence \(s)")
    }
}

// MARK: - Pieces and errors

/// Scans `rows` random rows (ties, −∞ and NaN mixed in, each row with its own base
/// log-prob) into a `CandidateHeap` keeping `m`, and expects exactly the first `m`
/// of a full sort (score descending, then lower token, then lower row).
func expectHeapMatchesFullSort(rows: Int, width: Int, m: Int, heapCapacity: Int,
                               values: [Float], bases: [Float], trial: Int,
                               sourceLocation: SourceLocation = #_sourceLocation) {
    var heap = CandidateHeap(capacity: heapCapacity)
    heap.reset(size: min(m, rows * width))
    values.withUnsafeBufferPointer { p in
        for r in 0..<rows {
            heap.scan(row: p.baseAddress! + r * width, count: width, base: bases[r], beam: Int32(r))
        }
    }
    var got: [Candidate] = []
    heap.sortedCandidates(into: &got)
    var all: [Candidate] = []
    for r in 0..<rows {
        for v in 0..<width {
            let x = bases[r] + values[r * width + v]
            if x.isNaN || x == -.infinity { continue }
            all.append(Candidate(score: x, token: Int32(v), beam: Int32(r)))
        }
    }
    all.sort { ($0.score, -$0.token, -$0.beam) > ($1.score, -$1.token, -$1.beam) }
    let want = Array(all.prefix(m))
    #expect(got.map(\.score) == want.map(\.score) && got.map(\.token) == want.map(\.token)
            && got.map(\.beam) == want.map(\.beam), "trial \(trial)", sourceLocation: sourceLocation)
}

@Test func candidateHeapKeepsTheBestInOrder() {
    // Partial top-m against a full sort, with ties, −∞ and NaN in the rows.
    var rng: UInt64 = 42
    func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
    for trial in 0..<50 {
        let rows = 1 + trial % 4, width = 3 + trial % 17, m = 1 + trial % 9
        var values = [Float](repeating: 0, count: rows * width)
        for i in values.indices {
            switch next() % 10 {
            case 0: values[i] = -.infinity
            case 1: values[i] = .nan
            default: values[i] = -Float(next() % 6) / 2   // many ties
            }
        }
        let bases = (0..<rows).map { _ in -Float(next() % 3) }
        expectHeapMatchesFullSort(rows: rows, width: width, m: m, heapCapacity: 2,
                                  values: values, bases: bases, trial: trial)
    }
}

@Test func invalidSettingsThrowSearchErrors() {
    let table: (Int, [Int32]) -> [Float] = { _, _ in dist([EOS: 1]) }
    func run(_ search: BeamSearch, _ lengths: [Int] = [3]) throws {
        var s = TableScorer(sentences: Array(lengths.indices), table: table)
        _ = try search.search(&s, maxOutputLengths: lengths)
    }
    #expect(throws: SearchError.invalidBeamSize(0)) {
        try run(BeamSearch(beamSize: 0, beginOfSentence: BOS, endOfSentence: EOS))
    }
    #expect(throws: SearchError.invalidNBest(nBest: 3, beamSize: 2)) {
        try run(BeamSearch(beamSize: 2, nBest: 3, beginOfSentence: BOS, endOfSentence: EOS))
    }
    #expect(throws: SearchError.negativeMaxLength(sentence: 1, length: -1)) {
        try run(BeamSearch(beginOfSentence: BOS, endOfSentence: EOS), [2, -1])
    }
    #expect(throws: SearchError.tokenOutOfVocabulary(role: "end-of-sentence", token: 6, vocabularySize: 6)) {
        try run(BeamSearch(beginOfSentence: BOS, endOfSentence: 6))
    }
    #expect(throws: SearchError.invalidLengthPenalty(alpha: .infinity)) {
        try run(BeamSearch(lengthPenalty: LengthPenalty(alpha: .infinity), beginOfSentence: BOS, endOfSentence: EOS))
    }
    // An empty batch is fine and never calls the scorer.
    var s = TableScorer(sentences: [], table: table)
    #expect((try? BeamSearch(beginOfSentence: BOS, endOfSentence: EOS).search(&s, maxOutputLengths: [])) == [])
    #expect(s.rowCounts.isEmpty)
}

@Test func impossibleContinuationsFinishAsTheyAre() throws {
    // After "a" every token is impossible (−∞ or NaN): the hypothesis ends as it is.
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        prefix.isEmpty ? dist([A: 1]) : [Float](repeating: -.infinity, count: V - 1) + [.nan]
    }
    var s = TableScorer(sentences: [0], table: table)
    let beam = try BeamSearch(beamSize: 3, nBest: 2, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&s, maxOutputLengths: [5])
    #expect(beam[0].map(\.tokens) == [[A]] && !beam[0][0].reachedEndOfSentence)
    var g = TableScorer(sentences: [0], table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&g, maxOutputLengths: [5])
    #expect(greedy[0] == beam[0][0])
}

// MARK: - Wide vocabularies (the 16-lane skip in the candidate scans)

@Test func candidateHeapOnWideRowsMatchesFullSort() {
    // Rows of 40–103 tokens: whole 16-token chunks are skipped when they cannot enter the heap;
    // the result must still equal a full sort (ties, −∞, NaN, and a tail shorter than 16).
    var rng: UInt64 = 7
    func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
    for trial in 0..<40 {
        let rows = 1 + trial % 5, width = 40 + Int(next() % 64), m = 1 + trial % 10
        var values = [Float](repeating: 0, count: rows * width)
        for i in values.indices {
            switch next() % 12 {
            case 0: values[i] = -.infinity
            case 1: values[i] = .nan
            default: values[i] = -Float(next() % 40) / 4   // ties
            }
        }
        let bases = (0..<rows).map { _ in -Float(next() % 3) }
        expectHeapMatchesFullSort(rows: rows, width: width, m: m, heapCapacity: 1,
                                  values: values, bases: bases, trial: trial)
    }
}

@Test func greedyOnAWideVocabularyTakesTheFirstMaximum() throws {
    // V = 75: the argmax skips 16-token chunks; every choice must be the lowest-id maximum of
    // the row, which the tables make ambiguous by rounding to a coarse grid.
    let V = 75
    let exact = randomTable(vocabularySize: V)
    let table: (Int, [Int32]) -> [Float] = { s, prefix in exact(s, prefix).map { ($0 * 2).rounded() / 2 } }
    let maxLengths = [3, 9, 14, 20, 6]
    var g = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: V, table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&g, maxOutputLengths: maxLengths)
    #expect(g.violations.isEmpty, "\(g.violations)")
    for (s, hypothesis) in greedy.enumerated() {
        var prefix: [Int32] = []
        let chosen = hypothesis.tokens + (hypothesis.reachedEndOfSentence ? [EOS] : [])
        for token in chosen {
            let row = table(s, prefix)
            // Greedy compares cumulative log-probabilities; on this grid they are exact, so the
            // first maximum of the row is the expected choice.
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            #expect(token == Int32(best), "sentence \(s) after \(prefix)")
            prefix.append(token)
        }
    }
    // And beam 1 agrees on the same wide tables.
    var b = TableScorer(sentences: Array(maxLengths.indices), vocabularySize: V, table: table)
    let beam = try BeamSearch(beamSize: 1, nBest: 1, beginOfSentence: BOS, endOfSentence: EOS)
        .search(&b, maxOutputLengths: maxLengths)
    #expect(beam.map { $0[0].tokens } == greedy.map(\.tokens))
}

// MARK: - Repeated n-gram blocking

/// A scorer that always prefers to repeat: after any prefix, "a b a b …" (a .6, b .3), so an
/// unblocked search loops; with blocking no n-gram may occur twice in any hypothesis.
@Test(arguments: [1, 2, 3])
func noRepeatedNGramIsEverEmitted(n: Int) throws {
    let table: (Int, [Int32]) -> [Float] = { _, prefix in
        prefix.count >= 12 ? dist([EOS: 1])
            : (prefix.last == A ? dist([B: 0.6, A: 0.3, C: 0.05, EOS: 0.05]) : dist([A: 0.6, B: 0.3, C: 0.05, EOS: 0.05]))
    }
    func repeated(_ tokens: [Int32]) -> Bool {
        guard tokens.count >= n else { return false }
        var seen = Set<[Int32]>()
        for i in 0...(tokens.count - n) where !seen.insert(Array(tokens[i..<i + n])).inserted { return true }
        return false
    }
    var free = TableScorer(sentences: [0], table: table)
    let unblocked = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS).search(&free, maxOutputLengths: [12])
    #expect(repeated(unblocked[0].tokens), "the table really produces repeats without blocking")
    let blocking = RepeatedNGramBlocking(size: n)
    var g = TableScorer(sentences: [0], table: table)
    let greedy = try GreedySearch(beginOfSentence: BOS, endOfSentence: EOS, blocking: blocking).search(&g, maxOutputLengths: [12])
    #expect(!repeated(greedy[0].tokens), "greedy \(greedy[0].tokens)")
    var s = TableScorer(sentences: [0, 1], table: table)
    let beams = try BeamSearch(beamSize: 3, nBest: 3, beginOfSentence: BOS, endOfSentence: EOS, blocking: blocking)
        .search(&s, maxOutputLengths: [12, 7])
    for hypothesis in beams.flatMap({ $0 }) { #expect(!repeated(hypothesis.tokens), "beam \(hypothesis.tokens)") }
    #expect(g.violations.isEmpty && s.violations.isEmpty)
}
