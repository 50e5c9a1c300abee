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
        case .missingFile(let path): return "\(path): checkpoint file not found; pass the folder a checkpoint was saved to"
        case .badMagic(let path, let reason): return "\(path): not a seq2seq checkpoint (\(reason)); the file is corrupt or was written by another program — use another checkpoint"
        case .badVersion(let path, let found, let expected): return "\(path): checkpoint format version \(found), this program reads version \(expected); use a matching program version"
        case .badMetadata(let path, let key, let reason): return "\(path): metadata \(key) is invalid (\(reason)); the checkpoint is corrupt — use another checkpoint"
        case .missingTensor(let path, let name): return "\(path): tensor \(name) is missing; the checkpoint is incomplete or for another model — use another checkpoint"
        case .unexpectedTensor(let path, let name): return "\(path): unexpected tensor \(name); the checkpoint is for another model type"
        case .wrongShape(let path, let name, let found, let expected): return "\(path): tensor \(name) has shape \(found) but the stored configuration needs \(expected); the checkpoint is corrupt"
        case .wrongDType(let path, let name, let found): return "\(path): tensor \(name) has dtype \(found), expected F32; the checkpoint is corrupt"
        case .optimizerMismatch(let path, let reason): return "\(path): optimizer state does not belong to the model (\(reason)); resume without it or from another checkpoint"
        case .writeFailed(let path, let reason): return "\(path): cannot save checkpoint (\(reason)); check the folder exists, is writable and the disk has space"
        case .unreadable(let path, let reason): return "\(path): cannot read the checkpoint (\(reason)); check its permissions"
        case .corrupt(let path, let reason): return "\(path): the checkpoint is damaged (\(reason)); use another checkpoint or a backup copy"
        case .nonFiniteValues(let path, let name, let count): return "\(path): \(count) value(s) of \(name) are NaN or infinite; the weights are unusable — use another checkpoint"
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
        var metadata = [
            "model_configuration": try CheckpointFile.json(model.configuration),
            "source_vocabulary": sourceVocabulary, "target_vocabulary": targetVocabulary,
        ]
        if let trainingState { metadata["training_state"] = try CheckpointFile.json(trainingState) }
        try CheckpointFile.save(to: directory, format: format, version: formatVersion, parameters: model.parameters,
                                metadata: metadata, optimizer: optimizer)
    }

    /// Loads a checkpoint saved by `save`, checking format, version, names, shapes and dtypes.
    /// - Parameters:
    ///   - directory: the checkpoint folder (`best/`, `last/`, `checkpoints/step-N/`).
    ///   - loadOptimizer: also load `optimizer.safetensors` if present.
    ///   - mapWeights: without the optimizer, use the mapped file itself as the weights when it
    ///     was written in buffer order (no copy: the fastest start-up). The file must then not be
    ///     overwritten in place while the model lives (our tools replace files by renaming, which
    ///     is safe; `cp` over it is not), so long-running processes leave this off.
    public static func load(from directory: String, loadOptimizer: Bool = true, mapWeights: Bool = false) throws -> LoadedCheckpoint {
        let path = directory + "/" + modelFileName
        let file = try CheckpointFile.read(path, format: format, version: formatVersion)
        let configuration = try CheckpointFile.decode(ModelConfiguration.self, "model_configuration", of: file, path: path)
        do {
            try configuration.validate()
            try configuration.checkSizeLimits()
        } catch {
            throw CheckpointError.badMetadata(path: path, key: "model_configuration", reason: "\(error)")
        }
        let trainingState = try CheckpointFile.trainingState(of: file, path: path)
        guard let source = file.metadata["source_vocabulary"], let target = file.metadata["target_vocabulary"] else {
            throw CheckpointError.badMetadata(path: path, key: "source_vocabulary/target_vocabulary", reason: "missing")
        }
        let parameters = try CheckpointFile.parameters(configuration.parameterShapes, from: file, path: path,
                                                        inPlace: mapWeights && !loadOptimizer)
        let model = try Seq2SeqModel(configuration: configuration, adopting: parameters, copy: false)
        let optimizer = loadOptimizer
            ? try CheckpointFile.optimizer(in: directory, format: format, version: formatVersion,
                                           parameters: parameters, trainingState: trainingState)
            : nil
        return LoadedCheckpoint(
            model: model, optimizer: optimizer,
            metadata: CheckpointMetadata(configuration: configuration, sourceVocabulary: source,
                                         targetVocabulary: target, trainingState: trainingState))
    }
}

extension Trainer {
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
        updater.restore(state, moments: checkpoint.optimizer)
    }
}
