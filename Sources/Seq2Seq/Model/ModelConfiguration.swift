/// Sizes of an LSTM encoder-decoder. Stored as JSON in every checkpoint.
public struct ModelConfiguration: Codable, Equatable, Hashable, Sendable {
    /// Source vocabulary size Vs (ids `0..<Vs`; id 0 is padding by convention).
    public var sourceVocabularySize: Int
    /// Target vocabulary size Vt (ids `0..<Vt`; id 0 is padding by convention).
    public var targetVocabularySize: Int
    /// Embedding size E (both sides).
    public var embeddingSize: Int
    /// LSTM hidden size H (encoder and decoder).
    public var hiddenSize: Int
    /// Number of stacked LSTM layers L (encoder and decoder).
    public var layerCount: Int
    /// Dropout probability on embeddings and between LSTM layers during training (0 disables it).
    public var dropout: Float

    public init(
        sourceVocabularySize: Int, targetVocabularySize: Int,
        embeddingSize: Int, hiddenSize: Int, layerCount: Int, dropout: Float = 0
    ) {
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.dropout = dropout
    }

    /// Throws `ModelError.invalidConfiguration` unless every size is positive and dropout is in [0, 1).
    public func validate() throws {
        let sizes = [sourceVocabularySize, targetVocabularySize, embeddingSize, hiddenSize, layerCount]
        guard sizes.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidConfiguration("every size must be positive, got \(self)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw ModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Floating-point operations of the matrix products in one training step
    /// (forward + backward) over `sourceTokens` and `targetTokens` real tokens:
    /// per LSTM layer 3 · 2·N·(I + H)·4H, output layer 3 · 2·Nt·H·Vt.
    /// Element-wise work is not counted. Use it to report effective GFLOP/s.
    public func trainingFLOPs(sourceTokens: Int, targetTokens: Int) -> Double {
        let (E, H) = (Double(embeddingSize), Double(hiddenSize))
        var perToken: Double = 0  // per token of one side, summed over layers
        for l in 0..<layerCount { perToken += 3 * 2 * ((l == 0 ? E : H) + H) * 4 * H }
        let output = 3 * 2 * Double(targetTokens) * H * Double(targetVocabularySize)
        return perToken * Double(sourceTokens + targetTokens) + output
    }

    /// Names and shapes of all parameter tensors, in buffer order (PyTorch reference names).
    public var parameterShapes: [(name: String, shape: [Int])] {
        let (E, H, L) = (embeddingSize, hiddenSize, layerCount)
        var list: [(String, [Int])] = [
            ("src_embedding", [sourceVocabularySize, E]),
            ("tgt_embedding", [targetVocabularySize, E]),
        ]
        for side in ["encoder", "decoder"] {
            for l in 0..<L {
                let input = l == 0 ? E : H
                list.append(("\(side).l\(l).weight_ih", [4 * H, input]))
                list.append(("\(side).l\(l).weight_hh", [4 * H, H]))
                list.append(("\(side).l\(l).bias_ih", [4 * H]))
                list.append(("\(side).l\(l).bias_hh", [4 * H]))
            }
        }
        list.append(("out_weight", [targetVocabularySize, H]))
        list.append(("out_bias", [targetVocabularySize]))
        return list
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
        case .invalidConfiguration(let why):
            return "invalid model configuration: \(why); fix the sizes given to the model"
        case .emptyBatch:
            return "the batch has no rows; give at least one sentence pair"
        case .mismatchedBatch(let why):
            return "inconsistent batch: \(why)"
        case .tokenOutOfRange(let side, let id, let size):
            return "\(side) token id \(id) is outside the vocabulary (size \(size)); the vocabulary and the model do not match"
        case .emptyTarget(let row):
            return "row \(row) has an empty decoder sequence; every target needs at least one token (e.g. </s>)"
        }
    }
}
