import ArgumentParser
import Seq2Seq

/// Decoding options shared by `translate` and `seq2seq eval`.
public struct DecodingOptions: ParsableArguments {
    public init() {}

    @Option(help: "Beams per sentence for beam search.")
    public var beamSize = 5

    @Flag(help: "Greedy decoding (fastest) instead of beam search.")
    public var greedy = false

    @Option(help: "Hypotheses to return per sentence (≤ --beam-size; shown with --format jsonl).")
    public var nBest = 1

    @Option(help: ArgumentHelp(
        "Length penalty α (GNMT): hypotheses are ranked by log P(Y|X) / ((5 + |Y|) / 6)^α, |Y| = output tokens incl. </s>; 0 ranks by raw log-probability.",
        valueName: "α"))
    public var lengthPenalty: Float = 0.6

    @Option(help: "Outputs are at most RATIO × source tokens + 10 tokens long (Korean targets need room).")
    public var maxLengthRatio: Double = 2.0

    @Option(help: "Inputs longer than this many subword tokens are cut (with a warning), never dropped.")
    public var maxInputLength = 200

    @Option(help: "Never repeat an n-gram of this many tokens within a translation (0: off).")
    public var noRepeatNgram = 0

    @Option(help: "Sentences decoded together.")
    public var batchSize = 32

    @Option(help: "CPU threads for matrix products.")
    public var threads = 2

    /// Throws `ValidationError` for contradicting or out-of-range values.
    public func check() throws {
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        if nBest < 1 { throw ValidationError("--n-best must be at least 1") }
        if nBest > beamSize { throw ValidationError("--n-best \(nBest) exceeds --beam-size \(beamSize): raise --beam-size") }
        if greedy && nBest > 1 { throw ValidationError("--greedy gives one hypothesis; it contradicts --n-best \(nBest)") }
        if !lengthPenalty.isFinite || lengthPenalty < 0 { throw ValidationError("--length-penalty must be ≥ 0") }
        if !(maxLengthRatio > 0) { throw ValidationError("--max-length-ratio must be positive") }
        if maxInputLength < 1 { throw ValidationError("--max-input-length must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if noRepeatNgram < 0 { throw ValidationError("--no-repeat-ngram must be ≥ 0 (0 turns it off)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// The library options these flags describe.
    public var translationOptions: TranslationOptions {
        var options = TranslationOptions()
        options.beamSize = beamSize
        options.greedy = greedy
        options.nBest = nBest
        options.lengthPenalty = lengthPenalty
        options.maxLengthRatio = maxLengthRatio
        options.maxInputLength = maxInputLength
        options.noRepeatNgram = noRepeatNgram
        return options
    }
}
