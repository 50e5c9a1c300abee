import Foundation

/// Options for learning a subword vocabulary.
public struct VocabularyOptions: Sendable, Equatable {
    /// Target number of tokens per vocabulary, including the 4 special tokens,
    /// the 256 byte tokens and the mark (so at least 262). Default 8000.
    public var size: Int
    /// Learn one vocabulary shared by both sides.
    public var joint: Bool
    /// Character-level mode for small corpora: characters only, no merges.
    public var characterLevel: Bool
    /// Normalization applied before learning and before every encoding.
    public var normalization: NormalizationForm
    /// Characters and merges seen fewer times than this are left out
    /// (such characters are written with byte tokens). Default 2.
    public var minimumFrequency: Int

    /// A vocabulary size for a corpus of `wordsPerSide` words per side: 2000 tokens at 25k words
    /// (Tatoeba-sized, 5k pairs), growing with the corpus to the power 0.4 (small vocabularies
    /// suit small corpora: Sennrich & Zhang 2019), rounded to 500 and kept in 1000…16000:
    /// 5k words → 1000, 25k → 2000, 500k → 6500, 5M → 16000.
    public static func automaticSize(wordsPerSide words: Int) -> Int {
        let raw = 2000 * pow(Double(max(words, 1)) / 25_000, 0.4)
        return min(16_000, max(1000, Int((raw / 500).rounded()) * 500))
    }

    /// Options with the defaults of `seq2seq vocab`.
    public init(size: Int = 8000, joint: Bool = false, characterLevel: Bool = false,
                normalization: NormalizationForm = .nfkc, minimumFrequency: Int = 2) {
        self.size = size
        self.joint = joint
        self.characterLevel = characterLevel
        self.normalization = normalization
        self.minimumFrequency = minimumFrequency
    }
}

/// Learns a BPE subword model from text, within words (with the word-boundary
/// mark), using incremental pair counts: each merge only revisits the word
/// types that contain the merged pair, and a max-heap with lazy deletion picks
/// the next pair. Ties go to the pair with the smaller (left, right) ids, and
/// word types are processed in sorted order, so the result is deterministic.
struct SubwordLearner {
    /// Word types (UTF-16 units, prefixed with 1 if the word starts after a
    /// space, else 0) with their frequencies.
    private(set) var wordCounts: [[UInt16]: Int] = [:]
    private let splitter: WordSplitter

    init(normalization: NormalizationForm) throws {
        splitter = try WordSplitter(normalizer: try Normalizer(form: normalization))
    }

    /// Adds the words of one raw (not yet normalized) line.
    mutating func add(line: String) {
        var key: [UInt16] = []
        var counts = wordCounts
        wordCounts = [:]   // keep `counts` uniquely referenced while mutating
        splitter.forEachWord(in: line, ruleStatus: false) { units, startsWord, _ in
            key.removeAll(keepingCapacity: true)
            key.append(startsWord ? 1 : 0)
            key.append(contentsOf: units)
            counts[key, default: 0] += 1
        }
        wordCounts = counts
    }

    /// Learns the model. Throws if `size` is too small or no words were added.
    func learn(size: Int, characterLevel: Bool, minimumFrequency: Int, side: String) throws -> SubwordModel {
        let minimum = SubwordModel.reservedCount + 1
        guard size >= minimum else { throw TokenizeError.vocabularySizeTooSmall(requested: size, minimum: minimum) }
        guard !wordCounts.isEmpty else { throw TokenizeError.emptyTrainingText(side: side) }
        let minFrequency = max(1, minimumFrequency)
        var alphabet = alphabetTokens(size: size, minimumFrequency: minFrequency)
        if characterLevel || alphabet.tokens.count >= size {
            return try SubwordModel(tokens: alphabet.tokens, merges: [])
        }
        var merging = PairMerging(words: alphabet.words, frequency: alphabet.frequency)
        var merges: [(left: Int32, right: Int32)] = []
        while alphabet.tokens.count < size, let top = merging.heap.pop() {
            guard merging.pairCounts[top.key] == top.count else { continue }   // stale entry
            if top.count < minFrequency { break }
            let a = Int32(truncatingIfNeeded: top.key >> 32)
            let b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let text = alphabet.tokens[Int(a)] + alphabet.tokens[Int(b)]
            if SubwordModel.isReservedText(text) {
                // Would read as a special or byte token (`<s>`, `<0x41>`): never
                // merge it. Its count stays exact; the heap entry is just dropped.
                continue
            }
            let result: Int32
            if let existing = alphabet.ids[text] {
                result = existing
            } else {
                result = Int32(alphabet.tokens.count)
                alphabet.ids[text] = result
                alphabet.tokens.append(text)
            }
            let mergeIndex = Int32(merges.count)
            merges.append((a, b))
            merging.merge(top.key, left: a, right: b, into: result, mergeIndex: mergeIndex)
        }
        return try SubwordModel(tokens: alphabet.tokens, merges: merges)
    }

