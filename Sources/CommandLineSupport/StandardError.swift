import Seq2Seq

/// Writes one line to standard error (warnings, summaries, progress logs).
public func printError(_ message: String) {
    writeStandardError(message + "\n")
}
