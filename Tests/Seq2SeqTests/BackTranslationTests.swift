import Foundation
import Testing
@testable import Seq2Seq
import Tokenize

// Back-translation: sampling search, Edunov et al.'s noise, `BackTranslation` on a trained
// model, and `train --synthetic` (tagged pairs mixed into each epoch).

private let EOS = SubwordModel.endId, X: Int32 = 4, Y: Int32 = 5
private let V = 6

/// Every row, every step: the same next-token log-probabilities; reserved tokens get the
/// largest ones, which sampling must never draw.
private struct FixedScorer: StepScorer {
    let row: [Float]
    var vocabularySize: Int { row.count }
    var rows: Int
    var fed: [[Int32]]

    init(row: [Float], rows: Int) {
        self.row = row
        self.rows = rows
        fed = Array(repeating: [], count: rows)
    }

    mutating func select(rows parents: [Int]) {
        fed = parents.map { fed[$0] }
        rows = parents.count
    }

    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        for r in 0..<rows {
            fed[r].append(tokens[r])
            for v in 0..<V { logProbabilities[r * V + v] = row[v] }
        }
    }
}

/// p(pad) = p(unk) = p(<s>) = 0.3 (excluded), then </s> 0.01, X 0.06, Y 0.03 (renormalized: 0.1, 0.6, 0.3).
private let table: [Float] = [0.3, 0.3, 0.3, 0.01, 0.06, 0.03].map { Float(log($0)) }

/// First-token frequencies of `count` one-token samples (each sentence its own seed).
private func firstTokenShares(_ sampling: TranslationSampling, count: Int = 6000) throws -> [Int32: Double] {
    var scorer = FixedScorer(row: table, rows: count)
    let search = SamplingSearch(sampling: sampling, beginOfSentence: SubwordModel.beginId, endOfSentence: EOS)
    let results = try search.search(&scorer, maxOutputLengths: Array(repeating: 1, count: count),
                                    seeds: (0..<count).map { UInt64($0) &* 7919 &+ sampling.seed })
    var shares: [Int32: Double] = [:]
    for hypothesis in results {
        let token = hypothesis.reachedEndOfSentence ? EOS : hypothesis.tokens[0]
        shares[token, default: 0] += 1 / Double(count)
    }
    return shares
}

@Suite struct SamplingSearchTests {
    @Test func drawsTheModelsDistributionAndNeverAReservedToken() throws {
        let shares = try firstTokenShares(TranslationSampling(temperature: 1))
        #expect(Set(shares.keys).isSubset(of: [EOS, X, Y]), "drew a reserved token: \(shares)")
        // 6000 draws: a share's standard deviation is at most 0.0065; allow 4 of them.
        for (token, p) in [(EOS, 0.1), (X, 0.6), (Y, 0.3)] {
            #expect(abs((shares[token] ?? 0) - p) < 0.026, "token \(token): \(shares[token] ?? 0) vs \(p)")
        }
    }

    @Test func temperatureSharpensAndTopKCuts() throws {
        // T = 0.5: p ∝ p² → 0.01, 0.36, 0.09 of 0.46.
        let sharp = try firstTokenShares(TranslationSampling(temperature: 0.5))
        for (token, p) in [(EOS, 0.01 / 0.46), (X, 0.36 / 0.46), (Y, 0.09 / 0.46)] {
            #expect(abs((sharp[token] ?? 0) - p) < 0.026, "token \(token): \(sharp[token] ?? 0) vs \(p)")
        }
        let top2 = try firstTokenShares(TranslationSampling(temperature: 1, topK: 2))
        #expect(top2[EOS] == nil, "top-2 sampling drew the third most probable token")
        #expect(abs((top2[X] ?? 0) - 2.0 / 3) < 0.026)
        #expect(Set(try firstTokenShares(TranslationSampling(temperature: 0), count: 50).keys) == [X], "T = 0 is the argmax")
    }

