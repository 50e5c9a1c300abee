import Foundation
import Testing
@testable import Seq2Seq

@Suite struct LanguageModelSessionTests {
    final class Folder {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("lm-session-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String, _ text: String) throws -> String {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
            return path + "/" + name
        }
    }

    static let text = (0..<12).map { "line \($0): the quick brown fox jumps over the lazy dog.\n" }.joined()

    static func options(_ folder: Folder, output: String, maxSteps: Int, resume: Bool = false) throws -> LanguageModelSessionOptions {
        var o = LanguageModelSessionOptions(trainPath: try folder.file("text.txt", text))
        o.outputPath = folder.path + "/" + output
        o.embeddingSize = 8; o.hiddenSize = 16; o.layerCount = 2; o.dropout = 0.1
        o.streams = 4; o.chunkLength = 20
        o.maxSteps = maxSteps; o.validateEvery = 3; o.threads = 1; o.resume = resume; o.seed = 5
        o.evaluationStreams = 2
        return o
    }

    static func run(_ o: LanguageModelSessionOptions) throws -> TrainingOutcome {
        try LanguageModelSession(options: o, log: { _ in }).run()
    }

    /// Stopping at step 3 (mid-epoch) and 8 (the end of the first epoch: 626 training units after
    /// the 2% dev tail, 4 streams of 156–157 steps, 8 chunks of ≤ 20) and resuming gives bit-identical weights, Adam moments and carried
    /// states to one uninterrupted run of 11 steps, dropout included.
    @Test func resumeIsBitExact() throws {
        let folder = try Folder()
        #expect(try Self.run(Self.options(folder, output: "straight", maxSteps: 11)) == .stepLimit)
        #expect(try Self.run(Self.options(folder, output: "pieces", maxSteps: 3)) == .stepLimit)
        #expect(try Self.run(Self.options(folder, output: "pieces", maxSteps: 8, resume: true)) == .stepLimit)
        #expect(try Self.run(Self.options(folder, output: "pieces", maxSteps: 11, resume: true)) == .stepLimit)
        for file in ["last/model.safetensors", "last/optimizer.safetensors", "last/streams.safetensors"] {
            let a = try SafeTensors(contentsOf: folder.path + "/straight/" + file)
            let b = try SafeTensors(contentsOf: folder.path + "/pieces/" + file)
            #expect(!a.tensors.isEmpty && a.tensors == b.tensors, "\(file) differs")
        }
        let straight = try LanguageModelCheckpoint.load(from: folder.path + "/straight/last")
        #expect(straight.trainingState?.step == 11)
        let log = try String(contentsOfFile: folder.path + "/straight/training-log.jsonl", encoding: .utf8)
        let records = try log.split(separator: "\n").map {
            try JSONDecoder().decode(LanguageModelValidationRecord.self, from: Data($0.utf8))
        }
        #expect(records.map(\.step) == [3, 6, 9, 11], "every 3 steps and at the stop")
        #expect(records.allSatisfy { $0.devBitsPerCharacter > 0 && $0.devBitsPerCharacter.isFinite && $0.devUnits > 0 })
    }

    @Test func refusesToOverwriteOrResumeNothing() throws {
        let folder = try Folder()
        #expect(throws: LanguageModelError.nothingToResume(path: folder.path + "/m")) {
            try Self.run(Self.options(folder, output: "m", maxSteps: 1, resume: true))
        }
        _ = try Self.run(Self.options(folder, output: "m", maxSteps: 1))
        #expect(throws: LanguageModelError.outputExists(path: folder.path + "/m")) {
            try Self.run(Self.options(folder, output: "m", maxSteps: 1))
        }
        var longer = try Self.options(folder, output: "m", maxSteps: 2, resume: true)
        longer.streams = 8
        #expect(throws: LanguageModelError.self) { try Self.run(longer) }
    }

    @Test func shortTextAndTranslationDirectoriesAreRefused() throws {
        let folder = try Folder()
        var o = try Self.options(folder, output: "short", maxSteps: 1)
        o.trainPath = try folder.file("short.txt", "hello world")
        #expect(throws: LanguageModelError.self) { try Self.run(o) }
        try FileManager.default.createDirectory(atPath: folder.path + "/translation", withIntermediateDirectories: true)
        _ = try folder.file("translation/model.json", "{\"formatVersion\": 1}")
        do {
            _ = try LanguageModelDirectory(path: folder.path + "/translation").load()
            Issue.record("a translation model loaded as a language model")
        } catch let error as LanguageModelError {
            #expect(error.description.contains("translation model"), "\(error)")
        }
    }

    /// The directory written by a run loads for sampling: manifest, units and best weights agree.
    @Test func trainedDirectoryLoads() throws {
        let folder = try Folder()
        _ = try Self.run(Self.options(folder, output: "m", maxSteps: 4))
        let (model, units, manifest) = try LanguageModelDirectory(path: folder.path + "/m").load()
        #expect(manifest.units == .char && units.count == model.configuration.vocabularySize)
        #expect(model.configuration.cell == .lstm && model.configuration.hiddenSize == 16)
        let sample = try Sampler(model: model, units: units).sample(prime: "line", options: SamplingOptions(length: 30))
        #expect(sample.hasPrefix("line") && sample.unicodeScalars.count == 34)
    }
}
