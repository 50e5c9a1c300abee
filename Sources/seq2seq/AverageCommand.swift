import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Tokenize

struct AverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "average",
        abstract: "Average the weights of several checkpoints of one model into a new model directory.",
        discussion: """
            Each input is a checkpoint folder (best/, last/, checkpoints/step-N) or a model \
            directory (its best checkpoint). All inputs must share the configuration and the \
            vocabulary. The output is a model directory (model.json and vocabulary copied from the \
            first input's model) that `translate` and `eval` use as usual.

            Examples:
              seq2seq train pairs.tsv --keep-checkpoints 5 --output model
              seq2seq average --output model-avg --last 5 model
              seq2seq average --output model-avg model/checkpoints/step-0004000 model/checkpoints/step-0004500
            """)

    @Argument(help: "Checkpoint folders or model directories (with --last: one model directory).")
    var inputs: [String]

    @Option(help: "Average the N newest checkpoints kept by `train --keep-checkpoints` in the given model directory.")
    var last: Int?

    @Option(help: "Model directory to write.")
    var output: String

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give the checkpoints to average") }
        if let last {
            if last < 1 { throw ValidationError("--last must be at least 1") }
            if inputs.count != 1 { throw ValidationError("--last takes one model directory, got \(inputs.count) inputs") }
        }
        if FileManager.default.fileExists(atPath: output + "/best/" + Checkpoint.modelFileName) {
            throw ValidationError("\(output): a model is already there; choose another --output")
        }
    }

    func run() throws {
        let checkpoints = try resolveCheckpoints()
        guard let source = ModelDirectory.containing(checkpoints[0]) else {
            throw ValidationError("\(checkpoints[0]): not inside a model directory (no model.json above it)")
        }
        let (model, metadata) = try CheckpointAveraging.average(checkpoints)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let destination = ModelDirectory(path: output)
        try destination.writeManifest(try source.readManifest())
        try VocabularyPair.load(from: source.vocabularyPrefix).save(to: destination.vocabularyPrefix)
        try Checkpoint.save(to: destination.bestCheckpoint, model: model, sourceVocabulary: metadata.sourceVocabulary,
                            targetVocabulary: metadata.targetVocabulary)
        printError("averaged \(checkpoints.count) checkpoints -> \(destination.bestCheckpoint)")
    }

    /// The checkpoint folders the inputs name.
    private func resolveCheckpoints() throws -> [String] {
        if let last {
            let kept = ModelDirectory(path: inputs[0]).keptCheckpoints()
            guard kept.count >= last else {
                throw ValidationError("\(inputs[0]): \(kept.count) kept checkpoints, fewer than --last \(last); train with --keep-checkpoints \(last)")
            }
            return Array(kept.suffix(last))
        }
        return try inputs.map { input in
            if FileManager.default.fileExists(atPath: input + "/" + Checkpoint.modelFileName) { return input }
            if FileManager.default.fileExists(atPath: input + "/model.json") {
                return try ModelDirectory(path: input).checkpointForTranslation()
            }
            throw ValidationError("\(input): neither a checkpoint folder (no \(Checkpoint.modelFileName)) nor a model directory")
        }
    }
}
