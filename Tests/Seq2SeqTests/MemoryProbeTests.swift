import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Seq2Seq

/// A probe, not an assertion: with `SEQ2SEQ_MEMORY_PROBE=1` it runs training steps
/// of the MEDIUM benchmark configuration (E=512, H=512, L=2, V=16000/16000, B=64,
/// lengths 5–30; `SEQ2SEQ_PROBE_CONFIG=small` for SMALL: 256/256/1/8000) and prints
/// the peak resident memory from `getrusage` (and rough step times, which are not
/// the benchmark: that is `seq2seq bench`). Without the variable it returns immediately.
@Test func memoryProbe() throws {
    guard ProcessInfo.processInfo.environment["SEQ2SEQ_MEMORY_PROBE"] == "1" else { return }
    let small = ProcessInfo.processInfo.environment["SEQ2SEQ_PROBE_CONFIG"] == "small"
    let config = small
        ? ModelConfiguration(sourceVocabularySize: 8000, targetVocabularySize: 8000, embeddingSize: 256,
                             hiddenSize: 256, layerCount: 1, dropout: 0.1)
        : ModelConfiguration(sourceVocabularySize: 16000, targetVocabularySize: 16000, embeddingSize: 512,
                             hiddenSize: 512, layerCount: 2, dropout: 0.1)
    let V = Int32(config.targetVocabularySize)
    if let threads = ProcessInfo.processInfo.environment["SEQ2SEQ_THREADS"].flatMap(Int.init) { ComputeThreads.configure(threads) }
    var random = RandomGenerator(seed: 1)
    let trainer = Trainer(model: try Seq2SeqModel(configuration: config, seed: 1))
    let batches = try (0..<4).map { _ in
        try Batch(sources: randomSequences(64, lengths: 5...30, vocabulary: Int(V), random: &random),
                  targets: randomSequences(64, lengths: 4...29, vocabulary: Int(V), random: &random))
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("memoryProbe: peak RSS after model + optimizer allocation: \(usage.ru_maxrss / 1024) MiB")
    for (i, batch) in (batches + batches).enumerated() {
        let start = Date()
        let result = try trainer.train(on: batch)
        let seconds = Date().timeIntervalSince(start)
        let flops = config.trainingFLOPs(sourceTokens: batch.source.total, targetTokens: batch.target.total)
        print("memoryProbe: step \(i) loss \(result.loss) tokens \(result.tokenCount) time \(String(format: "%.3f", seconds)) s"
              + " → \(Int(Double(result.tokenCount) / seconds)) target tokens/s, \(Int(flops / seconds / 1e9)) GFLOP/s"
              + " (threads \(ComputeThreads.count))")
    }
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("memoryProbe: peak RSS of \(small ? "SMALL" : "MEDIUM") training steps: \(usage.ru_maxrss / 1024) MiB")
}
