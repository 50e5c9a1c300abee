/// The whole pipeline for one side: `Normalizer` → `WordSplitter` (ICU word
/// breaks) → `SubwordModel` (BPE with byte fallback); `Detokenizer` inverts it.
///
/// `encode` adds no `<s>`/`</s>`. Encodings of words are cached, so repeated
/// words cost one hash lookup. The ICU iterator and all buffers are reused
/// across calls.
///
/// Thread safety: a `Tokenizer` is NOT thread-safe (it owns an ICU iterator,
/// scratch buffers and the word cache). Use one instance per thread; create
/// more from the same `SubwordModel`/`VocabularyPair` (both are `Sendable`).
public final class Tokenizer {
    /// The subword model (vocabulary) this tokenizer encodes with.
    public let model: SubwordModel
    /// The normalization applied before splitting.
    public let normalization: NormalizationForm
    /// The inverse stage for ids.
    public let detokenizer: Detokenizer
    private let normalizer: Normalizer
    private let splitter: WordSplitter
    private let cache = WordCache()
    private var symbols: [Int32] = []

    /// Creates a tokenizer; throws `TokenizeError.icuFailure` if ICU cannot be opened.
    public init(model: SubwordModel, normalization: NormalizationForm) throws {
        self.model = model
        self.normalization = normalization
        detokenizer = Detokenizer(model: model)
        normalizer = try Normalizer(form: normalization)
        splitter = try WordSplitter(normalizer: normalizer)
    }

    /// Vocabulary size V (ids are in 0..<V).
    public var vocabularySize: Int { model.count }

    /// The normalized text that `decode(encode(text))` returns.
    public func normalize(_ text: String) -> String { normalizer.normalize(text) }

    /// Subword ids of `text` (no `<s>`/`</s>`). Never produces `<unk>`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        encode(text, appendingTo: &ids)
        return ids
    }

    /// Appends the subword ids of `text` to `ids` (no allocation once warmed up).
    public func encode(_ text: String, appendingTo ids: inout [Int32]) {
        splitter.forEachWord(in: text, ruleStatus: false) { units, startsWord, _ in
            let hash = WordCache.hash(units, flag: startsWord)
            if cache.appendCached(units, flag: startsWord, hash: hash, to: &ids) { return }
            let start = ids.count
            model.encodeWord(units, startsWord: startsWord, symbols: &symbols, into: &ids)
            cache.insert(units, flag: startsWord, hash: hash, ids: ids[start...])
        }
    }

    /// Subword ids of `text` with BPE-dropout: each merge is skipped with probability
    /// `dropout` (Provilkov et al. 2020), so a word gets a different segmentation into
    /// vocabulary pieces on each call; `decode` still returns the normalized text. Training
    /// only (decoding uses `encode(_:)`); bypasses the word cache. `dropout` 0 is `encode(_:)`.
    public func encode<G: RandomNumberGenerator>(_ text: String, subwordDropout dropout: Double,
                                                 using random: inout G) -> [Int32] {
        guard dropout > 0 else { return encode(text) }
        var ids: [Int32] = []
        splitter.forEachWord(in: text, ruleStatus: false) { units, startsWord, _ in
            model.encodeWord(units, startsWord: startsWord, dropout: dropout, random: &random,
                             symbols: &symbols, into: &ids)
        }
        return ids
    }

    /// Subword pieces of `text` as token strings (byte tokens as `<0xHH>`).
    public func tokenize(_ text: String) -> [String] {
        encode(text).map { model.tokens[Int($0)] }
    }

    /// Text of `ids`: the exact inverse of `encode`; special ids are skipped.
    public func decode(_ ids: [Int32]) -> String { detokenizer.decode(ids) }

    /// Text of `pieces`: the exact inverse of `tokenize`.
    public func detokenize<S: Sequence>(_ pieces: S) -> String where S.Element: StringProtocol {
        Detokenizer.detokenize(pieces)
    }
}
