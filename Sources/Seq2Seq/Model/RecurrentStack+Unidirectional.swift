extension RecurrentStack {
    /// A unidirectional stack without a fed per-step input whose tensors are named
    /// `embedding` and `PREFIX.l{k}.weight_ih` … (e.g. a language model's `lstm.l0.*`).
    ///
    /// Layer 0 reads E inputs, layer k > 0 reads H; states are `[L, B, H]`. The stack is the same
    /// type the translation model uses (same layers, cells, dropout and packing), described
    /// through the decoder-side fields of a `ModelConfiguration` with both vocabularies = V.
    convenience init(prefix: String, embedding: String, cell: CellKind, vocabularySize V: Int, embeddingSize E: Int,
                     hiddenSize H: Int, layerCount L: Int, parameters: ParameterBuffer, gradients: ParameterBuffer) {
        precondition(prefix != "encoder", "the encoder prefix selects the encoder's options; use another name")
        let c = ModelConfiguration(sourceVocabularySize: V, targetVocabularySize: V, embeddingSize: E, hiddenSize: H,
                                   layerCount: L, cell: cell, encoder: .uni, attention: .none, inputFeeding: false)
        self.init(side: prefix, embedding: embedding, configuration: c, parameters: parameters, gradients: gradients)
    }
}
