import Seq2Seq

/// The JSON body of `POST /v1/translate`:
///
/// ```json
/// {"text": "hello"}                       one sentence
/// {"text": ["hello", "thank you"], "beam_size": 5, "n_best": 2, "model": "en-ko"}
/// ```
///
/// Every field but `text` is optional; absent decoding fields take the
/// server's defaults (`seq2seq serve --beam-size/--greedy`).
public struct TranslateRequest: Decodable, Sendable, Equatable {
    /// The sentences, one or many (a single string is a list of one).
    public var text: [String]
    /// True when `text` was a single string rather than a list.
    public var isSingleSentence: Bool
    public var beamSize: Int?
    public var nBest: Int?
    public var greedy: Bool?
    /// Return the attention matrix of each best translation; needs a model with attention.
    public var alignment: Bool?
    /// Name of the model to use (`GET /v1/models`); absent: the first `--model`.
    public var model: String?
    /// Milliseconds the client waits; a request not decoded by then is answered 504.
    public var timeoutMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case text, greedy, alignment, model
        case beamSize = "beam_size"
        case nBest = "n_best"
        case timeoutMilliseconds = "timeout_ms"
    }

    public init(text: [String], isSingleSentence: Bool = false, beamSize: Int? = nil, nBest: Int? = nil,
                greedy: Bool? = nil, alignment: Bool? = nil, model: String? = nil) {
        self.text = text
        self.isSingleSentence = isSingleSentence
        self.beamSize = beamSize
        self.nBest = nBest
        self.greedy = greedy
        self.alignment = alignment
        self.model = model
    }

    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let single = try? container.decode(String.self, forKey: .text) {
            text = [single]
            isSingleSentence = true
        } else {
            text = try container.decode([String].self, forKey: .text)
            isSingleSentence = false
        }
        beamSize = try container.decodeIfPresent(Int.self, forKey: .beamSize)
        nBest = try container.decodeIfPresent(Int.self, forKey: .nBest)
        greedy = try container.decodeIfPresent(Bool.self, forKey: .greedy)
        alignment = try container.decodeIfPresent(Bool.self, forKey: .alignment)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        timeoutMilliseconds = try container.decodeIfPresent(Int.self, forKey: .timeoutMilliseconds)
    }
}

/// The JSON answer of `POST /v1/translate`: one entry per input sentence, in order.
public struct TranslateResponse: Codable, Sendable, Equatable {
    /// One candidate translation with its score (length-normalized log-probability).
    public struct Candidate: Codable, Sendable, Equatable {
        public var text: String
        public var score: Float
    }

    /// The translation of one input sentence.
    public struct Sentence: Codable, Sendable, Equatable {
        public var source: String
        /// The best translation.
        public var text: String
        public var score: Float
        /// The n-best list, best first (present when `n_best` > 1).
        public var nBest: [Candidate]?
        /// Set when the input was cut to the server's maximum input length.
        public var warning: String?
        /// Where the decoder looked for each target token (present when `alignment` was asked for).
        public var alignment: TranslationAlignment?

        enum CodingKeys: String, CodingKey {
            case source, text, score, warning, alignment
            case nBest = "n_best"
        }
    }

    public var model: String
    public var translations: [Sentence]
}

/// How a batch of sentences is searched. Sentences are batched together only
/// when their keys are equal; everything else about decoding is fixed per server.
public struct DecodingKey: Hashable, Sendable, CustomStringConvertible {
    public var beamSize: Int
    public var greedy: Bool
    public var nBest: Int
    /// Also compute the attention matrix of each best translation.
    public var alignment: Bool

    public init(beamSize: Int, greedy: Bool, nBest: Int, alignment: Bool = false) {
        self.beamSize = beamSize
        self.greedy = greedy
        self.nBest = nBest
        self.alignment = alignment
    }

    /// `base` with this key's search settings.
    public func applied(to base: TranslationOptions) -> TranslationOptions {
        var options = base
        options.beamSize = beamSize
        options.greedy = greedy
        options.nBest = nBest
        options.alignment = alignment
        return options
    }

    public var description: String {
        (greedy ? "greedy" : "beam \(beamSize), n-best \(nBest)") + (alignment ? ", alignment" : "")
    }
}

/// What `GET /v1/models` lists per model.
public struct ModelDescription: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    public var isDefault: Bool
    public var sourceLanguage: String
    public var targetLanguage: String
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var sourceVocabularySize: Int
    public var targetVocabularySize: Int
    public var attention: Bool
    /// Whether the model decodes with its directory's vocabulary shortlist.
    public var shortlist: Bool

    enum CodingKeys: String, CodingKey {
        case name, path, layers, attention, shortlist
        case isDefault = "default"
        case sourceLanguage = "source_language"
        case targetLanguage = "target_language"
        case embeddingSize = "embedding_size"
        case hiddenSize = "hidden_size"
        case sourceVocabularySize = "source_vocabulary_size"
        case targetVocabularySize = "target_vocabulary_size"
    }
}
