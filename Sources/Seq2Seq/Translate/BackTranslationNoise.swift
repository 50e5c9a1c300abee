/// The noise that Edunov et al. (2018) add to back-translated sources (after Lample et al. 2018):
/// each word is deleted with probability `deleteProbability`, replaced by `filler` with
/// probability `blankProbability`, and the words are shuffled so that none moves more than
/// `shuffleDistance` places. Words are the text's space-separated pieces.
///
/// The paper's values: 0.1, 0.1 and 3 (`BackTranslationNoise.edunov2018`). All zero: no noise.
public struct BackTranslationNoise: Sendable, Equatable {
    public var deleteProbability: Double = 0
    public var blankProbability: Double = 0
    /// k: no word ends up more than k places from where it was (0: no shuffle).
    public var shuffleDistance: Int = 0
    /// The word that stands in for a blanked one.
    public var filler = "<blank>"

    public init(deleteProbability: Double = 0, blankProbability: Double = 0, shuffleDistance: Int = 0,
                filler: String = "<blank>") {
        self.deleteProbability = deleteProbability
        self.blankProbability = blankProbability
        self.shuffleDistance = shuffleDistance
        self.filler = filler
    }

    /// Delete 0.1, blank 0.1, shuffle within 3 places (Edunov et al. 2018, §3.2).
    public static let edunov2018 = BackTranslationNoise(deleteProbability: 0.1, blankProbability: 0.1, shuffleDistance: 3)

    /// True when `apply` changes nothing.
    public var isNone: Bool { deleteProbability == 0 && blankProbability == 0 && shuffleDistance == 0 }

    /// `text` with noise. The shuffle sorts the words by i + U(0, k + 1) (Lample et al. 2018),
    /// which keeps every word within k places. A text whose words are all deleted keeps its
    /// first word, so a pair never loses its source.
    public func apply<G: RandomNumberGenerator>(to text: String, using random: inout G) -> String {
        guard !isNone else { return text }
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        guard !words.isEmpty else { return text }
        var kept: [Substring] = []
        kept.reserveCapacity(words.count)
        for word in words {
            let u = Double.random(in: 0..<1, using: &random)
            if u < deleteProbability { continue }
            kept.append(u < deleteProbability + blankProbability ? Substring(filler) : word)
        }
        if kept.isEmpty { kept = [words[0]] }
        if shuffleDistance > 0 && kept.count > 1 {
            let keys = kept.indices.map { Double($0) + Double.random(in: 0..<Double(shuffleDistance + 1), using: &random) }
            kept = kept.indices.sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }.map { kept[$0] }
        }
        return kept.joined(separator: " ")
    }
}
