/// Runs a line-by-line job (translation) over a stream in windows, so that a
/// pipe of any size is processed with bounded memory while still batching
/// sentences of similar length together.
///
/// Up to `windowSize` lines are read; their indices are sorted by length
/// (longest first, ties by position, so the grouping is deterministic), cut
/// into batches of at most `batchSize`, processed, and the results are emitted
/// in the original order before the next window is read. With `windowSize` 1
/// (an interactive terminal) every line is answered before the next is read.
/// When `inputPaused` says no line is coming soon (a pipe that went quiet),
/// the partial window is processed at once instead of waiting for it to fill.
public struct WindowedBatches {
    /// Lines read before processing starts (≥ 1).
    public var windowSize: Int
    /// Lines per call to `process` (≥ 1).
    public var batchSize: Int

    public init(windowSize: Int, batchSize: Int) {
        self.windowSize = max(1, windowSize)
        self.batchSize = max(1, batchSize)
    }

    /// Reads lines from `next` until it returns nil; calls `process` with
    /// batches of lines (and their lengths from `length`) and `emit` with one
    /// result per input line, in input order. `inputPaused` is asked before each
    /// further line of a non-empty window; `windowDone` is called after each
    /// window's results were emitted, with whether the window was cut short by a pause.
    /// - Throws: `WindowedBatchesError` if `process` returns the wrong number of results.
    public func run<Result>(
        next: () throws -> String?,
        length: (String) -> Int,
        process: ([String]) throws -> [Result],
        emit: (Result) throws -> Void,
        inputPaused: (() -> Bool)? = nil,
        windowDone: ((Bool) throws -> Void)? = nil
    ) throws {
        var window: [String] = []
        window.reserveCapacity(min(windowSize, 1 << 16))
        var finished = false
        while !finished {
            window.removeAll(keepingCapacity: true)
            var paused = false
            while window.count < windowSize {
                if !window.isEmpty, let inputPaused, inputPaused() { paused = true; break }
                guard let line = try next() else { finished = true; break }
                window.append(line)
            }
            if window.isEmpty { break }
            let lengths = window.map(length)
            let order = window.indices.sorted { a, b in
                lengths[a] != lengths[b] ? lengths[a] > lengths[b] : a < b
            }
            var results = [Result?](repeating: nil, count: window.count)
            var start = 0
            while start < order.count {
                let end = min(start + batchSize, order.count)
                let indices = Array(order[start..<end])
                let outputs = try process(indices.map { window[$0] })
                guard outputs.count == indices.count else {
                    throw WindowedBatchesError.resultCount(expected: indices.count, got: outputs.count)
                }
                for (i, output) in zip(indices, outputs) { results[i] = output }
                start = end
            }
            for result in results {
                if let result { try emit(result) }
            }
            try windowDone?(paused)
        }
    }
}

/// A `process` callback broke its contract.
public enum WindowedBatchesError: Error, CustomStringConvertible, Equatable {
    case resultCount(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .resultCount(let expected, let got): return "internal error: a batch of \(expected) lines gave \(got) results"
        }
    }
}
