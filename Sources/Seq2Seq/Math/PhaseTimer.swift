import Foundation

/// Wall-clock time per named phase of a training step or decoding run, for
/// `seq2seq bench ... --phases`. Off by default: `measure` then only tests a flag.
/// Not thread-safe; phases are recorded from the calling thread only.
public enum PhaseTimer {
    nonisolated(unsafe) static var enabled = false
    nonisolated(unsafe) static var totals: [String: UInt64] = [:]
    nonisolated(unsafe) static var order: [String] = []

    /// Starts (or stops) recording and clears the totals.
    public static func enable(_ on: Bool) {
        enabled = on
        totals = [:]
        order = []
    }

    /// Clears the totals (e.g. after warm-up).
    public static func reset() {
        totals = [:]
        order = []
    }

    /// Seconds per phase, in first-seen order.
    public static var report: [(phase: String, seconds: Double)] {
        order.map { ($0, Double(totals[$0] ?? 0) / 1e9) }
    }

    @inline(__always)
    static func measure<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        if totals[name] == nil { order.append(name) }
        totals[name, default: 0] += elapsed
        return result
    }
}
