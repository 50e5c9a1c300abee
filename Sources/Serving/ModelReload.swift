import Foundation
import Hummingbird
import Logging

/// Model reload (`seq2seq serve --allow-reload`): `POST /admin/reload` or SIGHUP loads
/// each served model's directory again and swaps it in without dropping a request.
/// A directory that does not load is refused, logged, and the old model keeps serving.
struct ModelReloader: Sendable {
    let models: [ServedModel]
    let enabled: Bool
    let logger: Logger

    /// What one reload did: the models reloaded, and the refused ones with the reason.
    struct Outcome: Encodable {
        var reloaded: [String] = []
        var refused: [Refusal] = []
        struct Refusal: Encodable { var model: String; var reason: String }
    }

    /// Reloads `models` (all of them when nil), one after the other, logging each result.
    func reload(_ names: [String]? = nil) -> Outcome {
        var outcome = Outcome()
        for model in models where names?.contains(model.name) ?? true {
            do {
                try model.reload()
                outcome.reloaded.append(model.name)
                logger.notice("reloaded model \(model.name): \(model.summary)")
            } catch {
                outcome.refused.append(.init(model: model.name, reason: "\(error)"))
                logger.error("reload of model \(model.name) refused: \(error); still serving the previous model")
            }
        }
        return outcome
    }

    /// `POST /admin/reload`, optional body `{"model": NAME}`: 200 `{"reloaded": [...], "refused": []}`,
    /// 500 `reload_failed` when a model was refused (the old one still serves), 403 unless enabled.
    func handle(_ request: Request) async throws -> Response {
        guard enabled else {
            throw ServingError(.forbidden, "reload_disabled", "model reload is off; start the server with --allow-reload")
        }
        var request = request
        let body = try await request.collectBody(upTo: 4096)
        var names: [String]?
        if body.readableBytes > 0 {
            struct Body: Decodable { var model: String? }
            guard let parsed = try? JSONDecoder().decode(Body.self, from: Data(body.readableBytesView)) else {
                throw ServingError(.badRequest, "bad_json", "the body is not {\"model\": \"NAME\"} (or send none to reload every model)")
            }
            if let name = parsed.model {
                guard models.contains(where: { $0.name == name }) else {
                    throw ServingError(.notFound, "unknown_model", "no model named \"\(name)\"; this server has \(models.map(\.name).joined(separator: ", "))")
                }
                names = [name]
            }
        }
        // Loading reads and checks every tensor: keep it off the event loop.
        let outcome = await Task.detached { reload(names) }.value
        if let refusal = outcome.refused.first {
            throw ServingError(.internalServerError, "reload_failed",
                               "model \(refusal.model) was not reloaded: \(refusal.reason); it still serves the previous model")
        }
        return try encodeJSON(outcome)
    }

    /// With reload enabled, SIGHUP reloads every model (the returned source must be kept alive).
    func watchHangUp() -> (any DispatchSourceSignal)? {
        guard enabled else { return nil }
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "seq2seq.reload"))
        source.setEventHandler { _ = reload() }
        source.resume()
        return source
    }
}
