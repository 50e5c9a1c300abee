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
/// drains a FIFO queue of requests. A batch of the oldest request's decoding
/// key starts as soon as one of these holds:
/// - `maxBatch` sentences of that key are waiting;
/// - as many requests of that key are waiting as the previous batch answered
///   plus those that arrived while it was decoded (the clients of that batch
///   are back), or one request when the decoder has been idle for longer than
///   `window` — so a lone client never waits;
/// - `window` seconds have passed since the later of (the oldest request's
///   arrival, the end of the previous batch).
/// The thread then takes up to `maxBatch` sentences of that key (in arrival
/// order; a long request may be split over batches) and decodes them as one
/// batch. Requests with other keys (beam size, greedy, n-best) wait for a
/// later batch.
///
/// Under load, waiting (at most `window`) for the clients answered by the
/// previous batch matters: they need a moment to send their next requests, and
/// starting at once would decode a handful of early arrivals and leave the
/// rest for another small batch. Counting only the previous batch's own
/// requests is not enough: once a slow moment splits 8 clients into two
/// groups, they alternate in batches of 4, each starting as soon as the
/// other's clients are queued. Counting the requests that arrived during the
/// batch as well merges the groups into batches of 8; when clients leave, one
/// batch waits out the window and the count follows.
///
/// Overload: with `maxQueue`, a request that finds that many requests queued is
/// refused at once (429 with `Retry-After`) instead of waiting without bound. A
/// request whose deadline passes while it waits is answered 504 and never decoded.
///
/// A sentence's translation does not depend on its batch neighbours: the
/// `Translator` guarantees that for any batch.
public final class DynamicBatcher: @unchecked Sendable {
    /// One request's sentences and where their translations go.
    final class Job {
        let sentences: [String]
        let key: DecodingKey
        let arrival: Date
        /// After this the client no longer waits: answer 504 instead of decoding.
        let deadline: Date?
        let continuation: CheckedContinuation<[Translation], any Error>
        /// Next sentence not yet handed to a batch.
        var nextSentence = 0
        /// Filled by the worker thread only.
        var results: [Translation?]
        var finished = 0
        var failed = false

        init(sentences: [String], key: DecodingKey, deadline: Date?,
             continuation: CheckedContinuation<[Translation], any Error>) {
            self.sentences = sentences
            self.key = key
            self.deadline = deadline
            self.continuation = continuation
            arrival = Date()
            results = Array(repeating: nil, count: sentences.count)
        }
    }

    /// The model's translator; touched by the worker thread only once started.
    private var translator: Translator
    private var baseOptions: TranslationOptions
    /// A reloaded model's translator, taken up by the worker before its next batch (guarded by `condition`).
    private var replacement: Translator?
    public let window: TimeInterval
    public let maxBatch: Int
    /// Most requests waiting at once (nil: no limit).
    public let maxQueue: Int?
    private let report: @Sendable (BatchReport) -> Void

