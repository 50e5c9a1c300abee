import Foundation
import Testing
import Seq2Seq   // not @testable: the article shows the public API only

/// The calls of the DocC article "Getting started: train and translate from Swift"
/// (Sources/Seq2Seq/Seq2Seq.docc/GettingStarted.md), on the bundled corpus with a tiny model
/// and a step limit instead of a time budget, so that the article keeps compiling and working.
@Suite struct GettingStartedTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("getting-started-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func trainAndTranslateFromSwift() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = TrainingSessionOptions(trainPath: Self.packageRoot + "/Corpora/everyday.tsv")
        options.reverse = true
        options.architecture = ModelArchitecture(cell: .lstm, encoder: .bi, attention: .general, inputFeeding: false)
        options.reverseSourceOrder = false
        options.maxSteps = 12
        options.embeddingSize = 32
        options.hiddenSize = 32
        options.threads = 1
        options.outputPath = folder + "/model-ko-en"
        options.force = true
        var lines: [String] = []
        let outcome = try TrainingSession(options: options, log: { lines.append($0) }).run()
        #expect(outcome == .stepLimit)
        #expect(!lines.isEmpty, "the session reports its progress through log")

        var decoding = TranslationOptions()
        decoding.beamSize = 5
        let (translator, manifest) = try ModelDirectory(path: folder + "/model-ko-en").loadTranslator(options: decoding)
        #expect(manifest.reverse && manifest.architecture?.attention == .general)
        let translations = try translator.translate(["안녕하세요.", "고맙습니다."])
        #expect(translations.map(\.source) == ["안녕하세요.", "고맙습니다."])
        #expect(translations.allSatisfy { $0.score.isFinite && $0.score <= 0 })
    }

    @Test func trainALanguageModelAndSample() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let input = folder + "/input.txt"
        try Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40).utf8).write(to: URL(fileURLWithPath: input))
        var lm = LanguageModelSessionOptions(trainPath: input)
        lm.units = .char
        lm.maxSteps = 5
        lm.hiddenSize = 32
        lm.streams = 4
        lm.chunkLength = 20
        lm.threads = 1
        lm.outputPath = folder + "/lm"
        lm.force = true
        #expect(try LanguageModelSession(options: lm, log: { _ in }).run() == .stepLimit)

        let (model, units, _) = try LanguageModelDirectory(path: folder + "/lm").load()
        let text = try Sampler(model: model, units: units)
            .sample(prime: "The ", options: SamplingOptions(temperature: 0.8, length: 200))
        #expect(text.hasPrefix("The "))
        #expect(text.count == 204, "the prime and 200 drawn characters")
    }
}
