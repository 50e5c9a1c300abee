import Foundation
import Testing
@testable import Tokenize

struct RoundTripTests {
    /// Learned on the hard cases too, so pieces start with combining marks, ZWJ and skin tones.
    static let vocabulary: VocabularyPair? = try? VocabularyPair.learn(
        pairs: tinyPairs() + hardCases.map { (source: $0, target: $0) },
        options: VocabularyOptions(size: 500, minimumFrequency: 1))

    @Test(arguments: hardCases)
    func hardCasesRoundTrip(text: String) throws {
        let vocabulary = try #require(RoundTripTests.vocabulary)
        for side in TextSide.allCases {
            let tokenizer = try vocabulary.tokenizer(for: side)
            let expected = tokenizer.normalize(text)
            let ids = tokenizer.encode(text)
            #expect(tokenizer.decode(ids) == expected)
            #expect(tokenizer.detokenize(tokenizer.tokenize(text)) == expected)
            #expect(!ids.contains(SubwordModel.unknownId))
            // The CLI's text format: pieces joined by spaces, split again.
            #expect(Detokenizer.detokenize(line: tokenizer.tokenize(text).joined(separator: " ")) == expected)
            // Encoding twice (second time from the word cache) gives the same ids.
            #expect(tokenizer.encode(text) == ids)
        }
    }

    @Test(arguments: NormalizationForm.allCases)
    func hardCasesRoundTripUnderEveryNormalization(form: NormalizationForm) throws {
        let vocabulary = try VocabularyPair.learn(pairs: tinyPairs(), options: VocabularyOptions(size: 400, normalization: form))
        let tokenizer = try vocabulary.tokenizer(for: .source)
        let normalizer = try Normalizer(form: form)
        for text in hardCases {
            #expect(tokenizer.decode(tokenizer.encode(text)) == normalizer.normalize(text), "\(text)")
        }
    }

    @Test func decodeSkipsSpecialAndUnknownIds() throws {
        let vocabulary = try #require(RoundTripTests.vocabulary)
        let tokenizer = try vocabulary.tokenizer(for: .source)
        let ids = tokenizer.encode("I like tea.")
        let decorated = [SubwordModel.beginId] + ids + [SubwordModel.endId, SubwordModel.padId, 99_999, -5]
        #expect(tokenizer.decode(decorated) == "I like tea.")
    }

    @Test func megabyteLineIsFastAndExact() throws {
        let vocabulary = try #require(RoundTripTests.vocabulary)
        let tokenizer = try vocabulary.tokenizer(for: .target)
        var generator = SplitMix(seed: 3)
        let alphabet = Array("가나다라 abc 😀漢.,")
        let line = String((0..<300_000).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        let noSpaces = String(repeating: "x가", count: 200_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(tokenizer.decode(tokenizer.encode(line)) == tokenizer.normalize(line))
            #expect(tokenizer.decode(tokenizer.encode(noSpaces)) == noSpaces)
        }
        #expect(elapsed < .seconds(5), "took \(elapsed)")
    }

    /// Every line of the shared corpora, both sides, with a vocabulary learned on a subset.
    @Test(.enabled(if: sharedCorporaFolder() != nil, "../shared/corpora is not beside the package"))
    func sharedCorporaRoundTrip() throws {
        let folder = try #require(sharedCorporaFolder())
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted().flatMap { name in
            ["train.tsv", "dev.tsv"].map { "\(folder)/\(name)/\($0)" }
        }.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(!files.isEmpty)
        var learningPairs: [SentencePair] = []
        var corpora: [(String, [SentencePair])] = []
        for file in files {
            let pairs = try TSVCorpus.read(path: file).pairs
            corpora.append((file, pairs))
            learningPairs += pairs.prefix(1500)
        }
        let vocabulary = try VocabularyPair.learn(corpus: learningPairs, options: VocabularyOptions(size: 4000))
        let source = try vocabulary.tokenizer(for: .source)
        let target = try vocabulary.tokenizer(for: .target)
        var checked = 0
        for (file, pairs) in corpora {
            var failures = 0
            for pair in pairs {
                for (tokenizer, text) in [(source, pair.source), (target, pair.target)] {
                    let ids = tokenizer.encode(text)
                    if tokenizer.decode(ids) != tokenizer.normalize(text) || ids.contains(SubwordModel.unknownId) {
                        failures += 1
                        if failures <= 3 { Issue.record("\(file):\(pair.line): round trip failed for \(text.debugDescription)") }
                    }
                    checked += 1
                }
            }
            #expect(failures == 0, "\(file): \(failures) lines failed")
        }
        print("note: round trip checked on \(checked) corpus lines")
    }
}
