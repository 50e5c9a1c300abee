/// Last pipeline stage: turns subword pieces or ids back into normalized text.
///
/// Pieces are concatenated; byte tokens `<0xHH>` are collected as raw UTF-8
/// bytes; the mark `▁` becomes a space; the space that the line start
/// contributes is dropped; special tokens are skipped. This is the exact
/// inverse of `Tokenizer.tokenize`/`encode`: `detokenize(tokenize(x)) == normalize(x)`.
/// Byte sequences that are not valid UTF-8 (only possible for ids that did not
/// come from the encoder) decode to U+FFFD.
public struct Detokenizer: Sendable {
    /// UTF-8 bytes each id stands for (empty for special tokens).
    private let idBytes: [[UInt8]]

    /// A detokenizer for the ids of `model`.
    public init(model: SubwordModel) {
        idBytes = model.tokens.enumerated().map { i, t in
            Detokenizer.bytes(of: t, id: Int32(i))
        }
    }

    private static func bytes(of piece: String, id: Int32?) -> [UInt8] {
        if let id, SubwordModel.isSpecial(id) { return [] }
        if let byte = byteValue(piece) { return [byte] }
        if SubwordModel.specialTokens.contains(piece) { return [] }
        var out: [UInt8] = []
        for scalar in piece.unicodeScalars {
            if scalar.value == 0x2581 { out.append(0x20) } else { out.append(contentsOf: UTF8.encode(scalar)!) }
        }
        return out
    }

    /// The byte of a `<0xHH>` token, or nil.
    static func byteValue(_ piece: String) -> UInt8? {
        let u = Array(piece.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    /// Text of a sequence of ids; ids outside the vocabulary and special ids are skipped.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < idBytes.count {
            bytes.append(contentsOf: idBytes[Int(id)])
        }
        return Detokenizer.finish(bytes)
    }

    /// Text of a sequence of piece strings (no vocabulary needed).
    public static func detokenize<S: Sequence>(_ pieces: S) -> String where S.Element: StringProtocol {
        var bytes: [UInt8] = []
        for piece in pieces {
            bytes.append(contentsOf: Detokenizer.bytes(of: String(piece), id: nil))
        }
        return finish(bytes)
    }

    /// Text of one line of space-separated pieces (the output format of
    /// `seq2seq tokenize`). Splits at U+0020 code units, not at `Character`s:
    /// a piece may begin with a combining mark or ZWJ, which Swift would glue
    /// to the preceding space.
    public static func detokenize(line: String) -> String {
        detokenize(line.utf8.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) })
    }

    /// Ids from one line of space-separated integers; fields that are not ids
    /// in `0..<count` are left out and counted in `invalid`.
    public static func ids(line: String, count: Int, invalid: inout Int) -> [Int32] {
        var ids: [Int32] = []
        for field in line.utf8.split(separator: 0x20) {
            if let id = Int32(String(decoding: field, as: UTF8.self)), id >= 0, Int(id) < count {
                ids.append(id)
            } else {
                invalid += 1
            }
        }
        return ids
    }

    private static func finish(_ bytes: [UInt8]) -> String {
        let body = bytes.first == 0x20 ? bytes[1...] : bytes[...]
        return String(decoding: body, as: UTF8.self)
    }
}
