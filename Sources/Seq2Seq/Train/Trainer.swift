import Foundation

/// Optimizer and schedule settings for training.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// Base learning rate.
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Global-norm clipping threshold; nil disables clipping.
    public var maxGradientNorm: Float? = 1.0
    /// Label smoothing ε for the cross-entropy (0 = none).
    public var labelSmoothing: Float = 0
    /// Learning-rate decay: after `decayStartStep`, the rate is multiplied by
    /// `decayFactor` every `decayEverySteps` steps. 0 steps or factor 1 disables decay.
    public var decayFactor: Float = 1
    public var decayEverySteps: Int = 0
    public var decayStartStep: Int = 0
    /// Word dropout (Sennrich & Zhang 2019): each source token and each decoder input token
    /// after `<s>` is replaced by `<unk>` with this probability during training (0 = off).
    public var wordDropout: Float = 0
    /// Linear warm-up: the rate grows from lr/warmupSteps to lr over the first steps (0 = off).
    public var warmupSteps: Int = 0

    public init() {}

    /// The learning rate for update number `step` (1-based), times `scale`.
    public func learningRate(atStep step: Int, scale: Float = 1) -> Float {
        var lr = learningRate * scale
        if warmupSteps > 0 && step < warmupSteps { lr *= Float(max(step, 1)) / Float(warmupSteps) }
        if decayEverySteps > 0, decayFactor != 1, step > decayStartStep {
            let k = (step - decayStartStep - 1) / decayEverySteps
            lr *= Float(pow(Double(decayFactor), Double(k)))
        }
        return lr
    }
}

extension TrainingOptions {
    enum CodingKeys: String, CodingKey {
        case learningRate, beta1, beta2, epsilon, maxGradientNorm, labelSmoothing
        case decayFactor, decayEverySteps, decayStartStep, wordDropout, warmupSteps
    }

    /// Decodes saved options; keys missing from older checkpoints keep their defaults.
    public init(from decoder: any Swift.Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? learningRate
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? epsilon
        maxGradientNorm = try c.decodeIfPresent(Float.self, forKey: .maxGradientNorm)
        labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing) ?? labelSmoothing
        decayFactor = try c.decodeIfPresent(Float.self, forKey: .decayFactor) ?? decayFactor
        decayEverySteps = try c.decodeIfPresent(Int.self, forKey: .decayEverySteps) ?? decayEverySteps
        decayStartStep = try c.decodeIfPresent(Int.self, forKey: .decayStartStep) ?? decayStartStep
        wordDropout = try c.decodeIfPresent(Float.self, forKey: .wordDropout) ?? wordDropout
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? warmupSteps
    }
}

/// Outcome of one training step.
public struct TrainingStepResult: Sendable, Equatable {
    /// Mean loss per real target token (before the update).
    public var loss: Float
    /// Real target tokens in the batch.
    public var tokenCount: Int
    /// Global gradient L2 norm before clipping.
    public var gradientNorm: Float
    /// Clipping coefficient applied (1 = not clipped).
    public var clipCoefficient: Float
    /// Learning rate used for this update.
    public var learningRate: Float
}

/// Runs training steps: forward + backward, clipping, Adam.
///
/// Deterministic: the same model seed, trainer seed, batches and BLAS thread
/// count give bit-identical parameters.
public final class Trainer: UpdatingTrainer {
    public let model: Seq2SeqModel
    /// Adam, the step count and learning-rate scale, the dropout generator (see `UpdatingTrainer`).
    public let updater: ParameterUpdater
    /// The weights in bf16 for `--precision bf16`, rounded once per step.
    private let weightCopy: BFloat16WeightCopy

    /// Called between the backward pass and clipping with this process's
    /// gradients and loss; returns the loss to report. Data-parallel training
    /// sums the gradients of all ranks here (`DistributedTraining`).
    public var gradientReducer: ((ParameterBuffer, LossResult) throws -> LossResult)?

    public init(model: Seq2SeqModel, options: TrainingOptions = TrainingOptions(), seed: UInt64 = 1) {
        self.model = model
        updater = ParameterUpdater(parameters: model.parameters, options: options, seed: seed)
        weightCopy = BFloat16WeightCopy(parameters: model.parameters)
    }

    /// One update on `batch`: gradients, clipping, Adam. A nil batch (a
    /// distributed rank whose share of a small batch is empty) contributes zero
    /// gradients to `gradientReducer`.
    /// - Throws: `TrainingDivergence` (before touching the weights) when the loss or
    ///   the gradient norm is NaN or infinite.
    @discardableResult
    public func train(on batch: Batch?) throws -> TrainingStepResult {
        var loss = LossResult(loss: 0, lossSum: 0, tokenCount: 0)
        // One draw per step, batch or not, so that data-parallel ranks (whose parts of a small
        // batch may be empty) keep equal generators and draw the masks one process would.
        var stepRandom = RandomGenerator(seed: random.next())
        if let batch {
            let batch = options.wordDropout > 0
                ? batch.droppingWords(probability: options.wordDropout, unknown: 1, random: &stepRandom) : batch
            loss = try weightCopy.during {
                try model.computeGradients(for: batch, labelSmoothing: options.labelSmoothing, random: &stepRandom)
            }
        } else {
            model.gradients.zero()
        }
        if let gradientReducer { loss = try gradientReducer(model.gradients, loss) }
        return try updater.update(model.parameters, gradients: model.gradients, loss: loss)
    }

    /// Forward-only mean cross-entropy (no dropout, no label smoothing), e.g. on
    /// validation batches; `exp(loss)` is the perplexity.
    public func evaluate(_ batch: Batch) throws -> LossResult {
        try model.loss(for: batch)
    }
}

extension AdamOptimizer {
    /// The update every trainer applies after its backward pass: global-norm clipping of
    /// `gradients` (when `maxGradientNorm` is set), a check that the loss and the gradient norm
    /// are finite (`TrainingDivergence` for update number `step`, before any weight changes),
    /// then one Adam step at `learningRate`.
    func clipAndUpdate(parameters: ParameterBuffer, gradients: ParameterBuffer, loss: LossResult,
                       maxGradientNorm: Float?, learningRate: Float, step: Int) throws -> TrainingStepResult {
        let (norm, coefficient) = PhaseTimer.measure("clip") {
            maxGradientNorm.map { GradientClipping.clip(gradients, maxNorm: $0) } ?? (gradients.l2Norm(), 1)
        }
        guard loss.loss.isFinite, norm.isFinite else {
            throw TrainingDivergence(step: step, loss: loss.loss, gradientNorm: norm)
        }
        PhaseTimer.measure("adam") { update(parameters: parameters, gradients: gradients, learningRate: learningRate) }
        return TrainingStepResult(loss: loss.loss, tokenCount: loss.tokenCount, gradientNorm: norm,
                                  clipCoefficient: coefficient, learningRate: learningRate)
    }
}
