import Testing
@testable import Tokenize

/// The incremental learner against a naive BPE that recounts every pair
/// before each merge (slow, obviously correct), with the same tie-breaking.
struct LearnerReferenceTests {
    static func naiveMerges(learner: SubwordLearner, alphabet: SubwordModel, size: Int, minimumFrequency: Int)
        -> (tokens: [String], merges: [(left: Int32, right: Int32)]) {
        var tokens = alphabet.tokens
        var ids: [String: Int32] = [:]
        for (i, t) in tokens.enumerated() where i >= Int(SubwordModel.markId) { ids[t] = Int32(i) }
        let types = learner.wordCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var words: [[Int32]] = types.map { key in
            var symbols: [Int32] = key[0] == 1 ? [SubwordModel.markId] : []
            for s in String(decoding: key[1...], as: UTF16.self).unicodeScalars {
                symbols.append(s.value == 0x2581 || s.value == 0x20 ? -1 : (ids[String(s)] ?? -1))
            }
            return symbols
        }
        let frequency = types.map { learner.wordCounts[$0]! }
        var merges: [(left: Int32, right: Int32)] = []
        var banned = Set<[Int32]>()
        while tokens.count < size {
            var counts: [[Int32]: Int] = [:]
            for (w, symbols) in words.enumerated() where symbols.count > 1 {
                for k in 0..<(symbols.count - 1) where symbols[k] >= 0 && symbols[k + 1] >= 0 {
                    counts[[symbols[k], symbols[k + 1]], default: 0] += frequency[w]
                }
            }
            let candidates = counts.filter { !banned.contains($0.key) }
            guard let best = candidates.max(by: { a, b in
                a.value != b.value ? a.value < b.value : (a.key[0], a.key[1]) > (b.key[0], b.key[1])
            }), best.value >= minimumFrequency else { break }
            let (a, b) = (best.key[0], best.key[1])
            let text = tokens[Int(a)] + tokens[Int(b)]
            if SubwordModel.isReservedText(text) { banned.insert(best.key); continue }
            let result: Int32
            if let existing = ids[text] { result = existing } else {
                result = Int32(tokens.count); ids[text] = result; tokens.append(text)
            }
            merges.append((a, b))
            words = words.map { symbols in
                var out: [Int32] = []
                var k = 0
                while k < symbols.count {
                    if k + 1 < symbols.count && symbols[k] == a && symbols[k + 1] == b { out.append(result); k += 2 }
                    else { out.append(symbols[k]); k += 1 }
                }
                return out
            }
        }
        return (tokens, merges)
    }

    @Test(arguments: [(520, 1), (560, 2), (2000, 1)])
    func incrementalMatchesNaive(size: Int, minimumFrequency: Int) throws {
        var learner = try SubwordLearner(normalization: .nfkc)
        for pair in tinyPairs() { learner.add(line: pair.source); learner.add(line: pair.target) }
        for text in hardCases { learner.add(line: text) }
        learner.add(line: "aaaa aaaaa aaa abab ababab <s> <0x41>")   // overlapping pairs, reserved look-alikes
        let fast = try learner.learn(size: size, characterLevel: false, minimumFrequency: minimumFrequency, side: "test")
        let alphabet = try learner.learn(size: size, characterLevel: true, minimumFrequency: minimumFrequency, side: "test")
        let naive = LearnerReferenceTests.naiveMerges(learner: learner, alphabet: alphabet, size: size,
                                                      minimumFrequency: minimumFrequency)
        #expect(fast.tokens == naive.tokens)
        #expect(fast.merges.count == naive.merges.count)
        #expect(fast.merges.elementsEqual(naive.merges, by: { $0 == $1 }))
        #expect(fast.merges.count > 10)
    }

    @Test func encoderReproducesTrainingSegmentation() throws {
        // Every training word encodes to pieces whose texts are in the vocabulary and rebuild the word.
        var learner = try SubwordLearner(normalization: .nfkc)
        for pair in tinyPairs() { learner.add(line: pair.source) }
        let model = try learner.learn(size: 350, characterLevel: false, minimumFrequency: 1, side: "test")
        let tokenizer = try Tokenizer(model: model, normalization: .nfkc)
        for (key, _) in learner.wordCounts {
            let word = String(decoding: key[1...], as: UTF16.self)
            let pieces = tokenizer.tokenize(word)
            #expect(pieces.joined() == "▁" + word)
        }
    }
}
