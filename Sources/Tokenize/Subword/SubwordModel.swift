/// Third pipeline stage: a learned subword vocabulary (BPE merges, or
/// characters only in character-level mode) with UTF-8 byte fallback.
///
/// Token ids: `<pad>`=0, `<unk>`=1, `<s>`=2, `</s>`=3, then the 256 byte
/// tokens `<0x00>`…`<0xFF>` (ids 4…259), then the word-boundary mark `▁`
/// (U+2581, id 260), then single characters by decreasing frequency, then the
/// merged pieces in merge order. A word that starts after a space (or at the
/// line start) begins with the mark. A character that is not in the
/// vocabulary — and a literal U+2581 in the text — is written as its UTF-8
/// bytes, so every input round-trips and nothing becomes `<unk>`.
///
/// Immutable and `Sendable`; the stateful encoder is `Tokenizer`.
public struct SubwordModel: Sendable, Equatable {
    /// Id of the padding token `<pad>`.
    public static let padId: Int32 = 0
    /// Id of `<unk>` (never produced by the encoder; kept for models).
    public static let unknownId: Int32 = 1
    /// Id of the begin-of-sentence token `<s>`.
    public static let beginId: Int32 = 2
    /// Id of the end-of-sentence token `</s>`.
    public static let endId: Int32 = 3
    /// Id of the byte token `<0x00>`; byte b has id `firstByteId + b`.
    public static let firstByteId: Int32 = 4
    /// Id of the word-boundary mark `▁`.
    public static let markId: Int32 = 260
    /// Number of ids before the first learned character.
    public static let reservedCount = 261
    /// The word-boundary mark.
    public static let mark = "\u{2581}"
    /// The special tokens in id order.
    public static let specialTokens = ["<pad>", "<unk>", "<s>", "</s>"]

    /// Token text by id (id = index).
    public let tokens: [String]
    /// Merges in rank order: (left id, right id); the result is the token whose
    /// text is the concatenation.
    public let merges: [(left: Int32, right: Int32)]
    /// Single-character tokens by scalar value, for scalars above U+FFFF.
    let characterIds: [UInt32: Int32]
    /// Single-character tokens for U+0000…U+FFFF by scalar value (-1 = none).
    let basicCharacterIds: [Int32]
    /// Open-addressing merge table: key (left << 32 | right) → value
    /// (rank << 32 | result id); empty slots hold `emptyKey`.
    let mergeKeys: [UInt64]
    let mergeValues: [UInt64]
    static let emptyKey = UInt64.max

    /// Number of tokens (the vocabulary size V).
    public var count: Int { tokens.count }

