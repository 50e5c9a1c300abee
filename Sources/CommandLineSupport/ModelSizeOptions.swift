import ArgumentParser
import Seq2Seq

/// The sizes of a new recurrent model, shared by `seq2seq train` and `seq2seq lm train`. Every
/// option is optional: what is not given keeps the default of the session's options
/// (`TrainingSessionOptions`, `LanguageModelSessionOptions`), since a translation model and a
/// character language model want different shapes. A resumed run keeps the sizes it started with.
public struct ModelSizeOptions: ParsableArguments {
    public init() {}

    @Option(parsing: .unconditional, help: "Embedding size E (default: 256 for train, 64 for lm train).")
    public var embedding: Int?

    @Option(parsing: .unconditional, help: "Hidden size H (default: 256 for train, where --encoder bi gives H/2 per direction; 512 for lm train).")
    public var hidden: Int?

    @Option(parsing: .unconditional, help: "Recurrent layers L (train: encoder and decoder each; default: 1 for train, 2 for lm train).")
    public var layers: Int?

    @Option(parsing: .unconditional, help: "Dropout on embeddings, between layers and on the output or attentional state (0 disables; default: 0.3 for train, 0 for lm train).")
    public var dropout: Float?

    /// Whether any size was given on the command line.
    public var anyGiven: Bool { embedding != nil || hidden != nil || layers != nil || dropout != nil }

    public func validate() throws {
        let count = 1...OptionCheck.maximumCount
        if let embedding { try OptionCheck.require(embedding, in: count, "--embedding") }
        if let hidden { try OptionCheck.require(hidden, in: count, "--hidden") }
        if let layers { try OptionCheck.require(layers, in: 1...ModelConfiguration.maximumLayerCount, "--layers") }
        if let dropout { try OptionCheck.require(dropout, in: 0...1, "--dropout", excludingUpperBound: true) }
    }

    /// Overrides the session's default sizes with those given.
    public func apply<Settings: TrainingRunSettings>(to settings: inout Settings) {
        if let embedding { settings.embeddingSize = embedding }
        if let hidden { settings.hiddenSize = hidden }
        if let layers { settings.layerCount = layers }
        if let dropout { settings.dropout = dropout }
    }
}
