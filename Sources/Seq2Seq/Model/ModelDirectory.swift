import Foundation
import Tokenize

/// What a trained model directory holds besides the weights: the direction
/// (which corpus column is the source) and the languages, so `translate` and
/// `eval` use the vocabulary sides the model was trained with.
public struct ModelManifest: Codable, Equatable, Sendable {
    /// Version of this directory layout; bumped on incompatible changes.
    public static let currentFormatVersion = 1

    public var formatVersion: Int = ModelManifest.currentFormatVersion
    /// True when the model translates column 2 → column 1 of the corpus the
    /// vocabulary was learned from (`train --reverse`).
    public var reverse: Bool
    /// Language tag guessed from the training data ("ko", "en" or "other").
    public var sourceLanguage: String
    public var targetLanguage: String
    /// `VocabularyPair.identity` of `vocab.*`.
    public var vocabularyIdentity: String
    /// The encoder reads each source sentence last token first (Sutskever et
    /// al., 2014): the first target words then sit close to the source words
    /// they depend on, which helps an encoder-decoder without attention.
    public var sourceOrderReversed: Bool
    /// The architecture the checkpoints hold (cell, encoder, attention, input feeding). Absent in
    /// directories written before these choices existed, which hold LSTMs without attention.
    public var architecture: ModelArchitecture?

    public init(reverse: Bool, sourceLanguage: String, targetLanguage: String, vocabularyIdentity: String,
                sourceOrderReversed: Bool, architecture: ModelArchitecture? = nil) {
        self.reverse = reverse
        self.sourceOrderReversed = sourceOrderReversed
        self.sourceLanguage = sourceLanguage
        self.targetLanguage = targetLanguage
        self.vocabularyIdentity = vocabularyIdentity
        self.architecture = architecture
    }

    /// Vocabulary side used for the model's source and target.
    public var sourceSide: TextSide { reverse ? .target : .source }
    public var targetSide: TextSide { reverse ? .source : .target }
}

/// A model directory is missing, incomplete, or does not fit together.
public enum ModelDirectoryError: Error, CustomStringConvertible, Equatable {
    case notFound(path: String)
    case incomplete(path: String, missing: String)
    case badManifest(path: String, reason: String)
    case incompatibleVersion(path: String, found: Int, expected: Int)
    case vocabularyMismatch(path: String, checkpoint: String, vocabulary: String)
    case architectureMismatch(path: String, manifest: String, checkpoint: String)
    case ensembleMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): model directory not found; train one with `seq2seq train PAIRS.tsv --output \(path)`"
        case .incomplete(let path, let missing): return "\(path): incomplete model directory (missing \(missing)); was training interrupted before the first checkpoint? Train again or pick another --model"
        case .badManifest(let path, let reason): return "\(path): unreadable model manifest (\(reason)); the directory was not written by `seq2seq train`"
        case .incompatibleVersion(let path, let found, let expected): return "\(path): model format version \(found), this build reads version \(expected); retrain the model with this version"
        case .vocabularyMismatch(let path, let checkpoint, let vocabulary): return "\(path): the weights were trained with vocabulary \(checkpoint) but the directory's vocabulary is \(vocabulary); copy the matching vocab.* files or retrain"
        case .ensembleMismatch(let path, let reason): return "\(path): cannot join the ensemble: \(reason); ensembles need models trained with the same vocabulary and direction"
        case .architectureMismatch(let path, let manifest, let checkpoint): return "\(path): model.json describes \(manifest) but the checkpoint holds \(checkpoint); the files come from different models — copy the matching model.json or retrain"
        }
    }
}

