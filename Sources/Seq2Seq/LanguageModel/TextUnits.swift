import Foundation
import Tokenize

/// What a language model reads and predicts.
public enum TextUnitKind: String, Codable, CaseIterable, Sendable {
    /// One unit per Unicode scalar of the NFC text (a Hangul syllable is one unit).
    case char
    /// Like `char`, but every Hangul syllable is decomposed into its 2–3 conjoining jamo (NFD),
    /// and samples are recomposed (NFC): a ~70-letter alphabet for Korean instead of thousands
    /// of syllables.
    case jamo
    /// The BPE subwords of a `seq2seq vocab` vocabulary, one line at a time, `</s>` for each
    /// line break (lines are normalized as for translation: NFKC, spaces collapsed).
    case subword
}

/// Reading text files for language models.
public enum LanguageModelText {
    /// The file's text, prepared: valid UTF-8 required, a BOM dropped, CR LF and lone CR turned
    /// into LF, Unicode NFC. Whitespace and line structure are kept (source code stays source code).
    /// - Throws: `LanguageModelError.unreadable`, `.invalidUTF8` (with line and byte offset),
    ///   `.emptyText` for a file without any non-whitespace character.
    public static func read(path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LanguageModelError.unreadable(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw LanguageModelError.unreadable(path: path, reason: "it is a folder, not a text file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LanguageModelError.unreadable(path: path, reason: "permission denied or read error")
        }
        return try decode(data, path: path)
    }

    /// `read` for bytes already in memory (`path` names them in errors).
    public static func decode(_ data: Data, path: String) throws -> String {
        guard let raw = String(validating: data, as: UTF8.self) else {
            let offset = firstInvalidUTF8Offset(data)
            let line = data.prefix(offset).reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw LanguageModelError.invalidUTF8(path: path, line: line, byteOffset: offset)
        }
        let text = prepare(raw)
        guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw LanguageModelError.emptyText(path: path)
        }
        return text
    }

    /// BOM dropped, line ends made LF, NFC.
    public static func prepare(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previousCR = false
        for (i, s) in text.unicodeScalars.enumerated() {
            if i == 0 && s == "\u{FEFF}" { continue }
            if s == "\r" { scalars.append("\n"); previousCR = true; continue }
            if s == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            scalars.append(s)
        }
        return String(scalars).precomposedStringWithCanonicalMapping
    }

    private static func firstInvalidUTF8Offset(_ data: Data) -> Int {
        var iterator = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return offset
            }
        }
    }

    /// Characters (Unicode scalars) of prepared text: the denominator of bits per character.
    public static func characterCount(_ text: String) -> Int { text.unicodeScalars.count }
}

/// Turns prepared text into unit ids and ids back into text.
public protocol TextUnits: AnyObject {
    var kind: TextUnitKind { get }
    /// Vocabulary size V.
    var count: Int { get }
    /// A string that identifies the vocabulary exactly (stored in checkpoints).
    var identity: String { get }
    /// Unit ids of prepared text (see `LanguageModelText.prepare`).
    func encode(_ text: String) -> [Int32]
    /// Readable text of one unit (`lm states`, diagnostics).
    func name(of id: Int32) -> String
    /// Ids that are not characters of the text (`<unk>`, specials): never sampled.
    var reservedIDs: Set<Int32> { get }
    /// The unit that stands for a line break, if the vocabulary has one.
    var lineBreak: Int32? { get }
    /// A streaming decoder: text that is final after each id.
    func makeWriter() -> any UnitWriter
}

/// Decodes ids as they are drawn. `append` returns the text that is final now (a jamo writer
/// holds a syllable back until it is complete); `finish` returns the rest.
public protocol UnitWriter {
    mutating func append(_ id: Int32) -> String
    mutating func finish() -> String
}

extension TextUnits {
    /// Text of `ids`.
    public func decode(_ ids: [Int32]) -> String {
        var writer = makeWriter()
        var text = ""
        for id in ids { text += writer.append(id) }
        return text + writer.finish()
    }
}

/// `char` and `jamo` units: an alphabet of single Unicode scalars, id 0 = `<unk>` for anything
/// else (e.g. a dev character never seen in training).
public final class CharacterUnits: TextUnits {
    public let kind: TextUnitKind
    /// Unit strings by id (`alphabet[0]` = "<unk>").
    public let alphabet: [String]
    private let ids: [Unicode.Scalar: Int32]
    private let scalars: [Unicode.Scalar?]
    public static let unknown = "<unk>"

    /// Units over a stored alphabet (as saved in `lm.json`).
    public init(kind: TextUnitKind, alphabet: [String]) throws {
        guard kind != .subword, alphabet.first == CharacterUnits.unknown,
              alphabet.dropFirst().allSatisfy({ $0.unicodeScalars.count == 1 }) else {
            throw LanguageModelError.invalidConfiguration("a character alphabet starts with <unk> and holds single characters")
        }
        self.kind = kind
        self.alphabet = alphabet
        scalars = [nil] + alphabet.dropFirst().map { $0.unicodeScalars.first }
        var ids: [Unicode.Scalar: Int32] = [:]
        for (i, s) in scalars.enumerated() { if let s { ids[s] = Int32(i) } }
        self.ids = ids
    }

