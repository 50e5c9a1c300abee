/// Where a run is in its data and its early-stopping counters: the part of `last/session.json`
/// that the training loop reads and writes, the same for both model kinds.
struct TrainingProgress: Codable, Equatable {
    /// The epoch being trained (0-based) and its next batch (for a language model, its next chunk).
    var epoch = 0
    var batchIndex = 0
    /// The step of the best validation so far.
    var bestStep = 0
    var validationsWithoutImprovement = 0
    var validations = 0

    /// Larger counters cannot come from a run (2^48 steps); they would overflow in arithmetic.
    static let counterLimit = 1 << 48

    init() {}

    /// Counts a validation at `step`: a better one resets the early-stopping count.
    mutating func recordValidation(improved: Bool, step: Int) {
        validations += 1
        if improved {
            bestStep = step
            validationsWithoutImprovement = 0
        } else {
            validationsWithoutImprovement += 1
        }
    }

    /// Why the counters cannot come from a real run, or nil.
    var problem: String? {
        let counters = [epoch, batchIndex, bestStep, validations, validationsWithoutImprovement]
        if counters.contains(where: { $0 < 0 }) { return "negative counters" }
        if counters.contains(where: { $0 > Self.counterLimit }) { return "counters out of range" }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, batchIndex, bestStep, validationsWithoutImprovement, validations
        /// The name language-model sessions gave `batchIndex` before both kinds shared this record.
        case chunk
    }

    init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        batchIndex = try c.decodeIfPresent(Int.self, forKey: .batchIndex) ?? c.decode(Int.self, forKey: .chunk)
        bestStep = try c.decode(Int.self, forKey: .bestStep)
        validationsWithoutImprovement = try c.decode(Int.self, forKey: .validationsWithoutImprovement)
        validations = try c.decode(Int.self, forKey: .validations)
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(batchIndex, forKey: .batchIndex)
        try c.encode(bestStep, forKey: .bestStep)
        try c.encode(validationsWithoutImprovement, forKey: .validationsWithoutImprovement)
        try c.encode(validations, forKey: .validations)
    }
}

/// `last/session.json`: the loop's `TrainingProgress` beside a model kind's own `Details`
/// (`TranslationSessionDetails`, `LanguageModelSessionDetails`), written as one flat JSON
/// object so that sessions of earlier versions still resume. The fields of both parts read as
/// fields of the record: `state.epoch`, `state.bestChrF`.
@dynamicMemberLookup
struct SessionRecord<Details: Codable>: Codable {
    var progress: TrainingProgress
    var details: Details

    init(progress: TrainingProgress = TrainingProgress(), details: Details) {
        self.progress = progress
        self.details = details
    }

    subscript<T>(dynamicMember path: WritableKeyPath<TrainingProgress, T>) -> T {
        get { progress[keyPath: path] }
        set { progress[keyPath: path] = newValue }
    }

    subscript<T>(dynamicMember path: WritableKeyPath<Details, T>) -> T {
        get { details[keyPath: path] }
        set { details[keyPath: path] = newValue }
    }

    init(from decoder: any Swift.Decoder) throws {
        progress = try TrainingProgress(from: decoder)
        details = try Details(from: decoder)
    }

    func encode(to encoder: any Swift.Encoder) throws {
        try progress.encode(to: encoder)
        try details.encode(to: encoder)
    }
}
