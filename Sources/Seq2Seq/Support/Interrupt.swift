#if canImport(Glibc)
import Glibc
#endif

/// Set to non-zero by the SIGINT/SIGTERM handler; read by long-running loops.
nonisolated(unsafe) private var interruptCount: sig_atomic_t = 0

/// Cooperative Ctrl-C / SIGTERM handling for long jobs (training, batch
/// translation): the first signal only raises a flag, so the loop can finish
/// its step, save a resumable checkpoint and exit cleanly; a second signal
/// ends the process at once (exit status 130).
public enum Interrupt {
    /// Installs the handlers for SIGINT and SIGTERM.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            interruptCount += 1
            if interruptCount >= 2 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// True once SIGINT or SIGTERM has been received.
    public static var isRequested: Bool { interruptCount > 0 }
}
