/// A raw float pointer that may cross into `Parallel.forEach` bodies. The caller
/// guarantees that concurrent parts touch disjoint memory.
struct SharedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// Element-wise work split over the compute threads (`ComputeThreads`, at most its count at
/// once). A matrix product called inside a part runs on that part's thread alone, so a two-part
/// split of a decoder step uses exactly the configured cores. Splits are fixed by the problem
/// size alone, never by timing, so results are deterministic.
enum Parallel {
    /// Number of parts worth using for `work` floats of element-wise work.
    static func parts(for work: Int) -> Int { work >= 1 << 16 ? 2 : 1 }

    /// Runs `body(part)` for every `part < parts`, concurrently when `parts > 1` and more than
    /// one compute thread is configured.
    static func forEach(parts: Int, _ body: @Sendable (Int) -> Void) {
        if parts <= 1 { body(0); return }
        ComputeThreads.run(parts: parts, body)
    }
}
