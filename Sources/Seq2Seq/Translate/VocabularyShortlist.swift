import Foundation
import Tokenize

/// A shortlist file is missing, malformed, or belongs to another model; or shortlist settings are invalid.
public enum ShortlistError: Error, CustomStringConvertible, Equatable {
    case notFound(path: String)
    case malformed(path: String, reason: String)
    case mismatch(path: String, reason: String)
    case invalidSettings(String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no vocabulary shortlist; build one with `seq2seq shortlist --model DIR PAIRS.tsv` or translate without --shortlist"
        case .malformed(let path, let reason): return "\(path): not a valid shortlist (\(reason)); build it again with `seq2seq shortlist`"
        case .mismatch(let path, let reason): return "\(path): the shortlist does not belong to this model (\(reason)); build it again with `seq2seq shortlist --model DIR`"
        case .invalidSettings(let why): return "invalid shortlist settings: \(why)"
        }
    }
}

/// Which target tokens the decoder scores for a sentence (a lexical shortlist, as in Marian):
/// the `frequent` target tokens, `</s>`, and for every token of the source sentence its
/// `candidates` (the target tokens most associated with it in the training pairs, see
/// `VocabularyShortlist.learn`). Outside its shortlist a sentence's tokens get log-probability
/// −∞, and the log-softmax is taken over the shortlist alone.
///
/// The shortlist of a sentence depends on that sentence's source tokens only, so a translation
/// does not depend on what it is batched with.
///
/// Stored as `DIR/shortlist.safetensors` (`shortlistFileName`): I64 tensors `frequent` `[N]` and
/// `candidates` `[Vs, K]` (−1 pads a source token with fewer than K candidates), with the
/// vocabulary tags of both sides and the target vocabulary size in the metadata.
public struct VocabularyShortlist: Sendable, Equatable {
    public static let fileName = "shortlist.safetensors"
    /// Largest vocabulary a shortlist may describe (bounds what a hostile file can make us allocate).
    public static let maximumVocabularySize = 1 << 24

    /// Vs: source tokens (rows of `candidates`).
    public let sourceVocabularySize: Int
    /// Vt: target tokens.
    public let targetVocabularySize: Int
    /// Target tokens in every sentence's shortlist (most frequent first).
    public let frequent: [Int32]
    /// Per source token, its candidate target tokens, best first.   `[Vs][≤ K]`
    public let candidates: [[Int32]]
    /// Vocabulary tags (`ModelDirectory.vocabularyTag`) of the source and target sides; empty when unknown.
    public let sourceVocabulary: String, targetVocabulary: String

    /// Checks every id: frequent and candidate ids must be target ids, one candidate list per source token.
    public init(sourceVocabularySize: Int, targetVocabularySize: Int, frequent: [Int32], candidates: [[Int32]],
                sourceVocabulary: String = "", targetVocabulary: String = "") throws {
        guard sourceVocabularySize > 0, targetVocabularySize > Int(SubwordModel.endId),
              sourceVocabularySize <= Self.maximumVocabularySize, targetVocabularySize <= Self.maximumVocabularySize else {
            throw ShortlistError.invalidSettings("vocabulary sizes \(sourceVocabularySize)/\(targetVocabularySize) are too small")
        }
        guard candidates.count == sourceVocabularySize else {
            throw ShortlistError.invalidSettings("\(candidates.count) candidate lists for \(sourceVocabularySize) source tokens")
        }
        let valid = Int32(0)..<Int32(targetVocabularySize)
        if let bad = frequent.first(where: { !valid.contains($0) }) ?? candidates.joined().first(where: { !valid.contains($0) }) {
            throw ShortlistError.invalidSettings("target token id \(bad) is outside the vocabulary of \(targetVocabularySize)")
        }
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.frequent = frequent
        self.candidates = candidates
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
    }

    /// The shortlist of one source sentence: target ids in ascending order, `</s>` included.
    /// Source ids outside the vocabulary contribute nothing.
    public func tokens(forSource source: [Int32]) -> [Int32] {
        var marked = [Bool](repeating: false, count: targetVocabularySize)
        return tokens(forSource: source, marked: &marked)
    }

    /// `tokens(forSource:)` with a caller's all-false `[Vt]` buffer (left all-false again).
    private func tokens(forSource source: [Int32], marked: inout [Bool]) -> [Int32] {
        var list: [Int32] = []
        func add(_ t: Int32) {
            if !marked[Int(t)] { marked[Int(t)] = true; list.append(t) }
        }
        add(SubwordModel.endId)
        for t in frequent { add(t) }
        for s in source where s >= 0 && Int(s) < sourceVocabularySize {
            for t in candidates[Int(s)] { add(t) }
        }
        for t in list { marked[Int(t)] = false }
        return list.sorted()
    }

    /// The shortlists of a batch of source sentences, as the decoder uses them: their union and
    /// each sentence's tokens as positions in it.
    public func batch(sources: [[Int32]]) -> BatchShortlist {
        var marked = [Bool](repeating: false, count: targetVocabularySize)
        let lists = sources.map { tokens(forSource: $0, marked: &marked) }
        var position = [Int32](repeating: -1, count: targetVocabularySize)
        for list in lists { for t in list { position[Int(t)] = 0 } }
        var union: [Int32] = []
        for t in 0..<targetVocabularySize where position[t] == 0 {
            position[t] = Int32(union.count)
            union.append(Int32(t))
        }
        return BatchShortlist(tokens: union, members: lists.map { $0.map { position[Int($0)] } })
    }
}

