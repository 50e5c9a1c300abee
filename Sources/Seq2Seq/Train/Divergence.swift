/// Training produced a non-finite loss or gradient norm (a learning rate far
/// too high, exploding gradients without clipping, or damaged data). The step
/// that saw it did not update the weights, and nothing non-finite is ever
/// saved (`Checkpoint.save` refuses NaN/∞ weights too).
public struct TrainingDivergence: Error, CustomStringConvertible, Equatable {
    /// The optimizer step that would have been taken (1-based).
    public var step: Int
    /// Mean token loss of the batch.
    public var loss: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    /// Step of the newest checkpoint in `last/` (nil: none was saved yet), filled in by the session.
    public var lastSavedStep: Int?
    /// Model folder, filled in by the session.
    public var folder: String?

    public init(step: Int, loss: Float, gradientNorm: Float) {
        self.step = step
        self.loss = loss
        self.gradientNorm = gradientNorm
    }

    public var description: String {
        var text = "training diverged at step \(step): the loss is \(loss) and the gradient norm \(gradientNorm); "
        if let folder {
            if let lastSavedStep {
                text += "nothing was saved from it: \(folder)/best and \(folder)/last keep the checkpoints of step \(lastSavedStep) and before; "
                    + "lower --learning-rate (or set --clip) and continue with --resume"
            } else {
                text += "no checkpoint was saved; lower --learning-rate (or set --clip) and start again with --force"
            }
        } else {
            text += "lower the learning rate or clip the gradients"
        }
        return text
    }
}
