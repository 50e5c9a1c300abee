/// How the encoder reads the source.
public enum EncoderKind: String, Codable, CaseIterable, Sendable {
    /// Left to right, H units per layer.
    case uni
    /// Both directions, H/2 units each; layer k > 0 reads `[fwd ; bwd]` of layer k − 1.
    case bi
}

/// Attention of the decoder's top layer over the encoder outputs (Luong et al. 2015).
public enum AttentionKind: String, Codable, CaseIterable, Sendable {
    /// No attention: the decoder sees the source only through the encoder's final states.
    case none
    /// `score = h_tᵀ e_j`.
    case dot
    /// `score = h_tᵀ W_a e_j`.
    case general
}

/// Sizes and architecture of a recurrent encoder-decoder. Stored as JSON in every checkpoint.
public struct ModelConfiguration: Equatable, Hashable, Sendable {
    /// Source vocabulary size Vs (ids `0..<Vs`; id 0 is padding by convention).
    public var sourceVocabularySize: Int
    /// Target vocabulary size Vt (ids `0..<Vt`; id 0 is padding by convention).
    public var targetVocabularySize: Int
    /// Embedding size E (both sides).
    public var embeddingSize: Int
    /// Hidden size H of the decoder and of the encoder's output (H/2 per direction when bidirectional).
    public var hiddenSize: Int
    /// Number of stacked recurrent layers L (encoder and decoder).
    public var layerCount: Int
    /// Dropout probability on embeddings, between layers and on the attentional state during
    /// training (0 disables it).
    public var dropout: Float
    /// Recurrent cell of every layer, encoder and decoder.
    public var cell: CellKind
    /// Unidirectional or bidirectional encoder.
    public var encoder: EncoderKind
    /// Attention on the top decoder layer.
    public var attention: AttentionKind
    /// Input feeding (Luong et al.): decoder layer 0 reads `[emb(y_t) ; h̃_{t−1}]`. Needs attention.
    public var inputFeeding: Bool
    /// Tied target embeddings (Press & Wolf 2017): the output layer's weights are the target
    /// embedding table `[Vt, E]` (there is no `out_weight`). Needs E = H.
    public var tieEmbeddings: Bool

    public init(
        sourceVocabularySize: Int, targetVocabularySize: Int,
        embeddingSize: Int, hiddenSize: Int, layerCount: Int, dropout: Float = 0,
        cell: CellKind = .lstm, encoder: EncoderKind = .uni, attention: AttentionKind = .none,
        inputFeeding: Bool = false, tieEmbeddings: Bool = false
    ) {
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.dropout = dropout
        self.cell = cell
        self.encoder = encoder
        self.attention = attention
        self.inputFeeding = inputFeeding
        self.tieEmbeddings = tieEmbeddings
    }

    /// Throws `ModelError.invalidConfiguration` unless every size is positive, dropout is in
    /// [0, 1), a bidirectional encoder has an even hidden size and input feeding has attention.
    public func validate() throws {
        let sizes = [sourceVocabularySize, targetVocabularySize, embeddingSize, hiddenSize, layerCount]
        guard sizes.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidConfiguration("every size must be positive, got \(self)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw ModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
        guard encoder == .uni || hiddenSize % 2 == 0 else {
            throw ModelError.invalidConfiguration(
                "a bidirectional encoder splits the hidden size between its two directions, so it must be even (got \(hiddenSize))")
        }
        guard !inputFeeding || attention != .none else {
            throw ModelError.invalidConfiguration("input feeding feeds the attentional state back, so it needs attention")
        }
        guard !tieEmbeddings || embeddingSize == hiddenSize else {
            throw ModelError.invalidConfiguration(
                "tied embeddings use the target embedding table as the output layer, so the embedding size (\(embeddingSize)) must equal the hidden size (\(hiddenSize))")
        }
    }

    /// A short description such as "lstm, bi encoder, general attention with input feeding".
    public var architectureSummary: String {
        var text = "\(cell.rawValue), \(encoder == .bi ? "bidirectional" : "unidirectional") encoder"
        switch attention {
        case .none: text += ", no attention"
        case .dot, .general: text += ", \(attention.rawValue) attention" + (inputFeeding ? " with input feeding" : "")
        }
        return text
    }

    /// Units per encoder direction: H, or H/2 for a bidirectional encoder.
    var encoderDirectionSize: Int { encoder == .bi ? hiddenSize / 2 : hiddenSize }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Floating-point operations of the matrix products in one training step
    /// (forward + backward) over `sourceTokens` and `targetTokens` real tokens:
    /// per recurrent layer 3 · 2·N·(I + H)·G·H, attention 3 · 2·Nt·(2H·H) for W_c plus
    /// 3 · 2·Ns·H·H for the keys ("general"), output layer 3 · 2·Nt·H·Vt.
    /// Element-wise work and the per-row attention scores are not counted.
    public func trainingFLOPs(sourceTokens: Int, targetTokens: Int) -> Double {
        let (E, H, G) = (Double(embeddingSize), Double(hiddenSize), Double(cell.gateCount))
        let directions = encoder == .bi ? 2.0 : 1.0, Hd = Double(encoderDirectionSize)
        var encoderPerToken = 0.0, decoderPerToken = 0.0
        for l in 0..<layerCount {
            encoderPerToken += directions * 3 * 2 * ((l == 0 ? E : H) + Hd) * G * Hd
            let input = l == 0 ? E + (inputFeeding ? H : 0) : H
            decoderPerToken += 3 * 2 * (input + H) * G * H
        }
        var attentionFLOPs = 0.0
        if attention != .none { attentionFLOPs += 3 * 2 * Double(targetTokens) * 2 * H * H }
        if attention == .general { attentionFLOPs += 3 * 2 * Double(sourceTokens) * H * H }
        let output = 3 * 2 * Double(targetTokens) * H * Double(targetVocabularySize)
        return encoderPerToken * Double(sourceTokens) + decoderPerToken * Double(targetTokens) + attentionFLOPs + output
    }

    /// Names and shapes of all parameter tensors, in buffer order (PyTorch reference names):
    /// embeddings, encoder layers (`encoder.l{k}` or `encoder.l{k}.forward`/`.backward`),
    /// decoder layers, attention, output layer.
    public var parameterShapes: [(name: String, shape: [Int])] {
        let (E, H, L, Hd) = (embeddingSize, hiddenSize, layerCount, encoderDirectionSize)
        var list: [(name: String, shape: [Int])] = [
            ("src_embedding", [sourceVocabularySize, E]),
            ("tgt_embedding", [targetVocabularySize, E]),
        ]
        for l in 0..<L {
            let input = l == 0 ? E : H
            if encoder == .bi {
                for direction in ["forward", "backward"] {
                    list += RecurrentLayer.parameterShapes(prefix: "encoder.l\(l).\(direction)", cell: cell, inputSize: input, hiddenSize: Hd)
                }
            } else {
                list += RecurrentLayer.parameterShapes(prefix: "encoder.l\(l)", cell: cell, inputSize: input, hiddenSize: H)
            }
        }
        for l in 0..<L {
            let input = l == 0 ? E + (inputFeeding ? H : 0) : H
            list += RecurrentLayer.parameterShapes(prefix: "decoder.l\(l)", cell: cell, inputSize: input, hiddenSize: H)
        }
        list += GlobalAttention.parameterShapes(kind: attention, hiddenSize: H)
        if !tieEmbeddings { list.append(("out_weight", [targetVocabularySize, H])) }
        list.append(("out_bias", [targetVocabularySize]))
        return list
    }
}

/// The architecture choices of a model (recorded in `model.json` and in every checkpoint's configuration).
public struct ModelArchitecture: Codable, Equatable, Sendable, CustomStringConvertible {
    public var cell: CellKind
    public var encoder: EncoderKind
    public var attention: AttentionKind
    public var inputFeeding: Bool

