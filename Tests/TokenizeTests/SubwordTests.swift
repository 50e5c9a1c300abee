import Foundation
import Testing
@testable import Tokenize

struct SubwordTests {
    @Test func specialAndByteTokensComeFirst() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 400, minimumFrequency: 1))
        let tokens = vocabulary.source.tokens
        #expect(Array(tokens.prefix(4)) == ["<pad>", "<unk>", "<s>", "</s>"])
        #expect(tokens[4] == "<0x00>" && tokens[4 + 0xE2] == "<0xE2>" && tokens[259] == "<0xFF>")
        #expect(tokens[260] == "▁")
        #expect(Set(tokens).count == tokens.count)
        #expect(tokens.count <= 400)
    }

    @Test func mergesBuildFrequentWords() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 1000, minimumFrequency: 2))
        let tokenizer = try vocabulary.tokenizer(for: .source)
        // "tea" occurs 9 times with a space before: it must be one piece.
        #expect(tokenizer.tokenize("tea") == ["▁tea"])
        let korean = try vocabulary.tokenizer(for: .target)
        #expect(korean.tokenize("좋아해요") == ["▁좋아해요"])
    }

    @Test func unseenCharactersUseByteFallbackNotUnknown() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 400))
        let tokenizer = try vocabulary.tokenizer(for: .source)
        let text = "Ω 猫 🦀"
        let ids = tokenizer.encode(text)
        #expect(!ids.contains(SubwordModel.unknownId))
        let pieces = tokenizer.tokenize("🦀")
        #expect(pieces == ["▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x80>"])
        #expect(tokenizer.decode(ids) == text)
    }

    @Test func literalMarkCharacterIsEscapedAsBytes() throws {
        let vocabulary = try VocabularyPair.learn(pairs: [(source: "a ▁ b ▁▁", target: "x")] + tinyPairs(),
                                                  options: VocabularyOptions(size: 400, minimumFrequency: 1))
        let tokenizer = try vocabulary.tokenizer(for: .source)
        #expect(tokenizer.tokenize("▁") == ["▁", "<0xE2>", "<0x96>", "<0x81>"])
        #expect(tokenizer.decode(tokenizer.encode("x▁y ▁")) == "x▁y ▁")
    }

    @Test func characterModeHasNoMerges() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 8000, characterLevel: true))
        #expect(vocabulary.source.merges.isEmpty)
        let tokenizer = try vocabulary.tokenizer(for: .target)
        #expect(tokenizer.tokenize("차를 마셔요") == ["▁", "차", "를", "▁", "마", "셔", "요"])
        #expect(tokenizer.decode(tokenizer.encode("차를 마셔요")) == "차를 마셔요")
    }

    @Test func jointVocabularyIsShared() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 600, joint: true))
        #expect(vocabulary.source == vocabulary.target)
        #expect(vocabulary.source.tokens.contains("차"))
        #expect(vocabulary.source.tokens.contains("e"))
    }

    @Test func learnFromParallelArraysEqualsLearnFromPairs() throws {
        let pairs = tinyPairs()
        let options = VocabularyOptions(size: 400)
        let fromArrays = try VocabularyPair.learn(sources: pairs.map(\.source), targets: pairs.map(\.target), options: options)
        #expect(fromArrays == (try VocabularyPair.learn(pairs: pairs, options: options)))
        #expect(fromArrays.source != fromArrays.target)
    }

    @Test func sizeLimitIsRespectedAndTooSmallThrows() throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 300, minimumFrequency: 1))
        #expect(vocabulary.source.count == 300)
        #expect(throws: TokenizeError.vocabularySizeTooSmall(requested: 100, minimum: 262)) {
            try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 100))
        }
        #expect(throws: TokenizeError.emptyTrainingText(side: "source")) {
            try VocabularyPair.learn(pairs: [(source: "  ", target: "x")], options: VocabularyOptions(size: 400))
        }
    }

    @Test func learningIsDeterministicByteForByte() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var pairs = tinyPairs()
        pairs += hardCases.map { (source: $0, target: $0) }
        let options = VocabularyOptions(size: 700, minimumFrequency: 1)
        try VocabularyPair.learn(pairs: pairs, options: options).save(to: folder + "/a/v")
        try VocabularyPair.learn(pairs: pairs, options: options).save(to: folder + "/b/v")
        for suffix in ["meta", "source.vocab", "source.merges", "target.vocab", "target.merges"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: folder + "/a/v." + suffix))
            let b = try Data(contentsOf: URL(fileURLWithPath: folder + "/b/v." + suffix))
            #expect(a == b, "\(suffix) differs")
            #expect(!a.isEmpty)
        }
    }

    @Test func saveLoadKeepsModelAndIdentity() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let learned = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 500, normalization: .nfc))
        try learned.save(to: folder + "/sub/v")
        let loaded = try VocabularyPair.load(from: folder + "/sub/v")
        #expect(loaded == learned)
        #expect(try VocabularyPair.load(from: folder + "/sub/v.meta") == learned)
        #expect(loaded.identity == learned.identity)
        #expect(loaded.normalization == .nfc)
        #expect(loaded.identity.hasPrefix("fnv1a64:") && loaded.identity.count == 24)
        let other = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 501, normalization: .nfc))
        #expect(other.identity != learned.identity)
        let text = "I like tea 비가 와요"
        #expect(try loaded.tokenizer(for: .target).encode(text) == learned.tokenizer(for: .target).encode(text))
    }

    @Test func loadReportsMissingAndCorruptFiles() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: TokenizeError.vocabularyNotFound(prefix: folder + "/none")) {
            try VocabularyPair.load(from: folder + "/none")
        }
        try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 400)).save(to: folder + "/v")
        try "<pad>\n<unk>\n".write(toFile: folder + "/v.source.vocab", atomically: true, encoding: .utf8)
        #expect(throws: TokenizeError.self) { try VocabularyPair.load(from: folder + "/v") }
    }

    /// The byte-keyed loading (`TokenTable`) refuses what the String-keyed one refused: a learned
    /// token listed twice, a merge line naming an unknown token or with a stray space; and it
    /// keeps canonically equivalent spellings apart (they are different byte strings).
    @Test func loadRefusesDuplicateTokensAndBadMerges() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let learned = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 400))
        try learned.save(to: folder + "/v")
        let vocabPath = folder + "/v.source.vocab", mergesPath = folder + "/v.source.merges"
        let vocab = try String(contentsOfFile: vocabPath, encoding: .utf8)
        let merges = try String(contentsOfFile: mergesPath, encoding: .utf8)
        let tokens = vocab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let last = try #require(tokens.dropLast().last)
        func expectRefused(vocab v: String, merges m: String, _ why: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try v.write(toFile: vocabPath, atomically: true, encoding: .utf8)
            try m.write(toFile: mergesPath, atomically: true, encoding: .utf8)
            #expect(throws: TokenizeError.self, Comment(rawValue: why), sourceLocation: sourceLocation) { try VocabularyPair.load(from: folder + "/v") }
        }
        try expectRefused(vocab: vocab + last + "\n", merges: merges, "a token listed twice")
        try expectRefused(vocab: vocab, merges: merges + "qqq zzz\n", "unknown merge tokens")
        let firstMerge = try #require(merges.split(separator: "\n").dropFirst().first)
        try expectRefused(vocab: vocab, merges: merges + firstMerge + " \n", "a stray space")
        // "e" + U+0301 and "é" are canonically equivalent, different bytes: both may be tokens.
        let spelled = vocab + "e\u{0301}\n" + "\u{00E9}\n"
        try spelled.write(toFile: vocabPath, atomically: true, encoding: .utf8)
        try merges.write(toFile: mergesPath, atomically: true, encoding: .utf8)
        let loaded = try VocabularyPair.load(from: folder + "/v")
        #expect(loaded.source.count == learned.source.count + 2)
    }

    @Test func learningThirtyThousandPairsTakesSeconds() throws {
        // Synthetic corpus: 30k pairs built from a 2k-word lexicon.
        var generator = SplitMix(seed: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let syllables = Array("가나다라마바사아자차카타파하는을를이가에서요다")
        let english = (0..<2000).map { _ in String((0..<(3 + Int(generator.next() % 6))).map { _ in letters[Int(generator.next() % 26)] }) }
        let korean = (0..<2000).map { _ in String((0..<(2 + Int(generator.next() % 4))).map { _ in syllables[Int(generator.next() % UInt64(syllables.count))] }) }
        var pairs: [(source: String, target: String)] = []
        for _ in 0..<30_000 {
            let n = 4 + Int(generator.next() % 10)
            pairs.append(((0..<n).map { _ in english[Int(generator.next() % 2000)] }.joined(separator: " "),
                          (0..<n).map { _ in korean[Int(generator.next() % 2000)] }.joined(separator: " ")))
        }
        let clock = ContinuousClock()
        var vocabulary: VocabularyPair?
        let elapsed = try clock.measure { vocabulary = try VocabularyPair.learn(pairs: pairs, options: VocabularyOptions(size: 4000)) }
        #expect(elapsed < .seconds(15), "learning took \(elapsed)")
        #expect(vocabulary?.source.count == 4000)
    }
}

