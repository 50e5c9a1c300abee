import Foundation
import Tokenize

/// Where training stands, saved with a checkpoint so a run can resume exactly.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimizer updates applied so far.
    public var step: Int
    /// Current epoch (caller's convention, e.g. 0-based).
    public var epoch: Int
    /// Position in the training data within the epoch (caller's convention, e.g. next batch index).
    public var dataPosition: Int
    /// Dropout / shuffling generator state.
    public var random: RandomGenerator
    /// Learning rate of the last update.
    public var learningRate: Float
    /// `Trainer.learningRateScale` (manual decay, e.g. on a validation plateau).
    public var learningRateScale: Float
    /// Optimizer and schedule settings in use.
    public var options: TrainingOptions

    public init(step: Int, epoch: Int, dataPosition: Int, random: RandomGenerator, learningRate: Float,
                learningRateScale: Float = 1, options: TrainingOptions = TrainingOptions()) {
        self.step = step
        self.epoch = epoch
        self.dataPosition = dataPosition
        self.random = random
        self.learningRate = learningRate
        self.learningRateScale = learningRateScale
        self.options = options
    }
}

/// Everything in a checkpoint besides the tensors.
public struct CheckpointMetadata: Equatable, Sendable {
    public var configuration: ModelConfiguration
    /// Opaque identity of the source vocabulary (e.g. its file hash), checked by the caller.
    public var sourceVocabulary: String
    /// Opaque identity of the target vocabulary.
    public var targetVocabulary: String
    /// Training state, if saved during training.
    public var trainingState: TrainingState?
}

/// A loaded checkpoint.
public struct LoadedCheckpoint {
    public let model: Seq2SeqModel
    /// Adam moments and step count, if `optimizer.safetensors` was present and loading it was requested.
    public let optimizer: AdamOptimizer?
    public let metadata: CheckpointMetadata
}

/// Errors from saving or loading checkpoints; each says what is wrong and what to do.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case badMagic(path: String, reason: String)
    case badVersion(path: String, found: String, expected: String)
    case badMetadata(path: String, key: String, reason: String)
    case missingTensor(path: String, name: String)
    case unexpectedTensor(path: String, name: String)
    case wrongShape(path: String, name: String, found: [Int], expected: [Int])
    case wrongDType(path: String, name: String, found: String)
    case optimizerMismatch(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// The file exists but cannot be read (permissions, I/O error, a folder).
    case unreadable(path: String, reason: String)
    /// A checksum does not match: the file was damaged after it was written.
    case corrupt(path: String, reason: String)
    /// Weights (or moments) that are NaN or infinite: on load the file is unusable; on save
    /// training diverged and nothing is written.
    case nonFiniteValues(path: String, name: String, count: Int)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): checkpoint file not found; pass the folder a checkpoint was saved to"
        case .badMagic(let path, let reason):
            return "\(path): not a seq2seq checkpoint (\(reason)); the file is corrupt or was written by another program — use another checkpoint"
        case .badVersion(let path, let found, let expected):
            return "\(path): checkpoint format version \(found), this program reads version \(expected); use a matching program version"
        case .badMetadata(let path, let key, let reason):
            return "\(path): metadata \(key) is invalid (\(reason)); the checkpoint is corrupt — use another checkpoint"
        case .missingTensor(let path, let name):
            return "\(path): tensor \(name) is missing; the checkpoint is incomplete or for another model — use another checkpoint"
        case .unexpectedTensor(let path, let name):
            return "\(path): unexpected tensor \(name); the checkpoint is for another model type"
        case .wrongShape(let path, let name, let found, let expected):
            return "\(path): tensor \(name) has shape \(found) but the stored configuration needs \(expected); the checkpoint is corrupt"
        case .wrongDType(let path, let name, let found):
            return "\(path): tensor \(name) has dtype \(found), expected F32; the checkpoint is corrupt"
        case .optimizerMismatch(let path, let reason):
            return "\(path): optimizer state does not belong to the model (\(reason)); resume without it or from another checkpoint"
        case .writeFailed(let path, let reason):
            return "\(path): cannot save checkpoint (\(reason)); check the folder exists, is writable and the disk has space"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the checkpoint (\(reason)); check its permissions"
        case .corrupt(let path, let reason):
            return "\(path): the checkpoint is damaged (\(reason)); use another checkpoint or a backup copy"
        case .nonFiniteValues(let path, let name, let count):
            return "\(path): \(count) value(s) of \(name) are NaN or infinite; the weights are unusable — use another checkpoint"
        }
    }
}

