/// B parallel streams over one long token sequence, cut into chunks for truncated BPTT
/// (char-rnn's layout).
///
/// The n units are cut into B contiguous streams; stream b reads `S_b` inputs and predicts the
/// unit after each, so together the streams predict every unit but the first exactly once
/// (Σ S_b = n − 1; the first `(n − 1) mod B` streams are one step longer). Chunk k holds steps
/// `k·T ..< (k+1)·T` of every stream: the state a stream ends chunk k with is where its chunk
/// k + 1 continues. All streams of a chunk have T steps except in the last chunk.
public struct TextStreams: Sendable {
    /// The unit ids.
    public let units: [Int32]
    /// B: number of streams.
    public let streamCount: Int
    /// T: steps per chunk.
    public let chunkLength: Int
    /// First unit of each stream.
    let starts: [Int]
    /// S_b: inputs of each stream (non-increasing).
    let lengths: [Int]

    /// - Throws: `LanguageModelError.textTooShort` unless every stream gets at least one step
    ///   and the text holds at least one full chunk (`B·T + 1` units); `path` names the text in
    ///   the message.
    public init(units: [Int32], streams B: Int, chunkLength T: Int, path: String = "text") throws {
        guard B >= 1, T >= 1 else { throw LanguageModelError.invalidConfiguration("streams and chunk length must be positive") }
        let needed = B * T + 1
        guard units.count >= needed else {
            let hint = "one training chunk of \(B) stream\(B == 1 ? "" : "s") × \(T) steps needs B·T + 1 units: give a longer text, "
                + (B > 1 ? "or lower --batch-size (now \(B)) or --bptt (now \(T))" : "or lower --bptt (now \(T))")
            throw LanguageModelError.textTooShort(path: path, units: units.count, needed: needed, hint: hint)
        }
        self.init(uncheckedUnits: units, streams: B, chunkLength: T)
    }

    /// Streams over any text of at least 2 units for evaluation: every unit but the first is
    /// predicted once, whatever the length. A short text gets fewer streams, so that each stream
    /// is at least one chunk long (a stream starts from a zero state, which costs a few units of
    /// context each time).
    public init(evaluating units: [Int32], streams B: Int, chunkLength T: Int) {
        let T = max(T, 1)
        self.init(uncheckedUnits: units, streams: max(1, min(B, (units.count - 1) / T)), chunkLength: T)
    }

    private init(uncheckedUnits units: [Int32], streams B: Int, chunkLength T: Int) {
        self.units = units
        streamCount = B
        chunkLength = T
        let targets = max(units.count - 1, 0)
        let (S, extra) = (targets / B, targets % B)
        lengths = (0..<B).map { S + ($0 < extra ? 1 : 0) }
        var starts = [Int]()
        var next = 0
        for length in lengths { starts.append(next); next += length }
        self.starts = starts
    }

    /// Number of chunks in one pass over the text.
    public var chunkCount: Int { ((lengths.first ?? 0) + chunkLength - 1) / chunkLength }

    /// Units predicted in one pass (n − 1).
    public var predictedCount: Int { lengths.reduce(0, +) }

    /// Chunk k (0 ≤ k < `chunkCount`).
    public func chunk(_ k: Int) -> TokenChunk {
        let from = k * chunkLength
        // Streams are ordered longest first and cut at the same steps, so the chunk's rows stay ordered.
        let steps = lengths.map { max(0, min(chunkLength, $0 - from)) }
        let P = Packing(lengths: steps)
        var inputs = [Int32](repeating: 0, count: max(P.total, 1)), targets = inputs
        for t in 0..<P.maxLength {
            for b in 0..<P.batchSizes[t] {
                let i = starts[b] + from + t
                inputs[P.offsets[t] + b] = units[i]
                targets[P.offsets[t] + b] = units[i + 1]
            }
        }
        return TokenChunk(lengths: steps, packedInputs: inputs, packedTargets: targets)
    }
}