    /// Builds a model from its token list and merge list; throws if the token
    /// list does not start with the reserved tokens or a merge refers to
    /// unknown tokens. `path` names the file in error messages.
    public init(tokens: [String], merges: [(left: Int32, right: Int32)], path: String = "(memory)") throws {
        guard tokens.count >= SubwordModel.reservedCount,
              Array(tokens.prefix(4)) == SubwordModel.specialTokens,
              tokens[Int(SubwordModel.markId)] == SubwordModel.mark else {
            throw TokenizeError.badVocabularyFile(path: path, reason: "does not start with <pad> <unk> <s> </s>, 256 byte tokens and ▁")
        }
        for b in 0..<256 where tokens[4 + b] != SubwordModel.byteToken(UInt8(b)) {
            throw TokenizeError.badVocabularyFile(path: path, reason: "line \(5 + b) should be \(SubwordModel.byteToken(UInt8(b)))")
        }
        var ids = TokenTable(capacity: tokens.count)
        ids.insert(SubwordModel.mark, id: SubwordModel.markId)
        var characterIds: [UInt32: Int32] = [:]
        for (i, t) in tokens.enumerated() where i > Int(SubwordModel.markId) {
            if ids.insert(t, id: Int32(i)) != nil {
                throw TokenizeError.badVocabularyFile(path: path, reason: "token '\(t)' appears twice (line \(i + 1))")
            }
            let scalars = t.unicodeScalars
            if scalars.count == 1, let s = scalars.first, s.value != 0x2581 { characterIds[s.value] = Int32(i) }
        }
        var slotCount = 16
        while slotCount < merges.count * 2 { slotCount *= 2 }
        var mergeKeys = [UInt64](repeating: SubwordModel.emptyKey, count: slotCount)
        var mergeValues = [UInt64](repeating: 0, count: slotCount)
        for (rank, m) in merges.enumerated() {
            guard m.left >= SubwordModel.markId, m.right >= SubwordModel.markId,
                  Int(m.left) < tokens.count, Int(m.right) < tokens.count,
                  let result = ids.id(ofConcatenation: tokens[Int(m.left)], tokens[Int(m.right)]) else {
                throw TokenizeError.badVocabularyFile(path: path, reason: "merge \(rank + 1) refers to unknown tokens")
            }
            let key = UInt64(UInt32(m.left)) << 32 | UInt64(UInt32(m.right))
            var slot = SubwordModel.slot(of: key, mask: slotCount - 1)
            while mergeKeys[slot] != SubwordModel.emptyKey && mergeKeys[slot] != key { slot = (slot + 1) & (slotCount - 1) }
            if mergeKeys[slot] == SubwordModel.emptyKey {   // the first (lowest-rank) merge of a pair wins
                mergeKeys[slot] = key
                mergeValues[slot] = UInt64(rank) << 32 | UInt64(UInt32(result))
            }
        }
        var basic = [Int32](repeating: -1, count: 0x10000)
        for (scalar, id) in characterIds where scalar < 0x10000 { basic[Int(scalar)] = id }
        self.tokens = tokens
        self.merges = merges
        self.characterIds = characterIds.filter { $0.key >= 0x10000 }
        self.basicCharacterIds = basic
        self.mergeKeys = mergeKeys
        self.mergeValues = mergeValues
    }

