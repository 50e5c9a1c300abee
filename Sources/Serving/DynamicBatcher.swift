import Foundation
import Seq2Seq

/// What the batcher reports after each decoded batch (for metrics and logs).
public struct BatchReport: Sendable {
    public var key: DecodingKey
    /// The worker that decoded it (0 ..< workers; 0 takes every batch it is free for).
    public var worker: Int = 0
    /// Sentences decoded together.
    public var sentences: Int
    /// Subword tokens of those sentences' sources (after cutting to the maximum input length).
    public var sourceTokens: Int
    /// Subword tokens of their best translations (`</s>` not counted).
    public var targetTokens: Int = 0
    /// Wall-clock seconds spent decoding.
    public var seconds: Double
}

/// Dynamic batching in front of one or more `Translator`s of the same model.
///
/// A `Translator` is not thread-safe, so each one is owned by a worker thread;
/// all workers drain one FIFO queue of requests and decode different batches at
/// the same time (Marian's `--cpu-threads`, CTranslate2's `inter_threads`). On few
/// cores this beats splitting every product of one batch over the cores: 2
/// workers of one thread decode about 1.5× (greedy) and 1.2× (beam 5) the
/// sentences of one worker with 2 threads, and one worker's answers and the next
/// requests travel while the other decodes.
///
/// A free worker starts a batch of the oldest request's decoding key as soon as
/// one of these holds:
/// - `maxBatch` sentences of that key are waiting;
/// - its share of the clients is waiting: ⌈C / workers⌉ requests of that key,
///   where C, the clients in flight, is the most requests seen queued or being
///   decoded at once over the last quarter to half second;
/// - every client in flight is accounted for (queued plus being decoded ≥ C):
///   nobody else is coming, so a lone client never waits;
/// - `window` seconds have passed since the later of (the oldest request's
///   arrival, the end of the worker's previous batch).
/// The worker then takes, in arrival order, up to `maxBatch` sentences of that
/// key, and no more than its share (of the clients, or of the waiting sentences)
/// when other workers are there to take the rest (a long request may be split
/// over batches). Requests with other keys (beam size, greedy, n-best) wait for
/// a later batch.
///
/// Under load, waiting (at most `window`) for the clients answered by the
/// previous batches matters: they need a moment to send their next requests,
/// and starting at once would decode a handful of early arrivals and leave the
/// rest for another small batch.
///
/// Overload: with `maxQueue`, a request that finds that many requests queued is
/// refused at once (429 with `Retry-After`) instead of waiting without bound. A
/// request whose deadline passes while it waits is answered 504 and never decoded.
///
/// A sentence's translation does not depend on the worker: every worker's
/// translator is loaded from the same files and, with several workers, each
/// decodes on one thread whatever the load. As with any batching, the neighbours
/// of a sentence can change the last bits of its score (products of other
/// shapes round differently), not its text.
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
        /// Filled by the worker threads only, each its own sentences (under `condition`).
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

    /// One decoding thread and the translator it owns.
    private final class Worker: @unchecked Sendable {
        var translator: Translator
        var baseOptions: TranslationOptions
        /// A reloaded model's translator, taken up before the next batch (guarded by `condition`).
        var replacement: Translator?
        /// When this worker finished its last batch (its thread only).
        var lastBatchEnd = Date.distantPast
        /// Its place: a free worker leaves the queue to free workers of lower index (guarded by `condition`).
        let index: Int
        var isDecoding = false

        init(translator: Translator, index: Int) {
            self.translator = translator
            self.index = index
            baseOptions = translator.options
        }
    }

    private let workers: [Worker]
    public let window: TimeInterval
    public let maxBatch: Int
    /// Most requests waiting at once (nil: no limit).
    public let maxQueue: Int?
    private let report: @Sendable (BatchReport) -> Void

    private let condition = NSCondition()
    private var queue: [Job] = []            // guarded by `condition`, as is everything below
    private var waitingSentences: [DecodingKey: Int] = [:]
    /// Requests in the batches being decoded now.
    private var decodingRequests = 0
    private var clientsInFlight = PeakEstimate(span: 0.25)
    private var stopping = false
    private var threads: [Thread] = []
    private let stopped = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - translators: one per worker thread, all of the same model (at least one).
    ///   - window: seconds the oldest request waits for company (e.g. 0.005).
    ///   - maxBatch: most sentences decoded together.
    ///   - maxQueue: most requests waiting; more are refused with 429 (nil: no limit).
    ///   - report: called on a worker thread after every batch.
    public init(translators: [Translator], window: TimeInterval, maxBatch: Int, maxQueue: Int? = nil,
                report: @escaping @Sendable (BatchReport) -> Void = { _ in }) {
        workers = translators.enumerated().map { Worker(translator: $1, index: $0) }
        self.window = max(0, window)
        self.maxBatch = max(1, maxBatch)
        self.maxQueue = maxQueue.map { max(1, $0) }
        self.report = report
    }

    /// Starts the worker threads.
    public func start(name: String) {
        for (w, worker) in workers.enumerated() {
            let thread = Thread { [self] in workerLoop(worker) }
            thread.name = "decode-\(name)-\(w)"
            thread.stackSize = 8 << 20
            threads.append(thread)
        }
        for thread in threads { thread.start() }
    }

    /// Lets the workers finish every queued sentence, then ends them; later
    /// `translate` calls fail with 503. Returns when every worker has exited.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        for _ in threads { stopped.wait() }
    }

    /// Decodes every batch that starts from now on with `translators` (a reloaded model, one
    /// per worker: a translator is not thread-safe); batches being decoded finish with the old
    /// model. Queued requests are kept.
    /// - Throws: `ServingError` 500 if the count is not the number of workers (nothing replaced).
    public func replaceTranslators(with translators: [Translator]) throws {
        guard translators.count == workers.count else {
            throw ServingError(.internalServerError, "reload_failed",
                               "\(translators.count) translators for \(workers.count) decoding workers; the model was not replaced")
        }
        condition.lock()
        for (worker, translator) in zip(workers, translators) { worker.replacement = translator }
        condition.unlock()
    }

    /// Requests waiting for a batch.
    var queuedRequests: Int { condition.withLock { queue.count } }

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
            let job = Job(sentences: sentences, key: key, deadline: deadline, continuation: continuation)
            queue.append(job)
            waitingSentences[key, default: 0] += sentences.count
            clientsInFlight.record(queue.count + decodingRequests, at: job.arrival)
            condition.broadcast()
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

    // MARK: Worker threads

    private func workerLoop(_ worker: Worker) {
        while let batch = nextBatch(for: worker) {
            // One of several workers keeps to its own core, whatever the others do, so that
            // an answer never depends on the load (split products may differ in the last bits).
            if workers.count > 1 { ComputeThreads.onCallingThreadOnly { decode(batch, on: worker) } } else { decode(batch, on: worker) }
        }
        stopped.signal()
    }

    /// Waits for `worker`'s next batch: (job, sentence index) pairs of one key.
    /// Returns nil once stopping with an empty queue.
    private func nextBatch(for worker: Worker) -> [(job: Job, index: Int)]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty || otherWorkerIsPreferred(to: worker) {
                if stopping && queue.isEmpty { return nil }
                condition.wait()
            }
            let share = waitForCompany(worker)
            if otherWorkerIsPreferred(to: worker) { continue }
            answerOverdueJobs(now: Date())
            if let replacement = worker.replacement {
                worker.translator = replacement
                worker.baseOptions = replacement.options
                worker.replacement = nil
            }
            if !queue.isEmpty {
                worker.isDecoding = true
                let batch = takeBatch(share: share)
                if !queue.isEmpty { condition.broadcast() }   // the next worker may take the rest
                return batch
            }
        }
    }

    /// Whether a free worker of lower index should take the queue instead of `worker` (lock held):
    /// at low load the same worker, its model copy warm in its core's cache, takes every batch.
    private func otherWorkerIsPreferred(to worker: Worker) -> Bool {
        workers[..<worker.index].contains { !$0.isDecoding }
    }

    /// Waits (lock held) until the oldest request's batch may start on `worker` (see the type's
    /// comment); returns the worker's share of the clients in flight.
    private func waitForCompany(_ worker: Worker) -> Int {
        let key = queue[0].key
        let clients = clientsInFlight.value(at: Date())
        let share = max(1, (clients + workers.count - 1) / workers.count)
        let start = max(queue[0].arrival, worker.lastBatchEnd).addingTimeInterval(window)
        while !stopping && !queue.isEmpty && Date() < start && (waitingSentences[key] ?? 0) < maxBatch {
            let waiting = queue.lazy.filter { $0.key == key }.count
            if waiting >= share || queue.count + decodingRequests >= clients || otherWorkerIsPreferred(to: worker) { break }
            _ = condition.wait(until: start)
        }
        return share
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

    /// Takes sentences of the oldest request's key, in arrival order (lock held): up to
    /// `maxBatch`, and with several workers no more than the larger of `share` requests' worth
    /// and an even split of the waiting sentences, so that the other workers get the rest.
    private func takeBatch(share: Int) -> [(job: Job, index: Int)] {
        let key = queue[0].key
        var limit = maxBatch
        if workers.count > 1 {
            let waiting = waitingSentences[key] ?? 0
            let even = (waiting + workers.count - 1) / workers.count
            let shareSentences = queue.lazy.filter { $0.key == key }.prefix(share)
                .reduce(0) { $0 + $1.sentences.count - $1.nextSentence }
            limit = min(maxBatch, max(even, shareSentences))
        }
        var batch: [(job: Job, index: Int)] = []
        var remaining: [Job] = []
        for job in queue {
            if job.key == key && batch.count < limit {
                let take = min(limit - batch.count, job.sentences.count - job.nextSentence)
                for index in job.nextSentence..<(job.nextSentence + take) { batch.append((job, index)) }
                job.nextSentence += take
            }
            if job.nextSentence < job.sentences.count { remaining.append(job) }
        }
        queue = remaining
        waitingSentences[key, default: 0] -= batch.count
        if waitingSentences[key] == 0 { waitingSentences[key] = nil }
        decodingRequests += Set(batch.map { ObjectIdentifier($0.job) }).count
        return batch
    }

    private func decode(_ batch: [(job: Job, index: Int)], on worker: Worker) {
        guard let key = batch.first?.job.key else { return }
        let translator = worker.translator
        let started = Date()
        let sentences = batch.map { $0.job.sentences[$0.index] }
        translator.options = key.applied(to: worker.baseOptions)
        let outcome = Result { try translator.translate(sentences) }
        worker.lastBatchEnd = Date()
        let seconds = worker.lastBatchEnd.timeIntervalSince(started)
        if case .success(let translations) = outcome {
            // Report first: a client that reads /metrics right after its answer sees its batch.
            let tokens = sentences.reduce(0) { $0 + translator.sourceIds($1).ids.count }
            report(BatchReport(key: key, worker: worker.index, sentences: batch.count, sourceTokens: tokens,
                               targetTokens: translations.reduce(0) { $0 + $1.outputTokenCount }, seconds: seconds))
        }
        condition.lock()   // a request split over batches may be finished by two workers
        defer { condition.unlock() }
        // Before any answer: a client's next request must not count it as still being decoded.
        decodingRequests -= Set(batch.map { ObjectIdentifier($0.job) }).count
        worker.isDecoding = false
        condition.broadcast()   // workers of higher index leave the queue to this one
        switch outcome {
        case .success(let translations):
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

/// The largest value recorded over the last one to two spans of time (two buckets of `span`
/// seconds), forgotten after two spans without a record.
struct PeakEstimate {
    let span: TimeInterval
    private var current = 0, previous = 0
    private var bucketStart = Date.distantPast

    init(span: TimeInterval) { self.span = span }

    mutating func record(_ value: Int, at now: Date) {
        roll(to: now)
        current = max(current, value)
    }

    mutating func value(at now: Date) -> Int {
        roll(to: now)
        return max(current, previous)
    }

    private mutating func roll(to now: Date) {
        let age = now.timeIntervalSince(bucketStart)
        guard age >= span else { return }
        previous = age < 2 * span ? current : 0
        current = 0
        bucketStart = now
    }
}
