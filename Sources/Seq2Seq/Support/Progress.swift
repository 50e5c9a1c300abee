#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Progress display for long work on standard error: a redrawn bar with
/// percentage, rate and ETA when stderr is a terminal, and plain log lines at
/// most every `logInterval` seconds otherwise (so logs stay readable).
public final class ProgressBar {
    private let total: Int
    private let label: String
    private let isTerminal: Bool
    private let logInterval: Double
    private let start: Double
    private var lastDraw = 0.0

    /// - Parameters:
    ///   - total: units of work (steps, lines) expected; 0 when unknown.
    ///   - label: shown at the start of each line (e.g. `epoch 3`).
    ///   - logInterval: seconds between lines when standard error is not a terminal.
    public init(total: Int, label: String, logInterval: Double = 10) {
        self.total = total
        self.label = label
        self.isTerminal = isatty(STDERR_FILENO) != 0
        self.logInterval = logInterval
        self.start = monotonicSeconds()
    }

    /// Seconds since the bar was created.
    public var elapsed: Double { monotonicSeconds() - start }

    /// When true, no bar draws anything (e.g. on the non-root ranks of a distributed run).
    nonisolated(unsafe) public static var isSilenced = false

    /// Reports `done` units finished, with extra `key value` fields.
    /// `force` draws even if the last draw was very recent.
    public func update(done: Int, fields: String, force: Bool = false) {
        if ProgressBar.isSilenced { return }
        let now = monotonicSeconds()
        let interval = isTerminal ? 0.2 : logInterval
        if !force && now - lastDraw < interval { return }
        lastDraw = now
        let elapsed = now - start
        var eta = "?"
        if total > 0 && done > 0 {
            eta = formatDuration(elapsed / Double(done) * Double(max(0, total - done)))
        }
        if isTerminal {
            let width = 20
            let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let percent = Int(fraction * 100)
            writeStandardError("\r\u{1B}[K\(label) [\(bar)] \(percent)% \(done)/\(total) \(fields) eta \(eta)")
        } else {
            let of = total > 0 ? "/\(total)" : ""
            writeStandardError("\(label) \(done)\(of) \(fields) elapsed \(formatDuration(elapsed)) eta \(eta)\n")
        }
    }

    /// Ends the bar line (terminal) so later output starts on a fresh line.
    public func finish() {
        if isTerminal && !ProgressBar.isSilenced { writeStandardError("\n") }
    }
}

/// Seconds from a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Writes text to standard error, unbuffered.
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { break }
        offset += n
    }
}