    @Test func scoresAreTheModelsLogProbabilitiesAndSeedsAreIndependentOfTheBatch() throws {
        let search = SamplingSearch(sampling: TranslationSampling(temperature: 2, seed: 3), beginOfSentence: SubwordModel.beginId,
                                    endOfSentence: EOS)
        var batch = FixedScorer(row: table, rows: 3)
        let together = try search.search(&batch, maxOutputLengths: [8, 8, 8], seeds: [11, 12, 13])
        var alone = FixedScorer(row: table, rows: 1)
        let single = try search.search(&alone, maxOutputLengths: [8], seeds: [12])
        #expect(single[0] == together[1], "a sentence's sample depends on its seed only")
        for hypothesis in together {
            var expected: Float = hypothesis.tokens.reduce(0) { $0 + table[Int($1)] }
            if hypothesis.reachedEndOfSentence { expected += table[Int(EOS)] }
            #expect(abs(hypothesis.logProbability - expected) < 1e-4, "untempered log-probability")
        }
        var bad = FixedScorer(row: table, rows: 1)
        #expect(throws: SearchError.seedCount(seeds: 2, sentences: 1)) {
            try search.search(&bad, maxOutputLengths: [3], seeds: [1, 2])
        }
        let hot = SamplingSearch(sampling: TranslationSampling(temperature: .nan), beginOfSentence: SubwordModel.beginId,
                                 endOfSentence: EOS)
        #expect(throws: SearchError.self) { try hot.search(&bad, maxOutputLengths: [3], seeds: [1]) }
    }

    @Test func categoricalDrawSkipsNonFiniteScores() {
        let draw = CategoricalDraw(capacity: 4)
        var random = RandomGenerator(seed: 5)
        let z: [Float] = [.nan, -.infinity, 0, .nan]
        for _ in 0..<50 { #expect(draw.draw(z, count: 4, temperature: 1, topK: nil, random: &random) == 2) }
        #expect(draw.draw([Float.nan, -.infinity], count: 2, temperature: 1, topK: nil, random: &random) == nil)
    }
}

@Suite struct BackTranslationNoiseTests {
    private let sentence = (1...40).map { "w\($0)" }.joined(separator: " ")

    @Test func deletesAndBlanksTheirShareOfWords() {
        var random = RandomGenerator(seed: 1)
        var deleted = 0, blanked = 0, total = 0
        let noise = BackTranslationNoise(deleteProbability: 0.1, blankProbability: 0.2)
        for _ in 0..<200 {
            let words = noise.apply(to: sentence, using: &random).split(separator: " ")
            total += 40
            blanked += words.filter { $0 == "<blank>" }.count
            deleted += 40 - words.count
            #expect(words.filter { $0 != "<blank>" }.map { Int($0.dropFirst())! } == words.filter { $0 != "<blank>" }.map { Int($0.dropFirst())! }.sorted(),
                    "without shuffling the kept words stay in order")
        }
        #expect(abs(Double(deleted) / Double(total) - 0.1) < 0.02)
        #expect(abs(Double(blanked) / Double(total) - 0.2) < 0.02)
    }

    @Test func shuffleMovesNoWordFartherThanK() {
        var random = RandomGenerator(seed: 2)
        var moved = 0
        for k in [1, 3] {
            for _ in 0..<100 {
                let words = BackTranslationNoise(shuffleDistance: k).apply(to: sentence, using: &random).split(separator: " ")
                #expect(words.count == 40)
                for (position, word) in words.enumerated() {
                    let original = Int(word.dropFirst())! - 1
                    #expect(abs(original - position) <= k, "w\(original + 1) moved from \(original) to \(position) with k = \(k)")
                    if original != position { moved += 1 }
                }
            }
        }
        #expect(moved > 1000, "the shuffle hardly moved anything")
    }

    @Test func neverEmptiesASentenceAndIsDeterministic() {
        var random = RandomGenerator(seed: 3)
        #expect(BackTranslationNoise(deleteProbability: 0.999999).apply(to: "one two three", using: &random) == "one")
        #expect(BackTranslationNoise().apply(to: "as  it is", using: &random) == "as  it is")
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        #expect(BackTranslationNoise.edunov2018.apply(to: sentence, using: &a) == BackTranslationNoise.edunov2018.apply(to: sentence, using: &b))
    }
}

