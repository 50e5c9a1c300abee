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

    /// Saves the model (and the optimizer) into `directory`, creating it; refuses non-finite
    /// weights or moments (nothing written).
    public static func save(to directory: String, model: LanguageModel, units: String,
                            trainingState: TrainingState? = nil, optimizer: AdamOptimizer? = nil) throws {
        var metadata = ["lm_configuration": try CheckpointFile.json(model.configuration), "units": units]
        if let trainingState { metadata["training_state"] = try CheckpointFile.json(trainingState) }
        try CheckpointFile.save(to: directory, format: format, version: formatVersion, parameters: model.parameters,
                                metadata: metadata, optimizer: optimizer)
    }

    /// Loads a checkpoint written by `save`, checking format, version, names, shapes, dtypes and
    /// finiteness. A translation checkpoint is reported as `LanguageModelError.notALanguageModel`.
    public static func load(from directory: String, loadOptimizer: Bool = true) throws -> Loaded {
        let path = directory + "/" + modelFileName
        let file = try CheckpointFile.read(path, format: format, version: formatVersion) { found in
            found == Checkpoint.format
                ? LanguageModelError.notALanguageModel(path: path, reason: "it is a translation checkpoint; use it with `translate`")
                : nil
        }
        let configuration = try CheckpointFile.decode(LanguageModelConfiguration.self, "lm_configuration", of: file, path: path)
        do { try configuration.validate() } catch {
            throw CheckpointError.badMetadata(path: path, key: "lm_configuration", reason: "\(error)")
        }
        let trainingState = try CheckpointFile.trainingState(of: file, path: path)
        guard let units = file.metadata["units"] else { throw CheckpointError.badMetadata(path: path, key: "units", reason: "missing") }
        let parameters = try CheckpointFile.parameters(configuration.parameterShapes, from: file, path: path,
                                                        inPlace: false)
        let model = try LanguageModel(configuration: configuration, adopting: parameters)
        let optimizer = loadOptimizer
            ? try CheckpointFile.optimizer(in: directory, format: format, version: formatVersion,
                                           parameters: parameters, trainingState: trainingState)
            : nil
        return Loaded(model: model, optimizer: optimizer, trainingState: trainingState, units: units)
    }
}
