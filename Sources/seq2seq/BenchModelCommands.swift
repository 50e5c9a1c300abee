import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq

extension BenchmarkSize: ExpressibleByArgument {}

/// Options of every benchmark that times steps of a model: threads, seed, phase timing.
struct BenchRunOptions: ParsableArguments {
    @Option(help: "CPU threads for matrix products.")
    var threads = 2

    @Option(help: "Seed for the synthetic data and the initial weights.")
    var seed: UInt64 = 1

    @Flag(help: "Also print the time spent in each phase (timed part only).")
    var phases = false

    func validate() throws {
        try OptionCheck.require(threads, in: 1...OptionCheck.maximumThreads, "--threads")
    }

    /// Sets the threads and phase timing, and prints them with the BLAS core and instruction set.
    func start() {
        ComputeThreads.configure(threads)
        PhaseTimer.enable(phases)
        print("threads: \(threads)")
        print("blas core: \(blasCoreName())")
        print("instruction set: \(InstructionSet.active)")
    }

    func printPhases() {
        for (name, seconds) in PhaseTimer.report {
            print("phase \(name): \(String(format: "%.4f", seconds)) s")
        }
    }
}

/// Options shared by `bench train` and `bench decode`.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "small (E256 H256 L1 V8000/8000) or medium (E512 H512 L2 V16000/16000).")
    var config: BenchmarkSize = .small

    @OptionGroup var timing: BenchRunOptions

    @OptionGroup(title: "Architecture") var architecture: ArchitectureOptions

    var threads: Int { timing.threads }
    var seed: UInt64 { timing.seed }

    func validate() throws {
        try architecture.check(hidden: config.configuration.hiddenSize, defaults: .original)
    }

    func printHeader() {
        let c = config.configuration(architecture: architecture.architecture(defaults: .original))
        print("config: \(config.rawValue) (E\(c.embeddingSize) H\(c.hiddenSize) L\(c.layerCount) V\(c.sourceVocabularySize)/\(c.targetVocabularySize))")
        print("architecture: \(c.architectureSummary)")
        timing.start()
    }

    /// Measured FMA peak of the instruction set in use on `threads` threads (GFLOP/s); printed once.
    func measuredPeak() -> Double {
        let peak = ComputePeak.fmaGigaflops(InstructionSet.active, threads: threads) ?? .nan
        print("fma peak (\(InstructionSet.active), \(threads) threads): \(String(format: "%.1f", peak)) GFLOP/s")
        return peak
    }

    func printPhases() { timing.printPhases() }
}

/// `seq2seq bench train`: training throughput on synthetic batches.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput: target tokens/s (padding excluded), GFLOP/s, peak memory.",
        discussion: """
            Batches of 64 synthetic pairs, source and target lengths uniform in [5, 30]; a step is \
            forward, backward, clipping at norm 1.0 and Adam. Prints the median over the timed steps.
            """)

    @OptionGroup var options: BenchModelOptions

    @Option(help: "Timed steps (each on a new batch).")
    var steps = 10

    @Option(help: "Untimed warm-up steps before them.")
    var warmup = 3

    @Option(help: "Sentence pairs per batch.")
    var batchSize = 64

    @Option(help: "Arithmetic of the products: fp32 or bf16 (as `train --precision`).")
    var precision: TrainingPrecision = .fp32

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
        try OptionCheck.require(batchSize, in: 1...OptionCheck.maximumCount, "--batch-size")
        if precision == .bf16 && !InstructionSet.hasBF16DotProduct {
            throw ValidationError("--precision bf16 needs a CPU with avx512_bf16, which this one lacks")
        }
    }

    func run() throws {
        precision.apply()
        try options.config.configuration.trainingMemory(rows: batchSize, sourceTokens: batchSize * 30, targetTokens: batchSize * 31)
            .require(for: "bench train with --batch-size \(batchSize)", advice: "lower --batch-size")
        options.printHeader()
        let r = try SyntheticBenchmark.train(size: options.config, architecture: options.architecture.architecture(defaults: .original),
                                             batchSize: batchSize, warmup: warmup,
                                             steps: steps, seed: options.seed)
        print("target tokens per batch: \(String(format: "%.1f", r.meanTargetTokens))")
        print("median step: \(String(format: "%.4f", r.medianStepSeconds)) s")
        print("train tokens/s: \(String(format: "%.0f", r.tokensPerSecond)) tok/s")
        print("MFLOP per target token: \(String(format: "%.2f", r.megaflopsPerTargetToken)) MFLOP")
        print("effective GFLOP/s: \(String(format: "%.1f", r.gigaflopsPerSecond)) GFLOP/s")
        let peak = options.measuredPeak()
        print("train % of fma peak: \(String(format: "%.1f", 100 * r.gigaflopsPerSecond / peak)) %")
        print("last loss: \(String(format: "%.4f", r.lastLoss))")
        options.printPhases()
        print("peak memory: \(String(format: "%.1f", Double(SyntheticBenchmark.peakMemoryBytes()) / 1_048_576)) MiB")
    }
}

