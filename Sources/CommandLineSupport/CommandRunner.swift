import ArgumentParser

import Seq2Seq
import Tokenize

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Standard output could not be written (a full disk, a closed pipe, an I/O error).
public struct StandardOutputError: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String {
        "cannot write to standard output (\(reason)); check free disk space, or that the program reading the pipe is still running"
    }
}

/// The `main` of both executables: signals first, then parse and run, and
/// only then report success — after checking that everything printed to
/// standard output really got there (`print` buffers, and its errors are
/// otherwise lost, so `… > /dev/full` would exit 0).
public enum CommandRunner {
    public static func main<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        Interrupt.installImmediate()
        succeed(Command.self) {
            var parsed = try Command.parseAsRoot()
            try parsed.run()
        }
    }

    /// `main` for a root command with async subcommands (`seq2seq serve`): the
    /// same steps, awaiting `AsyncParsableCommand.run()` where a subcommand has one.
    public static func mainAsync<Command: AsyncParsableCommand>(_ command: Command.Type) async -> Never {
        Interrupt.installImmediate()
        do {
            var parsed = try Command.parseAsRoot()
            if var asynchronous = parsed as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try parsed.run()
            }
        } catch {
            fail(Command.self, error)
        }
        succeed(Command.self) {}
    }

    /// Runs `body`, checks that standard output got everything, and exits 0; or reports the error.
    private static func succeed<Command: ParsableCommand>(_ command: Command.Type, _ body: () throws -> Void) -> Never {
        do {
            try body()
            try flushStandardOutput()
        } catch {
            fail(Command.self, error)
        }
        exit(0)
    }

    /// Exits with `error`'s message and status. Whatever was printed before the error still
    /// goes out; its own failure is secondary.
    private static func fail<Command: ParsableCommand>(_ command: Command.Type, _ error: Error) -> Never {
        fflush(stdout)
        Command.exit(withError: error)
    }

    /// Flushes `stdout`; throws `StandardOutputError` if it or an earlier write failed.
    public static func flushStandardOutput() throws {
        if fflush(stdout) != 0 || ferror(stdout) != 0 {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "write error"
            clearerr(stdout)
            throw StandardOutputError(reason: reason)
        }
    }
}
