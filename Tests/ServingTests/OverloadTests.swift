import Foundation
import Seq2Seq
import Testing

/// `seq2seq serve` under overload and misbehaving clients: a full queue answers 429 with
/// Retry-After and a JSON body, deadlines answer 504 without decoding, /ready follows the
/// queue, slow or stalled clients time out — and after each, a normal request is answered
/// exactly as the library translates it.
@Suite(.serialized)
struct OverloadTests {
    static let model = "fx=" + ServerProcess.fixtureModel

    /// A request that keeps the decoder busy for a while: 256 sentences with 64 beams, decoded
    /// one per batch on a server started with `busy` (~0.4 s each with the fixture model).
    static let longRequest: [String: any Sendable] = [
        "text": (0..<256).map { "Hello world number \($0), how are you today?" }, "beam_size": 64,
    ]
    static let busy = ["--max-batch", "1", "--max-beam-size", "64"]

    /// Sends `count` long requests at once; their answers, when all are done.
    static func occupy(_ server: ServerProcess, count: Int = 8) -> Task<[ServerProcess.Answer], any Error> {
        Task {
            try await withThrowingTaskGroup(of: ServerProcess.Answer.self) { group in
                for _ in 0..<count { group.addTask { try await server.translate(longRequest) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
    }

    /// Returns once the server has at least `sentences` sentences queued or decoding (or after 20 s).
    static func waitUntilInFlight(_ server: ServerProcess, sentences: Double = 1) async throws {
        let started = Date()
        while Date().timeIntervalSince(started) < 20 {
            if ServeTests.metric(try server.get("metrics").body, "seq2seq_queue_sentences") ?? 0 >= sentences { return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The server still answers a normal request, with the library's translation.
    static func answersNormally(_ server: ServerProcess, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let answer = try await server.translate(["text": "Hello world.", "greedy": true])
        #expect(answer.status == 200, "\(answer.text)", sourceLocation: sourceLocation)
        var options = TranslationOptions()
        options.greedy = true
        ComputeThreads.configure(1)
        let (translator, _) = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: options)
        let expected = try translator.translate(["Hello world."])[0].text
        let sentence = (answer.json?["translations"] as? [[String: Any]])?.first
        #expect(sentence?["text"] as? String == expected, sourceLocation: sourceLocation)
    }

    static func expectError(_ answer: ServerProcess.Answer, status: Int, type: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, "\(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.contentType.hasPrefix("application/json"), sourceLocation: sourceLocation)
        #expect(answer.errorType == type, "\(answer.text)", sourceLocation: sourceLocation)
        let message = (answer.json?["error"] as? [String: Any])?["message"] as? String
        #expect(!(message ?? "").isEmpty, sourceLocation: sourceLocation)
    }

    /// 500 requests at once against --max-queue 50: every one is answered, each either with
    /// the right translations or with 429 + Retry-After; some of each.
    @Test func floodLosesNoAcceptedRequest() async throws {
        let server = try ServerProcess(["--model", Self.model, "--max-queue", "50", "--max-batch", "1", "--beam-size", "5"])
        let inputs = try ServerProcess.fixtureInputs()
        ComputeThreads.configure(1)
        let (translator, _) = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator()
        let expected = try translator.translate(inputs).map(\.text)
        let answers = try await withThrowingTaskGroup(of: ServerProcess.Answer.self) { group in
            for _ in 0..<500 { group.addTask { try await server.translate(["text": inputs]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let accepted = answers.filter { $0.status == 200 }
        let refused = answers.filter { $0.status == 429 }
        #expect(accepted.count + refused.count == 500, "statuses: \(Set(answers.map(\.status)))")
        #expect(accepted.count >= 50 && !refused.isEmpty, "\(accepted.count) accepted, \(refused.count) refused")
        for answer in accepted {
            let texts = (answer.json?["translations"] as? [[String: Any]])?.map { $0["text"] as? String ?? "" }
            #expect(texts == expected)
        }
        for answer in refused.prefix(5) {
            Self.expectError(answer, status: 429, type: "overloaded")
            #expect(answer.retryAfter.flatMap(Int.init) ?? 0 >= 1)
        }
        try await Self.answersNormally(server)
    }

    /// A full queue makes /ready answer 503 and a request beyond it 429; once it drains, both recover.
    @Test func readyFollowsTheQueue() async throws {
        let server = try ServerProcess(["--model", Self.model, "--max-queue", "1", "--max-sentences", "2048"] + Self.busy)
        let ready = try server.get("ready")
        #expect(ready.status == 200 && ready.body.contains("\"ready\""), "\(ready.body)")
        // One request of 8 × 256 sentences (~3.5 s of decoding alone, longer under load) stays
        // queued until its last sentence is taken, so it alone fills --max-queue 1 for seconds.
        // Plain sockets: under the whole suite's load URLSession may hold a request back.
        var long = Self.longRequest
        long["text"] = Array(repeating: Self.longRequest["text"] as? [String] ?? [], count: 8).flatMap { $0 }
        let occupying = try server.post("v1/translate", json: long)
        var queued = 0.0
        let started = Date()
        while queued < 1 && Date().timeIntervalSince(started) < 60 {
            queued = ServeTests.metric(try server.get("metrics").body, "seq2seq_queue_sentences") ?? 0
        }
        let busy = try server.get("ready")
        #expect(busy.status == 503 && busy.body.contains("\"busy\""), "\(busy.body)")
        let refused = try server.post("v1/translate", json: ["text": "Hi."]).answer(seconds: 60)
        #expect(refused.status == 429 && refused.body.contains("\"overloaded\""), "\(refused.body)")
        #expect(occupying.answer(seconds: 120).status == 200)
        #expect(try server.get("ready").status == 200)
        try await Self.answersNormally(server)
    }

    /// A request whose timeout_ms passes while it waits is answered 504 and not decoded; a bad
    /// timeout_ms is a 400.
    @Test func clientDeadlinesAnswer504() async throws {
        let server = try ServerProcess(["--model", Self.model] + Self.busy)
        let long = Self.occupy(server)
        try await Self.waitUntilInFlight(server)
        Self.expectError(try await server.translate(["text": "Hi.", "timeout_ms": 50]), status: 504, type: "deadline_exceeded")
        #expect(try await long.value.allSatisfy { $0.status == 200 })
        Self.expectError(try await server.translate(["text": "Hi.", "timeout_ms": 0]), status: 400, type: "bad_request")
        try await Self.answersNormally(server)
        #expect(try await server.send("GET", "metrics").text.contains("status=\"504\""), "the refusal is counted")
    }

    /// With --max-request-time, requests that would finish after it are answered 504 and the
    /// decoder skips their remaining sentences (fewer batches than sentences sent).
    @Test func serverDeadlineSkipsWorkNobodyWaitsFor() async throws {
        let server = try ServerProcess(["--model", Self.model, "--max-request-time", "2000"] + Self.busy)
        let answers = try await Self.occupy(server).value       // ~3 s of work
        #expect(answers.contains { $0.status == 200 }, "the first requests fit in the limit")
        let late = answers.filter { $0.status != 200 }
        #expect(!late.isEmpty)
        for answer in late { Self.expectError(answer, status: 504, type: "deadline_exceeded") }
        let metrics = try await server.send("GET", "metrics").text
        let batches = ServeTests.metric(metrics, "seq2seq_batch_duration_seconds_count") ?? .infinity
        #expect(batches < Double(8 * 256), "decoded \(batches) of \(8 * 256) sentences")
        try await Self.answersNormally(server)
    }

    /// A body trickled slower than --client-timeout gets 408; a connection that sends half its
    /// headers and stalls is closed; neither holds up other clients.
    @Test func slowAndStalledClientsTimeOut() async throws {
        let server = try ServerProcess(["--model", Self.model, "--client-timeout", "1"])
        let trickle = try ServerProcess.RawConnection(port: server.port)
        trickle.write("POST /v1/translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"te")
        let stalled = try ServerProcess.RawConnection(port: server.port)
        stalled.write("POST /v1/translate HTTP/1.1\r\nHost: x\r\n")
        try await Self.answersNormally(server)
        let slow = trickle.readUntilClosed(seconds: 5)
        #expect(slow.text.hasPrefix("HTTP/1.1 408"), "\(slow.text)")
        #expect(slow.text.contains("body_timeout"))
        let silent = stalled.readUntilClosed(seconds: 5)
        #expect(silent.closed, "a stalled connection is closed after --client-timeout")
        try await Self.answersNormally(server)
    }
}