    /// Learns the alphabet of `text`: every unit seen at least `minimumCount` times, in scalar order.
    public convenience init(kind: TextUnitKind, learningFrom text: String, minimumCount: Int = 1) throws {
        var counts: [Unicode.Scalar: Int] = [:]
        CharacterUnits.forEachUnit(of: text, jamo: kind == .jamo) { counts[$0, default: 0] += 1 }
        let kept = counts.filter { $0.value >= minimumCount }.keys.sorted { $0.value < $1.value }
        try self.init(kind: kind, alphabet: [CharacterUnits.unknown] + kept.map { String($0) })
    }

    public var count: Int { alphabet.count }
    public var identity: String { "\(kind.rawValue):" + fnv1a64(alphabet.joined(separator: "\u{0}")) }
    public var reservedIDs: Set<Int32> { [0] }
    public var lineBreak: Int32? { ids["\n"] }

    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count)
        CharacterUnits.forEachUnit(of: text, jamo: kind == .jamo) { out.append(ids[$0] ?? 0) }
        return out
    }

    public func name(of id: Int32) -> String { id >= 0 && Int(id) < count ? alphabet[Int(id)] : CharacterUnits.unknown }

    public func makeWriter() -> any UnitWriter { Writer(scalars: scalars, jamo: kind == .jamo) }

    /// Calls `body` for each unit scalar (jamo: Hangul syllables decomposed).
    static func forEachUnit(of text: String, jamo: Bool, _ body: (Unicode.Scalar) -> Void) {
        for s in text.unicodeScalars {
            if jamo, let parts = Hangul.decompose(s) { parts.forEach(body) } else { body(s) }
        }
    }

    struct Writer: UnitWriter {
        let scalars: [Unicode.Scalar?]
        let jamo: Bool
        var composer = Hangul.Composer()

        mutating func append(_ id: Int32) -> String {
            let s = id >= 0 && Int(id) < scalars.count ? scalars[Int(id)] ?? "\u{FFFD}" : "\u{FFFD}"   // <unk> shows as �
            return jamo ? composer.append(s) : String(s)
        }

        mutating func finish() -> String { jamo ? composer.finish() : "" }
    }
}

/// `subword` units: the BPE vocabulary of `seq2seq vocab` (its source side), `</s>` as line break.
public final class SubwordUnits: TextUnits {
    public let vocabulary: VocabularyPair
    private let tokenizer: Tokenizer
    public let kind = TextUnitKind.subword

    public init(vocabulary: VocabularyPair) throws {
        self.vocabulary = vocabulary
        tokenizer = try vocabulary.tokenizer(for: .source)
    }

    /// Learns a vocabulary of `size` tokens from the lines of `text`.
    public convenience init(learningFrom text: String, size: Int) throws {
        let lines = text.split(separator: "\n").map(String.init)
        let pair = try VocabularyPair.learn(sources: lines, targets: lines, options: VocabularyOptions(size: size, joint: true))
        try self.init(vocabulary: pair)
    }

    public var count: Int { vocabulary.size(of: .source) }
    public var identity: String { "subword:" + vocabulary.identity }
    public var reservedIDs: Set<Int32> { [SubwordModel.padId, SubwordModel.unknownId, SubwordModel.beginId] }
    public var lineBreak: Int32? { SubwordModel.endId }

    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            tokenizer.encode(String(line), appendingTo: &ids)
            if i + 1 < lines.count { ids.append(SubwordModel.endId) }
        }
        return ids
    }

    public func name(of id: Int32) -> String {
        id == SubwordModel.endId ? "\n" : id >= 0 && Int(id) < count ? vocabulary.source.tokens[Int(id)] : "<unk>"
    }

    public func makeWriter() -> any UnitWriter { Writer(detokenizer: tokenizer.detokenizer) }

    /// Decodes the current line after each piece and returns what was added (byte pieces of a
    /// character appear once the character is complete).
    struct Writer: UnitWriter {
        let detokenizer: Detokenizer
        var line: [Int32] = []
        var written = ""

        mutating func append(_ id: Int32) -> String {
            if id == SubwordModel.endId {
                let rest = finish()
                return rest + "\n"
            }
            line.append(id)
            let text = detokenizer.decode(line)
            guard text.hasPrefix(written), !text.hasSuffix("\u{FFFD}") else { return "" }
            let added = String(text.dropFirst(written.count))
            written = text
            return added
        }

        mutating func finish() -> String {
            let text = detokenizer.decode(line)
            let rest = text.hasPrefix(written) ? String(text.dropFirst(written.count)) : ""
            line.removeAll()
            written = ""
            return rest
        }
    }
}

/// FNV-1a 64 of a string's UTF-8 bytes, as 16 hex digits.
func fnv1a64(_ text: String) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
