import Foundation
import Testing

/// Runs the package's built executables (`seq2seq`, `translate`) for
/// end-to-end tests. The binaries are looked up next to the test bundle
/// (SwiftPM puts both in the same build folder), then in
/// `<package root>/.build/debug`.
enum BinaryRunner {
    /// What a finished process left behind.
    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: Data
        var output: String { String(decoding: stdout, as: UTF8.self) }
        var errors: String { String(decoding: stderr, as: UTF8.self) }
        /// Output lines (a final newline does not start another line).
        var lines: [String] {
            var parts = output.components(separatedBy: "\n")
            if parts.last == "" { parts.removeLast() }
            return parts
        }
    }

    enum RunnerError: Error, CustomStringConvertible {
        case notBuilt(String, searched: [String])
        case timedOut(String)
        var description: String {
            switch self {
            case .notBuilt(let name, let searched):
                return "\(name) not found in \(searched); run `swift build` first"
            case .timedOut(let what): return "timed out: \(what)"
            }
        }
    }

    /// `<package root>` from this file's location (Tests/CLITests/BinaryRunner.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The URL of the built executable `name`.
    static func locate(_ name: String) throws -> URL {
        var folders: [URL] = []
        if let bundle = Bundle.main.executableURL { folders.append(bundle.deletingLastPathComponent()) }
        if let first = CommandLine.arguments.first {
            folders.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles { folders.append(bundle.bundleURL.deletingLastPathComponent()) }
        folders.append(packageRoot.appendingPathComponent(".build/debug"))
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw RunnerError.notBuilt(name, searched: folders.map(\.path))
    }

    /// Runs `name arguments...` with `stdin` as standard input and waits for it
    /// (at most `timeout` seconds). Input and output go through temporary
    /// files, so large outputs cannot deadlock.
    static func run(_ name: String, _ arguments: [String], stdin: Data = Data(),
                    currentDirectory: String? = nil, environment: [String: String] = [:],
                    timeout: TimeInterval = 60) throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-run-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let inURL = folder.appendingPathComponent("stdin"), outURL = folder.appendingPathComponent("stdout"),
            errURL = folder.appendingPathComponent("stderr")
        try stdin.write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = try locate(name)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let input = try FileHandle(forReadingFrom: inURL)
        let output = try FileHandle(forWritingTo: outURL)
        let errors = try FileHandle(forWritingTo: errURL)
        defer { try? input.close(); try? output.close(); try? errors.close() }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            throw RunnerError.timedOut("\(name) \(arguments.joined(separator: " "))")
        }
        return Result(status: process.terminationStatus,
                      stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
    }

    /// A running process with pipes on stdin and stdout, for streaming tests.
    final class Interactive {
        let process = Process()
        private let input = Pipe()
        private let output = Pipe()
        private var pending = Data()

        init(_ name: String, _ arguments: [String]) throws {
            process.executableURL = try BinaryRunner.locate(name)
            process.arguments = arguments
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Writes one line to the process's stdin (without closing it).
        func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

        /// Reads the next output line, waiting at most `timeout` seconds.
        func receiveLine(timeout: TimeInterval = 10) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                if let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    return String(decoding: line, as: UTF8.self)
                }
                let handle = output.fileHandleForReading
                let box = DataBox()
                let got = DispatchSemaphore(value: 0)
                DispatchQueue.global().async { box.data = handle.availableData; got.signal() }
                if got.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow)) == .timedOut {
                    process.terminate()
                    throw RunnerError.timedOut("waiting for an output line")
                }
                if box.data.isEmpty { throw RunnerError.timedOut("output closed before a full line") }
                pending.append(box.data)
            }
        }

        /// Closes stdin and waits for the exit status.
        func finish() -> Int32 {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }
