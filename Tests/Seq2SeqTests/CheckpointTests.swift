import Foundation
import Testing
import Tokenize
@testable import Seq2Seq

@Suite struct CheckpointTests {
    static let config = ModelConfiguration(sourceVocabularySize: 12, targetVocabularySize: 10, embeddingSize: 4,
                                           hiddenSize: 6, layerCount: 2, dropout: 0.2)

    func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-ckpt-\(UUID().uuidString)").path
        return path
    }

    func batches() throws -> [Batch] {
        var random = RandomGenerator(seed: 61)
        return try (0..<2).map { _ in
            try Batch(sources: randomSequences(4, lengths: 1...6, vocabulary: 12, random: &random),
                      targets: randomSequences(4, lengths: 1...5, vocabulary: 10, random: &random).map { $0.map { max($0, 4) } })
        }
    }

    func makeTrainer() throws -> Trainer {
        var options = TrainingOptions()
        options.learningRate = 0.01
        options.decayFactor = 0.5
        options.decayEverySteps = 2
        return Trainer(model: try Seq2SeqModel(configuration: Self.config, seed: 3), options: options, seed: 77)
    }

    /// Save after 3 steps, load, resume 3 more: bit-identical to 6 uninterrupted steps.
    @Test func roundTripResumesExactly() throws {
        let data = try batches()
        let straight = try makeTrainer()
        for s in 0..<6 { try straight.train(on: data[s % 2]) }

        let first = try makeTrainer()
        for s in 0..<3 { try first.train(on: data[s % 2]) }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try first.saveCheckpoint(to: dir, sourceVocabulary: "src-sha256:abc", targetVocabulary: "tgt-sha256:def",
                                 epoch: 1, dataPosition: 3)

        let loaded = try Checkpoint.load(from: dir)
        #expect(loaded.metadata.configuration == Self.config)
        #expect(loaded.metadata.sourceVocabulary == "src-sha256:abc" && loaded.metadata.targetVocabulary == "tgt-sha256:def")
        let state = try #require(loaded.metadata.trainingState)
        #expect(state.step == 3 && state.epoch == 1 && state.dataPosition == 3)
        #expect(state.random == first.random)
        #expect(state.options == first.options)
        #expect(loaded.model.parameters.allValues.map(\.bitPattern) == first.model.parameters.allValues.map(\.bitPattern))
        let adam = try #require(loaded.optimizer)
        #expect(adam.stepCount == 3)
        #expect(adam.m.allValues == first.optimizer.m.allValues && adam.v.allValues == first.optimizer.v.allValues)

        let resumed = Trainer(resuming: loaded)
        for s in 3..<6 { try resumed.train(on: data[s % 2]) }
        #expect(resumed.model.parameters.allValues.map(\.bitPattern) == straight.model.parameters.allValues.map(\.bitPattern))

        // No stray temporary files are left beside the checkpoint.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["model.safetensors", "optimizer.safetensors"])
    }

    /// The file follows the safetensors layout: header length, JSON padded to 8 bytes, contiguous data.
    @Test func fileLayoutIsStandardSafetensors() throws {
        let model = try Seq2SeqModel(configuration: Self.config, seed: 1)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(to: dir, model: model, sourceVocabulary: "s", targetVocabulary: "t")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors")))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + n])) as? [String: Any])
        var ranges = [(Int, Int)]()
        for (name, value) in header where name != "__metadata__" {
            let offsets = try #require((value as? [String: Any])?["data_offsets"] as? [Int])
            ranges.append((offsets[0], offsets[1]))
        }
        ranges.sort { $0.0 < $1.0 }
        #expect(ranges.first?.0 == 0 && ranges.last?.1 == bytes.count - 8 - n)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.1 == $1.0 })
        #expect(ranges.count == model.parameters.entries.count)
        #expect(!FileManager.default.fileExists(atPath: dir + "/optimizer.safetensors"))
        let loaded = try Checkpoint.load(from: dir)
        #expect(loaded.optimizer == nil && loaded.metadata.trainingState == nil)
    }

    /// The parameters are stored in buffer order, so decoding can use the mapped file as the
    /// buffer (`mapWeights`); a file in another order (older builds) loads by copying. Either way
    /// the values are the saved ones, and writing to mapped weights never changes the file.
    @Test func mappedWeightsAreTheSavedOnesAndCopyOnWrite() throws {
        let model = try Seq2SeqModel(configuration: Self.config, seed: 3)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(to: dir, model: model, sourceVocabulary: "s", targetVocabulary: "t")
        let path = dir + "/model.safetensors"
        let file = try SafeTensors(contentsOf: path)
        let offsets = model.parameters.entries.map { file.tensors[$0.name]?.bytes.startIndex ?? -1 }
        #expect(offsets == offsets.sorted() && !offsets.contains(-1), "tensors in buffer order")

        let saved = try Data(contentsOf: URL(fileURLWithPath: path))
        let mapped = try Checkpoint.load(from: dir, loadOptimizer: false, mapWeights: true)
        #expect(mapped.model.parameters.allValues.map(\.bitPattern) == model.parameters.allValues.map(\.bitPattern))
        mapped.model.parameters.pointer[0] += 1
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == saved, "private mapping: the file is unchanged")
        #expect(try Checkpoint.load(from: dir).model.parameters.allValues.map(\.bitPattern)
                == model.parameters.allValues.map(\.bitPattern))

        // The same tensors in name order (how files were written before): copied, same values.
        try AtomicFile.write(try file.serialized(), to: path)
        let copied = try Checkpoint.load(from: dir, loadOptimizer: false, mapWeights: true)
        #expect(copied.model.parameters.allValues.map(\.bitPattern) == model.parameters.allValues.map(\.bitPattern))
    }

    /// Rewrites the saved model file through `edit` and expects `load` to throw `expected`.
    func expectLoadFailure(_ expected: (String) -> CheckpointError, sourceLocation: SourceLocation = #_sourceLocation,
                           edit: (inout SafeTensors, inout Data) throws -> Void) throws {
        let model = try Seq2SeqModel(configuration: Self.config, seed: 1)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = Trainer(model: model)
        try trainer.saveCheckpoint(to: dir, sourceVocabulary: "s", targetVocabulary: "t", epoch: 0, dataPosition: 0)
        let path = dir + "/model.safetensors"
        var file = try SafeTensors(contentsOf: path)
        var data = Data()
        try edit(&file, &data)
        try (data.isEmpty ? file.serialized() : data).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: CheckpointError.self, sourceLocation: sourceLocation) { try Checkpoint.load(from: dir) }
        #expect(error == expected(path), sourceLocation: sourceLocation)
        if let error { #expect(!error.description.isEmpty) }
    }

    @Test func corruptedFilesThrowDescriptiveErrors() throws {
        try expectLoadFailure({ .badMagic(path: $0, reason: "shorter than 8 bytes") }) { _, data in data = Data([1, 2, 3]) }
        try expectLoadFailure({ .badMagic(path: $0, reason: "header length 72057594037927935 exceeds the file size 16") }) { _, data in
            data = Data([255, 255, 255, 255, 255, 255, 255, 0] + [UInt8](repeating: 32, count: 8))
        }
        try expectLoadFailure({ .badMagic(path: $0, reason: "header is not a JSON object") }) { _, data in
            data = Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("not json".utf8))
        }
        try expectLoadFailure({ .badMagic(path: $0, reason: "metadata format is \"other\", expected \"seq2seq-koen-lstm\"") }) { file, _ in
            file.metadata["format"] = "other"
        }
        try expectLoadFailure({ .badVersion(path: $0, found: "9", expected: "1") }) { file, _ in file.metadata["format_version"] = "9" }
        try expectLoadFailure({ .missingTensor(path: $0, name: "out_bias") }) { file, _ in file.tensors["out_bias"] = nil }
        try expectLoadFailure({ .unexpectedTensor(path: $0, name: "zzz") }) { file, _ in
            file.tensors["zzz"] = .init(floats: [1], shape: [1])
        }
        try expectLoadFailure({ .wrongShape(path: $0, name: "out_bias", found: [5, 2], expected: [10]) }) { file, _ in
            file.tensors["out_bias"]!.shape = [5, 2]
        }
        try expectLoadFailure({ .wrongDType(path: $0, name: "out_bias", found: "I64") }) { file, _ in
            file.tensors["out_bias"] = .init(dtype: .i64, shape: [5], bytes: [UInt8](repeating: 0, count: 40))
        }
        try expectLoadFailure({ .badMetadata(path: $0, key: "model_configuration", reason: "missing") }) { file, _ in
            file.metadata["model_configuration"] = nil
        }
        try expectLoadFailure({ path in .optimizerMismatch(
            path: path.replacingOccurrences(of: "model.safetensors", with: "optimizer.safetensors"),
            reason: "optimizer step 0 but the model was saved at step 5") }) { file, _ in
            file.metadata["training_state"] = file.metadata["training_state"]!.replacingOccurrences(of: "\"step\":0", with: "\"step\":5")
        }
    }

    @Test func missingCheckpointIsReported() {
        let dir = temporaryDirectory()
        #expect(throws: CheckpointError.missingFile(path: dir + "/model.safetensors")) { try Checkpoint.load(from: dir) }
    }
}
