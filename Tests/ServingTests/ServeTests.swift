import Foundation
import Seq2Seq
import Testing

/// `seq2seq serve` end to end on a loopback port with the tiny fixture model:
/// concurrent answers equal the library `Translator`'s (what `translate`
/// prints) whatever they were batched with, bad requests get 4xx JSON errors,
/// limits hold, metrics count, and SIGTERM answers in-flight requests and exits 0.
@Suite(.serialized)
struct ServeTests {
    /// Decoding settings a request can ask for, as request fields and as library options.
    struct Setting: CustomStringConvertible, Sendable {
        var fields: [String: any Sendable]
        var beamSize = 5
        var greedy = false
        var nBest = 1
        var description: String { "\(fields)" }

        var options: TranslationOptions {
            var options = TranslationOptions()
            options.beamSize = beamSize
            options.greedy = greedy
            options.nBest = nBest
            return options
        }
    }

    static let settings = [
        Setting(fields: ["greedy": true], beamSize: 1, greedy: true),
        Setting(fields: [:]),
        Setting(fields: ["beam_size": 3, "n_best": 3], beamSize: 3, nBest: 3),
    ]

    /// What the library gives for `inputs` with `setting`, all in one batch.
    static func expected(_ inputs: [String], _ setting: Setting) throws -> [Translation] {
        ComputeThreads.configure(1)
        let (translator, _) = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: setting.options)
        return try translator.translate(inputs)
    }

    /// Scores agree up to float rounding: the matrix products of a different
    /// batch round differently in the last bits (the texts are identical).
    static func close(_ a: Float?, _ b: Float) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= 1e-5 * max(1, abs(b))
    }

    /// Checks one answered sentence against the library's translation.
    static func check(_ answered: [String: Any], against expected: Translation, nBest: Int,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answered["source"] as? String == expected.source, sourceLocation: sourceLocation)
        #expect(answered["text"] as? String == expected.text, "\(expected.source)", sourceLocation: sourceLocation)
        let score = (answered["score"] as? Double).map(Float.init)
        #expect(close(score, expected.score), "\(expected.source): score \(score ?? .nan) vs \(expected.score)",
                sourceLocation: sourceLocation)
        if nBest > 1 {
            let list = answered["n_best"] as? [[String: Any]] ?? []
            #expect(list.map { $0["text"] as? String ?? "" } == expected.nBest.map(\.text), sourceLocation: sourceLocation)
            let scores = list.map { ($0["score"] as? Double).map(Float.init) }
            #expect(scores.count == expected.nBest.count
                    && zip(scores, expected.nBest).allSatisfy { close($0, $1.score) },
                    "\(expected.source): n-best scores \(scores) vs \(expected.nBest.map(\.score))",
                    sourceLocation: sourceLocation)
        } else {
            #expect(answered["n_best"] == nil, sourceLocation: sourceLocation)
        }
    }

    static func sentences(of answer: ServerProcess.Answer) -> [[String: Any]] {
        answer.json?["translations"] as? [[String: Any]] ?? []
    }

    /// The value of a metric line `name{labels} value` in Prometheus text.
    static func metric(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            if let value = line.split(separator: " ").last { return Double(value) }
        }
        return nil
    }

    @Test func concurrentRequestsMatchTheTranslator() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        let expected = try Self.settings.map { try Self.expected(inputs, $0) }
        // A long window so concurrent requests share batches; a small max batch so
        // that list requests are split over several batches.
        let server = try ServerProcess(["--model", "fx=" + ServerProcess.fixtureModel, "--batch-window", "100",
                                        "--max-batch", "8"])
        // One request per sentence and setting, plus one list request per setting, all at once.
        var requests: [(setting: Int, sentence: Int?)] = []
        for s in Self.settings.indices {
            requests.append((s, nil))
            for i in inputs.indices { requests.append((s, i)) }
        }
        let answers = try await withThrowingTaskGroup(of: (Int, ServerProcess.Answer).self) { group in
            for (n, request) in requests.enumerated() {
                var body = Self.settings[request.setting].fields
                body["text"] = request.sentence.map { inputs[$0] } ?? inputs
                group.addTask { (n, try await server.translate(body)) }
            }
            var answers = [ServerProcess.Answer?](repeating: nil, count: requests.count)
            for try await (n, answer) in group { answers[n] = answer }
            return answers
        }
        for (request, answer) in zip(requests, answers) {
            let setting = Self.settings[request.setting]
            guard let answer, answer.status == 200 else {
                Issue.record("\(setting) failed: \(answer?.text ?? "no answer")")
                continue
            }
            #expect(answer.json?["model"] as? String == "fx")
            let answered = Self.sentences(of: answer)
            let indices = request.sentence.map { [$0] } ?? Array(inputs.indices)
            #expect(answered.count == indices.count)
            for (sentence, i) in zip(answered, indices) {
                Self.check(sentence, against: expected[request.setting][i], nBest: setting.nBest)
            }
        }
        // Every sentence went through a batch, and batches held several sentences.
        let metrics = try await server.send("GET", "metrics").text
        let total = Double(Self.settings.count * inputs.count * 2)
        #expect(Self.metric(metrics, "seq2seq_batch_sentences_sum") == total)
        let batches = try #require(Self.metric(metrics, "seq2seq_batch_sentences_count"))
        #expect(batches < total / 2, "expected dynamic batching, got \(batches) batches for \(total) sentences")
        #expect(Self.metric(metrics, "seq2seq_sentences_total") == total)
        #expect(server.terminate() == 0)
    }

    /// `--precision int8` decodes every request as the library's int8 translator does (the same
    /// texts, scores within float rounding), which scores differently from fp32.
    @Test func int8ServerMatchesTheInt8Translator() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        ComputeThreads.configure(1)
        var options = Self.settings[0].options
        let fp32 = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: options).0.translate(inputs)
        options.precision = .int8
        let int8 = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: options).0.translate(inputs)
        let server = try ServerProcess(["--model", ServerProcess.fixtureModel, "--precision", "int8", "--greedy"])
        let answer = try await server.translate(["text": inputs])
        #expect(answer.status == 200)
        let answered = Self.sentences(of: answer)
        #expect(answered.count == inputs.count)
        for (sentence, expected) in zip(answered, int8) { Self.check(sentence, against: expected, nBest: 1) }
        #expect(zip(int8, fp32).contains { !Self.close($0.score, $1.score) }, "int8 scores should differ from fp32's")
        #expect(server.terminate() == 0)
    }

    @Test func badRequestsGetJSONErrors() async throws {
        let server = try ServerProcess(["--model", ServerProcess.fixtureModel])
        let cases: [(body: String, status: Int, type: String)] = [
            (#"{"text": "hello""#, 400, "bad_json"),
            ("not json", 400, "bad_json"),
            ("", 400, "bad_request"),
            (#"["hello"]"#, 400, "bad_request"),
            (#"{"txt": "hello"}"#, 400, "bad_request"),
            (#"{"text": ""}"#, 400, "bad_request"),
            (#"{"text": []}"#, 400, "bad_request"),
            (#"{"text": ["", " "]}"#, 400, "bad_request"),
            (#"{"text": 42}"#, 400, "bad_request"),
            (#"{"text": ["a", 1]}"#, 400, "bad_request"),
            (#"{"text": "a", "beam_size": "five"}"#, 400, "bad_request"),
            (#"{"text": "a", "beam_size": 0}"#, 400, "bad_request"),
            (#"{"text": "a", "beam_size": 1000}"#, 400, "bad_request"),
            (#"{"text": "a", "n_best": 6, "beam_size": 5}"#, 400, "bad_request"),
            (#"{"text": "a", "greedy": true, "n_best": 2}"#, 400, "bad_request"),
            (#"{"text": "a", "greedy": "yes"}"#, 400, "bad_request"),
            (#"{"text": "a", "alignment": true}"#, 400, "alignment_unavailable"),
            (#"{"text": "a", "model": "nope"}"#, 404, "unknown_model"),
        ]
        for (body, status, type) in cases {
            let answer = try await server.send("POST", "v1/translate", body: Data(body.utf8))
            #expect(answer.status == status, "\(body) → \(answer.status) \(answer.text)")
            #expect(answer.errorType == type, "\(body) → \(answer.text)")
            #expect(answer.contentType.hasPrefix("application/json"), "\(body)")
            let message = (answer.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(!message.isEmpty, "\(body) has no error message")
        }
        // Unknown endpoints and methods answer JSON too.
        let missing = try await server.send("GET", "v1/nothing")
        #expect(missing.status == 404 && missing.errorType == "http")
        let wrongMethod = try await server.send("GET", "v1/translate")
        #expect((400..<500).contains(wrongMethod.status) && wrongMethod.errorType != nil, "\(wrongMethod.text)")
        // Still healthy after all that, and empty lines inside a list are fine.
        #expect(try await server.send("GET", "health").status == 200)
        let mixed = try await server.translate(["text": ["hello", ""]])
        #expect(mixed.status == 200)
        #expect(Self.sentences(of: mixed).last?["text"] as? String == "")
        #expect(server.terminate() == 0)
    }

    @Test func limitsAndTruncationWarning() async throws {
        let server = try ServerProcess(["--model", ServerProcess.fixtureModel, "--max-body-size", "300",
                                        "--max-sentences", "3", "--max-input-length", "4"])
        let large = try await server.translate(["text": String(repeating: "hello ", count: 100)])
        #expect(large.status == 413 && large.errorType == "too_large", "\(large.text)")
        let many = try await server.translate(["text": ["a", "b", "c", "d"]])
        #expect(many.status == 413 && many.errorType == "too_many_sentences", "\(many.text)")
        // A long input is cut to --max-input-length tokens and translated, with a warning.
        let long = "Good night and good morning, hello world"
        let cut = try await server.translate(["text": [long, "Hi."]])
        #expect(cut.status == 200, "\(cut.text)")
        let sentences = Self.sentences(of: cut)
        #expect((sentences.first?["warning"] as? String)?.contains("4 subword tokens") == true, "\(cut.text)")
        #expect(sentences.last?["warning"] == nil)
        var options = TranslationOptions()
        options.maxInputLength = 4
        ComputeThreads.configure(1)
        let (translator, _) = try ModelDirectory(path: ServerProcess.fixtureModel).loadTranslator(options: options)
        let expected = try translator.translate([long, "Hi."])
        #expect(expected[0].inputWasTruncated)
        for (answered, translation) in zip(sentences, expected) { Self.check(answered, against: translation, nBest: 1) }
        #expect(server.terminate() == 0)
    }

    @Test func modelsHealthAndMetrics() async throws {
        let fixture = ServerProcess.fixtureModel
        let server = try ServerProcess(["--model", "first=" + fixture, "--model", "second=" + fixture])
        let models = try await server.send("GET", "v1/models")
        let list = models.json?["models"] as? [[String: Any]] ?? []
        #expect(list.map { $0["name"] as? String } == ["first", "second"])
        #expect(list.map { $0["default"] as? Bool } == [true, false])
        #expect(list.first?["source_language"] as? String == "en")
        let health = try await server.send("GET", "health")
        #expect(health.status == 200 && health.json?["status"] as? String == "ok")
        let second = try await server.translate(["text": "hello", "model": "second", "greedy": true])
        #expect(second.status == 200 && second.json?["model"] as? String == "second")
        let metrics = try await server.send("GET", "metrics")
        #expect(metrics.status == 200 && metrics.contentType.hasPrefix("text/plain"))
        for name in ["seq2seq_requests_total", "seq2seq_sentences_total", "seq2seq_source_tokens_total", "seq2seq_target_tokens_total",
                     "seq2seq_request_duration_seconds_bucket", "seq2seq_batch_sentences_bucket"] {
            #expect(metrics.text.contains(name), "metrics lack \(name)")
        }
        #expect(metrics.text.contains(#"seq2seq_sentences_total{model="second"} 1"#))
        #expect(metrics.text.contains(#"seq2seq_requests_total{endpoint="/v1/models",status="200"} 1"#))
        #expect(server.terminate() == 0)
    }

    @Test func alignmentsFromAModelWithAttention() async throws {
        let folder = try ServerProcess.temporaryFolder("serve-attention")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = folder + "/model"
        try ServerProcess.trainAttentionModel(into: model)

        let server = try ServerProcess(["--model", "att=" + model, "--model", "plain=" + ServerProcess.fixtureModel])
        let models = try await server.send("GET", "v1/models").json?["models"] as? [[String: Any]] ?? []
        #expect(models.map { $0["attention"] as? Bool } == [true, false])
        // `train` wrote a shortlist into the new model; the server decodes with it.
        #expect(models.map { $0["shortlist"] as? Bool } == [true, false])
        let inputs = ["hello world", "Thank you."]
        let answer = try await server.translate(["text": inputs, "alignment": true, "beam_size": 3])
        #expect(answer.status == 200, "\(answer.text)")
        var options = TranslationOptions()
        options.beamSize = 3
        options.alignment = true
        ComputeThreads.configure(1)
        let (translator, _) = try ModelDirectory(path: model).loadTranslator(options: options, shortlist: true)
        let expected = try translator.translate(inputs)
        for (sentence, translation) in zip(Self.sentences(of: answer), expected) {
            Self.check(sentence, against: translation, nBest: 1)
            let alignment = sentence["alignment"] as? [String: Any]
            let want = try #require(translation.alignment)
            #expect(alignment?["source_tokens"] as? [String] == want.sourceTokens)
            #expect(alignment?["target_tokens"] as? [String] == want.targetTokens)
            let weights = (alignment?["weights"] as? [[Double]] ?? []).map { $0.map(Float.init) }
            #expect(weights.count == want.weights.count)
            for (row, wantRow) in zip(weights, want.weights) {
                #expect(row.count == wantRow.count && zip(row, wantRow).allSatisfy { Self.close($0, $1) })
            }
            // The README's contract: one row per target token, one column per source token, rows sum to 1.
            #expect(weights.count == want.targetTokens.count && !weights.isEmpty)
            for row in weights {
                #expect(row.count == want.sourceTokens.count && abs(row.reduce(0, +) - 1) < 1e-4)
            }
        }
        // `translate --format jsonl --alignment` prints the same alignment objects as the server.
        let translate = Process()
        translate.executableURL = try ServerProcess.locateBinary().deletingLastPathComponent().appendingPathComponent("translate")
        translate.arguments = ["--model", model, "--format", "jsonl", "--alignment", "--beam-size", "3", "--threads", "1"] + inputs
        let printed = Pipe()
        translate.standardOutput = printed
        translate.standardError = FileHandle.nullDevice
        try translate.run()
        let lines = String(decoding: printed.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        translate.waitUntilExit()
        #expect(translate.terminationStatus == 0 && lines.count == inputs.count)
        for (line, sentence) in zip(lines, Self.sentences(of: answer)) {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(Set(record?.keys.map { $0 } ?? []) == ["alignment", "n_best", "score", "source", "translation"])
            let fromCLI = record?["alignment"] as? [String: Any], fromServer = sentence["alignment"] as? [String: Any]
            #expect(Set(fromCLI?.keys.map { $0 } ?? []) == ["source_tokens", "target_tokens", "weights"])
            #expect(fromCLI?["source_tokens"] as? [String] == fromServer?["source_tokens"] as? [String])
            #expect(fromCLI?["target_tokens"] as? [String] == fromServer?["target_tokens"] as? [String])
            #expect(fromCLI?["weights"] as? [[Double]] == fromServer?["weights"] as? [[Double]])
        }
        // Without "alignment" there is none in the answer; the model without attention refuses it.
        let plain = try await server.translate(["text": "hello world"])
        #expect(plain.status == 200 && Self.sentences(of: plain).first?["alignment"] == nil)
        let refused = try await server.translate(["text": "hello world", "alignment": true, "model": "plain"])
        #expect(refused.status == 400 && refused.errorType == "alignment_unavailable")
        #expect(server.terminate() == 0)
    }

    @Test func sigtermAnswersInFlightRequestsAndExitsZero() async throws {
        let inputs = try ServerProcess.fixtureInputs()
        let expected = try Self.expected(inputs, Self.settings[1])
        // Long requests (64 beams, one sentence per batch) keep the decoder busy, so the
        // requests sent after them are still queued when SIGTERM comes.
        let server = try ServerProcess(["--model", ServerProcess.fixtureModel, "--max-batch", "1", "--max-beam-size", "64"])
        let long = OverloadTests.occupy(server, count: 8)
        try await OverloadTests.waitUntilInFlight(server)
        let pending = inputs.indices.map { i in
            Task { try await server.translate(["text": inputs[i]]) }
        }
        // The in-flight gauge counts 256 per unanswered long request plus one per short one
        // (they wait behind the long ones, whose beam size differs): SIGTERM once every short
        // request is queued and a long one is still decoding.
        let started = Date()
        var queued = 0
        while queued % 256 != inputs.count && Date().timeIntervalSince(started) < 20 {
            try await Task.sleep(for: .milliseconds(10))
            queued = Int(Self.metric(try await server.send("GET", "metrics").text, "seq2seq_queue_sentences") ?? 0)
        }
        #expect(queued % 256 == inputs.count && queued > 256, "sentences in flight when SIGTERM was sent: \(queued)")
        kill(server.process.processIdentifier, SIGTERM)
        for (i, task) in pending.enumerated() {
            let answer = try await task.value
            #expect(answer.status == 200, "\(answer.text)")
            if let sentence = Self.sentences(of: answer).first {
                Self.check(sentence, against: expected[i], nBest: 1)
            }
        }
        #expect(try await long.value.allSatisfy { $0.status == 200 })
        #expect(server.terminate() == 0, "\(server.log)")
        #expect(server.log.contains("every request received was answered"))
    }
}