/// Checkpoint folder: `model.safetensors` (weights + metadata) and, optionally,
/// `optimizer.safetensors` (Adam moments `m.<name>`, `v.<name>`). Both are
/// standard safetensors files (readable by Python `safetensors`), written atomically.
///
/// `__metadata__` keys: `format` = "seq2seq-koen-lstm", `format_version` = "1",
/// `model_configuration` (JSON), `source_vocabulary`, `target_vocabulary`,
/// `training_state` (JSON, optional), and in the optimizer file `adam_step`.
public enum Checkpoint {
    public static let modelFileName = "model.safetensors"
    public static let optimizerFileName = "optimizer.safetensors"
    public static let format = "seq2seq-koen-lstm"
    public static let formatVersion = "1"

    /// Saves the model (and optionally the optimizer) into `directory`, creating it if needed.
    /// Each file is written atomically; the optimizer file first, so a crash never leaves
    /// new weights beside stale moments unnoticed (`adam_step` must match `training_state.step`).
    ///
    /// Refuses (`nonFiniteValues`, nothing written) when a weight or moment is NaN or infinite.
    public static func save(
        to directory: String, model: Seq2SeqModel, sourceVocabulary: String, targetVocabulary: String,
        trainingState: TrainingState? = nil, optimizer: AdamOptimizer? = nil
    ) throws {
        try requireFinite(model.parameters, path: directory + "/" + modelFileName)
        if let optimizer {
            try requireFinite(optimizer.m, path: directory + "/" + optimizerFileName)
            try requireFinite(optimizer.v, path: directory + "/" + optimizerFileName)
        }
        do {
            try Folder.create(directory)
        } catch {
            throw CheckpointError.writeFailed(path: directory, reason: "\(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        var metadata = [
            "format": format, "format_version": formatVersion,
            "model_configuration": try json(model.configuration),
            "source_vocabulary": sourceVocabulary, "target_vocabulary": targetVocabulary,
        ]
        if let trainingState { metadata["training_state"] = try json(trainingState) }

        if let optimizer {
            var file = SafeTensors(metadata: ["format": format, "format_version": formatVersion,
                                              "adam_step": String(optimizer.stepCount)])
            for e in optimizer.m.entries {
                file.tensors["m." + e.name] = .init(floats: optimizer.m.pointer + e.offset, count: e.count, shape: e.shape)
                file.tensors["v." + e.name] = .init(floats: optimizer.v.pointer + e.offset, count: e.count, shape: e.shape)
            }
            try write(file, to: directory + "/" + optimizerFileName)
        }
        var file = SafeTensors(metadata: metadata)
        for e in model.parameters.entries {
            file.tensors[e.name] = .init(floats: model.parameters.pointer + e.offset, count: e.count, shape: e.shape)
        }
        try write(file, to: directory + "/" + modelFileName)
    }

    /// Throws `nonFiniteValues` naming the first tensor of `buffer` holding NaN or ±∞.
    static func requireFinite(_ buffer: ParameterBuffer, path: String) throws {
        for e in buffer.entries {
            let raw = UnsafeRawBufferPointer(start: buffer.pointer + e.offset, count: 4 * e.count)
            let bad = TensorIntegrity.scan(raw, floats: true).nonFinite
            if bad > 0 { throw CheckpointError.nonFiniteValues(path: path, name: e.name, count: bad) }
        }
    }

    private static func write(_ file: SafeTensors, to path: String) throws {
        do {
            try AtomicFile.write(try file.serialized(), to: path)
        } catch let error as AtomicFileError {
            throw CheckpointError.writeFailed(path: path, reason: error.description)
        }
    }

    /// Loads a checkpoint saved by `save`, checking format, version, names, shapes and dtypes.
    /// - Parameter loadOptimizer: also load `optimizer.safetensors` if present.
    public static func load(from directory: String, loadOptimizer: Bool = true) throws -> LoadedCheckpoint {
        let path = directory + "/" + modelFileName
        let file = try read(path)
        let meta = file.metadata
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = meta[key] else { throw CheckpointError.badMetadata(path: path, key: key, reason: "missing") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw CheckpointError.badMetadata(path: path, key: key, reason: "\(error)")
            }
        }
        let configuration = try decode(ModelConfiguration.self, "model_configuration")
        do {
            try configuration.validate()
            try configuration.checkSizeLimits()
        } catch {
            throw CheckpointError.badMetadata(path: path, key: "model_configuration", reason: "\(error)")
        }
        let trainingState = meta["training_state"] == nil ? nil : try decode(TrainingState.self, "training_state")
        if let trainingState, let problem = trainingState.problem {
            throw CheckpointError.badMetadata(path: path, key: "training_state", reason: problem)
        }
        guard let source = meta["source_vocabulary"], let target = meta["target_vocabulary"] else {
            throw CheckpointError.badMetadata(path: path, key: "source_vocabulary/target_vocabulary", reason: "missing")
        }
        // Check the tensors against the configuration before allocating anything for it.
        let layout = configuration.parameterShapes
        try checkLayout(layout, of: file, prefix: "", path: path)
        let parameters = ParameterBuffer(shapes: layout)
        try fill(parameters, from: file, prefix: "", path: path)
        let model = try Seq2SeqModel(configuration: configuration, adopting: parameters, copy: false)

        var optimizer: AdamOptimizer?
        let optimizerPath = directory + "/" + optimizerFileName
        if loadOptimizer, FileManager.default.fileExists(atPath: optimizerPath) {
            let file = try read(optimizerPath)
            guard let stepText = file.metadata["adam_step"], let step = Int(stepText), step >= 0 else {
                throw CheckpointError.badMetadata(path: optimizerPath, key: "adam_step", reason: "missing or not a count")
            }
            if let trainingState, trainingState.step != step {
                throw CheckpointError.optimizerMismatch(
                    path: optimizerPath, reason: "optimizer step \(step) but the model was saved at step \(trainingState.step)")
            }
            try checkLayout(layout, of: file, prefix: "m.", path: optimizerPath)
            try checkLayout(layout, of: file, prefix: "v.", path: optimizerPath)
            let adam = AdamOptimizer(layoutOf: model.parameters, beta1: trainingState?.options.beta1 ?? 0.9,
                                     beta2: trainingState?.options.beta2 ?? 0.999, epsilon: trainingState?.options.epsilon ?? 1e-8)
            adam.stepCount = step
            for e in parameters.entries {
                guard file.tensors["m." + e.name] != nil, file.tensors["v." + e.name] != nil else {
                    throw CheckpointError.optimizerMismatch(path: optimizerPath, reason: "no moments for \(e.name)")
                }
            }
            try fill(adam.m, from: file, prefix: "m.", path: optimizerPath, allowOthers: true)
            try fill(adam.v, from: file, prefix: "v.", path: optimizerPath, allowOthers: true)
            if file.tensors.count != 2 * parameters.entries.count {
                throw CheckpointError.optimizerMismatch(path: optimizerPath, reason: "\(file.tensors.count) tensors for \(parameters.entries.count) parameters")
            }
            optimizer = adam
        }
        return LoadedCheckpoint(
            model: model, optimizer: optimizer,
            metadata: CheckpointMetadata(configuration: configuration, sourceVocabulary: source,
                                         targetVocabulary: target, trainingState: trainingState))
    }