    /// The starting point of learning: the tokens before any merge and the words spelled in them.
    private struct Alphabet {
        /// Specials, bytes, the mark, then characters by decreasing frequency.
        var tokens: [String]
        var ids: [String: Int32]
        /// Word types as symbol-id arrays; -1 = byte-fallback character (never merges).
        var words: [[Int32]]
        var frequency: [Int]
    }

    /// Tokens: specials, bytes, mark, then characters seen `minimumFrequency` times by decreasing
    /// frequency (at most `size` tokens); word types in a fixed order as symbol ids.
    private func alphabetTokens(size: Int, minimumFrequency: Int) -> Alphabet {
        let types = wordCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var wordScalars: [[UInt32]] = []
        var wordMarked: [Bool] = []
        var frequency: [Int] = []
        wordScalars.reserveCapacity(types.count)
        var characterCounts: [UInt32: Int] = [:]
        for key in types {
            let f = wordCounts[key] ?? 0
            let scalars = String(decoding: key[1...], as: UTF16.self).unicodeScalars.map(\.value)
            // A literal mark and a space (never inside a word, but keep the files
            // safe) always go to byte tokens.
            for s in scalars where s != 0x2581 && s != 0x20 { characterCounts[s, default: 0] += f }
            wordScalars.append(scalars)
            wordMarked.append(key[0] == 1)
            frequency.append(f)
        }
        var tokens = SubwordModel.specialTokens
        for b in 0..<256 { tokens.append(SubwordModel.byteToken(UInt8(b))) }
        tokens.append(SubwordModel.mark)
        let alphabet = characterCounts.filter { $0.value >= minimumFrequency }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var ids: [String: Int32] = [SubwordModel.mark: SubwordModel.markId]
        var characterIds: [UInt32: Int32] = [:]
        for (scalar, _) in alphabet where tokens.count < size {
            guard let character = Unicode.Scalar(scalar) else { continue }
            let text = String(character)
            characterIds[scalar] = Int32(tokens.count)
            ids[text] = Int32(tokens.count)
            tokens.append(text)
        }
        let words: [[Int32]] = wordScalars.indices.map { w in
            var symbols: [Int32] = wordMarked[w] ? [SubwordModel.markId] : []
            for s in wordScalars[w] { symbols.append(characterIds[s] ?? -1) }
            return symbols
        }
        return Alphabet(tokens: tokens, ids: ids, words: words, frequency: frequency)
    }
}

/// The state of byte-pair merging: the words in current symbols, each adjacent pair's count
/// (weighted by word frequency), which words hold it, and a heap of the counts.
private struct PairMerging {
    var words: [[Int32]]
    let frequency: [Int]
    var pairCounts: [UInt64: Int] = [:]
    var pairWords: [UInt64: [Int32]] = [:]
    var heap = PairHeap()
    /// Per word, the last merge that visited it (a word is listed once per pair it holds).
    private var lastVisit: [Int32]
    private var changed: [UInt64: Void] = [:]
    private var merged: [Int32] = []

