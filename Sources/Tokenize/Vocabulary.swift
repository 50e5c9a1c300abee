import Foundation

/// Which column of a `source<TAB>target` corpus a vocabulary belongs to.
public enum TextSide: String, Sendable, CaseIterable {
    /// Column 1 of the corpus.
    case source
    /// Column 2 of the corpus.
    case target
}

/// The source and target subword vocabularies learned from one corpus, with
/// the normalization they were learned under.
///
/// Files written by `save(to: PREFIX)` (all plain UTF-8 text, readable):
/// - `PREFIX.meta` — `key: value` lines: format, normalization, mode (bpe|char),
///   joint, min-frequency, the file names of both sides and their sizes;
/// - `PREFIX.SIDE.vocab` — one token per line, id = line number − 1
///   (`<pad>` `<unk>` `<s>` `</s>`, `<0x00>`…`<0xFF>`, `▁`, characters, merged pieces);
/// - `PREFIX.SIDE.merges` — a `#` header line, then one merge `LEFT RIGHT` per
///   line in rank order (the result is the token `LEFTRIGHT`).
///
/// SIDE is `source` and `target`, or `joint` (one file pair for both) with `--joint`.
public struct VocabularyPair: Sendable, Equatable {
    /// Model for the source column.
    public let source: SubwordModel
    /// Model for the target column (the same as `source` when `joint`).
    public let target: SubwordModel
    /// Normalization used for learning; every tokenizer made from this pair uses it.
    public let normalization: NormalizationForm
    /// How the pair was learned (size, joint, character-level, minimum frequency).
    public let options: VocabularyOptions
    /// A stable identity: FNV-1a 64 of the bytes of all vocabulary files, as
    /// `fnv1a64:` + 16 hex digits. Checkpoints store it to check that a model is
    /// used with the vocabulary it was trained with.
    public let identity: String

    /// The model of one side.
    public func model(for side: TextSide) -> SubwordModel { side == .source ? source : target }

    /// A new tokenizer for one side (one per thread; see `Tokenizer`).
    public func tokenizer(for side: TextSide) throws -> Tokenizer {
        try Tokenizer(model: model(for: side), normalization: normalization)
    }

    /// Vocabulary size V of one side.
    public func size(of side: TextSide) -> Int { model(for: side).count }

    init(source: SubwordModel, target: SubwordModel, options: VocabularyOptions) {
        self.source = source
        self.target = target
        self.options = options
        normalization = options.normalization
        identity = VocabularyPair.fnv1a64(VocabularyPair.files(source: source, target: target, options: options, baseName: "").map(\.bytes))
    }

    // MARK: Learning

    /// Learns both vocabularies from `(source, target)` sentence pairs
    /// (raw text; it is normalized with `options.normalization` first).
    /// Deterministic: the same input gives byte-identical files.
    public static func learn<S: Sequence>(pairs: S, options: VocabularyOptions = VocabularyOptions()) throws -> VocabularyPair
    where S.Element == (source: String, target: String) {
        var sourceLearner = try SubwordLearner(normalization: options.normalization)
        if options.joint {
            for pair in pairs {
                sourceLearner.add(line: pair.source)
                sourceLearner.add(line: pair.target)
            }
            let model = try sourceLearner.learn(size: options.size, characterLevel: options.characterLevel,
                                                minimumFrequency: options.minimumFrequency, side: "source or target")
            return VocabularyPair(source: model, target: model, options: options)
        }
        var targetLearner = try SubwordLearner(normalization: options.normalization)
        for pair in pairs {
            sourceLearner.add(line: pair.source)
            targetLearner.add(line: pair.target)
        }
        let source = try sourceLearner.learn(size: options.size, characterLevel: options.characterLevel,
                                             minimumFrequency: options.minimumFrequency, side: "source")
        let target = try targetLearner.learn(size: options.size, characterLevel: options.characterLevel,
                                             minimumFrequency: options.minimumFrequency, side: "target")
        return VocabularyPair(source: source, target: target, options: options)
    }

    /// Learns from parallel arrays of source and target sentences (raw text).
    /// Extra elements of the longer array are ignored.
    public static func learn(sources: [String], targets: [String], options: VocabularyOptions = VocabularyOptions()) throws -> VocabularyPair {
        try learn(pairs: zip(sources, targets).lazy.map { (source: $0.0, target: $0.1) }, options: options)
    }

