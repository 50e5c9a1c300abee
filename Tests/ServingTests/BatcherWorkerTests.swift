import Foundation
import Seq2Seq
@testable import Serving
import Testing

/// `DynamicBatcher` with several workers, each with its own translator of the same model:
/// answers do not depend on the worker, the load spreads over the workers, and a lone client
/// always gets the first one.
@Suite struct BatcherWorkerTests {
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [BatchReport] = []
        /// With `holdFirstWorker`, worker 0 stays in its first batch (reports come before the answers)
        /// until worker 1 has decoded one, or 30 s: whether worker 1 takes queued work while
        /// worker 0 is busy then does not depend on how the threads happen to be scheduled.
        private let secondWorkerDecoded = DispatchSemaphore(value: 0)
        let holdFirstWorker: Bool

        init(holdFirstWorker: Bool = false) { self.holdFirstWorker = holdFirstWorker }

        func add(_ report: BatchReport) {
            let first = lock.withLock {
                all.append(report)
                return all.count == 1
            }
            if holdFirstWorker && report.worker == 1 { secondWorkerDecoded.signal() }
            if holdFirstWorker && report.worker == 0 && first { _ = secondWorkerDecoded.wait(timeout: .now() + 30) }
        }

        var workers: [Int] { lock.withLock { all.map(\.worker) } }
    }

    static func translators(_ count: Int, greedy: Bool) throws -> [Translator] {
        var options = TranslationOptions()
        options.greedy = greedy
        return try (0..<count).map { _ in try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: options).0 }
    }

    @Test func workersShareTheLoadAndAnswerAsOneTranslator() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        let reference = try Self.translators(1, greedy: false)[0].translate(inputs)
        let reports = Reports(holdFirstWorker: true)
        let batcher = DynamicBatcher(translators: try Self.translators(2, greedy: false), window: 0.002, maxBatch: 4,
                                     report: reports.add)
        let key = DecodingKey(beamSize: 5, greedy: false, nBest: 1)
        // Every sentence three times, each its own request, all queued before the workers start
        // (tasks of a busy test run may reach the queue one by one, each decoded alone at once).
        let answers = try await withThrowingTaskGroup(of: (Int, Translation).self) { group in
            for _ in 0..<3 {
                for (i, sentence) in inputs.enumerated() {
                    group.addTask { (i, try await batcher.translate([sentence], key: key)[0]) }
                }
            }
            let queued = Date().addingTimeInterval(60)
            while batcher.queuedRequests < 3 * inputs.count && Date() < queued { try await Task.sleep(for: .milliseconds(5)) }
            batcher.start(name: "test")
            var answers: [(Int, Translation)] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        batcher.stop()
        #expect(answers.count == 3 * inputs.count)
        for (i, translation) in answers {
            // Texts are identical; scores agree up to the rounding of a different batch's products.
            #expect(translation.text == reference[i].text && ServeTests.close(translation.score, reference[i].score),
                    "sentence \(i): \(translation.text) \(translation.score) vs \(reference[i].text) \(reference[i].score)")
        }
        #expect(Set(reports.workers) == [0, 1], "worker 1 takes queued requests while worker 0 decodes: \(reports.workers)")
    }

    @Test func aLoneClientIsAlwaysDecodedByTheFirstWorker() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        let reports = Reports()
        let batcher = DynamicBatcher(translators: try Self.translators(3, greedy: true), window: 0.002, maxBatch: 8,
                                     report: reports.add)
        batcher.start(name: "test")
        defer { batcher.stop() }
        let key = DecodingKey(beamSize: 1, greedy: true, nBest: 1)
        for sentence in inputs.prefix(8) { _ = try await batcher.translate([sentence], key: key) }
        #expect(reports.workers == Array(repeating: 0, count: min(8, inputs.count)))
    }

    @Test func aRequestSplitOverWorkersComesBackWhole() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        let reference = try Self.translators(1, greedy: true)[0].translate(inputs).map(\.text)
        let batcher = DynamicBatcher(translators: try Self.translators(2, greedy: true), window: 0.002, maxBatch: 2)
        batcher.start(name: "test")
        defer { batcher.stop() }
        let key = DecodingKey(beamSize: 1, greedy: true, nBest: 1)
        async let first = batcher.translate(inputs, key: key)
        async let second = batcher.translate(inputs.reversed(), key: key)
        #expect(try await first.map(\.text) == reference)
        #expect(try await second.map(\.text) == reference.reversed())
    }

    @Test func reloadNeedsOneTranslatorPerWorker() throws {
        let batcher = DynamicBatcher(translators: try Self.translators(2, greedy: true), window: 0.002, maxBatch: 2)
        #expect(throws: ServingError.self) { try batcher.replaceTranslators(with: try Self.translators(1, greedy: true)) }
        try batcher.replaceTranslators(with: try Self.translators(2, greedy: true))
    }

    @Test func peakEstimateKeepsTheLargestRecentValueAndForgetsOldOnes() {
        var estimate = PeakEstimate(span: 1)
        let t0 = Date(timeIntervalSinceReferenceDate: 1000)
        estimate.record(8, at: t0)
        estimate.record(3, at: t0.addingTimeInterval(0.5))
        #expect(estimate.value(at: t0.addingTimeInterval(0.9)) == 8)
        estimate.record(2, at: t0.addingTimeInterval(1.2))          // a new bucket: the previous one still counts
        #expect(estimate.value(at: t0.addingTimeInterval(1.5)) == 8)
        #expect(estimate.value(at: t0.addingTimeInterval(2.3)) == 2) // 8 is two buckets old
        #expect(estimate.value(at: t0.addingTimeInterval(5)) == 0)   // nothing recorded for two spans
    }
}
