import Foundation

/// Runs the built `seq2seq` executable (found next to the test bundle, as
/// SwiftPM puts both in one build folder, or in `<package>/.build/debug`).
enum Command {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func seq2seq() throws -> URL {
        var folders: [URL] = []
        for bundle in Bundle.allBundles { folders.append(bundle.bundleURL.deletingLastPathComponent()) }
        if let first = CommandLine.arguments.first { folders.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        folders.append(packageRoot.appendingPathComponent(".build/debug"))
        for folder in folders where FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("seq2seq").path) {
            return folder.appendingPathComponent("seq2seq")
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "seq2seq (run swift build first)"])
    }

    /// Runs `seq2seq arguments…` to completion; output goes through files, so it cannot block.
    static func run(_ arguments: [String]) throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-run-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try seq2seq()
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: try String(contentsOf: out, encoding: .utf8),
                      errors: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }
}
