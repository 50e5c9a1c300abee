/// The run control that `seq2seq train` and `seq2seq lm train` share: how long to train, the
/// optimizer's rate and clipping, randomness, threads, and whether to continue or replace the run
/// in the output folder. Both sessions' options conform, so one command-line group fills either.
public protocol TrainingRunSettings {
    /// Passes over the training data (`Int.max`: no limit).
    var epochs: Int { get set }
    /// Wall-clock limit in seconds for this run (nil: none).
    var timeBudget: Double? { get set }
    /// Stop once the optimizer has taken this many steps in total (nil: none).
    var maxSteps: Int? { get set }
    /// Adam learning rate.
    var learningRate: Float { get set }
    /// Global-norm clipping threshold (nil: no clipping).
    var clip: Float? { get set }
    var seed: UInt64 { get set }
    /// CPU threads for matrix products.
    var threads: Int { get set }
    /// Continue the run saved in the output folder.
    var resume: Bool { get set }
    /// Replace what an earlier run left in the output folder.
    var force: Bool { get set }
    /// The command line that started this run, recorded in `run.json` for `seq2seq report`.
    var commandLine: [String] { get set }
}

extension TrainingSessionOptions: TrainingRunSettings {}
extension LanguageModelSessionOptions: TrainingRunSettings {}
