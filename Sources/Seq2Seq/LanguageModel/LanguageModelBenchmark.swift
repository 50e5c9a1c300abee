import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Training throughput of a character language model on synthetic text, defined like
/// `Scripts/bench-lm-vs-pytorch.py` (the PyTorch side): unit ids uniform in 0..<V, B streams
/// of one long text, chunks of T steps with the state carried (detached) from chunk to chunk;
/// a step is forward, backward, global-norm clipping at 1.0 and Adam (lr 2e-3) on one chunk.
/// The figure is the median over the timed steps of B·T characters / step time.
public enum LanguageModelBenchmark {
    /// Result of `train`.
    public struct Result: Sendable {
        /// Median characters (units) per second.
        public var charactersPerSecond: Double
        /// Median step time in seconds.
        public var medianStepSeconds: Double
        /// Effective GFLOP/s of the matrix products at the median rate.
        public var gigaflopsPerSecond: Double
        /// Loss of the last step (sanity: finite, about log V for random text).
        public var lastLoss: Float
        /// Median characters per second of CPU time used by the whole process (all threads): a
        /// figure that other jobs on a shared machine disturb much less than the wall-clock rate.
        public var charactersPerCPUSecond: Double
    }

    /// Trains `warmup + steps` consecutive chunks and times the last `steps`.
    public static func train(configuration c: LanguageModelConfiguration, streams B: Int = 64, chunkLength T: Int = 100,
                             warmup: Int = 3, steps: Int = 10, seed: UInt64 = 1) throws -> Result {
        var random = RandomGenerator(seed: seed)
        let count = B * T * (warmup + steps) + 1
        let units = (0..<count).map { _ in Int32.random(in: 0..<Int32(c.vocabularySize), using: &random) }
        // Stream b reads one contiguous piece; consecutive chunks continue each stream.
        let text = try TextStreams(units: units, streams: B, chunkLength: T)
        let model = try LanguageModel(configuration: c, seed: seed)
        var options = TrainingOptions()
        options.learningRate = 2e-3
        options.maxGradientNorm = 1.0
        let trainer = LanguageModelTrainer(model: model, options: options, seed: seed)
        let state = RecurrentState(configuration: c, rows: B)
        var times: [Double] = [], cpuTimes: [Double] = []
        var lastLoss: Float = 0
        for k in 0..<min(warmup + steps, text.chunkCount) {
            let chunk = text.chunk(k)
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
            lastLoss = try trainer.train(on: chunk, state: state).loss
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpu = processCPUSeconds() - cpuStart
            if k + 1 == warmup { PhaseTimer.reset() }
            if k >= warmup { times.append(seconds); cpuTimes.append(cpu) }
        }
        let median = SyntheticBenchmark.median(times)
        let rate = Double(B * T) / max(median, 1e-12)
        return Result(charactersPerSecond: rate, medianStepSeconds: median,
                      gigaflopsPerSecond: rate * c.trainingFLOPsPerUnit / 1e9, lastLoss: lastLoss,
                      charactersPerCPUSecond: Double(B * T) / max(SyntheticBenchmark.median(cpuTimes), 1e-12))
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
