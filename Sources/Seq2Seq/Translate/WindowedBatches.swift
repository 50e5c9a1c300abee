import Foundation

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
///
/// With `workers` > 1 the batches of a window are processed on that many threads
/// at once (each takes the next unprocessed batch, and its matrix products stay
/// on its thread); the batches and the order of the results are the same as
/// with one.
public struct WindowedBatches {
    /// Lines read before processing starts (≥ 1).
    public var windowSize: Int
    /// Lines per call to `process` (≥ 1).
    public var batchSize: Int

    /// Threads processing the batches of a window at once (≥ 1).
    public var workers: Int

    public init(windowSize: Int, batchSize: Int, workers: Int = 1) {
        self.windowSize = max(1, windowSize)
        self.batchSize = max(1, batchSize)
        self.workers = max(1, workers)
    }

    /// As `run(next:length:process:emit:inputPaused:windowDone:)` with one worker.
    public func run<Result>(
        next: () throws -> String?,
        length: (String) -> Int,
        process: ([String]) throws -> [Result],
        emit: (Result) throws -> Void,
        inputPaused: (() -> Bool)? = nil,
        windowDone: ((Bool) throws -> Void)? = nil
    ) throws {
        var single = self
        single.workers = 1
        try withoutActuallyEscaping(process) { process in
            try single.run(next: next, length: length, process: { _, lines in try process(lines) }, emit: emit,
                           inputPaused: inputPaused, windowDone: windowDone)
        }
    }

    /// Reads lines from `next` until it returns nil; calls `process` with a
    /// worker index (0 ..< `workers`) and batches of lines (grouped by their
    /// lengths from `length`), and `emit` with one result per input line, in
    /// input order. Calls with different worker indices may run at the same time,
    /// each with single-threaded products. `inputPaused` is asked before each
    /// further line of a non-empty window; `windowDone` is called after each
    /// window's results were emitted, with whether the window was cut short by a pause.
    /// - Throws: `WindowedBatchesError` if `process` returns the wrong number of results.
    public func run<Result>(
        next: () throws -> String?,
        length: (String) -> Int,
        process: @escaping (_ worker: Int, [String]) throws -> [Result],
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
            var batches: [[Int]] = []   // indices into the window
            var start = 0
            while start < order.count {
                let end = min(start + batchSize, order.count)
                batches.append(Array(order[start..<end]))
                start = end
            }
            let outputs = try processAll(batches.map { $0.map { window[$0] } }, process)
            var results = [Result?](repeating: nil, count: window.count)
            for (indices, output) in zip(batches, outputs) {
                guard output.count == indices.count else {
                    throw WindowedBatchesError.resultCount(expected: indices.count, got: output.count)
                }
                for (i, result) in zip(indices, output) { results[i] = result }
            }
            for result in results {
                if let result { try emit(result) }
            }
            try windowDone?(paused)
        }
    }
}

extension WindowedBatches {
    /// `process` on every batch on up to `workers` threads (`WorkerThreads.map`), results in batch order.
    fileprivate func processAll<Result>(_ batches: [[String]],
                                        _ process: @escaping (Int, [String]) throws -> [Result]) throws -> [[Result]] {
        try WorkerThreads.map(batches, workers: workers, process)
    }
}

/// Items processed on several threads, each with its own worker index.
enum WorkerThreads {
    /// `body(worker, item)` for every item, on up to `workers` threads (the calling one and threads
    /// of their own, not the shared Dispatch pool, which may run everything on the caller when it is
    /// busy), each keeping its matrix products to itself (`ComputeThreads.onCallingThreadOnly`: the
    /// same arithmetic whatever the others do); results in item order. Calls with the same worker
    /// index never overlap. The first error thrown is rethrown once every started item is done.
    static func map<Item, Result>(_ items: [Item], workers: Int,
                                  _ body: @escaping (Int, Item) throws -> Result) throws -> [Result] {
        let threads = min(workers, items.count)
        if threads <= 1 { return try items.map { try body(0, $0) } }
        let state = ParallelBatches<Result>(count: items.count)
        let work = UncheckedSendable { (worker: Int) in
            ComputeThreads.onCallingThreadOnly {
                while let b = state.take() {
                    do { state.store(try body(worker, items[b]), at: b) } catch { state.fail(error) }
                }
            }
        }
        let finished = DispatchSemaphore(value: 0)
        for worker in 1..<threads {
            let thread = Thread {
                work.value(worker)
                finished.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        work.value(0)
        for _ in 1..<threads { finished.wait() }
        return try state.results()
    }
}

/// The shared state of items on several threads: the next item to take, the outputs, the first error.
private final class ParallelBatches<Result>: @unchecked Sendable {
    private let lock = NSLock()
    private var outputs: [Result?]
    private var next = 0
    private var failure: (any Error)?

    init(count: Int) { outputs = Array(repeating: nil, count: count) }

    /// The next batch to process, or nil when all are taken or one failed.
    func take() -> Int? {
        lock.withLock {
            guard failure == nil, next < outputs.count else { return nil }
            next += 1
            return next - 1
        }
    }

    func store(_ output: Result, at b: Int) { lock.withLock { outputs[b] = output } }

    func fail(_ error: any Error) { lock.withLock { if failure == nil { failure = error } } }

    /// Every output, in order (each was stored: no item failed).
    func results() throws -> [Result] {
        try lock.withLock {
            if let failure { throw failure }
            return outputs.compactMap { $0 }
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