@Suite struct BackTranslationTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backtranslation-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A small ko→en model (trained with --reverse on the bundled english<TAB>korean corpus).
    static func trainReverseModel(in folder: String) throws -> String {
        var options = TrainingSessionOptions(trainPath: packageRoot + "/Corpora/everyday.tsv")
        options.reverse = true
        options.architecture = ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: false)
        options.reverseSourceOrder = false
        options.maxSteps = 10
        options.embeddingSize = 24
        options.hiddenSize = 24
        options.threads = 1
        options.outputPath = folder + "/ko-en"
        options.force = true
        _ = try TrainingSession(options: options, log: { _ in }).run()
        return options.outputPath
    }

    /// Runs `job` over `lines` with `workers` copies of the model; returns the output lines.
    static func backTranslate(_ lines: [String], model: String, options: TranslationOptions, job: BackTranslation,
                              workers: Int, folder: String) throws -> (lines: [String], summary: BackTranslationSummary) {
        let input = folder + "/mono-\(UUID().uuidString).txt", output = input + ".tsv"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: input))
        let translators = try (0..<workers).map { _ in try ModelDirectory(path: model).loadTranslator(options: options).0 }
        let inputFD = open(input, O_RDONLY), outputFD = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(inputFD) }
        let summary = try job.run(translators: translators, input: LineReader(fileDescriptor: inputFD),
                                  output: LineWriter(fileDescriptor: outputFD, name: output))
        close(outputFD)
        let text = try String(contentsOfFile: output, encoding: .utf8)
        return (text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init), summary)
    }

    @Test func writesPairsInTheReverseModelsColumnOrderTheSameForAnyWorkerCount() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try Self.trainReverseModel(in: folder)
        let korean = ["안녕하세요.", "", "고맙습니다.", "  ", "오늘은\t날씨가 좋아요.", "사과를 좋아해요."]
        var options = TranslationOptions()
        options.sampling = TranslationSampling(temperature: 1, seed: 4)
        var job = BackTranslation()
        job.modelReadsSecondColumn = true      // trained with --reverse: reads Korean, column 2
        job.noise = .edunov2018
        job.batchSize = 2
        let one = try Self.backTranslate(korean, model: model, options: options, job: job, workers: 1, folder: folder)
        let two = try Self.backTranslate(korean, model: model, options: options, job: job, workers: 2, folder: folder)
        #expect(one.lines == two.lines, "the pairs depend on the seed, not on the workers")
        #expect(one.summary.linesRead == 6 && one.summary.emptyLines == 2)
        #expect(one.summary.pairsWritten + one.summary.emptyTranslations == 4)
        let columns = one.lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(columns.allSatisfy { $0.count == 2 }, "one tab per pair: \(one.lines)")
        let monolingual = columns.map { String($0[1]) }
        #expect(Set(monolingual).isSubset(of: ["안녕하세요.", "고맙습니다.", "오늘은 날씨가 좋아요.", "사과를 좋아해요."]),
                "the Korean line goes in column 2, its tab turned into a space: \(monolingual)")
        var other = options
        other.sampling?.seed = 5
        let reseeded = try Self.backTranslate(korean, model: model, options: other, job: job, workers: 1, folder: folder)
        #expect(reseeded.lines != one.lines, "another seed draws other translations")
    }

    @Test func trainMixesTaggedSyntheticPairsAndResumeChecksTheFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let synthetic = folder + "/synthetic.tsv"
        let pairs = (1...40).map { "synthetic sentence \($0)\t합성 문장 \($0)" }
        try Data((pairs.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: synthetic))
        var options = TrainingSessionOptions(trainPath: Self.packageRoot + "/Corpora/everyday.tsv")
        options.synthetic = SyntheticSettings(path: synthetic, ratio: 0.01)
        options.maxSteps = 3
        options.embeddingSize = 16
        options.hiddenSize = 16
        options.threads = 1
        options.outputPath = folder + "/en-ko"
        options.force = true
        var lines: [String] = []
        #expect(try TrainingSession(options: options, log: { lines.append($0) }).run() == .stepLimit)
        #expect(lines.contains("synthetic: 40 pairs from \(synthetic), sources tagged"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("synthetic: 15 of them per epoch beside ") }, "⌈0.01 × 1416 real pairs⌉ = 15: \(lines)")
        var resumed = options
        resumed.resume = true
        resumed.force = false
        resumed.maxSteps = 4
        resumed.synthetic = nil
        #expect(throws: ResumeError.self) { try TrainingSession(options: resumed, log: { _ in }).run() }
        resumed.synthetic = options.synthetic
        #expect(try TrainingSession(options: resumed, log: { _ in }).run() == .stepLimit)
    }
}

@Suite struct SyntheticPairsTests {
    private func pairs(_ count: Int, ratio: Double) -> SyntheticPairs {
        let examples = (0..<count).map { TrainingSession.Example(source: [Int32(300 + $0)], target: [Int32(400 + $0)]) }
        return SyntheticPairs(settings: SyntheticSettings(path: "s.tsv", ratio: ratio), examples: examples, texts: [], seed: 7)
    }

    @Test func eachEpochDrawsItsShareAnew() {
        let mix = pairs(100, ratio: 0.5)
        #expect(mix.countPerEpoch(realCount: 30) == 15)
        #expect(mix.countPerEpoch(realCount: 1000) == 100, "all of them when there are fewer")
        let first = mix.epochExamples(epoch: 0, realCount: 30, dropout: nil).map(\.source)
        #expect(first.count == 15 && Set(first).count == 15)
        #expect(first == mix.epochExamples(epoch: 0, realCount: 30, dropout: nil).map(\.source), "a function of (seed, epoch)")
        #expect(first != mix.epochExamples(epoch: 1, realCount: 30, dropout: nil).map(\.source), "another epoch, other pairs")
    }

    @Test func theTagStartsTheTextInEitherEncoderOrder() {
        #expect(SyntheticPairs.tagged([7, 8], sourceOrderReversed: false) == [SubwordModel.beginId, 7, 8])
        #expect(SyntheticPairs.tagged([8, 7], sourceOrderReversed: true) == [8, 7, SubwordModel.beginId])
    }
}