/// The shortlists of a batch of sentences: the output-layer rows the decoder computes (`tokens`,
/// the union) and, per sentence, its own tokens as positions in `tokens`.
public struct BatchShortlist: Sendable, Equatable {
    /// Target ids, ascending.   `[U]`
    public let tokens: [Int32]
    /// Per sentence, positions in `tokens` (ascending, so in target id order).   `[B][U_b]`
    public let members: [[Int32]]

    public init(tokens: [Int32], members: [[Int32]]) {
        self.tokens = tokens
        self.members = members
    }
}

// MARK: - File

extension VocabularyShortlist {
    /// The safetensors form (see the type's documentation).
    public func serialized() throws -> Data {
        let K = candidates.map(\.count).max() ?? 0
        var table = [Int64](repeating: -1, count: sourceVocabularySize * K)   // [Vs, K]
        for (s, list) in candidates.enumerated() {
            for (j, t) in list.enumerated() { table[s * K + j] = Int64(t) }
        }
        let file = SafeTensors(
            tensors: ["frequent": .init(integers: frequent.map(Int64.init), shape: [frequent.count]),
                      "candidates": .init(integers: table, shape: [sourceVocabularySize, K])],
            metadata: ["format": "seq2seq-shortlist", "format_version": "1",
                       "source_vocabulary": sourceVocabulary, "target_vocabulary": targetVocabulary,
                       "target_vocabulary_size": String(targetVocabularySize)])
        return try file.serialized()
    }

    /// Writes `serialized()` to `path` atomically (a crash leaves the old file or none).
    public func write(to path: String) throws {
        try AtomicFile.write(try serialized(), to: path)
    }

    /// Reads a shortlist file; every malformed file throws `ShortlistError` (or `SafeTensorsError`
    /// for a damaged container), none traps.
    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ShortlistError.notFound(path: path) }
        try self.init(file: try SafeTensors(contentsOf: path), path: path)
    }

    /// Parses file bytes (see `init(contentsOf:)`).
    public init(bytes: [UInt8], path: String = "<data>") throws {
        try self.init(file: try SafeTensors(bytes: bytes, path: path), path: path)
    }

    private init(file: SafeTensors, path: String) throws {
        func malformed(_ reason: String) -> ShortlistError { .malformed(path: path, reason: reason) }
        guard file.metadata["format"] == "seq2seq-shortlist" else { throw malformed("no seq2seq-shortlist format tag") }
        guard file.metadata["format_version"] == "1" else {
            throw malformed("format version \(file.metadata["format_version"] ?? "none"), this build reads 1")
        }
        guard let sizeText = file.metadata["target_vocabulary_size"], let Vt = Int(sizeText),
              Vt > Int(SubwordModel.endId), Vt <= Self.maximumVocabularySize else {
            throw malformed("missing or invalid target_vocabulary_size")
        }
        guard let frequentTensor = file.tensors["frequent"], frequentTensor.dtype == .i64, frequentTensor.shape.count == 1,
              let table = file.tensors["candidates"], table.dtype == .i64, table.shape.count == 2 else {
            throw malformed("needs I64 tensors frequent [N] and candidates [Vs, K]")
        }
        let (Vs, K) = (table.shape[0], table.shape[1])
        guard Vs > 0, Vs <= Self.maximumVocabularySize, K >= 0, K <= Vt else {
            throw malformed("candidates has shape [\(Vs), \(K)]; expected [source vocabulary size, at most \(Vt)]")
        }
        func outside(_ value: Int64, _ what: String) -> ShortlistError {
            malformed("\(what) holds token id \(value), outside the target vocabulary of \(Vt)")
        }
        let frequentValues = frequentTensor.integers
        if let bad = frequentValues.first(where: { $0 < 0 || $0 >= Int64(Vt) }) { throw outside(bad, "frequent") }
        let values = table.integers
        guard values.count == Vs * K else { throw malformed("candidates holds \(values.count) values for shape [\(Vs), \(K)]") }
        // One pass to validate (no message is built per value), then rows without the −1 padding.
        if let bad = values.firstIndex(where: { $0 != -1 && ($0 < 0 || $0 >= Int64(Vt)) }) {
            throw outside(values[bad], "candidates row \(bad / max(K, 1))")
        }
        let frequent = frequentValues.map { Int32($0) }
        var lists = [[Int32]]()
        lists.reserveCapacity(Vs)
        for s in 0..<Vs {
            var row = [Int32]()
            row.reserveCapacity(K)
            for j in 0..<K where values[s * K + j] != -1 { row.append(Int32(values[s * K + j])) }
            lists.append(row)
        }
        do {
            try self.init(sourceVocabularySize: Vs, targetVocabularySize: Vt, frequent: frequent, candidates: lists,
                          sourceVocabulary: file.metadata["source_vocabulary"] ?? "",
                          targetVocabulary: file.metadata["target_vocabulary"] ?? "")
        } catch let error as ShortlistError {
            throw malformed("\(error)")
        }
    }

    /// Throws `ShortlistError.mismatch` unless the shortlist was built for these vocabularies.
    public func check(sourceVocabulary: String, targetVocabulary: String, sourceVocabularySize: Int,
                      targetVocabularySize: Int, path: String) throws {
        guard self.sourceVocabularySize == sourceVocabularySize, self.targetVocabularySize == targetVocabularySize else {
            throw ShortlistError.mismatch(path: path, reason: "vocabulary sizes \(self.sourceVocabularySize)/\(self.targetVocabularySize), the model's are \(sourceVocabularySize)/\(targetVocabularySize)")
        }
        guard self.sourceVocabulary == sourceVocabulary, self.targetVocabulary == targetVocabulary else {
            throw ShortlistError.mismatch(path: path, reason: "built for vocabulary \(self.sourceVocabulary) → \(self.targetVocabulary), the model uses \(sourceVocabulary) → \(targetVocabulary)")
        }
    }
}
