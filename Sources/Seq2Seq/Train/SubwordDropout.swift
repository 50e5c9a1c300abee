import Tokenize

/// BPE-dropout for training (Provilkov et al. 2020): every epoch the training pairs are
/// segmented again with each merge skipped with probability `probability`, so the model sees
/// a word split several ways and learns its pieces' composition. Dev data and decoding keep
/// the deterministic segmentation.
///
/// The segmentation of epoch e depends only on (seed, e), so a resumed or distributed run
/// sees the same pieces as one uninterrupted process. A pair that comes out longer than
/// `--max-length` keeps its deterministic segmentation that epoch.
struct SubwordDropout {
    let probability: Double
    let source: Tokenizer
    let target: Tokenizer
    /// Source ids go to the encoder last token first.
    let sourceOrderReversed: Bool
    let maxLength: Int
    let seed: UInt64

    /// The examples of epoch `epoch`: `texts[i]` segmented with dropout, or `fallback[i]`
    /// when that is too long or empty. With `tagsSources`, each source starts with the synthetic tag (`SyntheticPairs`).
    func examples(epoch: Int, texts: [(source: String, target: String)],
                  fallback: [TrainingSession.Example], tagsSources: Bool = false) -> [TrainingSession.Example] {
        var random = RandomGenerator(seed: seed &* 0xD1B5_4A32_D192_ED03 &+ 0x5B_D1E9_95 &+ UInt64(epoch))
        return zip(texts, fallback).map { text, deterministic in
            var s = source.encode(text.source, subwordDropout: probability, using: &random)
            let t = target.encode(text.target, subwordDropout: probability, using: &random)
            guard !s.isEmpty, !t.isEmpty else { return deterministic }
            if sourceOrderReversed { s.reverse() }
            if tagsSources { s = SyntheticPairs.tagged(s, sourceOrderReversed: sourceOrderReversed) }
            guard s.count <= maxLength, t.count <= maxLength else { return deterministic }
            return TrainingSession.Example(source: s, target: t)
        }
    }
}
