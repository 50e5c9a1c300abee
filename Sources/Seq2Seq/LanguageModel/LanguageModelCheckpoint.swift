import Foundation
import Tokenize

/// A language-model checkpoint folder: `model.safetensors` (weights + metadata) and optionally
/// `optimizer.safetensors` (Adam moments `m.<name>`, `v.<name>`), both standard safetensors
/// written atomically, the optimizer file first (its `adam_step` must match the model's
/// `training_state.step`).
///
/// `__metadata__`: `format` = "seq2seq-koen-lm", `format_version` = "1", `lm_configuration`
/// (JSON), `units` (the units' identity), `training_state` (JSON, optional).
public enum LanguageModelCheckpoint {
    public static let format = "seq2seq-koen-lm"
    public static let formatVersion = "1"
    public static let modelFileName = "model.safetensors"
    public static let optimizerFileName = "optimizer.safetensors"

    /// A loaded checkpoint.
    public struct Loaded {
        public let model: LanguageModel
        public let optimizer: AdamOptimizer?
        public let trainingState: TrainingState?
        /// `TextUnits.identity` of the units the model was trained with.
        public let units: String
    }

    /// Saves the model (and the optimizer) into `directory`, creating it.
    public static func save(to directory: String, model: LanguageModel, units: String,
                            trainingState: TrainingState? = nil, optimizer: AdamOptimizer? = nil) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.writeFailed(path: directory, reason: error.localizedDescription)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        if let optimizer {
            var file = SafeTensors(metadata: ["format": format, "format_version": formatVersion,
                                              "adam_step": String(optimizer.stepCount)])
            for e in optimizer.m.entries {
                file.tensors["m." + e.name] = .init(floats: optimizer.m.pointer + e.offset, count: e.count, shape: e.shape)
                file.tensors["v." + e.name] = .init(floats: optimizer.v.pointer + e.offset, count: e.count, shape: e.shape)
            }
            try write(file, to: directory + "/" + optimizerFileName)
        }
        var metadata = ["format": format, "format_version": formatVersion,
                        "lm_configuration": try json(model.configuration), "units": units]
        if let trainingState { metadata["training_state"] = try json(trainingState) }
        var file = SafeTensors(metadata: metadata)
        for e in model.parameters.entries {
            file.tensors[e.name] = .init(floats: model.parameters.pointer + e.offset, count: e.count, shape: e.shape)
        }
        try write(file, to: directory + "/" + modelFileName)
    }

    static func write(_ file: SafeTensors, to path: String) throws {
        do {
            try AtomicFile.write(try file.serialized(), to: path)
        } catch let error as AtomicFileError {
            throw CheckpointError.writeFailed(path: path, reason: error.description)
        }
    }

    /// Loads a checkpoint written by `save`, checking format, version, names, shapes and dtypes.
    /// A translation checkpoint is reported as `LanguageModelError.notALanguageModel`.
    public static func load(from directory: String, loadOptimizer: Bool = true) throws -> Loaded {
        let path = directory + "/" + modelFileName
        let file = try read(path)
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key] else { throw CheckpointError.badMetadata(path: path, key: key, reason: "missing") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw CheckpointError.badMetadata(path: path, key: key, reason: "\(error)")
            }
        }
        let configuration = try decode(LanguageModelConfiguration.self, "lm_configuration")
        do { try configuration.validate() } catch {
            throw CheckpointError.badMetadata(path: path, key: "lm_configuration", reason: "\(error)")
        }
        let trainingState = file.metadata["training_state"] == nil ? nil : try decode(TrainingState.self, "training_state")
        guard let units = file.metadata["units"] else { throw CheckpointError.badMetadata(path: path, key: "units", reason: "missing") }
        let parameters = ParameterBuffer(shapes: configuration.parameterShapes)
        try fill(parameters, from: file, prefix: "", path: path, exact: true)
        let model = try LanguageModel(configuration: configuration, adopting: parameters)

        var optimizer: AdamOptimizer?
        let optimizerPath = directory + "/" + optimizerFileName
        if loadOptimizer, FileManager.default.fileExists(atPath: optimizerPath) {
            let file = try read(optimizerPath)
            guard let text = file.metadata["adam_step"], let step = Int(text), step >= 0 else {
                throw CheckpointError.badMetadata(path: optimizerPath, key: "adam_step", reason: "missing or not a count")
            }
            if let trainingState, trainingState.step != step {
                throw CheckpointError.optimizerMismatch(
                    path: optimizerPath, reason: "optimizer step \(step) but the model was saved at step \(trainingState.step)")
            }
            let options = trainingState?.options ?? TrainingOptions()
            let adam = AdamOptimizer(layoutOf: parameters, beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon)
            adam.stepCount = step
            try fill(adam.m, from: file, prefix: "m.", path: optimizerPath, exact: false)
            try fill(adam.v, from: file, prefix: "v.", path: optimizerPath, exact: false)
            guard file.tensors.count == 2 * parameters.entries.count else {
                throw CheckpointError.optimizerMismatch(path: optimizerPath,
                                                        reason: "\(file.tensors.count) tensors for \(parameters.entries.count) parameters")
            }
            optimizer = adam
        }
        return Loaded(model: model, optimizer: optimizer, trainingState: trainingState, units: units)
    }

    /// Reads a file of this format and version.
    static func read(_ path: String) throws -> SafeTensors {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missingFile(path: path) }
        let file: SafeTensors
        do { file = try SafeTensors(contentsOf: path) } catch let error as SafeTensorsError {
            switch error {
            case .unreadable(_, let reason): throw CheckpointError.unreadable(path: path, reason: reason)
            case .badHeader(_, let reason): throw CheckpointError.badMagic(path: path, reason: reason)
            case .badTensor(_, let name, let reason): throw CheckpointError.badMetadata(path: path, key: name, reason: reason)
            case .checksumMismatch(_, let name): throw CheckpointError.corrupt(path: path, reason: "\(name) does not match its checksum")
            }
        }
        if file.metadata["format"] == Checkpoint.format {
            throw LanguageModelError.notALanguageModel(path: path, reason: "it is a translation checkpoint; use it with `translate`")
        }
        guard file.metadata["format"] == format else {
            throw CheckpointError.badMagic(path: path, reason: "metadata format is \(file.metadata["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(format)\"")
        }
        let version = file.metadata["format_version"] ?? "missing"
        guard version == formatVersion else { throw CheckpointError.badVersion(path: path, found: version, expected: formatVersion) }
        return file
    }

    /// Copies tensors `prefix + name` into `buffer`, checking dtypes and shapes; with `exact`,
    /// other tensors in the file are an error.
    static func fill(_ buffer: ParameterBuffer, from file: SafeTensors, prefix: String, path: String, exact: Bool) throws {
        for e in buffer.entries {
            let name = prefix + e.name
            guard let t = file.tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
            guard t.dtype == .f32 else { throw CheckpointError.wrongDType(path: path, name: name, found: t.dtype.rawValue) }
            guard t.shape == e.shape else { throw CheckpointError.wrongShape(path: path, name: name, found: t.shape, expected: e.shape) }
            _ = t.copyFloats(into: buffer.pointer + e.offset, count: e.count)
        }
        if exact {
            let known = Set(buffer.entries.map { prefix + $0.name })
            if let extra = file.tensors.keys.sorted().first(where: { !known.contains($0) }) {
                throw CheckpointError.unexpectedTensor(path: path, name: extra)
            }
        }
    }
}
