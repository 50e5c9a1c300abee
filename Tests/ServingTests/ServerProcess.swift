import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `seq2seq serve` process on a free loopback port, for end-to-end tests.
/// Started with `--port 0`; the chosen address is read from its stdout.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let base: URL
    private let errorFile: URL

    enum Failure: Error, CustomStringConvertible {
        case notBuilt([String])
        case didNotStart(String)
        var description: String {
            switch self {
            case .notBuilt(let searched): return "seq2seq not found in \(searched); run `swift build` first"
            case .didNotStart(let log): return "server did not start:\n\(log)"
            }
        }
    }

    /// `<package root>` from this file's location (Tests/ServingTests/ServerProcess.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The tiny model directory that the Seq2Seq tests keep as a fixture (read only).
    static let fixtureModel = packageRoot.appendingPathComponent("Tests/Seq2SeqTests/Fixtures/lstm-format1").path

    /// The fixture's input sentences.
    static func fixtureInputs() throws -> [String] {
        try String(contentsOfFile: fixtureModel + "/inputs.txt", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    /// A new empty folder under the temporary directory.
    static func temporaryFolder(_ prefix: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + "-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Trains a tiny model with dot attention into `model` (a second or two; its shortlist included).
    static func trainAttentionModel(into model: String) throws {
        let corpus = try String(contentsOf: packageRoot.appendingPathComponent("Corpora/everyday.tsv"), encoding: .utf8)
        let pairs = model + "-pairs.tsv"
        try Data((corpus.split(separator: "\n").prefix(60).joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: pairs))
        let train = Process()
        train.executableURL = try locateBinary()
        train.arguments = ["train", pairs, "--output", model, "--attention", "dot", "--embedding", "16",
                           "--hidden", "16", "--vocab-size", "300", "--epochs", "2", "--threads", "1", "--seed", "3"]
        train.standardError = FileHandle.nullDevice
        try train.run()
        train.waitUntilExit()
        try #require(train.terminationStatus == 0)
    }

    /// The built `seq2seq` next to the test bundle, or in `.build/debug`.
    static func locateBinary() throws -> URL {
        var folders: [URL] = []
        if let first = CommandLine.arguments.first { folders.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { folders.append(bundle.bundleURL.deletingLastPathComponent()) }
        folders.append(packageRoot.appendingPathComponent(".build/debug"))
        for folder in folders {
            let candidate = folder.appendingPathComponent("seq2seq")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure.notBuilt(folders.map(\.path))
    }

    /// Starts `seq2seq serve --port 0 ARGUMENTS` and waits (≤ 60 s) until it listens.
    init(_ arguments: [String]) throws {
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
        self.errorFile = errorFile
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let output = Pipe()
        process.executableURL = try Self.locateBinary()
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--threads", "1"] + arguments
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        // First stdout line: "listening on http://127.0.0.1:PORT".
        let line = LineBox()
        let got = DispatchSemaphore(value: 0)
        let handle = output.fileHandleForReading
        DispatchQueue.global().async {
            var data = Data()
            while !data.contains(0x0A) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            line.text = String(decoding: data, as: UTF8.self)
            got.signal()
        }
        let log = { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }
        guard got.wait(timeout: .now() + 60) == .success,
              let range = line.text.range(of: "http://"),
              let url = URL(string: String(line.text[range.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            if process.isRunning { process.terminate() }
            throw Failure.didNotStart(log())
        }
        base = url
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// Everything the server logged so far.
    var log: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits (≤ `timeout` s) for the exit status; nil on time-out.
    func terminate(timeout: TimeInterval = 30) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// An HTTP answer: status, body bytes, and the body as a JSON object (if it is one).
    struct Answer {
        var status: Int
        var body: Data
        var contentType: String
        var retryAfter: String? = nil
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        var text: String { String(decoding: body, as: UTF8.self) }
        /// `error.type` of a JSON error body.
        var errorType: String? { (json?["error"] as? [String: Any])?["type"] as? String }
    }

    /// A client session that opens as many connections as there are concurrent
    /// requests (the default queues requests beyond a few per host).
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: configuration)
    }()

    /// `METHOD path` with an optional body.
    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> Answer {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await Self.session.data(for: request)
        let http = response as? HTTPURLResponse
        return Answer(status: http?.statusCode ?? 0, body: data,
                      contentType: http?.value(forHTTPHeaderField: "Content-Type") ?? "",
                      retryAfter: http?.value(forHTTPHeaderField: "Retry-After"))
    }

    /// `POST /v1/translate` with a JSON object.
    func translate(_ object: [String: any Sendable]) async throws -> Answer {
        try await send("POST", "v1/translate", body: try JSONSerialization.data(withJSONObject: object as [String: Any]))
    }
}

extension ServerProcess {
    /// The listening port.
    var port: UInt16 { UInt16(base.port ?? 0) }

    /// Writes `METHOD path` (with a JSON body) on a new connection of its own and returns that
    /// connection; `RawConnection.answer` reads the reply. Unlike `send`, the request is on the
    /// wire when this returns, whatever other tests in the process keep URLSession busy with.
    func post(_ path: String, json: [String: any Sendable]) throws -> RawConnection {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        let connection = try RawConnection(port: port)
        connection.write("POST /\(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                         + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        return connection
    }

    /// `GET path` on a connection of its own: the status and the body.
    func get(_ path: String) throws -> (status: Int, body: String) {
        let connection = try RawConnection(port: port)
        connection.write("GET /\(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return connection.answer(seconds: 60)
    }

    /// A raw TCP connection to the server, for clients that misbehave on purpose.
    final class RawConnection {
        let fd: Int32

        init(port: UInt16) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if fd < 0 || connected != 0 { throw POSIXError(.ECONNREFUSED) }
        }

        deinit { close(fd) }

        func write(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// The status and body of the server's reply (status 0 if none came within `seconds`).
        func answer(seconds: Double) -> (status: Int, body: String) {
            let text = readUntilClosed(seconds: seconds).text
            let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
            let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
            return (status, body)
        }

        /// Everything the server sends until it closes the connection or `seconds` pass;
        /// `closed` tells which.
        func readUntilClosed(seconds: Double) -> (text: String, closed: Bool) {
            var received: [UInt8] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return (String(decoding: received, as: UTF8.self), true) }
                received += buffer[0..<n]
            }
            return (String(decoding: received, as: UTF8.self), false)
        }
    }
}

private final class LineBox: @unchecked Sendable { var text = "" }
