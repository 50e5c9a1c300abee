import Tokenize

/// Options for turning source sentences into translations.
public struct TranslationOptions: Sendable, Equatable {
    /// k: beams per sentence; 1 with `greedy` false still runs beam search.
    public var beamSize: Int = 5
    /// Greedy decoding (argmax per step) instead of beam search.
    public var greedy: Bool = false
    /// K ≤ k: hypotheses returned per sentence.
    public var nBest: Int = 1
    /// GNMT length penalty α: score = log P(Y|X) / ((5 + |Y|) / 6)^α.
    public var lengthPenalty: Float = 0.6
    /// Output length bound: at most `ratio · |X| + 10` target tokens.
    public var maxLengthRatio: Double = 2.0
    /// Source sentences longer than this many tokens are cut (with a warning).
    public var maxInputLength: Int = 200
    /// Feed the source tokens to the encoder last-to-first, as the model was
    /// trained (`ModelManifest.sourceOrderReversed`).
    public var reverseSourceOrder = false

    public init() {}

    /// The most target tokens a source of `sourceLength` tokens may produce
    /// (at most `maximumOutputLength`, also for a non-finite or huge ratio).
    public func maxOutputLength(sourceLength: Int) -> Int {
        let length = (maxLengthRatio * Double(sourceLength)).rounded(.up)
        guard length.isFinite, length >= 0 else { return 10 }
        return Int(min(length, Double(TranslationOptions.maximumOutputLength - 10))) + 10
    }

    /// Upper bound of `maxOutputLength`: no output is longer than this many tokens.
    public static let maximumOutputLength = 100_000
}

/// One translated sentence.
public struct Translation: Sendable, Equatable {
    /// The input line as given.
    public var source: String
    /// The best translation (detokenized text).
    public var text: String
    /// Its score (length-normalized log-probability; 0 for an empty input).
    public var score: Float
    /// The n-best list, best first (the first entry is `text`/`score`).
    public var nBest: [(text: String, score: Float)]
    /// True if the source was cut to `maxInputLength` tokens.
    public var inputWasTruncated: Bool

    public static func == (a: Translation, b: Translation) -> Bool {
        a.source == b.source && a.text == b.text && a.score == b.score
            && a.inputWasTruncated == b.inputWasTruncated
            && a.nBest.map(\.text) == b.nBest.map(\.text) && a.nBest.map(\.score) == b.nBest.map(\.score)
    }
}

/// Drives the LSTM decoder for `BeamSearch`/`GreedySearch`: each scorer row is
/// one row of a `DecoderState`.
struct LSTMStepScorer: StepScorer {
    let state: DecoderState
    var vocabularySize: Int { state.vocabularySize }

    mutating func select(rows parents: [Int]) { state.select(rows: parents) }

    mutating func step(tokens: [Int32], logProbabilities: UnsafeMutableBufferPointer<Float>) throws {
        try state.step(tokens: tokens, into: logProbabilities.baseAddress!)   // [R, V]
    }
}

/// Source text → translations with a trained model: tokenize, encode once,
/// search (beam or greedy) over all sentences of a batch together, detokenize.
///
/// Not thread-safe (it owns tokenizers with ICU iterators).
public final class Translator {
    public let model: Seq2SeqModel
    public var options: TranslationOptions
    let sourceTokenizer: Tokenizer
    let targetTokenizer: Tokenizer

    public init(model: Seq2SeqModel, sourceTokenizer: Tokenizer, targetTokenizer: Tokenizer,
                options: TranslationOptions = TranslationOptions()) {
        self.model = model
        self.sourceTokenizer = sourceTokenizer
        self.targetTokenizer = targetTokenizer
        self.options = options
    }

    /// Source ids of `text` in encoder order, cut to `maxInputLength` tokens.
    public func sourceIds(_ text: String) -> (ids: [Int32], truncated: Bool) {
        var ids = sourceTokenizer.encode(text)
        let truncated = ids.count > options.maxInputLength
        if truncated { ids.removeLast(ids.count - options.maxInputLength) }
        if options.reverseSourceOrder { ids.reverse() }
        return (ids, truncated)
    }

    /// Translates already tokenized sources; returns per sentence the n-best
    /// list (tokens without `<s>`/`</s>`, score), best first. Empty sources give
    /// one empty hypothesis with score 0.
    public func decode(sources: [[Int32]]) throws -> [[Hypothesis]] {
        var results = [[Hypothesis]](repeating: [Hypothesis(tokens: [], score: 0, logProbability: 0,
                                                             reachedEndOfSentence: true)],
                                     count: sources.count)
        let live = sources.indices.filter { !sources[$0].isEmpty }
        if live.isEmpty { return results }
        let liveSources = live.map { sources[$0] }
        let encoded = try model.encode(sources: liveSources)
        let maxLengths = liveSources.map { options.maxOutputLength(sourceLength: $0.count) }
        let bos = SubwordModel.beginId, eos = SubwordModel.endId
        let penalty = LengthPenalty(alpha: options.lengthPenalty)
        if options.greedy {
            var scorer = LSTMStepScorer(state: model.makeDecoderState(for: encoded))
            let best = try GreedySearch(lengthPenalty: penalty, beginOfSentence: bos, endOfSentence: eos)
                .search(&scorer, maxOutputLengths: maxLengths)
            for (i, hypothesis) in zip(live, best) { results[i] = [hypothesis] }
        } else {
            let k = max(1, options.beamSize)
            var scorer = LSTMStepScorer(state: model.makeDecoderState(for: encoded, capacity: live.count * k))
            let search = BeamSearch(beamSize: k, nBest: min(options.nBest, k), lengthPenalty: penalty,
                                    beginOfSentence: bos, endOfSentence: eos)
            let lists = try search.search(&scorer, maxOutputLengths: maxLengths)
            for (i, list) in zip(live, lists) { results[i] = list }
        }
        return results
    }

    /// Model output can hold stray word-boundary marks (a mark token with no
    /// word after it); they detokenize to spaces. Drop spaces at both ends and
    /// merge runs of spaces, which no well-formed output contains.
    ///
    /// A barely trained model can also emit byte tokens of control characters
    /// (ESC, NUL, a newline that would split the output line): line and tab
    /// breaks (C0 and C1, U+2028/U+2029) become spaces, every other C0/C1
    /// control character and DEL is dropped. The result never contains a control
    /// character, so one input line always gives exactly one output line.
    static func tidy(_ text: String) -> String {
        var text = text
        if text.unicodeScalars.contains(where: isControlOrLineBreak) {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                switch scalar.value {
                case 0x09...0x0D, 0x85, 0x2028, 0x2029: scalars.append(" ")
                case 0x00...0x1F, 0x7F...0x9F: continue
                default: scalars.append(scalar)
                }
            }
            text = String(scalars)
        }
        guard text.contains(" ") else { return text }
        return text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    private static func isControlOrLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// Translates a batch of lines; one result per line, in order.
    public func translate(_ lines: [String]) throws -> [Translation] {
        let prepared = lines.map(sourceIds)
        let lists = try decode(sources: prepared.map(\.ids))
        return zip(lines, zip(prepared, lists)).map { line, pair in
            let (source, list) = pair
            let nBest = list.map { (text: Translator.tidy(targetTokenizer.decode($0.tokens)), score: $0.score) }
            return Translation(source: line, text: nBest.first?.text ?? "", score: nBest.first?.score ?? 0,
                               nBest: nBest, inputWasTruncated: source.truncated)
        }
    }
}