/// Small deterministic random generator for test data (also a `RandomNumberGenerator`).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct ReservedTextTests {
    @Test func piecesNeverLookLikeSpecialOrByteTokens() throws {
        // Force the learner towards "<s>" and "<0x41>" by repeating them glued to letters
        // (ICU splits "<" and ">" off, so build the pieces from words it keeps whole).
        #expect(SubwordModel.isReservedText("<s>") && SubwordModel.isReservedText("<0x41>"))
        #expect(!SubwordModel.isReservedText("<0x4G>") && !SubwordModel.isReservedText("s>"))
        let pairs = Array(repeating: (source: "<s> <0x41> </s> <pad>", target: "x"), count: 50)
        let vocabulary = try VocabularyPair.learn(pairs: pairs, options: VocabularyOptions(size: 400, minimumFrequency: 1))
        let learned = vocabulary.source.tokens.dropFirst(SubwordModel.reservedCount)
        #expect(!learned.contains { SubwordModel.isReservedText($0) })
        let tokenizer = try vocabulary.tokenizer(for: .source)
        let text = "<s> <0x41> </s> <pad>"
        #expect(Detokenizer.detokenize(line: tokenizer.tokenize(text).joined(separator: " ")) == text)
    }

    @Test func spaceBeforeCombiningMarkIsNotPartOfAWord() throws {
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .none))
        let words = splitter.split("a \u{301}b x \u{200D}y 👍 🏿")
        #expect(words.allSatisfy { !$0.text.unicodeScalars.contains(" ") })
        #expect(words.map(\.description).first == "▁a")
        let pairs = Array(repeating: (source: "a \u{301}b ¨ 👍 🏿", target: "x"), count: 5)
        let vocabulary = try VocabularyPair.learn(pairs: pairs, options: VocabularyOptions(size: 400, minimumFrequency: 1))
        #expect(!vocabulary.source.tokens.contains { $0.contains(" ") || $0.unicodeScalars.contains(" ") })
        let tokenizer = try vocabulary.tokenizer(for: .source)
        for text in ["a \u{301}b", "x ¨ y", "👍 🏿", "\u{301}start"] {
            let pieces = tokenizer.tokenize(text)
            #expect(pieces.allSatisfy { !$0.unicodeScalars.contains(" ") })
            #expect(Detokenizer.detokenize(line: pieces.joined(separator: " ")) == tokenizer.normalize(text))
            #expect(tokenizer.decode(tokenizer.encode(text)) == tokenizer.normalize(text))
        }
    }
}
