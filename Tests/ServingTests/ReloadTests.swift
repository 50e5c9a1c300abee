import Foundation
import Seq2Seq
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `seq2seq serve --allow-reload`: POST /admin/reload and SIGHUP swap in a model directory's
/// current contents without dropping requests; a damaged directory is refused, logged, and
/// the previous model keeps serving; without the flag the endpoint answers 403.
@Suite(.serialized)
struct ReloadTests {
    static let inputs = ["hello world", "Thank you."]

    /// What the server should answer for `inputs` (greedy) with the model now in `path`.
    static func expected(_ path: String) throws -> [String] {
        var options = TranslationOptions()
        options.greedy = true
        ComputeThreads.configure(1)
        let directory = ModelDirectory(path: path)
        let (translator, _) = try directory.loadTranslator(options: options, shortlist: directory.hasShortlist)
        return try translator.translate(inputs).map(\.text)
    }

    static func translations(_ server: ServerProcess) async throws -> [String] {
        let answer = try await server.translate(["text": inputs, "greedy": true])
        #expect(answer.status == 200, "\(answer.text)")
        return (answer.json?["translations"] as? [[String: Any]] ?? []).map { $0["text"] as? String ?? "" }
    }

    /// Replaces the contents of model directory `path` by those of `source`, as putting a
    /// retrained model in place would.
    static func replace(_ path: String, with source: String) throws {
        let files = FileManager.default
        for item in try files.contentsOfDirectory(atPath: path) { try files.removeItem(atPath: path + "/" + item) }
        for item in try files.contentsOfDirectory(atPath: source) {
            try files.copyItem(atPath: source + "/" + item, toPath: path + "/" + item)
        }
    }

    static func attention(_ server: ServerProcess) async throws -> Bool? {
        let models = try await server.send("GET", "v1/models").json?["models"] as? [[String: Any]]
        return models?.first?["attention"] as? Bool
    }

    @Test func reloadSwapsTheModelAndRefusesADamagedOne() async throws {
        let folder = try ServerProcess.temporaryFolder("reload")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let served = folder + "/served", other = folder + "/other"
        try FileManager.default.copyItem(atPath: ServerProcess.fixtureModel, toPath: served)
        try ServerProcess.trainAttentionModel(into: other)
        let server = try ServerProcess(["--model", "m=" + served, "--allow-reload"])
        let first = try Self.expected(served)
        #expect(try await Self.translations(server) == first)
        #expect(try await Self.attention(server) == false)

        try Self.replace(served, with: other)
        let reloaded = try await server.send("POST", "admin/reload")
        #expect(reloaded.status == 200 && reloaded.json?["reloaded"] as? [String] == ["m"], "\(reloaded.text)")
        let second = try Self.expected(served)
        #expect(try await Self.translations(server) == second)
        #expect(try await Self.attention(server) == true, "/v1/models describes the reloaded model")

        // Damaged weights: refused with 500 and a log line; the reloaded model keeps serving.
        let weights = served + "/best/" + Checkpoint.modelFileName
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        let refused = try await server.send("POST", "admin/reload", body: Data(#"{"model": "m"}"#.utf8))
        OverloadTests.expectError(refused, status: 500, type: "reload_failed")
        #expect(refused.text.contains("still serves the previous model"))
        #expect(server.log.contains("reload of model m refused"), "\(server.log)")
        #expect(try await Self.translations(server) == second)
        Self.expectUnknownModelRefused(try await server.send("POST", "admin/reload", body: Data(#"{"model": "x"}"#.utf8)))

        // SIGHUP reloads too: the first model again.
        try Self.replace(served, with: ServerProcess.fixtureModel)
        kill(server.process.processIdentifier, SIGHUP)
        let started = Date()
        while try await Self.attention(server) != false && Date().timeIntervalSince(started) < 30 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await Self.translations(server) == first)
        #expect(server.log.contains("reloaded model m"))
    }

    static func expectUnknownModelRefused(_ answer: ServerProcess.Answer) {
        OverloadTests.expectError(answer, status: 404, type: "unknown_model")
    }

    /// Requests queued or being decoded while the model is reloaded are all answered.
    @Test func reloadDropsNoRequestInFlight() async throws {
        let server = try ServerProcess(["--model", OverloadTests.model, "--allow-reload"] + OverloadTests.busy)
        let long = OverloadTests.occupy(server, count: 4)
        try await OverloadTests.waitUntilInFlight(server)
        let reloaded = try await server.send("POST", "admin/reload")
        #expect(reloaded.status == 200, "\(reloaded.text)")
        for answer in try await long.value {
            #expect(answer.status == 200)
            #expect((answer.json?["translations"] as? [[String: Any]])?.count == 256)
        }
        try await OverloadTests.answersNormally(server)
    }

    @Test func reloadIsOffUnlessAllowed() async throws {
        let server = try ServerProcess(["--model", OverloadTests.model])
        let refused = try await server.send("POST", "admin/reload")
        OverloadTests.expectError(refused, status: 403, type: "reload_disabled")
        #expect(refused.text.contains("--allow-reload"))
        try await OverloadTests.answersNormally(server)
    }
}
