import ArgumentParser
import Foundation
import Seq2Seq

extension TrainingPrecision: ExpressibleByArgument {}

/// Run-control options shared by `seq2seq train` and `seq2seq lm train`: budgets, optimizer
/// rate and clipping, seed, threads, the validation schedule, `--resume`/`--force`. One
/// declaration, one set of checks; what has no value here keeps the session's own default.
public struct TrainingRunOptions: ParsableArguments {
    public init() {}

    @Option(parsing: .unconditional, help: "Passes over the training data (default: 50, or no limit when --time-budget is given).")
    public var epochs: Int?

    @Option(parsing: .unconditional, help: "Stop after this much wall-clock time, e.g. 90s, 10m, 1h30m (the best model is kept).")
    public var timeBudget: String?

    @Option(parsing: .unconditional, help: "Stop after this many optimizer steps in total (counting steps before --resume).")
    public var maxSteps: Int?

    @Option(parsing: .unconditional, help: "Adam learning rate.")
    public var learningRate: Float = 0.002

    @Option(parsing: .unconditional, help: "Clip the global gradient norm to this value (0 disables).")
    public var clip: Float = 1.0

    @Option(parsing: .unconditional, help: "Random seed (initialization and dropout; for `seq2seq train` also the data order and the dev hold-out).")
    public var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "CPU threads for matrix products.")
    public var threads = 2

    @Option(parsing: .unconditional, help: "Arithmetic of the matrix products: fp32, or bf16 (operands rounded to bfloat16, fp32 sums; master weights, Adam and the loss stay fp32). bf16 needs a CPU with avx512_bf16.")
    public var precision: TrainingPrecision = .fp32

    @Option(parsing: .unconditional, help: "Rows per batch: sentences for train (default 64; per rank with --distributed), parallel streams over the text for lm train (default 32).")
    public var batchSize: Int?

    @Option(parsing: .unconditional, help: "Validate every N steps as well as at the end (0: at epoch ends only; default: 500 for train, 200 for lm train).")
    public var validateEvery: Int?

    @Option(parsing: .unconditional, help: "Stop after this many validations without a better dev score: chrF for train (spanning at least PATIENCE × --validate-every steps), dev loss for lm train (default: 10 for train, 5 for lm train).")
    public var patience: Int?

    @Flag(help: "Continue the run saved in --output exactly where it stopped.")
    public var resume = false

    @Flag(help: "Replace the model an earlier run left in --output (only its own files: best/, last/, vocabulary, log) instead of refusing.")
    public var force = false

    public func validate() throws {
        if resume && force { throw ValidationError("--resume continues the model in --output and --force replaces it: give one of them") }
        if let epochs { try OptionCheck.require(epochs, in: 1...OptionCheck.maximumCount, "--epochs") }
        if let maxSteps { try OptionCheck.require(maxSteps, in: 1...(1 << 48), "--max-steps") }
        try OptionCheck.require(learningRate, in: 0...1, "--learning-rate", excludingLowerBound: true)
        try OptionCheck.require(clip, in: 0...1e9, "--clip")
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
        if precision == .bf16 && !InstructionSet.hasBF16DotProduct {
            throw ValidationError("--precision bf16 needs a CPU with avx512_bf16, which this one lacks; train with fp32")
        }
        if let batchSize { try OptionCheck.require(batchSize, in: 1...OptionCheck.maximumCount, "--batch-size") }
        if let validateEvery { try OptionCheck.require(validateEvery, in: 0...OptionCheck.maximumCount, "--validate-every") }
        if let patience { try OptionCheck.require(patience, in: 1...1_000_000, "--patience") }
        if let timeBudget, parseDuration(timeBudget) == nil {
            throw ValidationError("--time-budget '\(timeBudget)' is not a duration; use e.g. 90s, 10m or 1h30m")
        }
    }

    /// Fills the shared settings of a session's options.
    public func apply<Settings: TrainingRunSettings>(to settings: inout Settings) {
        settings.epochs = epochs ?? (timeBudget == nil ? 50 : Int.max)
        settings.timeBudget = timeBudget.flatMap(parseDuration)
        settings.maxSteps = maxSteps
        settings.learningRate = learningRate
        settings.clip = clip > 0 ? clip : nil
        settings.seed = seed
        settings.threads = threads
        settings.resume = resume
        settings.force = force
        settings.commandLine = CommandLine.arguments
        if let validateEvery { settings.validateEvery = validateEvery }
        if let patience { settings.patience = patience }
    }
}
