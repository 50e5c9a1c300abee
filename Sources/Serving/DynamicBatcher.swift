import Foundation
import Seq2Seq

/// What the batcher reports after each decoded batch (for metrics and logs).
public struct BatchReport: Sendable {
    public var key: DecodingKey
    /// Sentences decoded together.
    public var sentences: Int
    /// Subword tokens of those sentences' sources (after cutting to the maximum input length).
    public var sourceTokens: Int
    /// Subword tokens of their best translations (`</s>` not counted).
    public var targetTokens: Int = 0
    /// Wall-clock seconds spent decoding.
    public var seconds: Double
}

/// Dynamic batching in front of one `Translator`.
///
/// A `Translator` is not thread-safe, so one dedicated thread owns it and
/// drains a FIFO queue of requests. A batch starts once `maxBatch` sentences
/// with the oldest request's decoding key are waiting, or `window` seconds
/// after the later of (the oldest request's arrival, the end of the previous
/// batch). The thread then takes up to `maxBatch` sentences of that key (in
/// arrival order; a long request may be split over batches) and decodes them
/// as one batch. Requests with other keys (beam size, greedy, n-best) wait for
/// a later batch.
///
/// Counting the window from the end of the previous batch matters under load:
/// the clients answered by that batch need a moment to send their next
/// requests, and starting at once would decode a handful of early arrivals and
/// leave the rest for another small batch.
///
/// A sentence's translation does not depend on its batch neighbours: the
/// `Translator` guarantees that for any batch.
public final class DynamicBatcher: @unchecked Sendable {
    /// One request's sentences and where their translations go.
    final class Job {
        let sentences: [String]
        let key: DecodingKey
        let arrival: Date
        let continuation: CheckedContinuation<[Translation], any Error>
        /// Next sentence not yet handed to a batch.
        var nextSentence = 0
        /// Filled by the worker thread only.
        var results: [Translation?]
        var finished = 0
        var failed = false

        init(sentences: [String], key: DecodingKey, continuation: CheckedContinuation<[Translation], any Error>) {
            self.sentences = sentences
            self.key = key
            self.continuation = continuation
            arrival = Date()
            results = Array(repeating: nil, count: sentences.count)
        }
    }

    /// The model's translator; touched by the worker thread only once started.
    private let translator: Translator
    private let baseOptions: TranslationOptions
    public let window: TimeInterval
    public let maxBatch: Int
    private let report: @Sendable (BatchReport) -> Void

    private let condition = NSCondition()
    private var queue: [Job] = []            // guarded by `condition`
    private var waitingSentences: [DecodingKey: Int] = [:]
    private var stopping = false
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)
    /// When the worker finished its last batch (worker thread only).
    private var lastBatchEnd = Date.distantPast

    /// - Parameters:
    ///   - window: seconds the oldest request waits for company (e.g. 0.005).
    ///   - maxBatch: most sentences decoded together.
    ///   - report: called on the worker thread after every batch.
    public init(translator: Translator, window: TimeInterval, maxBatch: Int,
                report: @escaping @Sendable (BatchReport) -> Void = { _ in }) {
        self.translator = translator
        baseOptions = translator.options
        self.window = max(0, window)
        self.maxBatch = max(1, maxBatch)
        self.report = report
    }

    /// Starts the worker thread.
    public func start(name: String) {
        let thread = Thread { [self] in workerLoop() }
        thread.name = "decode-\(name)"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Lets the worker finish every queued sentence, then ends it; later
    /// `translate` calls fail with 503. Returns when the worker has exited.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        if thread != nil { stopped.wait() }
    }

    /// Translates `sentences` with `key`; returns one result per sentence, in order.
    public func translate(_ sentences: [String], key: DecodingKey) async throws -> [Translation] {
        if sentences.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: ServingError(.serviceUnavailable, "shutting_down", "the server is shutting down"))
                return
            }
            queue.append(Job(sentences: sentences, key: key, continuation: continuation))
            let waiting = (waitingSentences[key] ?? 0) + sentences.count
            waitingSentences[key] = waiting
            // Wake the worker for the first request (to start its window) and for a full batch.
            if queue.count == 1 || waiting >= maxBatch { condition.signal() }
        }
    }

    // MARK: Worker thread

    private func workerLoop() {
        while let batch = nextBatch() {
            decode(batch)
            lastBatchEnd = Date()
        }
        stopped.signal()
    }

    /// Waits for the next batch: (job, sentence index) pairs of one key.
    /// Returns nil once stopping with an empty queue.
    private func nextBatch() -> [(job: Job, index: Int)]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        let key = queue[0].key
        let deadline = max(queue[0].arrival, lastBatchEnd).addingTimeInterval(window)
        while (waitingSentences[key] ?? 0) < maxBatch && !stopping && Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        var batch: [(job: Job, index: Int)] = []
        var remaining: [Job] = []
        for job in queue {
            if job.key == key && batch.count < maxBatch {
                let take = min(maxBatch - batch.count, job.sentences.count - job.nextSentence)
                for index in job.nextSentence..<(job.nextSentence + take) { batch.append((job, index)) }
                job.nextSentence += take
            }
            if job.nextSentence < job.sentences.count { remaining.append(job) }
        }
        queue = remaining
        waitingSentences[key, default: 0] -= batch.count
        if waitingSentences[key] == 0 { waitingSentences[key] = nil }
        return batch
    }

    private func decode(_ batch: [(job: Job, index: Int)]) {
        guard let key = batch.first?.job.key else { return }
        let started = Date()
        let sentences = batch.map { $0.job.sentences[$0.index] }
        translator.options = key.applied(to: baseOptions)
        let outcome = Result { try translator.translate(sentences) }
        let seconds = Date().timeIntervalSince(started)
        switch outcome {
        case .success(let translations):
            // Report first: a client that reads /metrics right after its answer sees its batch.
            let tokens = sentences.reduce(0) { $0 + translator.sourceIds($1).ids.count }
            report(BatchReport(key: key, sentences: batch.count, sourceTokens: tokens,
                               targetTokens: translations.reduce(0) { $0 + $1.outputTokenCount }, seconds: seconds))
            for ((job, index), translation) in zip(batch, translations) {
                job.results[index] = translation
                job.finished += 1
                if job.finished == job.sentences.count && !job.failed {
                    job.continuation.resume(returning: job.results.compactMap { $0 })
                }
            }
        case .failure(let error):
            for (job, _) in batch {
                job.finished += 1
                if !job.failed {
                    job.failed = true
                    job.continuation.resume(throwing: ServingError(.internalServerError, "decoding_failed",
                                                                   "decoding failed: \(error)"))
                }
            }
        }
    }
}
