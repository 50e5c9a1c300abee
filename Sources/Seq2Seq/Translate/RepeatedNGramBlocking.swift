/// `--no-repeat-ngram N`: a hypothesis may not contain the same N-gram twice. Before a row's
/// next token is chosen, every token that would complete an N-gram already present in the
/// row's history gets log-probability −∞ (as in fairseq and OpenNMT-py's n-gram blocking).
public struct RepeatedNGramBlocking: Sendable, Equatable {
    /// N; 0 turns blocking off.
    public var size: Int

    public init(size: Int) { self.size = size }

    /// Sets `row[v] = −∞` for every token v such that `history[−(N−1)...] + [v]` already occurs
    /// in `history`. `row` has one entry per token id; ids outside it are ignored.
    func block(history: [Int32], row: UnsafeMutablePointer<Float>, vocabularySize V: Int) {
        let n = size, count = history.count
        guard n > 0, count >= n - 1, count >= 1 || n == 1 else { return }
        let prefix = n - 1
        var i = 0
        while i + prefix < count {
            // Does history[i ..< i + prefix] equal the last `prefix` tokens?
            var same = true
            var j = 0
            while j < prefix {
                if history[i + j] != history[count - prefix + j] { same = false; break }
                j += 1
            }
            if same {
                let banned = Int(history[i + prefix])
                if banned >= 0 && banned < V { row[banned] = -.infinity }
            }
            i += 1
        }
    }
}
