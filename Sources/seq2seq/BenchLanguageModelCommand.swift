import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq

/// `seq2seq bench lm`: language-model training throughput on synthetic text.
struct BenchLanguageModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Language-model training throughput: characters/s (char LSTM, E64 H512 L2, B64, bptt 100, V100 by default).",
        discussion: """
            Synthetic text with unit ids uniform over the vocabulary, B streams, chunks of --bptt steps with \
            the state carried from chunk to chunk; a step is forward, backward, clipping at norm 1.0 and Adam. \
            Prints the median over the timed steps. Scripts/bench-lm-vs-pytorch.py times the same model in \
            PyTorch; Scripts/bench-lm-vs-pytorch.sh runs both, interleaved.
            """)

    @Option(help: "Recurrent cell: rnn, gru or lstm.")
    var cell: CellKind = .lstm

    @Option(help: "Embedding size E.")
    var embedding = 64

    @Option(help: "Hidden size H.")
    var hidden = 512

    @Option(help: "Recurrent layers L.")
    var layers = 2

    @Option(help: "Vocabulary size V.")
    var vocabulary = 100

    @Option(help: "Parallel streams B (rows of a chunk).")
    var batchSize = 64

    @Option(help: "Steps per chunk T (truncated BPTT length).")
    var bptt = 100

    @Option(help: "Timed steps.")
    var steps = 10

    @Option(help: "Untimed warm-up steps before them.")
    var warmup = 3

    @OptionGroup var timing: BenchRunOptions

    @Option(help: "Arithmetic of the products: fp32 or bf16 (as `lm train --precision`).")
    var precision: TrainingPrecision = .fp32

    func validate() throws {
        if precision == .bf16 && !InstructionSet.hasBF16DotProduct {
            throw ValidationError("--precision bf16 needs a CPU with avx512_bf16, which this one lacks")
        }
        for (name, value) in [("--embedding", embedding), ("--hidden", hidden), ("--layers", layers), ("--vocabulary", vocabulary),
                              ("--batch-size", batchSize), ("--bptt", bptt), ("--steps", steps)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
    }

    func run() throws {
        let c = LanguageModelConfiguration(vocabularySize: vocabulary, embeddingSize: embedding, hiddenSize: hidden,
                                           layerCount: layers, cell: cell)
        print("config: \(c.summary), streams \(batchSize), bptt \(bptt), \(precision.rawValue)")
        precision.apply()
        timing.start()
        let r = try LanguageModelBenchmark.train(configuration: c, streams: batchSize, chunkLength: bptt,
                                                 warmup: warmup, steps: steps, seed: timing.seed)
        print("median step: \(String(format: "%.4f", r.medianStepSeconds)) s")
        print("train characters/s: \(String(format: "%.0f", r.charactersPerSecond)) char/s")
        print("train characters per CPU-second: \(String(format: "%.0f", r.charactersPerCPUSecond)) char/CPU-s")
        print("MFLOP per character: \(String(format: "%.2f", c.trainingFLOPsPerUnit / 1e6)) MFLOP")
        print("effective GFLOP/s: \(String(format: "%.1f", r.gigaflopsPerSecond)) GFLOP/s")
        print("last loss: \(String(format: "%.4f", r.lastLoss))")
        timing.printPhases()
        print("peak memory: \(String(format: "%.1f", Double(SyntheticBenchmark.peakMemoryBytes()) / 1_048_576)) MiB")
    }
}