    /// Reads a file and checks it is a safetensors file of this format and version.
    private static func read(_ path: String) throws -> SafeTensors {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missingFile(path: path) }
        let file: SafeTensors
        do { file = try SafeTensors(contentsOf: path) } catch let error as SafeTensorsError {
            switch error {
            case .unreadable(_, let reason): throw CheckpointError.unreadable(path: path, reason: reason)
            case .badHeader(_, let reason): throw CheckpointError.badMagic(path: path, reason: reason)
            case .badTensor(_, let name, let reason):
                throw CheckpointError.badMetadata(path: path, key: name, reason: reason)
            case .checksumMismatch(_, let name):
                throw CheckpointError.corrupt(path: path, reason: "\(name) does not match its checksum")
            }
        }
        guard file.metadata["format"] == format else {
            throw CheckpointError.badMagic(path: path, reason: "metadata format is \(file.metadata["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(format)\"")
        }
        let version = file.metadata["format_version"] ?? "missing"
        guard version == formatVersion else {
            throw CheckpointError.badVersion(path: path, found: version, expected: formatVersion)
        }
        return file
    }

    /// Checks that `file` holds tensors `prefix + name` of these shapes, as F32 and finite.
    private static func checkLayout(_ layout: [(name: String, shape: [Int])], of file: SafeTensors, prefix: String,
                                    path: String) throws {
        for (baseName, shape) in layout {
            let name = prefix + baseName
            guard let t = file.tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
            guard t.dtype == .f32 else { throw CheckpointError.wrongDType(path: path, name: name, found: t.dtype.rawValue) }
            guard t.shape == shape else {
                throw CheckpointError.wrongShape(path: path, name: name, found: t.shape, expected: shape)
            }
            if let bad = file.nonFiniteCounts[name], bad > 0 {
                throw CheckpointError.nonFiniteValues(path: path, name: name, count: bad)
            }
        }
    }

    /// Copies tensors `prefix + name` into `buffer`, checking names, dtypes, shapes and finiteness.
    private static func fill(_ buffer: ParameterBuffer, from file: SafeTensors, prefix: String, path: String,
                             allowOthers: Bool = false) throws {
        try checkLayout(buffer.entries.map { ($0.name, $0.shape) }, of: file, prefix: prefix, path: path)
        for e in buffer.entries {
            guard let t = file.tensors[prefix + e.name], t.copyFloats(into: buffer.pointer + e.offset, count: e.count) else {
                throw CheckpointError.wrongShape(path: path, name: prefix + e.name, found: [], expected: e.shape)
            }
        }
        if !allowOthers {
            let known = Set(buffer.entries.map { prefix + $0.name })
            if let extra = file.tensors.keys.sorted().first(where: { !known.contains($0) }) {
                throw CheckpointError.unexpectedTensor(path: path, name: extra)
            }
        }
    }
}

