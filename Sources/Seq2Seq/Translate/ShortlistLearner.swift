/// How `VocabularyShortlist.learn` builds a shortlist.
public struct ShortlistSettings: Sendable, Equatable {
    /// N: the most frequent target tokens of the training targets, in every sentence's shortlist.
    public var frequentCount = 500
    /// K: per source token, the most associated target tokens kept (beyond the frequent ones).
    public var candidateCount = 20
    /// A (source, target) token pair must occur together in at least this many sentence pairs.
    public var minimumCooccurrence = 1

    public init(frequentCount: Int = 500, candidateCount: Int = 20, minimumCooccurrence: Int = 1) {
        self.frequentCount = frequentCount
        self.candidateCount = candidateCount
        self.minimumCooccurrence = minimumCooccurrence
    }
}

extension VocabularyShortlist {
    /// Learns a shortlist from tokenized training pairs (source and target ids, no `<s>`/`</s>`).
    ///
    /// - `frequent`: the N target tokens that occur most often in the targets (ties: lower id).
    /// - `candidates[s]`: the target tokens t that occur in a pair together with s, ranked by the
    ///   Dice coefficient 2·c(s,t) / (c(s) + c(t)), where c counts the pairs containing the token
    ///   (or both); ties by c(s,t), then lower id. Tokens of the frequent list are left out (every
    ///   shortlist has them), then the best K are kept. Dice rather than the raw count c(s,t), so
    ///   that a source word's specific translations rank above target words that occur everywhere.
    ///
    /// Ids outside the vocabularies are ignored.
    /// - Throws: `ShortlistError.invalidSettings` for sizes below 1 or vocabularies too large.
    public static func learn(pairs: [(source: [Int32], target: [Int32])], sourceVocabularySize Vs: Int,
                             targetVocabularySize Vt: Int, settings: ShortlistSettings = ShortlistSettings(),
                             sourceVocabulary: String = "", targetVocabulary: String = "") throws -> VocabularyShortlist {
        guard settings.frequentCount >= 0, settings.candidateCount >= 0, settings.minimumCooccurrence >= 1 else {
            throw ShortlistError.invalidSettings("counts must be ≥ 0 and the minimum co-occurrence ≥ 1")
        }
        guard Vs > 0, Vt > 0, Vs <= maximumVocabularySize, Vt <= maximumVocabularySize else {
            throw ShortlistError.invalidSettings("vocabulary sizes \(Vs)/\(Vt) are outside 1...\(maximumVocabularySize)")
        }
        var occurrences = [Int](repeating: 0, count: Vt)        // [Vt] target token count
        var sourcePairs = [Int](repeating: 0, count: Vs)        // [Vs] c(s)
        var targetPairs = [Int](repeating: 0, count: Vt)        // [Vt] c(t)
        var counts = CooccurrenceCounts()
        for (source, target) in pairs {
            let s = Set(source.filter { $0 >= 0 && Int($0) < Vs }), t = Set(target.filter { $0 >= 0 && Int($0) < Vt })
            for id in target where id >= 0 && Int(id) < Vt { occurrences[Int(id)] += 1 }
            for id in s { sourcePairs[Int(id)] += 1 }
            for id in t { targetPairs[Int(id)] += 1 }
            counts.add(sources: s, targets: t)
        }
        counts.flush()

        let byCount: (Int, Int) -> Bool = { a, b in occurrences[a] != occurrences[b] ? occurrences[a] > occurrences[b] : a < b }
        let frequent: [Int32] = (0..<Vt).filter { occurrences[$0] > 0 }.sorted(by: byCount)
            .prefix(settings.frequentCount).map { Int32($0) }
        var isFrequent = [Bool](repeating: false, count: Vt)
        for t in frequent { isFrequent[Int(t)] = true }

        var candidates = [[Int32]](repeating: [], count: Vs)
        counts.forEachSource { s, targets in
            var ranked: [(t: Int32, together: Int, dice: Double)] = []
            for (t, together) in targets where !isFrequent[Int(t)] && together >= settings.minimumCooccurrence {
                let dice = 2 * Double(together) / Double(sourcePairs[Int(s)] + targetPairs[Int(t)])
                ranked.append((t, together, dice))
            }
            ranked.sort { a, b in
                if a.dice != b.dice { return a.dice > b.dice }
                return a.together != b.together ? a.together > b.together : a.t < b.t
            }
            candidates[Int(s)] = ranked.prefix(settings.candidateCount).map(\.t)
        }
        return try VocabularyShortlist(sourceVocabularySize: Vs, targetVocabularySize: Vt, frequent: frequent,
                                       candidates: candidates, sourceVocabulary: sourceVocabulary,
                                       targetVocabulary: targetVocabulary)
    }
}

/// Counts of (source token, target token) pairs over sentence pairs, kept as sorted keys
/// `s << 32 | t` with counts: new keys collect in a chunk that is sorted, run-length counted and
/// merged in when it is full, so memory grows with the distinct pairs, not the corpus.
struct CooccurrenceCounts {
    private var keys: [UInt64] = [], counts: [UInt32] = []   // sorted, distinct
    private var pending: [UInt64] = []
    private let chunkSize = 1 << 22

    mutating func add(sources: Set<Int32>, targets: Set<Int32>) {
        for s in sources { for t in targets { pending.append(UInt64(UInt32(s)) << 32 | UInt64(UInt32(t))) } }
        if pending.count >= chunkSize { flush() }
    }

    /// Merges the pending chunk into the counts.
    mutating func flush() {
        guard !pending.isEmpty else { return }
        pending.sort()
        var chunkKeys: [UInt64] = [], chunkCounts: [UInt32] = []
        for key in pending {
            if chunkKeys.last == key { chunkCounts[chunkCounts.count - 1] += 1 } else { chunkKeys.append(key); chunkCounts.append(1) }
        }
        pending.removeAll(keepingCapacity: true)
        var mergedKeys: [UInt64] = [], mergedCounts: [UInt32] = []
        mergedKeys.reserveCapacity(keys.count + chunkKeys.count)
        mergedCounts.reserveCapacity(keys.count + chunkKeys.count)
        var (i, j) = (0, 0)
        while i < keys.count || j < chunkKeys.count {
            if j == chunkKeys.count || (i < keys.count && keys[i] < chunkKeys[j]) {
                mergedKeys.append(keys[i]); mergedCounts.append(counts[i]); i += 1
            } else if i == keys.count || chunkKeys[j] < keys[i] {
                mergedKeys.append(chunkKeys[j]); mergedCounts.append(chunkCounts[j]); j += 1
            } else {
                mergedKeys.append(keys[i]); mergedCounts.append(counts[i] &+ chunkCounts[j]); i += 1; j += 1
            }
        }
        keys = mergedKeys
        counts = mergedCounts
    }

    /// Calls `body` once per source token with its (target, count) pairs in target order
    /// (after `flush()`).
    func forEachSource(_ body: (Int32, [(target: Int32, count: Int)]) -> Void) {
        var i = 0
        while i < keys.count {
            let s = Int32(truncatingIfNeeded: keys[i] >> 32)
            var targets: [(target: Int32, count: Int)] = []
            while i < keys.count && Int32(truncatingIfNeeded: keys[i] >> 32) == s {
                targets.append((Int32(truncatingIfNeeded: keys[i] & 0xFFFF_FFFF), Int(counts[i])))
                i += 1
            }
            body(s, targets)
        }
    }
}