    private let condition = NSCondition()
    private var queue: [Job] = []            // guarded by `condition`
    private var waitingSentences: [DecodingKey: Int] = [:]
    private var stopping = false
    /// Requests the previous batch answered: clients to expect back (worker thread only).
    private var previousBatchRequests = 0
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)
    /// When the worker finished its last batch (worker thread only).
    private var lastBatchEnd = Date.distantPast

    /// - Parameters:
    ///   - window: seconds the oldest request waits for company (e.g. 0.005).
    ///   - maxBatch: most sentences decoded together.
    ///   - maxQueue: most requests waiting; more are refused with 429 (nil: no limit).
    ///   - report: called on the worker thread after every batch.
    public init(translator: Translator, window: TimeInterval, maxBatch: Int, maxQueue: Int? = nil,
                report: @escaping @Sendable (BatchReport) -> Void = { _ in }) {
        self.translator = translator
        baseOptions = translator.options
        self.window = max(0, window)
        self.maxBatch = max(1, maxBatch)
        self.maxQueue = maxQueue.map { max(1, $0) }
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

    /// Decodes every batch that starts from now on with `translator` (a reloaded model);
    /// the batch being decoded finishes with the old one. Queued requests are kept.
    public func replaceTranslator(with translator: Translator) {
        condition.lock()
        replacement = translator
        condition.unlock()
    }

    /// Whether a new request would be refused for a full queue, or because the batcher stopped.
    public var isRefusing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping || maxQueue.map { queue.count >= $0 } ?? false
    }

    /// Translates `sentences` with `key`; returns one result per sentence, in order.
    /// - Throws: `ServingError` 429 when the queue is full, 504 once `deadline` passes
    ///   before the sentences are decoded, 503 while shutting down.
    public func translate(_ sentences: [String], key: DecodingKey, deadline: Date? = nil) async throws -> [Translation] {
        if sentences.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if let refusal = refusal() {
                continuation.resume(throwing: refusal)
                return
            }
            queue.append(Job(sentences: sentences, key: key, deadline: deadline, continuation: continuation))
            waitingSentences[key, default: 0] += sentences.count
            condition.signal()
        }
    }

    /// Why a new request cannot be queued now, or nil (caller holds the lock).
    private func refusal() -> ServingError? {
        if stopping { return ServingError(.serviceUnavailable, "shutting_down", "the server is shutting down") }
        if let maxQueue, queue.count >= maxQueue {
            var error = ServingError(.tooManyRequests, "overloaded",
                                     "\(queue.count) requests are waiting (--max-queue \(maxQueue)); retry after the Retry-After seconds")
            error.retryAfterSeconds = 1
            return error
        }
        return nil
    }

    // MARK: Worker thread

    private func workerLoop() {
        while let batch = nextBatch() { decode(batch) }
        stopped.signal()
    }

    /// Waits for the next batch: (job, sentence index) pairs of one key.
    /// Returns nil once stopping with an empty queue.
    private func nextBatch() -> [(job: Job, index: Int)]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty {
                if stopping { return nil }
                condition.wait()
            }
            waitForCompany()
            answerOverdueJobs(now: Date())
            if let replacement {
                translator = replacement
                baseOptions = replacement.options
                self.replacement = nil
            }
            if !queue.isEmpty { return takeBatch() }
        }
    }

    /// Waits (lock held) until the oldest request's batch may start (see the type's comment).
    private func waitForCompany() {
        let key = queue[0].key
        let idle = queue[0].arrival.timeIntervalSince(lastBatchEnd) > window
        // Requests queued before the previous batch's answers went out are other clients than its own.
        let queuedMeanwhile = queue.lazy.filter { $0.key == key && $0.arrival < self.lastBatchEnd }.count
        let expected = idle ? 1 : max(1, previousBatchRequests + queuedMeanwhile)
        let start = max(queue[0].arrival, lastBatchEnd).addingTimeInterval(window)
        while !stopping && Date() < start && (waitingSentences[key] ?? 0) < maxBatch
                && queue.lazy.filter({ $0.key == key }).count < expected {
            _ = condition.wait(until: start)
        }
    }

    /// Answers 504 to every queued request whose deadline has passed, and drops it (lock held).
    private func answerOverdueJobs(now: Date) {
        queue.removeAll { job in
            guard let deadline = job.deadline, deadline <= now else { return false }
            waitingSentences[job.key, default: 0] -= job.sentences.count - job.nextSentence
            if waitingSentences[job.key] == 0 { waitingSentences[job.key] = nil }
            if !job.failed {
                job.failed = true
                job.continuation.resume(throwing: ServingError(
                    .gatewayTimeout, "deadline_exceeded",
                    "the request waited past its deadline (timeout_ms or --max-request-time) and was not decoded; retry, or allow more time"))
            }
            return true
        }
    }

    /// Takes up to `maxBatch` sentences of the oldest request's key, in arrival order (lock held).
    private func takeBatch() -> [(job: Job, index: Int)] {
        let key = queue[0].key
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
        previousBatchRequests = Set(batch.map { ObjectIdentifier($0.job) }).count
        return batch
    }

    private func decode(_ batch: [(job: Job, index: Int)]) {
        guard let key = batch.first?.job.key else { return }
        let started = Date()
        let sentences = batch.map { $0.job.sentences[$0.index] }
        translator.options = key.applied(to: baseOptions)
        let outcome = Result { try translator.translate(sentences) }
        lastBatchEnd = Date()   // before any answer: a client's next request arrives after it
        let seconds = lastBatchEnd.timeIntervalSince(started)
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