extension Trainer {
    /// The state to store in a checkpoint now.
    public func trainingState(epoch: Int, dataPosition: Int) -> TrainingState {
        TrainingState(step: step, epoch: epoch, dataPosition: dataPosition, random: random,
                      learningRate: options.learningRate(atStep: max(step, 1), scale: learningRateScale),
                      learningRateScale: learningRateScale, options: options)
    }

    /// Saves model, optimizer moments and training state atomically into `directory`.
    public func saveCheckpoint(to directory: String, sourceVocabulary: String, targetVocabulary: String,
                               epoch: Int, dataPosition: Int) throws {
        try Checkpoint.save(to: directory, model: model, sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary,
                            trainingState: trainingState(epoch: epoch, dataPosition: dataPosition), optimizer: optimizer)
    }

    /// Resumes from a loaded checkpoint: same weights, moments, step, RNG state and
    /// learning-rate scale. `options` defaults to the saved ones.
    public convenience init(resuming checkpoint: LoadedCheckpoint, options: TrainingOptions? = nil) {
        let state = checkpoint.metadata.trainingState
        self.init(model: checkpoint.model, options: options ?? state?.options ?? TrainingOptions(), seed: 1)
        if let state {
            step = state.step
            random = state.random
            learningRateScale = state.learningRateScale
        }
        // Without saved moments Adam restarts (t = 0, m = v = 0); the schedule still continues from `step`.
        if let saved = checkpoint.optimizer {
            optimizer.m.copy(from: saved.m)
            optimizer.v.copy(from: saved.v)
            optimizer.stepCount = saved.stepCount
        }
    }
}