    public init(cell: CellKind, encoder: EncoderKind, attention: AttentionKind, inputFeeding: Bool) {
        self.cell = cell
        self.encoder = encoder
        self.attention = attention
        self.inputFeeding = inputFeeding
    }

    /// The choices of a configuration.
    public init(_ c: ModelConfiguration) {
        self.init(cell: c.cell, encoder: c.encoder, attention: c.attention, inputFeeding: c.inputFeeding)
    }

    /// What models written before the choices existed are: an LSTM without attention.
    public static let original = ModelArchitecture(cell: .lstm, encoder: .uni, attention: .none, inputFeeding: false)

    public var description: String {
        "cell \(cell.rawValue), encoder \(encoder.rawValue), attention \(attention.rawValue)"
            + (attention == .none ? "" : inputFeeding ? " with input feeding" : " without input feeding")
    }
}

extension ModelConfiguration {
    /// The configuration's architecture choices.
    public var architecture: ModelArchitecture { ModelArchitecture(self) }
}

extension ModelConfiguration: Codable {
    enum CodingKeys: String, CodingKey {
        case sourceVocabularySize, targetVocabularySize, embeddingSize, hiddenSize, layerCount, dropout
        case cell, encoder, attention, inputFeeding, tieEmbeddings
    }

    /// Decodes a configuration; the architecture keys are optional (files written before they
    /// existed describe an LSTM without attention), and an unknown cell, encoder or attention
    /// name is an error that lists the names this build knows.
    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func choice<T: RawRepresentable & CaseIterable>(_ key: CodingKeys, _ fallback: T) throws -> T where T.RawValue == String {
            guard let name = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
            guard let value = T(rawValue: name) else {
                let known = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container,
                    debugDescription: "unknown \(key.stringValue) \"\(name)\"; this build knows \(known) — the model needs a newer version of seq2seq")
            }
            return value
        }
        self.init(
            sourceVocabularySize: try container.decode(Int.self, forKey: .sourceVocabularySize),
            targetVocabularySize: try container.decode(Int.self, forKey: .targetVocabularySize),
            embeddingSize: try container.decode(Int.self, forKey: .embeddingSize),
            hiddenSize: try container.decode(Int.self, forKey: .hiddenSize),
            layerCount: try container.decode(Int.self, forKey: .layerCount),
            dropout: try container.decodeIfPresent(Float.self, forKey: .dropout) ?? 0,
            cell: try choice(.cell, CellKind.lstm),
            encoder: try choice(.encoder, EncoderKind.uni),
            attention: try choice(.attention, AttentionKind.none),
            inputFeeding: try container.decodeIfPresent(Bool.self, forKey: .inputFeeding) ?? false,
            tieEmbeddings: try container.decodeIfPresent(Bool.self, forKey: .tieEmbeddings) ?? false)
    }
}

/// Errors from building batches or running the model on bad input.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case emptyBatch
    case mismatchedBatch(String)
    case tokenOutOfRange(side: String, id: Int32, vocabularySize: Int)
    case emptyTarget(row: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): return "invalid model configuration: \(why); fix the sizes given to the model"
        case .emptyBatch: return "the batch has no rows; give at least one sentence pair"
        case .mismatchedBatch(let why): return "inconsistent batch: \(why)"
        case .tokenOutOfRange(let side, let id, let size): return "\(side) token id \(id) is outside the vocabulary (size \(size)); the vocabulary and the model do not match"
        case .emptyTarget(let row): return "row \(row) has an empty decoder sequence; every target needs at least one token (e.g. </s>)"
        }
    }
}
