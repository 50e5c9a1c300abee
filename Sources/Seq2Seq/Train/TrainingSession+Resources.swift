import Tokenize

extension TrainingSession {
    /// The configuration of a new model for this vocabulary and these options.
    func freshConfiguration(vocabulary: VocabularyPair, manifest: ModelManifest) -> ModelConfiguration {
        ModelConfiguration(
            sourceVocabularySize: vocabulary.size(of: manifest.sourceSide),
            targetVocabularySize: vocabulary.size(of: manifest.targetSide),
            embeddingSize: options.embeddingSize, hiddenSize: options.hiddenSize,
            layerCount: options.layerCount, dropout: options.dropout,
            cell: options.architecture.cell, encoder: options.architecture.encoder,
            attention: options.architecture.attention, inputFeeding: options.architecture.inputFeeding,
            tieEmbeddings: options.tieEmbeddings)
    }

    /// What to change when the memory estimate is refused.
    var memoryAdvice: String {
        "lower --hidden, --embedding, --layers, --vocab-size, --batch-size/--batch-tokens or --max-length"
    }

    /// The memory estimate for training `configuration` on batches of these pairs.
    ///
    /// Sentence lengths are bounded by `--max-length` and by the corpus itself (a
    /// side of b UTF-8 bytes has at most 2b + 1 subword tokens: one per byte at
    /// worst, plus word-boundary marks), so a generous `--max-length` does not
    /// inflate the figure. With `--batch-tokens` a batch holds at most that many
    /// target tokens plus one sentence, at least two per pair, and sources are
    /// counted as four times the target tokens at most.
    func trainingMemory(configuration: ModelConfiguration, pairs: [SentencePair]) throws -> MemoryEstimate {
        try configuration.validate()
        let longestSide = pairs.reduce(0) { max($0, $1.source.utf8.count, $1.target.utf8.count) }
        let length = min(options.maxLength, 2 * longestSide + 1)
        let rows: Int, targetTokens: Int, sourceTokens: Int
        if let batchTokens = options.batchTokens {
            targetTokens = batchTokens + length + 1
            rows = max(1, targetTokens / 2)
            sourceTokens = min(rows * length, 4 * targetTokens)
        } else {
            rows = options.batchSize
            targetTokens = rows * (length + 1)
            sourceTokens = rows * length
        }
        return configuration.trainingMemory(rows: rows, sourceTokens: sourceTokens, targetTokens: targetTokens)
    }
}
