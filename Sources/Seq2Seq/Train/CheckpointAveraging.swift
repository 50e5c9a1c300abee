import Foundation
import Tokenize

/// Checkpoint averaging (Junczys-Dowmunt et al. 2016; Vaswani et al. 2017): the element-wise
/// mean of the weights of several checkpoints of one training run is often a better model
/// than any of them.
public enum CheckpointAveraging {
    /// The mean of the checkpoints' parameters, as a model with their common configuration.
    /// - Parameter checkpoints: folders holding `model.safetensors` (at least one).
    /// - Throws: `CheckpointError` for unreadable files or checkpoints that differ in
    ///   configuration or vocabulary.
    public static func average(_ checkpoints: [String]) throws -> (model: Seq2SeqModel, metadata: CheckpointMetadata) {
        guard let first = checkpoints.first else {
            throw CheckpointError.missingFile(path: "(no checkpoint given)")
        }
        let base = try Checkpoint.load(from: first, loadOptimizer: false)
        let sum = ParameterBuffer(layoutOf: base.model.parameters)
        for path in checkpoints {
            let next = path == first ? base : try Checkpoint.load(from: path, loadOptimizer: false)
            guard next.metadata.configuration == base.metadata.configuration else {
                throw CheckpointError.badMetadata(path: path, key: "model_configuration",
                                                  reason: "differs from \(first)'s; only checkpoints of one model can be averaged")
            }
            guard next.metadata.sourceVocabulary == base.metadata.sourceVocabulary,
                  next.metadata.targetVocabulary == base.metadata.targetVocabulary else {
                throw CheckpointError.badMetadata(path: path, key: "source_vocabulary/target_vocabulary",
                                                  reason: "differs from \(first)'s")
            }
            Kernels.add(next.model.parameters.pointer, into: sum.pointer, count: sum.count)
        }
        let scale = 1 / Float(checkpoints.count)
        for i in 0..<sum.count { sum.pointer[i] *= scale }
        let model = try Seq2SeqModel(configuration: base.metadata.configuration, adopting: sum, copy: false)
        var metadata = base.metadata
        metadata.trainingState = nil
        return (model, metadata)
    }
}

extension ModelDirectory {
    /// Folder of the checkpoints kept for averaging: `DIR/checkpoints/step-NNNNNNN`.
    public var checkpointsFolder: String { path + "/checkpoints" }

    /// Saves the model as `checkpoints/step-NNNNNNN` and deletes all but the newest `keeping` ones.
    func keepCheckpoint(of model: Seq2SeqModel, step: Int, keeping: Int,
                        sourceVocabulary: String, targetVocabulary: String) throws {
        try Checkpoint.save(to: checkpointsFolder + String(format: "/step-%07d", step), model: model,
                            sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary)
        let kept = keptCheckpoints()
        for old in kept.dropLast(keeping) { try? FileManager.default.removeItem(atPath: old) }
    }

    /// The kept checkpoints, oldest first.
    public func keptCheckpoints() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsFolder)) ?? []
        return names.filter { $0.hasPrefix("step-") }.sorted().map { checkpointsFolder + "/" + $0 }
    }

    /// The model directory that holds `path` (a model directory, one of its checkpoint folders,
    /// or a kept checkpoint), found by looking for `model.json` up to two levels up.
    public static func containing(_ path: String) -> ModelDirectory? {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        for _ in 0..<3 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("model.json").path) {
                return ModelDirectory(path: url.path)
            }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