    @inline(__always) static func slot(of key: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Same tokens and same merges in the same order.
    public static func == (a: SubwordModel, b: SubwordModel) -> Bool {
        a.tokens == b.tokens && a.merges.elementsEqual(b.merges, by: { $0 == $1 })
    }

    /// The text of the byte token for `byte`, e.g. `<0xE2>`.
    public static func byteToken(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// Whether a learned piece with this text would be ambiguous in the text
    /// format: it looks like a special token or a byte token `<0xHH>`.
    static func isReservedText(_ text: String) -> Bool {
        specialTokens.contains(text) || Detokenizer.byteValue(text) != nil
    }

    /// Whether `id` is one of `<pad> <unk> <s> </s>`.
    public static func isSpecial(_ id: Int32) -> Bool { id >= 0 && id < 4 }

    /// Appends the subword ids of one word (UTF-16 units from `WordSplitter`)
    /// to `ids`. `symbols` is scratch space reused across calls.
    func encodeWord(_ units: UnsafeBufferPointer<UInt16>, startsWord: Bool,
                    symbols: inout [Int32], into ids: inout [Int32]) {
        splitIntoCharacters(units, startsWord: startsWord, symbols: &symbols)
        applyMerges(&symbols)
        ids.append(contentsOf: symbols)
    }

    /// `encodeWord` with BPE-dropout (Provilkov et al. 2020): at every merge step each
    /// applicable merge is skipped with probability `dropout`, the lowest-rank survivor is
    /// applied at one place, and the word stops merging when none survives. The pieces are
    /// still vocabulary tokens, so the ids decode to the same text.
    func encodeWord<G: RandomNumberGenerator>(_ units: UnsafeBufferPointer<UInt16>, startsWord: Bool, dropout: Double,
                                              random: inout G, symbols: inout [Int32], into ids: inout [Int32]) {
        splitIntoCharacters(units, startsWord: startsWord, symbols: &symbols)
        while symbols.count > 1 {
            var best: (value: UInt64, at: Int)?
            for k in 0..<(symbols.count - 1) {
                guard let value = mergeValue(symbols[k], symbols[k + 1]) else { continue }
                if Double(random.next() >> 11) * 0x1p-53 < dropout { continue }
                if best == nil || value < best!.value { best = (value, k) }
            }
            guard let (value, k) = best else { break }
            symbols[k] = Int32(truncatingIfNeeded: value & 0xFFFF_FFFF)
            symbols.remove(at: k + 1)
        }
        ids.append(contentsOf: symbols)
    }

    /// The merge table's value (rank << 32 | result id) for the adjacent pair, if it merges.
    func mergeValue(_ left: Int32, _ right: Int32) -> UInt64? {
        guard !merges.isEmpty else { return nil }
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        let mask = mergeKeys.count - 1
        var slot = SubwordModel.slot(of: key, mask: mask)
        while true {
            let stored = mergeKeys[slot]
            if stored == key { return mergeValues[slot] }
            if stored == SubwordModel.emptyKey { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// The word's characters as ids (unknown characters as their UTF-8 bytes), after the
    /// word-start mark when `startsWord`.
    private func splitIntoCharacters(_ units: UnsafeBufferPointer<UInt16>, startsWord: Bool, symbols: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        if startsWord { symbols.append(SubwordModel.markId) }
        var i = 0
        let n = units.count
        while i < n {
            var scalar = UInt32(units[i])
            i += 1
            if scalar & 0xFC00 == 0xD800, i < n, units[i] & 0xFC00 == 0xDC00 {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (UInt32(units[i]) - 0xDC00)
                i += 1
            } else if scalar & 0xF800 == 0xD800 {
                scalar = 0xFFFD   // lone surrogate (cannot come from a Swift String)
            }
            let known = scalar < 0x10000 ? basicCharacterIds[Int(scalar)] : (characterIds[scalar] ?? -1)
            if known >= 0 {
                symbols.append(known)
            } else {
                for byte in Unicode.UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")! {
                    symbols.append(SubwordModel.firstByteId + Int32(byte))
                }
            }
        }
    }

    /// Repeatedly merges the adjacent pair with the lowest merge rank (all its
    /// non-overlapping occurrences, left to right) until no pair can merge.
    /// Quadratic in the word length, which `WordSplitter` bounds.
    func applyMerges(_ symbols: inout [Int32]) {
        guard !merges.isEmpty, symbols.count > 1 else { return }
        var symbolCount = symbols.count
        mergeKeys.withUnsafeBufferPointer { keys in
            mergeValues.withUnsafeBufferPointer { values in
                let mask = keys.count - 1
                symbols.withUnsafeMutableBufferPointer { s in
                    var n = s.count
                    while n > 1 {
                        var bestValue = UInt64.max   // rank in the high half: smaller = earlier merge
                        var bestKey: UInt64 = 0
                        for k in 0..<(n - 1) {
                            let key = UInt64(UInt32(bitPattern: s[k])) << 32 | UInt64(UInt32(bitPattern: s[k + 1]))
                            var slot = SubwordModel.slot(of: key, mask: mask)
                            while true {
                                let stored = keys[slot]
                                if stored == key {
                                    if values[slot] < bestValue { bestValue = values[slot]; bestKey = key }
                                    break
                                }
                                if stored == SubwordModel.emptyKey { break }
                                slot = (slot + 1) & mask
                            }
                        }
                        if bestValue == UInt64.max { break }
                        let left = Int32(truncatingIfNeeded: bestKey >> 32)
                        let right = Int32(truncatingIfNeeded: bestKey & 0xFFFF_FFFF)
                        let result = Int32(truncatingIfNeeded: bestValue & 0xFFFF_FFFF)
                        var out = 0, k = 0
                        while k < n {
                            if k + 1 < n && s[k] == left && s[k + 1] == right {
                                s[out] = result
                                k += 2
                            } else {
                                s[out] = s[k]
                                k += 1
                            }
                            out += 1
                        }
                        n = out
                    }
                    symbolCount = n
                }
            }
        }
        symbols.removeLast(symbols.count - symbolCount)
    }
}
