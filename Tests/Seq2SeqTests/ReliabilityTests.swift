import Foundation
import Testing
import Tokenize
@testable import Seq2Seq

/// Library-level guards behind issue 13: checksums and finiteness of checkpoints,
/// bounded sizes from files, divergence detection, the generation swap of `last/`,
/// session checks, the memory estimate and the output sanitizer.
@Suite struct ReliabilityTests {
    static let config = ModelConfiguration(sourceVocabularySize: 12, targetVocabularySize: 10, embeddingSize: 4,
                                           hiddenSize: 6, layerCount: 2, dropout: 0)

    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reliability-\(UUID().uuidString)").path
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    // MARK: Checksums and finiteness

    @Test func checksumChangesWithAnySingleWordAndCountsNonFinite() {
        var bytes = [UInt8](repeating: 0, count: 4 * 1000 + 3)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let base = bytes.withUnsafeBytes { TensorIntegrity.scan($0, floats: true) }
        for position in [0, 7, 8, 31, 32, 1000, 3999, 4001] {
            var changed = bytes
            changed[position] ^= 0x40
            #expect(changed.withUnsafeBytes { TensorIntegrity.scan($0, floats: false).checksum } != base.checksum, "byte \(position)")
        }
        var floats: [Float] = (0..<100).map { Float($0) }
        #expect(floats.withUnsafeBytes { TensorIntegrity.scan($0, floats: true).nonFinite } == 0)
        floats[3] = .nan; floats[50] = .infinity; floats[99] = -.infinity
        #expect(floats.withUnsafeBytes { TensorIntegrity.scan($0, floats: true).nonFinite } == 3)
    }

    /// The vectorized scan (every instruction set this CPU has) against the checksum's definition
    /// written out word by word: files written by older builds must keep verifying.
    @Test(arguments: availableInstructionSets)
    func checksumKernelMatchesTheDefinition(_ set: InstructionSet) {
        var random = RandomGenerator(seed: 7)
        for count in [0, 31, 32, 33, 64 * 1000 + 12, 4096 + 7] {
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            for k in stride(from: 0, to: count - 4, by: 97) {   // some NaN / ±∞ patterns
                bytes[k + 3] = 0x7F | (bytes[k + 3] & 0x80); bytes[k + 2] |= 0x80
            }
            let scanned = Kernels.withInstructionSet(set) { bytes.withUnsafeBytes { TensorIntegrity.scan($0, floats: true) } }
            #expect(scanned.checksum == Self.definitionChecksum(bytes), "\(set), \(count) bytes")
            var nonFinite = 0
            for k in stride(from: 0, to: count - count % 4, by: 4) {
                let high = UInt32(bytes[k + 2]) << 16 | UInt32(bytes[k + 3]) << 24
                if high & 0x7F80_0000 == 0x7F80_0000 { nonFinite += 1 }
            }
            #expect(scanned.nonFinite == nonFinite, "\(set), \(count) bytes")
        }
    }

