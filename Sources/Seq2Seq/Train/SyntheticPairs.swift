import Tokenize

/// How `seq2seq train --synthetic` mixes back-translated pairs into training.
public struct SyntheticSettings: Sendable, Equatable {
    /// The synthetic pairs (e.g. from `seq2seq backtranslate`), in the training file's column order.
    public var path: String
    /// Synthetic pairs per real pair in each epoch (all of them when there are fewer).
    public var ratio: Double = 1
    /// Mark synthetic sources with a tag token (Caswell et al. 2019, tagged back-translation).
    public var tagged = true

    public init(path: String, ratio: Double = 1, tagged: Bool = true) {
        self.path = path
        self.ratio = ratio
        self.tagged = tagged
    }
}

/// The back-translated pairs of a run and the share of them each epoch trains on.
///
/// Tagged back-translation (Caswell et al. 2019): a synthetic source starts with a tag token,
/// so the model learns that such sources are machine output, and real inputs (never tagged)
/// are translated as real data taught it. The tag is the source side's `<s>` token, which the
/// encoder never reads otherwise: the vocabulary stays as it is. "Starts" is in text order;
/// an encoder that reads sources reversed reads the tag last.
///
/// Epoch e trains on every real pair plus min(all, ⌈ratio × real pairs⌉) synthetic pairs, a
/// different draw each epoch that depends only on (seed, e), so resumed and distributed runs
/// see the same pairs.
struct SyntheticPairs {
    static let tag = SubwordModel.beginId

    let settings: SyntheticSettings
    /// Encoded synthetic pairs (tagged when `settings.tagged`), deterministic segmentation.
    let examples: [TrainingSession.Example]
    /// Their texts, for BPE-dropout (empty without it).
    let texts: [(source: String, target: String)]
    let seed: UInt64

    /// `ids` (in encoder order) with the tag added at the start of the text.
    static func tagged(_ ids: [Int32], sourceOrderReversed: Bool) -> [Int32] {
        sourceOrderReversed ? ids + [tag] : [tag] + ids
    }

    /// How many synthetic pairs an epoch of `realCount` real pairs trains on.
    func countPerEpoch(realCount: Int) -> Int {
        let wanted = (settings.ratio * Double(realCount)).rounded(.up)
        return wanted >= Double(examples.count) ? examples.count : max(0, Int(wanted))
    }

    /// The synthetic examples of epoch `epoch` (segmented again by `dropout` when given).
    func epochExamples(epoch: Int, realCount: Int, dropout: SubwordDropout?) -> [TrainingSession.Example] {
        let count = countPerEpoch(realCount: realCount)
        var chosen = Array(examples.indices)
        if count < examples.count {
            var random = RandomGenerator(seed: seed &* 0x94D0_49BB_1331_11EB &+ 0x5_7A7E &+ UInt64(epoch))
            chosen.shuffle(using: &random)
            chosen = Array(chosen.prefix(count)).sorted()
        }
        guard let dropout, !texts.isEmpty else { return chosen.map { examples[$0] } }
        return dropout.examples(epoch: epoch, texts: chosen.map { texts[$0] }, fallback: chosen.map { examples[$0] },
                                tagsSources: settings.tagged)
    }
}
