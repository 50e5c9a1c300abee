// Recurrent language models (the lecture notes' character RNN): embedding → L recurrent
// layers → output layer → softmax over the next unit, trained with truncated
// backpropagation through time over B parallel streams of one long text.
//
// Shape letters (beside the module's B, E, H, V, L, N):
//   B  streams (rows of a chunk)      T  steps per chunk (--bptt)
//   S  steps of one stream            N  packed rows of a chunk = Σ over streams of its steps (B·T
//                                        except in a last, shorter chunk)
// A chunk is packed time-major: packed row t·B + b is step t of stream b.

/// Sizes and cell of a recurrent language model; stored as JSON in every LM checkpoint.
///
/// Parameter names follow `../shared/reference/char_lm_tbptt_tiny.safetensors`: `embedding`
/// `[V, E]`, `CELL.l{k}.weight_ih` `[G·H, I]`, `CELL.l{k}.weight_hh` `[G·H, H]`,
/// `CELL.l{k}.bias_ih`, `CELL.l{k}.bias_hh` `[G·H]` where CELL is the cell's name (`lstm`,
/// `gru`, `rnn`), then `out_weight` `[V, H]` and `out_bias` `[V]`.
public struct LanguageModelConfiguration: Codable, Equatable, Hashable, Sendable {
    /// Vocabulary size V (units; see `TextUnits`).
    public var vocabularySize: Int
    /// Embedding size E.
    public var embeddingSize: Int
    /// Hidden size H of every layer.
    public var hiddenSize: Int
    /// Number of stacked recurrent layers L.
    public var layerCount: Int
    /// Dropout on the embeddings, between layers and before the output layer during training.
    public var dropout: Float
    /// Recurrent cell of every layer.
    public var cell: CellKind

    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layerCount: Int, dropout: Float = 0,
                cell: CellKind = .lstm) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.dropout = dropout
        self.cell = cell
    }

    /// Throws `LanguageModelError.invalidConfiguration` unless every size is positive and
    /// dropout is in [0, 1).
    public func validate() throws {
        guard [vocabularySize, embeddingSize, hiddenSize, layerCount].allSatisfy({ $0 > 0 }) else {
            throw LanguageModelError.invalidConfiguration("every size must be positive, got \(self)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw LanguageModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
        if let problem = ModelConfiguration.sizeLimitProblem(
            vocabularies: [("vocabulary size", vocabularySize)], embeddingSize: embeddingSize,
            hiddenSize: hiddenSize, layerCount: layerCount) {
            throw LanguageModelError.invalidConfiguration(problem)
        }
    }

    /// Memory to train on chunks of `streams` × `chunkLength` units split over `parts` replicas
    /// (estimated in floating point, before anything is allocated): the weights, Adam's two
    /// moments and one gradient buffer per part; per packed unit, each layer's gates and their
    /// gradient [G·H] twice, its states and input [H or E] a few times, and the logits and their
    /// gradient [V] (dev evaluation reads fewer rows at a time and fits in the same room).
    /// Valid sizes only (call `validate()` first).
    public func trainingMemory(streams: Int, chunkLength: Int, parts: Int) -> MemoryEstimate {
        let (E, H, G, V, L) = (Double(embeddingSize), Double(hiddenSize), Double(cell.gateCount),
                               Double(vocabularySize), Double(layerCount))
        let parameters = V * E + L * G * H * (max(E, H) + H + 2) + V * (H + 1)
        let perUnit = L * (2 * G * H + 6 * H) + 2 * E + 2 * V
        let units = Double(streams) * Double(chunkLength)
        return MemoryEstimate(parameters: 4 * parameters * Double(3 + max(1, parts)),
                              activations: 4 * perUnit * units + 4 * Double(streams) * L * H * 4)
    }

    /// Name prefix of the recurrent layers: the cell's name (`lstm.l0.weight_ih`, …).
    public var layerPrefix: String { cell.rawValue }

    /// Names and shapes of all parameter tensors, in buffer order.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var list: [(name: String, shape: [Int])] = [("embedding", [vocabularySize, embeddingSize])]
        for l in 0..<layerCount {
            list += RecurrentLayer.parameterShapes(prefix: "\(layerPrefix).l\(l)", cell: cell,
                                                   inputSize: l == 0 ? embeddingSize : hiddenSize, hiddenSize: hiddenSize)
        }
        list.append(("out_weight", [vocabularySize, hiddenSize]))
        list.append(("out_bias", [vocabularySize]))
        return list
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Floating-point operations of the matrix products of one training step per unit
    /// (forward + backward = 3 × forward): per layer 2·(I + H)·G·H, output 2·H·V.
    public var trainingFLOPsPerUnit: Double {
        let (E, H, G, V) = (Double(embeddingSize), Double(hiddenSize), Double(cell.gateCount), Double(vocabularySize))
        var forward = 2 * H * V
        for l in 0..<layerCount { forward += 2 * ((l == 0 ? E : H) + H) * G * H }
        return 3 * forward
    }

    /// A one-line description, e.g. "lstm, 2 layers, embedding 64, hidden 512, vocabulary 100".
    public var summary: String {
        "\(cell.rawValue), \(layerCount) layer\(layerCount == 1 ? "" : "s"), embedding \(embeddingSize), "
            + "hidden \(hiddenSize), vocabulary \(vocabularySize)"
    }
}

/// Errors of the language-model library; each description says what to do next.
public enum LanguageModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case tokenOutOfRange(id: Int32, vocabularySize: Int)
    case mismatchedState(String)
    case unreadable(path: String, reason: String)
    case emptyText(path: String)
    case invalidUTF8(path: String, line: Int, byteOffset: Int)
    case textTooShort(path: String, units: Int, needed: Int, hint: String)
    case unknownUnits(String)
    case notALanguageModel(path: String, reason: String)
    case badModelDirectory(path: String, reason: String)
    case outputExists(path: String)
    case nothingToResume(path: String)
    case resumeMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): return "invalid language-model configuration: \(why); fix the sizes"
        case .tokenOutOfRange(let id, let size): return "unit id \(id) is outside the vocabulary (size \(size)); the units and the model do not match"
        case .mismatchedState(let why): return "recurrent state does not fit: \(why)"
        case .unreadable(let path, let reason): return "\(path): cannot read the text (\(reason)); check the path"
        case .emptyText(let path): return "\(path): the file is empty (or only whitespace); give a UTF-8 text file with some text in it"
        case .invalidUTF8(let path, let line, let offset): return "\(path):\(line): invalid UTF-8 (byte offset \(offset)); convert the file to UTF-8, e.g. `iconv -f cp949 -t utf-8`"
        case .textTooShort(let path, let units, let needed, let hint): return "\(path): only \(units) units of text where \(needed) are needed; \(hint)"
        case .unknownUnits(let name): return "unknown units '\(name)'; use char, jamo or subword"
        case .notALanguageModel(let path, let reason): return "\(path): not a language model (\(reason)); train one with `seq2seq lm train TEXT --output \(path)`"
        case .badModelDirectory(let path, let reason): return "\(path): \(reason)"
        case .outputExists(let path): return "\(path): a trained model is already there; use --resume to continue it, --force to replace a language model, or another --output"
        case .nothingToResume(let path): return "\(path): no checkpoint to resume (missing last/model.safetensors); start without --resume"
        case .resumeMismatch(let path, let reason): return "\(path): cannot resume: \(reason)"
        }
    }
}
