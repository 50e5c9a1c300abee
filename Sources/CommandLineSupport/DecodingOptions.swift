import ArgumentParser
import Seq2Seq

extension DecodingPrecision: ExpressibleByArgument {}

/// Decoding options shared by `translate` and `seq2seq eval`.
public struct DecodingOptions: ParsableArguments {
    public init() {}

    @Option(parsing: .unconditional, help: "Beams per sentence for beam search.")
    public var beamSize = 5

    @Flag(help: "Greedy decoding (fastest) instead of beam search.")
    public var greedy = false

    @Option(parsing: .unconditional, help: "Hypotheses to return per sentence (≤ --beam-size; shown with --format jsonl).")
    public var nBest = 1

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Length penalty α (GNMT): hypotheses are ranked by log P(Y|X) / ((5 + |Y|) / 6)^α, |Y| = output tokens incl. </s>; 0 ranks by raw log-probability.",
        valueName: "α"))
    public var lengthPenalty: Float = 0.6

    @Option(parsing: .unconditional, help: "Outputs are at most RATIO × source tokens + 10 tokens long (Korean targets need room).")
    public var maxLengthRatio: Double = 2.0

    @Option(parsing: .unconditional, help: "Inputs longer than this many subword tokens are cut (with a warning), never dropped.")
    public var maxInputLength = 200

    @Option(help: "Arithmetic of the decoder's products: fp32 (as trained), int8 (weights and inputs in 8-bit integers with per-row scales) or bf16 (weights and inputs rounded to bfloat16, fp32 sums; fast on CPUs with avx512_bf16, emulated and slower elsewhere). Both are faster on large batches and within a few tenths of a chrF point.")
    public var precision: DecodingPrecision = .fp32

    @Flag(inversion: .prefixedNo, help: "Score only each sentence's shortlisted target tokens (the model directory's shortlist.safetensors, written by `seq2seq train` or `seq2seq shortlist`): frequent tokens plus the likely translations of its source tokens. Faster at no measured chrF cost (see the README). Default: on when the model directory has a shortlist.")
    public var shortlist: Bool?

    @Option(parsing: .unconditional, help: "Never repeat an n-gram of this many tokens within a translation (0: off).")
    public var noRepeatNgram = 0

    @Option(parsing: .unconditional, help: "Sentences decoded together.")
    public var batchSize = 32

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    public var threads = 2

    /// Throws `ValidationError` for contradicting or out-of-range values.
    public func check() throws {
        try OptionCheck.require(beamSize, in: 1...OptionCheck.maximumCount, "--beam-size")
        try OptionCheck.require(nBest, in: 1...OptionCheck.maximumCount, "--n-best")
        if nBest > beamSize { throw ValidationError("--n-best \(nBest) exceeds --beam-size \(beamSize): raise --beam-size") }
        if greedy && nBest > 1 { throw ValidationError("--greedy gives one hypothesis; it contradicts --n-best \(nBest)") }
        try OptionCheck.require(lengthPenalty, in: 0...100, "--length-penalty")
        try OptionCheck.require(maxLengthRatio, in: 0...1000, "--max-length-ratio", excludingLowerBound: true)
        try OptionCheck.require(maxInputLength, in: 1...1_000_000, "--max-input-length")
        try OptionCheck.require(batchSize, in: 1...OptionCheck.maximumCount, "--batch-size")
        try OptionCheck.require(noRepeatNgram, in: 0...1_000_000, "--no-repeat-ngram")
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
        try Self.checkAvailable(precision)
    }

    /// Throws `ValidationError` for `--precision bf16` on a CPU without avx512_bf16 (`translate`, `serve`).
    public static func checkAvailable(_ precision: DecodingPrecision) throws {
        if precision == .bf16 && !InstructionSet.hasBF16DotProduct {
            throw ValidationError("--precision bf16 needs a CPU with avx512_bf16, which this one lacks; use --precision int8 (or fp32)")
        }
    }

    /// Whether to decode `model` with its shortlist: as told, else when it has one.
    public func usesShortlist(_ model: ModelDirectory) -> Bool { shortlist ?? model.hasShortlist }

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
        options.precision = precision
        return options
    }
}