    /// Learns from the pairs of a corpus read by `TSVCorpus`.
    public static func learn(corpus pairs: [SentencePair], options: VocabularyOptions = VocabularyOptions()) throws -> VocabularyPair {
        try learn(pairs: pairs.lazy.map { (source: $0.source, target: $0.target) }, options: options)
    }

    // MARK: Files

    /// Writes the vocabulary files for `prefix` (e.g. `Vocab/tatoeba` →
    /// `Vocab/tatoeba.meta`, `Vocab/tatoeba.source.vocab`, …), creating the
    /// folder if needed. Each file is written atomically.
    public func save(to prefix: String) throws {
        try VocabularyPair.checkPrefix(prefix)
        let folder = OutputFile.folder(of: prefix)
        try Folder.create(folder)
        for file in VocabularyPair.files(source: source, target: target, options: options,
                                         baseName: OutputFile.baseName(of: prefix)) {
            try AtomicFile.write(Data(file.bytes), to: folder + "/" + file.name)
        }
    }

    /// Throws `TokenizeError.badVocabularyPrefix` unless `prefix` names files
    /// (`Vocab/NAME`): not empty, not ending in `/`, not an existing folder.
    public static func checkPrefix(_ prefix: String) throws {
        var isFolder: ObjCBool = false
        let base = OutputFile.baseName(of: prefix)
        if prefix.isEmpty || base.isEmpty || base == "." || base == ".."
            || (FileManager.default.fileExists(atPath: prefix, isDirectory: &isFolder) && isFolder.boolValue) {
            throw TokenizeError.badVocabularyPrefix(prefix)
        }
    }

    /// Loads the vocabulary saved at `prefix` (the `--output` of `seq2seq vocab`);
    /// a path to the `.meta` file itself is accepted too.
    public static func load(from prefix: String) throws -> VocabularyPair {
        try load(from: prefix) { path throws(FileReadError) in try FileContents.read(path) }
    }