    init(words: [[Int32]], frequency: [Int]) {
        self.words = words
        self.frequency = frequency
        lastVisit = [Int32](repeating: -1, count: words.count)
        for (w, symbols) in words.enumerated() where symbols.count > 1 {
            for k in 0..<(symbols.count - 1) where symbols[k] >= 0 && symbols[k + 1] >= 0 {
                let key = Self.pairKey(symbols[k], symbols[k + 1])
                pairCounts[key, default: 0] += frequency[w]
                if pairWords[key]?.last != Int32(w) { pairWords[key, default: []].append(Int32(w)) }
            }
        }
        for (key, count) in pairCounts { heap.push(count: count, key: key) }
    }

    @inline(__always) static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
    }

    /// Replaces every `left right` in the words holding pair `key` by `result` (merge number
    /// `mergeIndex`); updates the counts of the pairs that changed and pushes them on the heap.
    mutating func merge(_ key: UInt64, left a: Int32, right b: Int32, into result: Int32, mergeIndex: Int32) {
        changed.removeAll(keepingCapacity: true)
        for w in pairWords[key] ?? [] where lastVisit[Int(w)] != mergeIndex {
            lastVisit[Int(w)] = mergeIndex
            rewrite(word: w, left: a, right: b, into: result)
        }
        pairWords[key] = nil
        pairCounts[key] = nil
        changed[key] = nil
        for key in changed.keys {
            guard let count = pairCounts[key] else { continue }
            if count > 0 { heap.push(count: count, key: key) } else { pairCounts[key] = nil }
        }
    }

    /// Word `w` with `left right` merged, its old pairs uncounted and its new ones counted.
    private mutating func rewrite(word w: Int32, left a: Int32, right b: Int32, into result: Int32) {
        let symbols = words[Int(w)]
        let f = frequency[Int(w)]
        var contains = false
        for k in 0..<(symbols.count - 1) where symbols[k] == a && symbols[k + 1] == b {
            contains = true
            break
        }
        guard contains else { return }
        for k in 0..<(symbols.count - 1) where symbols[k] >= 0 && symbols[k + 1] >= 0 {
            let key = Self.pairKey(symbols[k], symbols[k + 1])
            pairCounts[key, default: 0] -= f
            changed[key] = ()
        }
        merged.removeAll(keepingCapacity: true)
        var k = 0
        while k < symbols.count {
            if k + 1 < symbols.count && symbols[k] == a && symbols[k + 1] == b {
                merged.append(result)
                k += 2
            } else {
                merged.append(symbols[k])
                k += 1
            }
        }
        if merged.count > 1 {
            for k in 0..<(merged.count - 1) where merged[k] >= 0 && merged[k + 1] >= 0 {
                let key = Self.pairKey(merged[k], merged[k + 1])
                pairCounts[key, default: 0] += f
                changed[key] = ()
                if merged[k] == result || merged[k + 1] == result, pairWords[key]?.last != w {
                    pairWords[key, default: []].append(w)
                }
            }
        }
        words[Int(w)] = merged
    }
}

/// Max-heap of (count, pair key); among equal counts the smaller key wins.
struct PairHeap {
    private var counts: [Int] = []
    private var keys: [UInt64] = []

    @inline(__always) private func above(_ i: Int, _ j: Int) -> Bool {
        counts[i] != counts[j] ? counts[i] > counts[j] : keys[i] < keys[j]
    }

    mutating func push(count: Int, key: UInt64) {
        counts.append(count)
        keys.append(key)
        var i = counts.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(i, parent) else { break }
            counts.swapAt(i, parent)
            keys.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard let topCount = counts.first, let topKey = keys.first else { return nil }
        let last = counts.count - 1
        counts.swapAt(0, last)
        keys.swapAt(0, last)
        counts.removeLast()
        keys.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < counts.count && above(l, best) { best = l }
            if r < counts.count && above(r, best) { best = r }
            if best == i { break }
            counts.swapAt(i, best)
            keys.swapAt(i, best)
            i = best
        }
        return (topCount, topKey)
    }
}
