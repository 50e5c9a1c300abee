/// `--distributed` cannot run.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    case mpiUnavailable(reason: String)
    case mpiFailed(call: String, code: Int)

    public var description: String {
        switch self {
        case .mpiUnavailable(let reason):
            return "--distributed needs Open MPI, which is not available here (\(reason)); install it with "
                + "`apt-get install openmpi-bin libopenmpi-dev` (Debian/Ubuntu) and start the ranks with "
                + "`mpirun -np N seq2seq train PAIRS.tsv --distributed …`"
        case .mpiFailed(let call, let code): return "\(call) failed with MPI error code \(code)"
        }
    }
}

/// Data-parallel training over MPI (Open MPI, loaded at run time).
///
/// Every rank builds the same model from the same seed and walks the same
/// sequence of global batches; rank r trains on its own contiguous part
/// (`shard`) of each. After the backward pass the ranks sum their gradients
/// with one `MPI_Allreduce` over the flat gradient buffer, so every rank
/// applies the same clipped Adam step and the parameters stay identical.
///
/// The loss is the mean over a batch's real target tokens, so rank r scales its
/// gradient (a mean over its own n_r tokens) by n_r / N, N = Σ n_r, before the
/// sum: the result is the gradient of the global batch's mean loss, the same
/// as one process training on the whole batch (up to float summation order).
///
/// Stop decisions (Ctrl-C/SIGTERM on any rank, time budget) are agreed on with
/// a small all-reduce so that every rank leaves the loop at the same step.
/// Rank 0 alone validates, writes checkpoints and the log, and prints
/// progress; after each validation it broadcasts its decisions (early
/// stopping, learning-rate decay on a plateau).
public final class DistributedTraining {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// Number of ranks.
    public let size: Int
    public var isRoot: Bool { rank == 0 }

    /// Seconds in the gradient all-reduce proper (after the ranks have met).
    public private(set) var allreduceSeconds = 0.0
    /// Seconds waiting for the other ranks at the token-count all-reduce
    /// (load imbalance between shards, and rank 0's validations).
    public private(set) var waitSeconds = 0.0
    /// Steps whose gradients were summed.
    public private(set) var reducedSteps = 0
    /// Global target tokens and MPI clock of the steps after the first (for the throughput).
    private var tokensAfterFirstStep = 0
    private var firstStepEnd = 0.0, lastStepEnd = 0.0

    init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// Loads Open MPI and joins the job started by `mpirun`.
    /// - Throws: `DistributedError.mpiUnavailable` with install instructions when libmpi is missing.
    public static func start() throws -> DistributedTraining {
        let (rank, size) = try MPI.start()
        return DistributedTraining(rank: rank, size: size)
    }

    /// Leaves MPI after a finished run (every rank must call it).
    public func finish() { MPI.finish() }

    /// Ends every rank of the job at once (after an error on this one).
    public func abortAll(code: Int32) -> Never { MPI.abortAll(code: code) }

    /// Rank `rank`'s contiguous part of a global batch; part sizes differ by at most one, and a
    /// part is empty when the batch has fewer sentences than there are ranks.
    public func shard<T>(_ batch: [T]) -> ArraySlice<T> {
        let n = batch.count
        return batch[(n * rank / size)..<(n * (rank + 1) / size)]
    }

    /// Makes `trainer` sum its gradients over the ranks. Every rank keeps the trainer's own
    /// random generator (the same seed everywhere): dropout masks and word drops are drawn per
    /// sentence, keyed by the sentence's position in the global batch (`Batch.numberingRows`), so
    /// the ranks together draw exactly what one process draws for the whole batch.
    public func attach(to trainer: Trainer) {
        trainer.gradientReducer = { [unowned self] gradients, loss in try reduce(gradients: gradients, loss: loss) }
    }

    /// Turns this rank's gradient of its mean shard loss into the gradient of
    /// the global batch's mean loss, identical on every rank.
    func reduce(gradients: ParameterBuffer, loss: LossResult) throws -> LossResult {
        let t0 = MPI.time()
        let totals = try MPI.sum([Double(loss.tokenCount), loss.lossSum])   // [N, Σ loss]
        let t1 = MPI.time()
        let total = totals[0]
        let share = total > 0 ? Float(Double(loss.tokenCount) / total) : 0   // n_r / N
        let g = gradients.pointer
        for i in 0..<gradients.count { g[i] *= share }
        try MPI.sum(g, count: gradients.count)
        let t2 = MPI.time()
        allreduceSeconds += t2 - t1
        waitSeconds += t1 - t0
        reducedSteps += 1
        if reducedSteps == 1 { firstStepEnd = t2 } else { tokensAfterFirstStep += Int(total) }
        lastStepEnd = t2
        return LossResult(loss: total > 0 ? Float(totals[1] / total) : 0, lossSum: totals[1], tokenCount: Int(total))
    }

    /// The reason every rank stops for: the most pressing of the ranks' own
    /// reasons (an interrupt on any rank stops all), or nil to go on.
    public func agree(on local: TrainingOutcome?) throws -> TrainingOutcome? {
        let order: [TrainingOutcome] = [.finishedEpochs, .stepLimit, .timeBudget, .earlyStopping, .interrupted]
        let code = local.flatMap { order.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        let agreed = Int(try MPI.maximum([Double(code)])[0])
        return agreed == 0 ? nil : order[agreed - 1]
    }

    /// After a validation (which rank 0 alone runs), every rank takes rank 0's
    /// decisions: whether to stop early (returned) and the learning-rate scale
    /// (decay on a plateau), so that all ranks keep applying the same updates.
    public func followRoot(stopEarly: Bool, trainer: Trainer) throws -> Bool {
        let decided = try MPI.broadcast([stopEarly ? 1 : 0, Double(trainer.learningRateScale)], from: 0)
        trainer.learningRateScale = Float(decided[1])
        return decided[0] > 0
    }

    /// Global target tokens per second over the steps after the first (validations included).
    public var tokensPerSecond: Double {
        lastStepEnd > firstStepEnd ? Double(tokensAfterFirstStep) / (lastStepEnd - firstStepEnd) : 0
    }

    /// One line for the log: throughput and communication time per step.
    public var summary: String {
        let steps = Double(max(reducedSteps, 1))
        return "distributed: \(size) rank\(size == 1 ? "" : "s"), \(reducedSteps) steps, \(Int(tokensPerSecond.rounded())) target tokens/s; "
            + "gradient all-reduce " + formatMilliseconds(allreduceSeconds / steps) + " per step, waiting for other ranks "
            + formatMilliseconds(waitSeconds / steps) + " per step (rank \(rank))"
    }

    private func formatMilliseconds(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10) ms"
    }
}
