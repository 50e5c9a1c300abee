import Foundation
import Seq2Seq

/// A model the server answers with: its directory, what was loaded from it, and
/// the batcher that owns its `Translator`. `reload()` swaps in the directory's
/// current contents without stopping the batcher.
public final class ServedModel: @unchecked Sendable {
    public let name: String
    public let path: String
    private let options: TranslationOptions
    private let shortlistSetting: Bool?
    private let workers: Int
    public let batcher: DynamicBatcher

    /// What one load of the directory gave.
    struct Loaded {
        var manifest: ModelManifest
        var configuration: ModelConfiguration
        var usesShortlist: Bool
    }
    private var loaded: Loaded                  // guarded by `lock`
    private let lock = NSLock()
    /// One reload at a time.
    private let reloading = NSLock()

    public var manifest: ModelManifest { lock.withLock { loaded.manifest } }
    public var configuration: ModelConfiguration { lock.withLock { loaded.configuration } }
    /// Whether the model has attention (and so can return alignments).
    public var hasAttention: Bool { configuration.attention != .none }
    /// Whether its translator scores only shortlisted target tokens.
    public var usesShortlist: Bool { lock.withLock { loaded.usesShortlist } }

    /// Loads `path` (a directory written by `seq2seq train`) once per worker and starts the
    /// decoding threads.
    /// - Parameters:
    ///   - options: server-wide decoding settings (length penalty, maximum lengths);
    ///     beam size, greedy and n-best come per request.
    ///   - shortlist: decode with the directory's vocabulary shortlist (nil: when it has one).
    ///   - workers: decoding threads, each with its own copy of the model (at least 1).
    public init(name: String, path: String, options: TranslationOptions, shortlist: Bool? = nil, window: TimeInterval,
                maxBatch: Int, maxQueue: Int? = nil, workers: Int = 1, metrics: ServingMetrics) throws {
        self.name = name
        self.path = path
        self.options = options
        shortlistSetting = shortlist
        self.workers = max(1, workers)
        let (translators, loaded) = try Self.load(path: path, options: options, shortlist: shortlist, copies: self.workers)
        self.loaded = loaded
        batcher = DynamicBatcher(translators: translators, window: window, maxBatch: maxBatch, maxQueue: maxQueue) { report in
            metrics.recordBatch(model: name, report)
        }
        batcher.start(name: name)
    }

    /// `copies` translators of the directory's model (a translator is not thread-safe, so each
    /// worker decodes with its own).
    private static func load(path: String, options: TranslationOptions, shortlist: Bool?,
                             copies: Int) throws -> ([Translator], Loaded) {
        let directory = ModelDirectory(path: path)
        let usesShortlist = shortlist ?? directory.hasShortlist
        let (translator, manifest) = try directory.loadTranslator(options: options, shortlist: usesShortlist)
        var translators = [translator]
        while translators.count < copies {
            translators.append(try directory.loadTranslator(options: options, shortlist: usesShortlist).0)
        }
        return (translators, Loaded(manifest: manifest, configuration: translator.model.configuration, usesShortlist: usesShortlist))
    }

    /// Loads the directory again (a retrained or replaced model) and decodes every later
    /// batch with it; queued and in-flight requests are answered, by the old model until the
    /// new one is in place. If the directory does not load (missing or damaged files), throws
    /// and keeps serving the current model.
    public func reload() throws {
        try reloading.withLock {
            let (translators, fresh) = try Self.load(path: path, options: options, shortlist: shortlistSetting, copies: workers)
            try batcher.replaceTranslators(with: translators)
            lock.withLock { loaded = fresh }
        }
    }

    func description(isDefault: Bool) -> ModelDescription {
        let loaded = lock.withLock { self.loaded }
        let configuration = loaded.configuration
        return ModelDescription(name: name, path: path, isDefault: isDefault, sourceLanguage: loaded.manifest.sourceLanguage,
                                targetLanguage: loaded.manifest.targetLanguage, embeddingSize: configuration.embeddingSize,
                                hiddenSize: configuration.hiddenSize, layers: configuration.layerCount,
                                sourceVocabularySize: configuration.sourceVocabularySize,
                                targetVocabularySize: configuration.targetVocabularySize,
                                attention: configuration.attention != .none, shortlist: loaded.usesShortlist)
    }

    /// One line for the log: where the model came from and its shape.
    var summary: String {
        let loaded = lock.withLock { self.loaded }
        let shape = loaded.configuration
        return "\(path) (\(loaded.manifest.sourceLanguage) → \(loaded.manifest.targetLanguage), E\(shape.embeddingSize) "
            + "H\(shape.hiddenSize) L\(shape.layerCount)\(loaded.usesShortlist ? ", shortlist" : ""))"
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
