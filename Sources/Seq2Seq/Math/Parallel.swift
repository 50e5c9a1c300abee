import Dispatch

/// A raw float pointer that may cross into `Parallel.forEach` bodies. The caller
/// guarantees that concurrent parts touch disjoint memory.
struct SharedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// A result handed from another thread, written before the semaphore that publishes it signals.
private final class ResultBox<A>: @unchecked Sendable { var result: Result<A, Error>? }

/// Element-wise work split over the compute threads (`ComputeThreads`, at most its count at
/// once). A matrix product called inside a part runs on that part's thread alone, so a two-part
/// split of a decoder step uses exactly the configured cores. Splits are fixed by the problem
/// size alone, never by timing, so results are deterministic.
enum Parallel {
    /// Number of parts worth using for `work` floats of element-wise work.
    static func parts(for work: Int) -> Int { work >= 1 << 16 ? 2 : 1 }

    /// `first()` on another thread while `second()` runs on this one, both results once both are
    /// done; an error of either is thrown (the first's when both fail). For independent loading
    /// work (a vocabulary and a checkpoint), not for products.
    /// With one configured compute thread (`--threads 1`) they run one after the other.
    static func both<A: Sendable, B>(_ first: @escaping @Sendable () throws -> A, _ second: () throws -> B) throws -> (A, B) {
        if ComputeThreads.count < 2 { return (try first(), try second()) }
        let box = ResultBox<A>(), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.result = Result { try first() }
            done.signal()
        }
        let secondResult = Result { try second() }
        done.wait()
        guard let firstResult = box.result else { throw CancellationError() }
        return (try firstResult.get(), try secondResult.get())
    }

    /// Runs `body(part)` for every `part < parts`, concurrently when `parts > 1` and more than
    /// one compute thread is configured.
    static func forEach(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 { body(0); return }
        ComputeThreads.run(parts: parts, body)
    }
}
