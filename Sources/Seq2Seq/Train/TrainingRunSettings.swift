/// What `seq2seq train` and `seq2seq lm train` share: the sizes of a new model, how long to
/// train, the optimizer's rate and clipping, randomness, threads, the validation schedule, and
/// whether to continue or replace the run in the output folder. Both sessions' options conform,
/// each with its own defaults, so one command-line group fills either.
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
    /// Embedding size E, hidden size H and layer count L of a new model (a resumed run keeps its own).
    var embeddingSize: Int { get set }
    var hiddenSize: Int { get set }
    var layerCount: Int { get set }
    /// Dropout probability on embeddings, between layers and on the output state.
    var dropout: Float { get set }
    /// Validate every this many steps (0: only at epoch ends).
    var validateEvery: Int { get set }
    /// Stop after this many validations without improvement.
    var patience: Int { get set }
}

extension TrainingSessionOptions: TrainingRunSettings {}
extension LanguageModelSessionOptions: TrainingRunSettings {}
