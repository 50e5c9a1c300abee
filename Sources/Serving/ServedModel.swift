import Foundation
import Seq2Seq

/// A model the server answers with: its directory, manifest and the batcher
/// that owns its `Translator`.
public final class ServedModel: Sendable {
    public let name: String
    public let path: String
    public let manifest: ModelManifest
    public let configuration: ModelConfiguration
    public let batcher: DynamicBatcher
    /// Whether the model has attention (and so can return alignments).
    public var hasAttention: Bool { configuration.attention != .none }

    /// Loads `path` (a directory written by `seq2seq train`) and starts its decoding thread.
    /// - Parameters:
    ///   - options: server-wide decoding settings (length penalty, maximum lengths);
    ///     beam size, greedy and n-best come per request.
    public init(name: String, path: String, options: TranslationOptions, window: TimeInterval, maxBatch: Int,
                maxQueue: Int? = nil, metrics: ServingMetrics) throws {
        let (translator, manifest) = try ModelDirectory(path: path).loadTranslator(options: options)
        self.name = name
        self.path = path
        self.manifest = manifest
        configuration = translator.model.configuration
        batcher = DynamicBatcher(translator: translator, window: window, maxBatch: maxBatch, maxQueue: maxQueue) { report in
            metrics.recordBatch(model: name, report)
        }
        batcher.start(name: name)
    }

    func description(isDefault: Bool) -> ModelDescription {
        ModelDescription(name: name, path: path, isDefault: isDefault, sourceLanguage: manifest.sourceLanguage,
                         targetLanguage: manifest.targetLanguage, embeddingSize: configuration.embeddingSize,
                         hiddenSize: configuration.hiddenSize, layers: configuration.layerCount,
                         sourceVocabularySize: configuration.sourceVocabularySize,
                         targetVocabularySize: configuration.targetVocabularySize,
                         attention: configuration.attention != .none)
    }
}

/// `--model` arguments: `DIR` (named after the folder) or `NAME=DIR`.
public struct ModelSpecification: Sendable, Equatable {
    public var name: String
    public var path: String

    /// Parses `NAME=DIR` or `DIR`; nil for an empty name or path.
    public init?(argument: String) {
        if let equals = argument.firstIndex(of: "="), !argument.hasPrefix("/"), !argument.hasPrefix(".") {
            name = String(argument[..<equals])
            path = String(argument[argument.index(after: equals)...])
        } else {
            path = argument
            let trimmed = argument.hasSuffix("/") ? String(argument.dropLast()) : argument
            name = URL(fileURLWithPath: trimmed).lastPathComponent
        }
        if name.isEmpty || path.isEmpty { return nil }
    }
}