/// Layout of a model directory written by `seq2seq train --output DIR`:
///
/// ```
/// DIR/model.json              ModelManifest (direction, languages, vocabulary identity)
/// DIR/vocab.meta, vocab.*     the vocabulary pair (plain text)
/// DIR/best/model.safetensors  weights with the best dev chrF so far
/// DIR/last/                   latest weights + optimizer.safetensors: resumable
/// DIR/training-log.jsonl      one JSON record per validation
/// DIR/shortlist.safetensors   optional vocabulary shortlist (`seq2seq shortlist`, `translate --shortlist`)
/// ```
public struct ModelDirectory: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public var manifestPath: String { path + "/model.json" }
    public var vocabularyPrefix: String { path + "/vocab" }
    public var bestCheckpoint: String { path + "/best" }
    public var lastCheckpoint: String { path + "/last" }
    public var logPath: String { path + "/training-log.jsonl" }
    public var sessionPath: String { lastCheckpoint + "/session.json" }
    public var shortlistPath: String { path + "/" + VocabularyShortlist.fileName }
    /// Whether the directory has a vocabulary shortlist (`seq2seq train` writes one unless told not to).
    public var hasShortlist: Bool { FileManager.default.fileExists(atPath: shortlistPath) }

    /// The vocabulary strings a checkpoint stores for each side.
    public static func vocabularyTag(_ identity: String, side: TextSide) -> String { "\(identity)#\(side.rawValue)" }

    public func writeManifest(_ manifest: ModelManifest) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(manifest), to: manifestPath)
    }

    public func readManifest() throws -> ModelManifest {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelDirectoryError.notFound(path: path)
        }
        let data: Data
        do { data = Data(try FileContents.read(manifestPath)) } catch {
            if case .notFound = error { throw ModelDirectoryError.incomplete(path: path, missing: "model.json") }
            throw ModelDirectoryError.badManifest(path: manifestPath, reason: "cannot read it: \(error.reason)")
        }
        struct Version: Decodable { var formatVersion: Int }
        guard let version = try? JSONDecoder().decode(Version.self, from: data) else {
            throw ModelDirectoryError.badManifest(path: manifestPath, reason: "not a model manifest")
        }
        guard version.formatVersion == ModelManifest.currentFormatVersion else {
            throw ModelDirectoryError.incompatibleVersion(path: path, found: version.formatVersion,
                                                         expected: ModelManifest.currentFormatVersion)
        }
        do {
            return try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch {
            throw ModelDirectoryError.badManifest(path: manifestPath, reason: "\(error)")
        }
    }

    /// The checkpoint to translate with: `best/` if present, else `last/`.
    public func checkpointForTranslation() throws -> String {
        for candidate in [bestCheckpoint, lastCheckpoint]
        where FileManager.default.fileExists(atPath: candidate + "/" + Checkpoint.modelFileName) {
            return candidate
        }
        throw ModelDirectoryError.incomplete(path: path, missing: "best/\(Checkpoint.modelFileName)")
    }

    /// Loads everything needed to translate: manifest, vocabulary, weights (checked against the
    /// vocabulary and the architecture), and a translator. With `ensemble`, the further model
    /// directories join as ensemble members; they must share this model's vocabulary and direction.
    /// With `shortlist`, the translator decodes with the directory's `shortlist.safetensors`
    /// (checked against the vocabulary). `mapWeights`: the first model's weights stay in the mapped
    /// file (see `Checkpoint.load(from:loadOptimizer:mapWeights:)`), for short-lived processes.
    public func loadTranslator(options: TranslationOptions = TranslationOptions(),
                               ensemble: [ModelDirectory] = [], shortlist: Bool = false,
                               mapWeights: Bool = false) throws -> (Translator, ModelManifest) {
        let manifest = try readManifest()
        var options = options
        options.reverseSourceOrder = manifest.sourceOrderReversed
        guard FileManager.default.fileExists(atPath: vocabularyPrefix + ".meta") else {
            throw ModelDirectoryError.incomplete(path: path, missing: "vocab.meta")
        }
        // Two threads: the vocabulary is parsed while the weights (and the shortlist) are mapped and checked.
        let prefix = vocabularyPrefix
        let (vocabulary, (checkpoint, shortlistFile)) = try Parallel.both({ try VocabularyPair.load(from: prefix) }, {
            (try Checkpoint.load(from: try checkpointForTranslation(), loadOptimizer: false, mapWeights: mapWeights),
             shortlist ? try VocabularyShortlist(contentsOf: shortlistPath) : nil)
        })
        let model = try checkedModel(checkpoint, manifest: manifest, vocabulary: vocabulary)
        let members = try ensemble.map { other -> EnsembleMember in
            let otherManifest = try other.readManifest()
            guard otherManifest.vocabularyIdentity == manifest.vocabularyIdentity else {
                throw ModelDirectoryError.ensembleMismatch(
                    path: other.path, reason: "its vocabulary \(otherManifest.vocabularyIdentity) differs from \(path)'s \(manifest.vocabularyIdentity)")
            }
            guard otherManifest.reverse == manifest.reverse else {
                throw ModelDirectoryError.ensembleMismatch(path: other.path, reason: "it translates the other direction than \(path)")
            }
            return EnsembleMember(model: try other.loadModel(manifest: otherManifest, vocabulary: vocabulary),
                                  sourceOrderReversed: otherManifest.sourceOrderReversed)
        }
        let translator = Translator(model: model,
                                    sourceTokenizer: try vocabulary.tokenizer(for: manifest.sourceSide),
                                    targetTokenizer: try vocabulary.tokenizer(for: manifest.targetSide),
                                    options: options, ensemble: members, weightsAreFixed: true)
        if let shortlistFile { try translator.useShortlist(try checkedShortlist(shortlistFile, manifest: manifest, vocabulary: vocabulary)) }
        return (translator, manifest)
    }

    /// The vocabulary tags of the model's source and target sides (what a shortlist records).
    public func vocabularyTags(_ manifest: ModelManifest) -> (source: String, target: String) {
        (ModelDirectory.vocabularyTag(manifest.vocabularyIdentity, side: manifest.sourceSide),
         ModelDirectory.vocabularyTag(manifest.vocabularyIdentity, side: manifest.targetSide))
    }

    /// `shortlist.safetensors`, checked against the model's vocabularies.
    /// - Throws: `ShortlistError` (missing, malformed, another model's), `SafeTensorsError`.
    public func loadShortlist(manifest: ModelManifest, vocabulary: VocabularyPair) throws -> VocabularyShortlist {
        try checkedShortlist(try VocabularyShortlist(contentsOf: shortlistPath), manifest: manifest, vocabulary: vocabulary)
    }

    /// `shortlist` if it was built for the model's vocabularies.
    private func checkedShortlist(_ shortlist: VocabularyShortlist, manifest: ModelManifest,
                                  vocabulary: VocabularyPair) throws -> VocabularyShortlist {
        let tags = vocabularyTags(manifest)
        try shortlist.check(sourceVocabulary: tags.source, targetVocabulary: tags.target,
                            sourceVocabularySize: vocabulary.size(of: manifest.sourceSide),
                            targetVocabularySize: vocabulary.size(of: manifest.targetSide), path: shortlistPath)
        return shortlist
    }

    /// The weights to translate with, checked against the manifest's architecture and the vocabulary.
    func loadModel(manifest: ModelManifest, vocabulary: VocabularyPair) throws -> Seq2SeqModel {
        try checkedModel(try Checkpoint.load(from: try checkpointForTranslation(), loadOptimizer: false),
                         manifest: manifest, vocabulary: vocabulary)
    }

    /// The checkpoint's model if it holds the manifest's architecture and was trained with `vocabulary`.
    private func checkedModel(_ checkpoint: LoadedCheckpoint, manifest: ModelManifest, vocabulary: VocabularyPair) throws -> Seq2SeqModel {
        try checkArchitecture(checkpoint.metadata.configuration, manifest: manifest)
        try checkVocabulary(checkpoint.metadata, vocabulary: vocabulary, manifest: manifest)
        return checkpoint.model
    }

    /// Throws `architectureMismatch` unless the checkpoint holds the architecture `model.json` records.
    public func checkArchitecture(_ configuration: ModelConfiguration, manifest: ModelManifest) throws {
        let recorded = manifest.architecture ?? .original
        let stored = ModelArchitecture(configuration)
        guard recorded == stored else {
            throw ModelDirectoryError.architectureMismatch(path: path, manifest: recorded.description, checkpoint: stored.description)
        }
    }

    /// Throws `vocabularyMismatch` unless the checkpoint was trained with `vocabulary`.
    public func checkVocabulary(_ metadata: CheckpointMetadata, vocabulary: VocabularyPair,
                                manifest: ModelManifest) throws {
        let expected = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.sourceSide)
        guard metadata.sourceVocabulary == expected else {
            throw ModelDirectoryError.vocabularyMismatch(path: path, checkpoint: metadata.sourceVocabulary, vocabulary: expected)
        }
        let expectedTarget = ModelDirectory.vocabularyTag(vocabulary.identity, side: manifest.targetSide)
        guard metadata.targetVocabulary == expectedTarget else {
            throw ModelDirectoryError.vocabularyMismatch(path: path, checkpoint: metadata.targetVocabulary, vocabulary: expectedTarget)
        }
        let config = metadata.configuration
        guard config.sourceVocabularySize == vocabulary.size(of: manifest.sourceSide),
              config.targetVocabularySize == vocabulary.size(of: manifest.targetSide) else {
            throw ModelDirectoryError.vocabularyMismatch(
                path: path, checkpoint: "sizes \(config.sourceVocabularySize)/\(config.targetVocabularySize)",
                vocabulary: "sizes \(vocabulary.size(of: manifest.sourceSide))/\(vocabulary.size(of: manifest.targetSide))")
        }
    }
}

/// Guesses the language of a sample of lines: "ko" if Hangul makes up at least
/// a fifth of the letters, "en" if Latin letters dominate, else "other".
public func guessLanguage<S: Sequence>(_ lines: S) -> String where S.Element == String {
    var counts = LetterScriptCounts()
    for line in lines { counts.add(line) }
    if counts.letters == 0 { return "other" }
    if counts.hangul * 5 >= counts.letters { return "ko" }
    if counts.latin * 2 >= counts.letters { return "en" }
    return "other"
}
