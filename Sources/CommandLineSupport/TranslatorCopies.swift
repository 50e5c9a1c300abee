import Seq2Seq

/// One translator per decoding worker (`translate --workers`, `seq2seq backtranslate --workers`).
public enum TranslatorCopies {
    /// `count` translators from `load`, refused before the second is loaded when their decoding
    /// (each running `modelsPerCopy` models, an ensemble's) would not fit in memory together.
    /// - Parameters:
    ///   - what: the work, for the refusal ("translating with --beam-size 5 …").
    ///   - advice: the options that lower the need.
    public static func load(count: Int, batchSize: Int, modelsPerCopy: Int = 1, what: String, advice: String,
                            _ load: () throws -> Translator) throws -> [Translator] {
        let first = try load()
        var memory = first.decodingMemory(batchSize: batchSize)
        memory.parameters *= Double(max(1, modelsPerCopy) * count)
        memory.activations *= Double(max(1, modelsPerCopy) * count)
        try memory.require(for: what + (count > 1 ? " on \(count) workers" : ""), advice: advice)
        var translators = [first]
        while translators.count < count { translators.append(try load()) }
        return translators
    }
}
