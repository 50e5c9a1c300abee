import Foundation
import Testing
@testable import Seq2Seq

/// `WindowedBatches` with several workers: the same batches and the same results in input
/// order as with one, batches processed at the same time, and an error in any batch thrown.
@Suite struct WindowedBatchesTests {
    /// Lines of varied lengths, so that the windows sort them into different batches.
    static let lines = (0..<100).map { i in String(repeating: "w", count: (i * 37) % 23 + 1) + " \(i)" }

    final class Record: @unchecked Sendable {
        let lock = NSLock()
        var batches: [[String]] = []
        var workers: Set<Int> = []
        var running = 0, mostAtOnce = 0
    }

    /// Runs `lines` through `workers` workers; returns the emitted results and what `process` saw.
    static func run(workers: Int, pause: Double = 0, failOn: String? = nil) throws -> ([String], Record) {
        let record = Record()
        var iterator = lines.makeIterator()
        var emitted: [String] = []
        try WindowedBatches(windowSize: 40, batchSize: 6, workers: workers).run(
            next: { iterator.next() },
            length: { $0.count },
            process: { worker, batch in
                record.lock.withLock {
                    record.batches.append(batch)
                    record.workers.insert(worker)
                    record.running += 1
                    record.mostAtOnce = max(record.mostAtOnce, record.running)
                }
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                record.lock.withLock { record.running -= 1 }
                if let failOn, batch.contains(failOn) { throw CancellationError() }
                return batch.map { $0.uppercased() }
            },
            emit: { emitted.append($0) })
        return (emitted, record)
    }

    @Test func severalWorkersGiveTheSameBatchesAndResults() throws {
        let (one, alone) = try Self.run(workers: 1)
        let (three, shared) = try Self.run(workers: 3)
        #expect(one == Self.lines.map { $0.uppercased() })
        #expect(three == one)
        #expect(Set(shared.batches) == Set(alone.batches) && shared.batches.count == alone.batches.count)
        #expect(alone.workers == [0] && shared.workers.isSubset(of: [0, 1, 2]))
    }

    @Test func batchesOfAWindowRunAtOnce() throws {
        let (_, record) = try Self.run(workers: 2, pause: 0.02)
        #expect(record.mostAtOnce == 2)
        #expect(record.workers == [0, 1])
    }

    @Test func anErrorInOneBatchIsThrown() {
        #expect(throws: CancellationError.self) { try Self.run(workers: 2, failOn: Self.lines[57]) }
    }
}
