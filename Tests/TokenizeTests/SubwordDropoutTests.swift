import Testing
@testable import Tokenize

struct SubwordDropoutTests {
    @Test func zeroDropoutIsTheDeterministicSegmentation() throws {
        let tokenizer = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 1000, minimumFrequency: 2))
            .tokenizer(for: .source)
        var random = SplitMix(seed: 7)
        for text in tinyPairs().map(\.source) + hardCases {
            #expect(tokenizer.encode(text, subwordDropout: 0, using: &random) == tokenizer.encode(text))
        }
    }

    @Test func dropoutVariesThePiecesButNeverTheText() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 1000, minimumFrequency: 2))
        let tokenizer = try vocabulary.tokenizer(for: .source)
        var random = SplitMix(seed: 11)
        var segmentations = Set<[Int32]>()
        for _ in 0..<50 {
            let ids = tokenizer.encode("We drink green tea every day.", subwordDropout: 0.3, using: &random)
            #expect(ids.allSatisfy { $0 >= 0 && Int($0) < vocabulary.source.count && !SubwordModel.isSpecial($0) })
            #expect(tokenizer.decode(ids) == "We drink green tea every day.")
            segmentations.insert(ids)
        }
        #expect(segmentations.count > 5)
        let deterministic = tokenizer.encode("We drink green tea every day.")
        #expect(segmentations.allSatisfy { $0.count >= deterministic.count })
        for text in hardCases {
            #expect(tokenizer.decode(tokenizer.encode(text, subwordDropout: 0.5, using: &random)) == tokenizer.normalize(text))
        }
        let korean = try vocabulary.tokenizer(for: .target)
        #expect(korean.decode(korean.encode("녹차를 좋아해요", subwordDropout: 0.5, using: &random)) == "녹차를 좋아해요")
    }

    @Test func fullDropoutLeavesCharactersAndTheSeedFixesTheDraw() throws {
        let tokenizer = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 1000, minimumFrequency: 2))
            .tokenizer(for: .source)
        var random = SplitMix(seed: 3)
        #expect(tokenizer.tokenize("tea") == ["▁tea"])
        #expect(tokenizer.encode("tea", subwordDropout: 1, using: &random).map { tokenizer.model.tokens[Int($0)] }
                == ["▁", "t", "e", "a"])
        var first = SplitMix(seed: 5), second = SplitMix(seed: 5)
        let text = "She likes coffee. The dog sleeps too."
        #expect(tokenizer.encode(text, subwordDropout: 0.2, using: &first)
                == tokenizer.encode(text, subwordDropout: 0.2, using: &second))
    }
}
