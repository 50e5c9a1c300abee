#if canImport(Glibc)
import Glibc
#endif
import Tokenize

// Signal-handler state: plain globals, written and read without allocation.
nonisolated(unsafe) private var signalCount: sig_atomic_t = 0
nonisolated(unsafe) private var firstSignal: sig_atomic_t = 0
nonisolated(unsafe) private var firstSignalTime: Double = 0
nonisolated(unsafe) private var cooperative: sig_atomic_t = 0
nonisolated(unsafe) private var savingDepth: sig_atomic_t = 0

private let stoppingMessage: StaticString =
    "\nstopping: finishing this step and saving a resumable checkpoint (interrupt again after a second to quit without saving)\n"
private let quittingMessage: StaticString =
    "\ninterrupted again: quitting without saving; the last saved checkpoint is kept (continue with --resume)\n"

private func signalTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

private func writeMessage(_ message: StaticString) {
    _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
}

/// Ends the process at once: removes pending temporary files, exits 128 + signal.
private func exitNow(_ signal: Int32) -> Never {
    PendingFiles.removeAllNow()
    _exit(128 + signal)
}

/// Signal handling for the command-line tools. Exit statuses follow the shell
/// convention 128 + signal: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, 141 for
/// SIGPIPE, 129 for SIGHUP.
///
/// - `installImmediate()` (every command, from the start): a signal removes the
///   temporary file of any unfinished atomic write (`PendingFiles`) and ends the
///   process — nothing half-written is left behind.
/// - `installCooperative()` (the training loop): the first SIGINT/SIGTERM only
///   raises `isRequested`, so the loop finishes its step, saves a resumable
///   checkpoint and says so. A second signal within a second (a double Ctrl-C)
///   changes nothing; a later one quits without saving — except while a
///   checkpoint is being written (`deferred`), which is always completed.
public enum Interrupt {
    /// Installs immediate handling of SIGINT, SIGTERM, SIGHUP and SIGPIPE. An ignored
    /// SIGPIPE stays ignored: writes to a closed pipe then fail with EPIPE, which the
    /// writers report.
    public static func installImmediate() {
        PendingFiles.prepare()
        cooperative = 0
        install(for: [SIGINT, SIGTERM, SIGHUP] + (isIgnored(SIGPIPE) ? [] : [SIGPIPE]))
    }

    private static func isIgnored(_ signalNumber: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(signalNumber, nil, &current) == 0 else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1   // SIG_IGN
    }

    /// Switches SIGINT and SIGTERM to cooperative handling (see the type).
    public static func installCooperative() {
        PendingFiles.prepare()
        cooperative = 1
        install(for: [SIGINT, SIGTERM])
    }

    /// Sets the handler and unblocks the signals: a parent may have started us with them
    /// blocked (the mask is inherited through fork and exec), and then Ctrl-C or a
    /// SIGTERM would wait forever.
    private static func install(for signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in signals {
            signal(signalNumber, handle)
            sigaddset(&set, signalNumber)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Kept for callers of the earlier API: cooperative handling.
    public static func install() { installCooperative() }

    /// True once SIGINT or SIGTERM has been received.
    public static var isRequested: Bool { signalCount > 0 }

    /// The exit status for the first signal received (128 + its number), or 1 when none was.
    public static var exitStatus: Int32 { firstSignal > 0 ? 128 + firstSignal : 1 }

    /// Runs `body` (a checkpoint write) so that no interrupt can cut it short.
    public static func deferred<T>(_ body: () throws -> T) rethrows -> T {
        savingDepth += 1
        defer { savingDepth -= 1 }
        return try body()
    }

    private static let handle: @convention(c) (Int32) -> Void = { signalNumber in
        signalCount += 1
        if signalCount == 1 {
            firstSignal = signalNumber
            firstSignalTime = signalTime()
        }
        guard cooperative != 0, signalNumber == SIGINT || signalNumber == SIGTERM else { exitNow(signalNumber) }
        if signalCount == 1 { writeMessage(stoppingMessage); return }
        if signalTime() - firstSignalTime < 1 || savingDepth > 0 { return }
        writeMessage(quittingMessage)
        exitNow(firstSignal)
    }
}
