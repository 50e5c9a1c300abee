/// What `seq2seq train` and `seq2seq lm train` share: the sizes of a new model, how long to
/// train, the optimizer's rate and clipping, randomness, threads, the validation schedule, and
/// whether to continue or replace the run in the output folder. Each session's options hold
/// one, with that session's defaults, so one command-line group fills either.
public struct TrainingRunControl: Sendable, Equatable {
    /// Embedding size E of a new model (a resumed run keeps its own).
    public var embeddingSize: Int
    /// Hidden size H of a new model.
    public var hiddenSize: Int
    /// Recurrent layers L of a new model.
    public var layerCount: Int
    /// Dropout probability on embeddings, between layers and on the output state.
    public var dropout: Float
    /// Passes over the training data (`Int.max`: no limit).
    public var epochs = 50
    /// Wall-clock limit in seconds for this run (nil: none).
    public var timeBudget: Double?
    /// Stop once the optimizer has taken this many steps in total (nil: none).
    public var maxSteps: Int?
    /// Adam learning rate.
    public var learningRate: Float = 2e-3
    /// Global-norm clipping threshold (nil: no clipping).
    public var clip: Float? = 1.0
    public var seed: UInt64 = 1
    /// CPU threads for matrix products.
    public var threads = 2
    /// Validate every this many steps (0: only at epoch ends); a run also validates at its end.
    public var validateEvery: Int
    /// Stop after this many validations without improvement (a better dev chrF for translation,
    /// a lower dev loss for a language model); for translation they must also span at least
    /// `patience × validateEvery` steps, so that the frequent epoch-end validations of a small
    /// corpus don't stop it early on dev-set noise.
    public var patience: Int
    /// The model folder to write.
    public var outputPath: String
    /// Continue the run saved in the output folder.
    public var resume = false
    /// Replace what an earlier run left in the output folder (its own files only).
    public var force = false
    /// Share of the data held out as dev data when no dev file is given.
    public var devFraction = 0.02
    /// The command line that started this run, recorded in `run.json` for `seq2seq report`.
    public var commandLine: [String] = []

    public init(embeddingSize: Int, hiddenSize: Int, layerCount: Int, dropout: Float,
                validateEvery: Int, patience: Int, outputPath: String) {
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.dropout = dropout
        self.validateEvery = validateEvery
        self.patience = patience
        self.outputPath = outputPath
    }
}

/// Options that hold a `TrainingRunControl` and show its fields as their own
/// (`options.seed` is `options.run.seed`).
@dynamicMemberLookup
public protocol TrainingRunSettings {
    var run: TrainingRunControl { get set }
}

extension TrainingRunSettings {
    public subscript<Value>(dynamicMember field: WritableKeyPath<TrainingRunControl, Value>) -> Value {
        get { run[keyPath: field] }
        set { run[keyPath: field] = newValue }
    }
}
