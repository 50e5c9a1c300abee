import Seq2Seq

/// Everything one report page shows, as plain values. `ModelReportBuilder`
/// fills it from a model directory; tests fill it by hand; `ReportPage.html`
/// turns it into one self-contained HTML file.
public struct ReportContent: Sendable {
    /// Page title (e.g. the model directory).
    public var title: String
    /// 1. Run summary.
    public var summary: RunSummary
    /// 2. Curves from `training-log.jsonl`.
    public var curves: ReportSection<TrainingHistory>
    /// 3. Attention heatmaps of a few dev sentences.
    public var attention: ReportSection<[AttentionExample]>
    /// 4. Hidden units that explain simple text properties, and gate saturation.
    public var cells: ReportSection<CellAnalysis>
    /// 5. Greedy and beam translations (or samples of a language model).
    public var decoding: ReportSection<[DecodingExample]>
    /// Languages of source and target text (for `lang` attributes).
    public var languages: LanguagePair
    /// What kind of model the page is about (headings, curves and section 5 differ).
    public var model: ReportedModel

    public init(title: String, summary: RunSummary, curves: ReportSection<TrainingHistory>,
                attention: ReportSection<[AttentionExample]>, cells: ReportSection<CellAnalysis>,
                decoding: ReportSection<[DecodingExample]>, languages: LanguagePair = LanguagePair(source: nil, target: nil),
                model: ReportedModel = .translation) {
        self.title = title
        self.languages = languages
        self.model = model
        self.summary = summary
        self.curves = curves
        self.attention = attention
        self.cells = cells
        self.decoding = decoding
    }
}

/// The two kinds of model directory `seq2seq report` reads.
public enum ReportedModel: Sendable, Equatable {
    /// `seq2seq train`: an encoder-decoder (section 5 shows translations, curves BLEU/chrF).
    case translation
    /// `seq2seq lm train`: a language model (section 5 shows samples, curves bits per character).
    case languageModel
}

/// A section either has something to draw or says in one line why not.
public enum ReportSection<Value: Sendable>: Sendable {
    case shown(Value)
    case omitted(reason: String)
}

/// Section 1: what was trained, on what, for how long, how well, by which command.
public struct RunSummary: Sendable {
    /// Path of the model directory.
    public var modelDirectory: String
    /// One line naming the architecture, e.g. "LSTM encoder-decoder, unidirectional encoder, no attention".
    public var architecture: String
    /// Sizes from the checkpoint (nil if no checkpoint could be read).
    public var configuration: ModelConfiguration?
    /// A language model's sizes (from `lm.json` or a checkpoint; nil for a translation model).
    public var languageModel: LanguageModelConfiguration?
    /// A language model's units, e.g. "char: 84 characters + <unk>".
    public var units: String?
    /// A language model's text: characters trained on per epoch, characters of the dev text.
    public var trainingCharacters: Int?
    public var devCharacters: Int?
    /// Where a language model's dev text came from, e.g. "held out: the end of the training text".
    public var devSource: String?
    /// "en → ko" and friends.
    public var direction: String?
    /// Source/target reading order note, e.g. "source read last token first".
    public var sourceOrder: String?
    public var trainingPairs: Int?
    public var devPairs: Int?
    public var skippedPairs: Int?
    /// Optimizer steps of the latest checkpoint.
    public var steps: Int?
    /// Completed epochs (0-based epoch of the latest checkpoint).
    public var epoch: Int?
    /// Wall-clock seconds of training, summed over invocations.
    public var trainingSeconds: Double?
    /// Target tokens per second of wall-clock training time (validation included).
    public var targetTokensPerSecond: Double?
    /// A language model's training characters per second (median of the logged rates).
    public var charactersPerSecond: Double?
    /// The best validation (the `best/` checkpoint).
    public var best: ValidationPoint?
    /// Command lines that trained the model, oldest first (one per `--resume`).
    public var commandLines: [String] = []
    /// Things the reader should know (missing files, interrupted runs…), one line each.
    public var notes: [String] = []

    public init(modelDirectory: String, architecture: String) {
        self.modelDirectory = modelDirectory
        self.architecture = architecture
    }
}

/// One validation: a point on every curve.
public struct ValidationPoint: Sendable, Equatable {
    public var step: Int
    public var epoch: Int?
    /// Seconds since training started, summed over resumed invocations.
    public var seconds: Double?
    public var trainLoss: Double?
    public var devLoss: Double?
    public var bleu: Double?
    public var chrF: Double?
    /// Character-level BLEU (Korean targets).
    public var characterBLEU: Double?
    /// A language model's bits per character (over the original characters) on the training
    /// chunks since the previous validation, and on the dev text.
    public var trainBitsPerCharacter: Double?
    public var devBitsPerCharacter: Double?
    /// A language model's training characters per second since the previous validation.
    public var charactersPerSecond: Double?
    /// True if this validation saved the `best/` checkpoint.
    public var isBest: Bool

    public init(step: Int, epoch: Int? = nil, seconds: Double? = nil, trainLoss: Double? = nil,
                devLoss: Double? = nil, bleu: Double? = nil, chrF: Double? = nil, characterBLEU: Double? = nil,
                trainBitsPerCharacter: Double? = nil, devBitsPerCharacter: Double? = nil, charactersPerSecond: Double? = nil,
                isBest: Bool = false) {
        self.step = step
        self.epoch = epoch
        self.seconds = seconds
        self.trainLoss = trainLoss
        self.devLoss = devLoss
        self.bleu = bleu
        self.chrF = chrF
        self.characterBLEU = characterBLEU
        self.trainBitsPerCharacter = trainBitsPerCharacter
        self.devBitsPerCharacter = devBitsPerCharacter
        self.charactersPerSecond = charactersPerSecond
        self.isBest = isBest
    }
}

/// Section 2: the validations of `training-log.jsonl` in order, and what was
/// odd about the file (a truncated last line, unreadable lines).
public struct TrainingHistory: Sendable {
    public var points: [ValidationPoint]
    /// One line each, shown above the curves.
    public var notes: [String]

    public init(points: [ValidationPoint], notes: [String] = []) {
        self.points = points
        self.notes = notes
    }

    /// The validation that wrote `best/`: the last one marked best.
    public var best: ValidationPoint? { points.last(where: \.isBest) }
}

/// Section 5: one source sentence and what the model made of it (or a language
/// model's prime and its samples).
public struct DecodingExample: Sendable, Equatable {
    /// The input (a source sentence, or the prime of a language-model sample).
    public var source: String
    /// The reference translation, if known.
    public var reference: String?
    /// The outputs, each labelled (e.g. "greedy", "beam 5", "T = 0.5").
    public var outputs: [Output]

    public struct Output: Sendable, Equatable {
        public var label: String
        public var text: String
        /// Sentence chrF against the reference (nil without one).
        public var chrF: Double?
        public init(label: String, text: String, chrF: Double? = nil) {
            self.label = label
            self.text = text
            self.chrF = chrF
        }
    }

    public init(source: String, reference: String?, outputs: [Output]) {
        self.source = source
        self.reference = reference
        self.outputs = outputs
    }
}