/// `seq2seq bench decode`: greedy and batched beam-5 decoding throughput.
struct BenchDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decoding throughput: sentences/s for greedy (batch 64) and beam search (64 sentences × beams), peak memory.",
        discussion: """
            Synthetic sources (lengths uniform in [5, 30]); each output is forced to a length drawn \
            from [5, 30] (EOS masked before that step and forced at it), as in the PyTorch reference.
            """)

    @OptionGroup var options: BenchModelOptions

    @Option(help: "Synthetic source sentences.")
    var sentences = 500

    @Option(help: "Beams per sentence for the beam-search figure.")
    var beamSize = 5

    @Option(help: "Sentences decoded together.")
    var batchSize = 64

    @Option(help: "Which searches to time: greedy, beam or both.")
    var only: String = "both"

    @Option(help: "Arithmetic of the decoder's products: fp32 or int8.")
    var precision: DecodingPrecision = .fp32

    @Option(help: ArgumentHelp("Decoders running at once, each with its own copy of the model on one thread (as `translate --workers`); 1: one decoder whose products use all --threads.", valueName: "N"))
    var workers = 1

    func validate() throws {
        try OptionCheck.require(sentences, in: 1...10_000_000, "--sentences")
        try OptionCheck.require(workers, in: 1...options.threads, "--workers")
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        try OptionCheck.require(beamSize, in: 1...OptionCheck.maximumCount, "--beam-size")
        try OptionCheck.require(batchSize, in: 1...OptionCheck.maximumCount, "--batch-size")
        if !["greedy", "beam", "both"].contains(only) { throw ValidationError("--only must be greedy, beam or both") }
    }

    func run() throws {
        var memory = try options.config.configuration.decodingMemory(rows: batchSize * beamSize, sourceTokens: batchSize * 30,
                                                                     maxOutputLength: 30)
        memory.parameters *= Double(workers)   // each worker its copy
        memory.activations *= Double(workers)
        try memory.require(for: "bench decode with --batch-size \(batchSize), --beam-size \(beamSize) and --workers \(workers)",
                           advice: "lower them")
        options.printHeader()
        print("sentences: \(sentences)")
        print("precision: \(precision.rawValue)")
        print("workers: \(workers)")
        let peak = options.measuredPeak()
        let flops = DecodingFLOPs(size: options.config, sentences: sentences, seed: options.seed)
        func printRate(_ name: String, _ r: SyntheticBenchmark.DecodingResult, beams: Int) {
            let g = flops.total(beams: beams) / r.seconds / 1e9
            print("\(name) GFLOP/s: \(String(format: "%.1f", g)) GFLOP/s (forward FLOPs, \(String(format: "%.1f", 100 * g / peak)) % of fma peak)")
        }
        if only != "beam" {
            let g = try SyntheticBenchmark.decode(size: options.config, architecture: options.architecture.architecture(defaults: .original),
                                                  sentences: sentences, batchSize: batchSize,
                                                  beamSize: nil, precision: precision, workers: workers, seed: options.seed)
            print("greedy sentences/s: \(String(format: "%.1f", g.sentencesPerSecond)) sent/s")
            print("greedy tokens/s: \(String(format: "%.0f", g.tokensPerSecond)) tok/s")
            print("greedy seconds: \(String(format: "%.3f", g.seconds)) s")
            printRate("greedy", g, beams: 1)
            options.printPhases()
        }
        if only != "greedy" {
            let b = try SyntheticBenchmark.decode(size: options.config, architecture: options.architecture.architecture(defaults: .original),
                                                  sentences: sentences, batchSize: batchSize,
                                                  beamSize: beamSize, precision: precision, workers: workers, seed: options.seed)
            print("beam\(beamSize) sentences/s: \(String(format: "%.1f", b.sentencesPerSecond)) sent/s")
            print("beam\(beamSize) tokens/s: \(String(format: "%.0f", b.tokensPerSecond)) tok/s")
            print("beam\(beamSize) seconds: \(String(format: "%.3f", b.seconds)) s")
            printRate("beam\(beamSize)", b, beams: beamSize)
            options.printPhases()
        }
        print("peak memory: \(String(format: "%.1f", Double(SyntheticBenchmark.peakMemoryBytes()) / 1_048_576)) MiB")
    }
}

/// Forward FLOPs of decoding the synthetic set (for "% of peak"): 2 · encoder-LSTM parameters
/// per source token, and 2 · (decoder-LSTM + output-layer parameters) per output token and beam
/// (the forced lengths keep every beam alive to the end). Embeddings, gate math, softmax and the
/// search itself are not counted.
struct DecodingFLOPs {
    var sourceTokens = 0, outputTokens = 0
    var encoderParameters = 0.0, decoderParameters = 0.0

    init(size: BenchmarkSize, sentences: Int, seed: UInt64) {
        let c = size.configuration
        var random = RandomGenerator(seed: seed)  // the same data SyntheticBenchmark.decode draws
        for pair in SyntheticBenchmark.pairs(count: sentences, configuration: c, random: &random) {
            sourceTokens += pair.source.count
            outputTokens += pair.target.count + 1
        }
        let (E, H, V) = (Double(c.embeddingSize), Double(c.hiddenSize), Double(c.targetVocabularySize))
        var lstm = 0.0
        for l in 0..<c.layerCount { lstm += 4 * H * ((l == 0 ? E : H) + H) + 8 * H }
        encoderParameters = lstm
        decoderParameters = lstm + H * V + V
    }

    func total(beams: Int) -> Double {
        2 * encoderParameters * Double(sourceTokens) + 2 * decoderParameters * Double(outputTokens * beams)
    }
}
