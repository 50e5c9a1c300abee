import Foundation
import Tokenize

/// What a language-model directory holds besides the weights: the units and the sizes.
public struct LanguageModelManifest: Codable, Equatable, Sendable {
    public static let currentFormatVersion = 1
    /// Always "language-model" (a translation model's directory has `model.json` instead).
    public var kind = "language-model"
    public var formatVersion = LanguageModelManifest.currentFormatVersion
    public var units: TextUnitKind
    /// char/jamo: the unit of every id (`alphabet[0]` = "<unk>"); nil for subword (files `vocab.*`).
    public var alphabet: [String]?
    /// `TextUnits.identity`, also stored in every checkpoint.
    public var unitsIdentity: String
    public var configuration: LanguageModelConfiguration

    public init(units: any TextUnits, configuration: LanguageModelConfiguration) {
        self.units = units.kind
        alphabet = (units as? CharacterUnits)?.alphabet
        unitsIdentity = units.identity
        self.configuration = configuration
    }
}

/// Layout of a directory written by `seq2seq lm train --output DIR`:
///
/// ```
/// DIR/lm.json                   LanguageModelManifest (units, alphabet, sizes)
/// DIR/vocab.*                   subword units only: the BPE vocabulary
/// DIR/best/model.safetensors    weights with the lowest dev loss so far
/// DIR/last/                     latest weights, optimizer.safetensors, session.json and
///                               streams.safetensors (the carried states): resumable
/// DIR/training-log.jsonl        one JSON record per validation
/// DIR/run.json                  LanguageModelRunRecord: command lines, texts, time, the dev text's end
/// ```
public struct LanguageModelDirectory: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public var manifestPath: String { path + "/lm.json" }
    public var vocabularyPrefix: String { path + "/vocab" }
    public var bestCheckpoint: String { path + "/best" }
    public var lastCheckpoint: String { path + "/last" }
    public var logPath: String { path + "/training-log.jsonl" }
    public var sessionPath: String { lastCheckpoint + "/session.json" }
    public var streamsPath: String { lastCheckpoint + "/streams.safetensors" }

    public func writeManifest(_ manifest: LanguageModelManifest) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest), to: manifestPath)
    }

    /// The manifest; says clearly when the folder is missing, holds a translation model, or
    /// is not a model directory at all.
    public func readManifest() throws -> LanguageModelManifest {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LanguageModelError.badModelDirectory(path: path, reason: "no such folder; train a model with `seq2seq lm train TEXT --output \(path)`")
        }
        guard isDirectory.boolValue else {
            throw LanguageModelError.badModelDirectory(path: path, reason: "is a file; --model takes the folder `seq2seq lm train --output` wrote")
        }
        guard let data = files.contents(atPath: manifestPath) else {
            if files.fileExists(atPath: path + "/model.json") {
                throw LanguageModelError.notALanguageModel(path: path, reason: "it holds a translation model (model.json); use it with `translate --model \(path)`")
            }
            throw LanguageModelError.notALanguageModel(path: path, reason: "no lm.json")
        }
        struct Header: Decodable { var kind: String?; var formatVersion: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data), header.kind == "language-model" else {
            throw LanguageModelError.notALanguageModel(path: path, reason: "lm.json is not a language-model manifest")
        }
        guard header.formatVersion == LanguageModelManifest.currentFormatVersion else {
            throw LanguageModelError.badModelDirectory(
                path: path, reason: "format version \(header.formatVersion ?? 0), this build reads \(LanguageModelManifest.currentFormatVersion); retrain with this version")
        }
        do { return try JSONDecoder().decode(LanguageModelManifest.self, from: data) } catch {
            throw LanguageModelError.badModelDirectory(path: path, reason: "unreadable lm.json (\(error))")
        }
    }

    /// Saves the units' files (subword: `vocab.*`; char/jamo live in the manifest).
    public func saveUnits(_ units: any TextUnits) throws {
        if let subword = units as? SubwordUnits { try subword.vocabulary.save(to: vocabularyPrefix) }
    }

    /// The units the manifest describes, checked against its identity.
    public func loadUnits(_ manifest: LanguageModelManifest) throws -> any TextUnits {
        let units: any TextUnits
        switch manifest.units {
        case .char, .jamo:
            guard let alphabet = manifest.alphabet else {
                throw LanguageModelError.badModelDirectory(path: manifestPath, reason: "lm.json has no alphabet; the file is damaged — retrain")
            }
            units = try CharacterUnits(kind: manifest.units, alphabet: alphabet)
        case .subword:
            units = try SubwordUnits(vocabulary: try VocabularyPair.load(from: vocabularyPrefix))
        }
        guard units.identity == manifest.unitsIdentity else {
            throw LanguageModelError.badModelDirectory(
                path: path, reason: "the units (\(units.identity)) are not the ones the model was trained with (\(manifest.unitsIdentity)); copy the matching files or retrain")
        }
        return units
    }

    /// The checkpoint to use: `best/` if present, else `last/`.
    public func checkpointForInference() throws -> String {
        for candidate in [bestCheckpoint, lastCheckpoint]
        where FileManager.default.fileExists(atPath: candidate + "/" + LanguageModelCheckpoint.modelFileName) {
            return candidate
        }
        throw LanguageModelError.badModelDirectory(
            path: path, reason: "no checkpoint (best/ or last/model.safetensors); was training stopped before the first save? Train again")
    }

    /// Manifest, units and the best weights, checked to belong together.
    public func load() throws -> (model: LanguageModel, units: any TextUnits, manifest: LanguageModelManifest) {
        let manifest = try readManifest()
        let units = try loadUnits(manifest)
        let checkpoint = try LanguageModelCheckpoint.load(from: try checkpointForInference(), loadOptimizer: false)
        try check(checkpoint, units: units)
        return (checkpoint.model, units, manifest)
    }

    /// Throws unless the checkpoint was trained with `units`.
    func check(_ checkpoint: LanguageModelCheckpoint.Loaded, units: any TextUnits) throws {
        guard checkpoint.units == units.identity, checkpoint.model.configuration.vocabularySize == units.count else {
            throw LanguageModelError.badModelDirectory(
                path: path, reason: "the weights were trained with units \(checkpoint.units) but lm.json describes \(units.identity); the files come from different models")
        }
    }
}