    /// Loads a vocabulary whose files are read by `read` (a path → its bytes),
    /// e.g. from memory in tests and fuzzing. Every malformed file throws
    /// `TokenizeError`; none traps.
    public static func load(from prefix: String,
                            reading read: (String) throws(FileReadError) -> [UInt8]) throws -> VocabularyPair {
        let prefix = prefix.hasSuffix(".meta") ? String(prefix.dropLast(5)) : prefix
        let folder = OutputFile.folder(of: prefix)
        let metaPath = prefix + ".meta"
        func readText(_ path: String) throws -> String {
            let data: [UInt8]
            do { data = try read(path) } catch {
                if path == metaPath, case .notFound = error { throw TokenizeError.vocabularyNotFound(prefix: prefix) }
                throw TokenizeError.badVocabularyFile(path: path, reason: "cannot read the file: \(error.reason)")
            }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw TokenizeError.badVocabularyFile(path: path, reason: "not valid UTF-8")
            }
            return text
        }
        let meta = try readText(metaPath)
        var fields: [String: String] = [:]
        for line in meta.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard fields["format"] == "seq2seq-vocabulary 1" else {
            throw TokenizeError.badVocabularyFile(path: metaPath, reason: "not a seq2seq vocabulary (format line missing or unknown)")
        }
        guard let normalizationName = fields["normalization"], let form = NormalizationForm(rawValue: normalizationName) else {
            throw TokenizeError.badVocabularyFile(path: metaPath, reason: "missing or unknown normalization")
        }
        let options = VocabularyOptions(size: Int(fields["size"] ?? "") ?? 0,
                                        joint: fields["joint"] == "true",
                                        characterLevel: fields["mode"] == "char",
                                        normalization: form,
                                        minimumFrequency: Int(fields["min-frequency"] ?? "") ?? 2)
        func loadSide(_ key: String) throws -> SubwordModel {
            guard let base = fields[key], !base.isEmpty, !base.contains("/") else {
                throw TokenizeError.badVocabularyFile(path: metaPath, reason: "missing '\(key):' line")
            }
            let vocabPath = folder + "/" + base + ".vocab", mergesPath = folder + "/" + base + ".merges"
            // Split on bytes, not Characters: a token may start with a combining
            // mark or ZWJ, which would join a preceding space into one Character.
            let tokens = try lines(readText(vocabPath))
            guard tokens.last == "" else { throw TokenizeError.badVocabularyFile(path: vocabPath, reason: "truncated (no final newline)") }
            var ids = TokenTable(capacity: tokens.count)
            for (i, t) in tokens.dropLast().enumerated() { ids.insert(t, id: Int32(i)) }
            var merges: [(left: Int32, right: Int32)] = []
            var mergeText = try readText(mergesPath)
            try mergeText.withUTF8 { text in
                try forEachLine(text) { n, line in
                    guard n > 0, !line.isEmpty else { return }
                    let space = line.firstIndex(of: 0x20) ?? line.endIndex
                    let left = UnsafeBufferPointer(rebasing: line[..<space])
                    let right = UnsafeBufferPointer(rebasing: line[min(space + 1, line.endIndex)...])
                    guard space < line.endIndex, !right.contains(0x20),
                          let l = ids.id(of: left), let r = ids.id(of: right) else {
                        throw TokenizeError.badVocabularyFile(path: mergesPath, reason: "line \(n + 1) is not 'LEFT RIGHT' with known tokens")
                    }
                    merges.append((l, r))
                }
            }
            return try SubwordModel(tokens: Array(tokens.dropLast()), merges: merges, path: vocabPath)
        }
        let source = try loadSide("source")
        let target = fields["source"] == fields["target"] ? source : try loadSide("target")
        let pair = VocabularyPair(source: source, target: target, options: options)
        return pair
    }

    /// Lines of `text` split at U+000A bytes (a final newline gives a last empty element).
    private static func lines(_ text: String) -> [String] {
        var text = text, lines: [String] = []
        text.withUTF8 { bytes in forEachLine(bytes) { _, line in lines.append(String(decoding: line, as: UTF8.self)) } }
        return lines
    }

    /// Calls `body` with the number and bytes of each line of `text` (split at U+000A; a final
    /// newline gives a last empty line).
    private static func forEachLine(_ text: UnsafeBufferPointer<UInt8>,
                                    _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        var start = 0, number = 0
        for (i, byte) in text.enumerated() where byte == 0x0A {
            try body(number, UnsafeBufferPointer(rebasing: text[start..<i]))
            number += 1
            start = i + 1
        }
        try body(number, UnsafeBufferPointer(rebasing: text[start...]))
    }

    /// The files of a vocabulary pair: names (relative to the folder) and bytes.
    private static func files(source: SubwordModel, target: SubwordModel, options: VocabularyOptions,
                              baseName: String) -> [(name: String, bytes: [UInt8])] {
        let sides: [(String, SubwordModel)] = options.joint ? [("joint", source)] : [("source", source), ("target", target)]
        var meta = "format: seq2seq-vocabulary 1\n"
        meta += "normalization: \(options.normalization.rawValue)\n"
        meta += "mode: \(options.characterLevel ? "char" : "bpe")\n"
        meta += "joint: \(options.joint)\n"
        meta += "size: \(options.size)\n"
        meta += "min-frequency: \(options.minimumFrequency)\n"
        meta += "source: \(baseName).\(sides[0].0)\n"
        meta += "target: \(baseName).\(sides[sides.count - 1].0)\n"
        meta += "source-tokens: \(source.count)\n"
        meta += "target-tokens: \(target.count)\n"
        var files: [(name: String, bytes: [UInt8])] = [("\(baseName).meta", Array(meta.utf8))]
        for (name, model) in sides {   // bytes, not String appends: this runs at every load (`identity`)
            var vocab: [UInt8] = []
            vocab.reserveCapacity(model.tokens.count * 8)
            for t in model.tokens { vocab.append(contentsOf: t.utf8); vocab.append(0x0A) }
            var merges = Array("# seq2seq BPE merges: LEFT RIGHT per line, in rank order\n".utf8)
            merges.reserveCapacity(model.merges.count * 12)
            for m in model.merges {
                merges.append(contentsOf: model.tokens[Int(m.left)].utf8)
                merges.append(0x20)
                merges.append(contentsOf: model.tokens[Int(m.right)].utf8)
                merges.append(0x0A)
            }
            files.append(("\(baseName).\(name).vocab", vocab))
            files.append(("\(baseName).\(name).merges", merges))
        }
        return files
    }

    /// FNV-1a 64 over several byte strings (each followed by a 0xFF separator).
    static func fnv1a64(_ parts: [[UInt8]]) -> String {
        var hash = FNV1a64()
        for part in parts {
            hash.add(part)
            hash.add(0xFF)
        }
        return "fnv1a64:" + hash.hex
    }
}
