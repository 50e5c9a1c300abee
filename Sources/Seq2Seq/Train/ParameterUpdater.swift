/// The update half of a training step, shared by `Trainer` (translation) and
/// `LanguageModelTrainer`: the Adam optimizer and the step count that drives the learning-rate
/// schedule, the plateau scale on that rate, and the dropout generator. What a checkpoint saves
/// of a run besides the weights lives here, so both model kinds save and resume it alike.
public final class ParameterUpdater {
    public let optimizer: AdamOptimizer
    public var options: TrainingOptions
    /// Dropout randomness; saved in checkpoints (`random.state`) to resume exactly.
    public var random: RandomGenerator
    /// Extra multiplier on the scheduled learning rate (e.g. lowered on a validation plateau).
    public var learningRateScale: Float = 1
    /// Updates applied so far (restored on resume).
    public internal(set) var step = 0

    init(parameters: ParameterBuffer, options: TrainingOptions, seed: UInt64) {
        self.options = options
        random = RandomGenerator(seed: seed)
        optimizer = AdamOptimizer(layoutOf: parameters, beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon)
    }

    /// The learning rate the next update will use.
    public var nextLearningRate: Float { options.learningRate(atStep: step + 1, scale: learningRateScale) }

    /// Clips `gradients`, checks that loss and norm are finite, and applies one Adam step.
    /// - Throws: `TrainingDivergence` before touching the weights.
    func update(_ parameters: ParameterBuffer, gradients: ParameterBuffer, loss: LossResult) throws -> TrainingStepResult {
        let result = try optimizer.clipAndUpdate(parameters: parameters, gradients: gradients, loss: loss,
                                                 maxGradientNorm: options.maxGradientNorm, learningRate: nextLearningRate,
                                                 step: step + 1)
        step += 1
        return result
    }

    /// The state to store in a checkpoint now (`dataPosition`: the next batch or chunk of `epoch`).
    func trainingState(epoch: Int, dataPosition: Int) -> TrainingState {
        TrainingState(step: step, epoch: epoch, dataPosition: dataPosition, random: random,
                      learningRate: options.learningRate(atStep: max(step, 1), scale: learningRateScale),
                      learningRateScale: learningRateScale, options: options)
    }

    /// Continues from a checkpoint: step, dropout generator and learning-rate scale from its
    /// state, and the Adam moments when it has them (without them Adam restarts at t = 0 while
    /// the schedule continues from `step`).
    func restore(_ state: TrainingState?, moments saved: AdamOptimizer?) {
        if let state {
            step = state.step
            random = state.random
            learningRateScale = state.learningRateScale
        }
        if let saved {
            optimizer.m.copy(from: saved.m)
            optimizer.v.copy(from: saved.v)
            optimizer.stepCount = saved.stepCount
        }
    }
}

/// A trainer of either model kind: it owns a `ParameterUpdater` and shows its state.
public protocol UpdatingTrainer: AnyObject {
    var updater: ParameterUpdater { get }
}

extension UpdatingTrainer {
    public var optimizer: AdamOptimizer { updater.optimizer }
    public var options: TrainingOptions {
        get { updater.options }
        set { updater.options = newValue }
    }
    public var random: RandomGenerator {
        get { updater.random }
        set { updater.random = newValue }
    }
    public var learningRateScale: Float {
        get { updater.learningRateScale }
        set { updater.learningRateScale = newValue }
    }
    public var step: Int { updater.step }
    public var nextLearningRate: Float { updater.nextLearningRate }

    /// The state to store in a checkpoint now (`dataPosition`: the next batch or chunk of `epoch`).
    public func trainingState(epoch: Int, dataPosition: Int) -> TrainingState {
        updater.trainingState(epoch: epoch, dataPosition: dataPosition)
    }
}