    /// fnv64x4: four FNV-style lanes over the little-endian 64-bit words of 32-byte blocks, the
    /// tail's bytes into lane 0, then the length and the lanes mixed (MurmurHash3's finalizer).
    static func definitionChecksum(_ bytes: [UInt8]) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var lanes: [UInt64] = [0xCBF2_9CE4_8422_2325, 0x84222325CBF29CE4, 0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F]
        let blocks = bytes.count / 32
        for b in 0..<blocks {
            for j in 0..<4 {
                var word: UInt64 = 0
                for k in 0..<8 { word |= UInt64(bytes[32 * b + 8 * j + k]) << (8 * UInt64(k)) }
                lanes[j] = (lanes[j] ^ word) &* prime
            }
        }
        for i in (32 * blocks)..<bytes.count { lanes[0] = (lanes[0] ^ UInt64(bytes[i])) &* prime }
        func mix(_ value: UInt64) -> UInt64 {
            var x = value
            x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
            x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
            return x ^ (x >> 33)
        }
        var h = mix(UInt64(bytes.count))
        for lane in lanes { h = mix(h ^ mix(lane)) &* prime }
        return mix(h)
    }

    @Test func safetensorsVerifiesChecksumsAndAcceptsFilesWithout() throws {
        let file = SafeTensors(tensors: ["a": .init(floats: [1, 2, 3, 4, 5], shape: [5]), "b": .init(floats: [6], shape: [1])],
                               metadata: ["key": "value"])
        var data = try file.serialized()
        let read = try SafeTensors(data: data)
        #expect(read.checksumsVerified && read.tensors == file.tensors && read.metadata["key"] == "value")
        data[data.count - 3] ^= 0x01   // inside tensor b
        #expect(throws: SafeTensorsError.checksumMismatch(path: "<data>", name: "tensor b")) { try SafeTensors(data: data) }
        // A metadata value changed by hand (same length): caught by the metadata checksum.
        var text = String(decoding: try file.serialized(), as: UTF8.self).replacingOccurrences(of: "value", with: "VALUE")
        #expect(throws: SafeTensorsError.checksumMismatch(path: "<data>", name: "the metadata")) { try SafeTensors(data: Data(text.utf8)) }
        // Without checksum keys (files written before them): read, not verified.
        text = String(decoding: try file.serialized(), as: UTF8.self)
        let header = try #require(text.range(of: "\"__metadata__\""))
        _ = header
        let plain = try Self.withoutChecksums(try file.serialized())
        let old = try SafeTensors(data: plain)
        #expect(!old.checksumsVerified && old.tensors == file.tensors)
    }

    /// The file with `tensor_checksums`, `metadata_checksum` and `checksum_algorithm` removed.
    static func withoutChecksums(_ data: Data) throws -> Data {
        let bytes = [UInt8](data)
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        var metadata = try #require(header["__metadata__"] as? [String: String])
        for key in metadata.keys where key.contains("checksum") { metadata[key] = nil }
        header["__metadata__"] = metadata
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + Data(bytes[(8 + n)...])
    }

    /// Headers that once trapped (shape products overflowing `Int`) or could make the
    /// loader allocate far more than the file holds.
    @Test func hostileHeadersThrowInsteadOfTrapping() throws {
        func file(_ header: String, payload: Int = 16) -> Data {
            var json = Array(header.utf8)
            while json.count % 8 != 0 { json.append(0x20) }
            var data = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
            return data + Data(json) + Data(repeating: 0, count: payload)
        }
        let hostile = [
            #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}"#,
            #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,9223372036854775807]}}"#,
            #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}}"#,
            #"{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,16]}}"#,
            #"{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}"#,
            #"{"__metadata__":{"k":1}}"#,
            #"[1,2,3]"#,
        ]
        for header in hostile {
            #expect(throws: SafeTensorsError.self, "\(header)") { try SafeTensors(data: file(header)) }
        }
    }

    @Test func checkpointsWithNonFiniteWeightsAreNeitherSavedNorLoaded() throws {
        let folder = Folder()
        let model = try Seq2SeqModel(configuration: Self.config, seed: 1)
        model.parameters.pointer[7] = .nan
        #expect(throws: CheckpointError.nonFiniteValues(path: folder.path + "/model.safetensors", name: "src_embedding", count: 1)) {
            try Checkpoint.save(to: folder.path, model: model, sourceVocabulary: "s", targetVocabulary: "t")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/model.safetensors"))
        // A file holding ∞ (written without checksums, like an old checkpoint) is refused by value.
        model.parameters.pointer[7] = 0
        try Checkpoint.save(to: folder.path, model: model, sourceVocabulary: "s", targetVocabulary: "t")
        let path = folder.path + "/model.safetensors"
        var file = try SafeTensors(contentsOf: path)
        var bias = try #require(file.tensors["out_bias"])
        bias = .init(floats: [Float](repeating: .infinity, count: 10), shape: bias.shape)
        file.tensors["out_bias"] = bias
        try Self.withoutChecksums(try file.serialized()).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.nonFiniteValues(path: path, name: "out_bias", count: 10)) { try Checkpoint.load(from: folder.path) }
    }

    /// Language-model checkpoints share the same file checks: NaN weights are not saved, and
    /// a file holding ∞ is refused by value (the LM loader used to copy whatever it found).
    @Test func languageModelCheckpointsWithNonFiniteWeightsAreNeitherSavedNorLoaded() throws {
        let folder = Folder()
        let model = try LanguageModel(configuration: LanguageModelConfiguration(
            vocabularySize: 6, embeddingSize: 3, hiddenSize: 4, layerCount: 1), seed: 1)
        model.parameters.pointer[2] = .nan
        let path = folder.path + "/model.safetensors"
        #expect(throws: CheckpointError.nonFiniteValues(path: path, name: "embedding", count: 1)) {
            try LanguageModelCheckpoint.save(to: folder.path, model: model, units: "u")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        model.parameters.pointer[2] = 0
        try LanguageModelCheckpoint.save(to: folder.path, model: model, units: "u")
        var file = try SafeTensors(contentsOf: path)
        let bias = try #require(file.tensors["out_bias"])
        file.tensors["out_bias"] = .init(floats: [Float](repeating: .infinity, count: 6), shape: bias.shape)
        try Self.withoutChecksums(try file.serialized()).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.nonFiniteValues(path: path, name: "out_bias", count: 6)) {
            try LanguageModelCheckpoint.load(from: folder.path)
        }
    }

    /// A configuration in the metadata far larger than the tensors (or absurd) is refused
    /// before the loader allocates anything for it.
    @Test func hugeConfigurationsInAFileAreRefusedBeforeAllocating() throws {
        let folder = Folder()
        let model = try Seq2SeqModel(configuration: Self.config, seed: 1)
        try Checkpoint.save(to: folder.path, model: model, sourceVocabulary: "s", targetVocabulary: "t")
        let path = folder.path + "/model.safetensors"
        for (hidden, layers) in [(1 << 40, 2), (600_000, 2), (6, 100_000_000)] {
            var file = try SafeTensors(contentsOf: path)
            var configuration = Self.config
            configuration.hiddenSize = hidden
            configuration.layerCount = layers
            file.metadata["model_configuration"] = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
            try file.serialized().write(to: URL(fileURLWithPath: folder.path + "/hostile.safetensors"))
            try FileManager.default.createDirectory(atPath: folder.path + "/h", withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: folder.path + "/h/model.safetensors")
            try FileManager.default.moveItem(atPath: folder.path + "/hostile.safetensors", toPath: folder.path + "/h/model.safetensors")
            #expect(throws: CheckpointError.self, "hidden \(hidden) layers \(layers)") { try Checkpoint.load(from: folder.path + "/h") }
        }
        // A training state with counters no run can reach is refused too.
        var file = try SafeTensors(contentsOf: path)
        let trainer = Trainer(model: model)
        var state = trainer.trainingState(epoch: 0, dataPosition: 0)
        state.step = Int.max
        file.metadata["training_state"] = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try file.serialized().write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: folder.path) }
    }

    // MARK: Divergence

    @Test func nonFiniteLossStopsBeforeTheUpdate() throws {
        let model = try Seq2SeqModel(configuration: Self.config, seed: 3)
        let trainer = Trainer(model: model, options: TrainingOptions(), seed: 1)
        let batch = try Batch(sources: [[1, 2, 3], [4, 5]], targets: [[4, 5], [6]])
        try trainer.train(on: batch)
        model.parameters.pointer[model.parameters.entry("out_weight")!.offset] = .infinity
        let before = model.parameters.allValues.map(\.bitPattern)
        let moments = trainer.optimizer.m.allValues.map(\.bitPattern)
        let error = #expect(throws: TrainingDivergence.self) { try trainer.train(on: batch) }
        #expect(error?.step == 2)
        #expect(model.parameters.allValues.map(\.bitPattern) == before, "weights changed by a diverged step")
        #expect(trainer.optimizer.m.allValues.map(\.bitPattern) == moments)
        #expect(trainer.step == 1)
        var described = try #require(error)
        described.folder = "model"
        described.lastSavedStep = 1
        #expect(described.description.contains("--learning-rate") && described.description.contains("step 1"))
    }

    // MARK: last/ generations and sessions

    @Test func interruptedSavesRecoverTheLastCompleteGeneration() throws {
        let folder = Folder()
        let last = folder.path + "/last"
        try CheckpointGenerations.replace(last) { try "one".write(toFile: $0 + "/f", atomically: false, encoding: .utf8) }
        try CheckpointGenerations.replace(last) { try "two".write(toFile: $0 + "/f", atomically: false, encoding: .utf8) }
        #expect(try String(contentsOfFile: last + "/f", encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["last"])
        // A failing write leaves the old generation.
        #expect(throws: CocoaError.self) {
            try CheckpointGenerations.replace(last) { _ in throw CocoaError(.fileWriteUnknown) }
        }
        #expect(try String(contentsOfFile: last + "/f", encoding: .utf8) == "two")
        // Killed between the two renames: last/ missing, last.previous/ complete.
        try FileManager.default.moveItem(atPath: last, toPath: last + ".previous")
        try FileManager.default.createDirectory(atPath: last + ".partial", withIntermediateDirectories: true)
        #expect(CheckpointGenerations.recover(last) != nil)
        #expect(try String(contentsOfFile: last + "/f", encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["last"])
    }

    @Test func sessionsAreCheckedAgainstTheirData() throws {
        let a = DataIdentity(path: "a.tsv", bytes: Array("x\ty\n".utf8))
        let moved = DataIdentity(path: "b.tsv", bytes: Array("x\ty\n".utf8))
        let other = DataIdentity(path: "a.tsv", bytes: Array("x\tz\n".utf8))
        var session = SessionState.fresh
        session.trainingData = a
        #expect(try session.checkData(training: moved, dev: nil, allowChange: false, folder: "m").isEmpty)
        #expect(throws: ResumeError.self) { try session.checkData(training: other, dev: nil, allowChange: false, folder: "m") }
        #expect(throws: ResumeError.self) { try session.checkData(training: a, dev: a, allowChange: false, folder: "m") }
        #expect(try session.checkData(training: other, dev: nil, allowChange: true, folder: "m").count == 1)
        session.trainingData = nil   // an older session: a warning, not an error
        #expect(try session.checkData(training: other, dev: nil, allowChange: false, folder: "m").count == 1)
        var broken = SessionState.fresh
        broken.bestChrF = .infinity
        #expect(broken.problem != nil)
        broken = .fresh
        broken.epoch = -1
        #expect(broken.problem != nil)
    }

    /// `last/session.json` stays one flat object (position, counters and the model kind's fields)
    /// and sessions written before the two kinds shared `TrainingProgress` still read, including
    /// a language model's `chunk`, now `batchIndex`.
    @Test func sessionRecordsStayFlatAndReadEarlierFiles() throws {
        let translation = #"{"epoch":2,"batchIndex":7,"bestChrF":31.5,"bestStep":400,"validationsWithoutImprovement":1,"validations":5,"step":450}"#
        let t = try JSONDecoder().decode(SessionState.self, from: Data(translation.utf8))
        #expect(t.epoch == 2 && t.batchIndex == 7 && t.bestChrF == 31.5 && t.step == 450)
        #expect(t.bestStep == 400 && t.validations == 5 && t.validationsWithoutImprovement == 1 && t.trainingData == nil)
        let keys = (try JSONSerialization.jsonObject(with: JSONEncoder().encode(t)) as? [String: Any]).map { Set($0.keys) }
        #expect(keys == ["epoch", "batchIndex", "bestChrF", "bestStep", "validationsWithoutImprovement", "validations", "step"])
        let lm = #"{"step":9,"epoch":1,"chunk":3,"streams":4,"chunkLength":20,"textIdentity":"12:ab","bestStep":6,"validationsWithoutImprovement":1,"validations":3}"#
        let l = try JSONDecoder().decode(LanguageModelSessionState.self, from: Data(lm.utf8))
        #expect(l.batchIndex == 3 && l.epoch == 1 && l.step == 9 && l.streams == 4 && l.bestDevLoss == nil && l.validations == 3)
        let again = try JSONDecoder().decode(LanguageModelSessionState.self, from: JSONEncoder().encode(l))
        #expect(again.progress == l.progress && again.textIdentity == "12:ab")
    }

    // MARK: Memory estimate

    @Test func memoryEstimateCountsParametersFourTimesAndGrowsWithTheBatch() throws {
        let c = ModelConfiguration(sourceVocabularySize: 8000, targetVocabularySize: 8000, embeddingSize: 256,
                                   hiddenSize: 256, layerCount: 1, dropout: 0.3)
        let small = c.trainingMemory(rows: 64, sourceTokens: 64 * 30, targetTokens: 64 * 31)
        #expect(small.parameters == 16 * Double(c.parameterCount))
        #expect(c.parameterCountEstimate == Double(c.parameterCount))
        // SMALL training (bench: peak RSS 221 MiB measured, batch 64, lengths ≤ 30): within 2×.
        #expect(small.total > 120 * 1_048_576 && small.total < 450 * 1_048_576, "\(small)")
        let large = c.trainingMemory(rows: 128, sourceTokens: 128 * 30, targetTokens: 128 * 31)
        #expect(large.activations > 1.9 * small.activations)
        let beam = c.decodingMemory(rows: 32 * 5, sourceTokens: 32 * 200, maxOutputLength: 410)
        let hugeBeam = c.decodingMemory(rows: 32 * 100_000_000, sourceTokens: 32 * 200, maxOutputLength: 410)
        #expect(beam.total < 200 * 1_048_576 && hugeBeam.total > 1e13)
        // Absurd sizes give a figure instead of overflowing.
        var absurd = c
        absurd.hiddenSize = 1 << 30
        #expect(absurd.parameterCountEstimate > 1e18 && absurd.parameterCountEstimate.isFinite)
        #expect(throws: ModelError.self) { try absurd.checkSizeLimits() }
        let memory = SystemMemory(available: 8 * 1_073_741_824, total: 16 * 1_073_741_824)
        let error = #expect(throws: InsufficientMemoryError.self) {
            try hugeBeam.require(for: "translating", advice: "lower --beam-size", memory: memory)
        }
        #expect(error?.description.contains("8.0 GiB available") == true)
        try small.require(for: "training", advice: "", memory: memory)
        let current = try #require(SystemMemory.current())
        #expect(current.total > 0 && current.available <= current.total)
    }

    // MARK: Output sanitizer

    @Test func translationsNeverContainControlCharacters() throws {
        #expect(Translator.tidy("a\u{1B}[31mb") == "a[31mb")
        #expect(Translator.tidy("one\ntwo\r\nthree\u{2028}four\u{85}five\tsix") == "one two three four five six")
        #expect(Translator.tidy("\u{0}\u{7F}\u{9F}x\u{200D}y") == "x\u{200D}y")
        #expect(Translator.tidy(" 안녕  하세요 ") == "안녕 하세요")
        // An untrained model over a vocabulary whose byte tokens include every control byte:
        // many random outputs, none with a control character.
        let vocabulary = try VocabularyPair.learn(sources: ["hello there", "good day"], targets: ["안녕 하세요", "좋은 날"],
                                                  options: VocabularyOptions(size: 300, minimumFrequency: 1))
        let configuration = ModelConfiguration(sourceVocabularySize: vocabulary.size(of: .source),
                                               targetVocabularySize: vocabulary.size(of: .target),
                                               embeddingSize: 8, hiddenSize: 8, layerCount: 1)
        var sawControlBytes = false
        for seed in 1...6 {
            let model = try Seq2SeqModel(configuration: configuration, seed: UInt64(seed), initScale: 2)
            let translator = Translator(model: model, sourceTokenizer: try vocabulary.tokenizer(for: .source),
                                        targetTokenizer: try vocabulary.tokenizer(for: .target))
            translator.options.greedy = seed % 2 == 0
            let sources = ["hello", "good day there", "x", "hello hello hello", "day"]
            for (translation, ids) in zip(try translator.translate(sources), try translator.decode(sources: sources.map { translator.sourceIds($0).ids })) {
                let raw = translator.targetTokenizer.decode(ids[0].tokens)
                if raw.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) { sawControlBytes = true }
                for text in [translation.text] + translation.nBest.map(\.text) {
                    #expect(!text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                            "control character in \(text.debugDescription)")
                }
            }
        }
        #expect(sawControlBytes, "the random models never produced a control byte; the test checks nothing")
    }
}
