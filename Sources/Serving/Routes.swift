import Foundation
import Hummingbird
import Seq2Seq

/// Limits on what one request may ask; past them the answer is a 4xx JSON error.
public struct ServingLimits: Sendable {
    /// Largest accepted request body (bytes); larger → 413.
    public var maxBodyBytes = 1 << 20
    /// Most sentences in one request; more → 413.
    public var maxSentencesPerRequest = 256
    /// Largest `beam_size` a request may ask for; larger → 400.
    public var maxBeamSize = 16
    /// Longest a request may wait for its translation (seconds; nil: no limit); then 504.
    /// A request's `timeout_ms` can only shorten it.
    public var maxRequestSeconds: Double?
    /// Longest the server waits for a request's body (seconds); a client that sends it
    /// slower is answered 408 and the connection closed.
    public var bodySeconds: Double = 10

    public init() {}
}

/// The HTTP API over the loaded models:
///
/// - `POST /v1/translate`: `TranslateRequest` → `TranslateResponse`
/// - `GET /v1/models`: `{"models": [ModelDescription]}`
/// - `GET /health`: `{"status": "ok", "models": [names]}` (the process is up)
/// - `GET /ready`: 200 `{"status": "ready"}` when every model is loaded and takes requests,
///   503 `{"status": "busy"}` while a queue is full or the server is shutting down
/// - `GET /metrics`: Prometheus text format
/// - `POST /admin/reload`: reload the models from their directories (`ModelReloader`)
struct TranslationRoutes: Sendable {
    let models: [ServedModel]
    /// Search settings for requests that don't give their own.
    let defaultKey: DecodingKey
    let maxInputLength: Int
    let limits: ServingLimits
    let metrics: ServingMetrics
    let reloader: ModelReloader

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsCountingMiddleware(metrics: metrics))
        router.add(middleware: JSONErrorMiddleware())
        router.post("/v1/translate") { request, context in try await translate(request, context: context) }
        router.get("/v1/models") { _, _ in try encodeJSON(ModelList(models: modelDescriptions())) }
        router.get("/health") { _, _ in try encodeJSON(Health(status: "ok", models: models.map(\.name))) }
        router.get("/ready") { _, _ in
            let busy = models.filter(\.batcher.isRefusing).map(\.name)
            return try encodeJSON(Readiness(status: busy.isEmpty ? "ready" : "busy", busy: busy),
                                  status: busy.isEmpty ? .ok : .serviceUnavailable)
        }
        router.post("/admin/reload") { request, _ in try await reloader.handle(request) }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        return router
    }

    struct ModelList: Encodable { var models: [ModelDescription] }
    struct Health: Encodable { var status: String; var models: [String] }
    struct Readiness: Encodable { var status: String; var busy: [String] }

    func modelDescriptions() -> [ModelDescription] {
        models.enumerated().map { $1.description(isDefault: $0 == 0) }
    }

    // MARK: POST /v1/translate

    func translate(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await collectBody(request)
        let started = ContinuousClock.now
        let parsed = try decodeRequest(body)
        let deadline = try self.deadline(for: parsed)
        let model = try resolveModel(parsed.model)
        let key = try decodingKey(for: parsed, model: model)
        let sentences = try checkedSentences(parsed)
        metrics.adjustInFlight(model: model.name, by: sentences.count)
        defer { metrics.adjustInFlight(model: model.name, by: -sentences.count) }
        let translations = try await model.batcher.translate(sentences, key: key, deadline: deadline)
        let response = TranslateResponse(model: model.name, translations: translations.map { sentence($0, key: key) })
        metrics.recordTranslation(model: model.name, sentences: sentences.count, duration: ContinuousClock.now - started)
        return try encodeJSON(response)
    }

    /// The body, at most `maxBodyBytes` and within `bodySeconds` (a trickling client gets 408).
    func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limits = self.limits
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    var request = request
                    return try await request.collectBody(upTo: limits.maxBodyBytes)
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(limits.bodySeconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else {
                    throw ServingError(.requestTimeout, "body_timeout",
                                       "the request body did not arrive within \(limits.bodySeconds) s; send it at once")
                }
                return body
            }
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ServingError(.contentTooLarge, "too_large",
                               "request body larger than \(limits.maxBodyBytes) bytes; send fewer sentences per request")
        }
    }

    /// When the answer must be ready: the sooner of the client's `timeout_ms` and `--max-request-time`.
    func deadline(for request: TranslateRequest) throws -> Date? {
        if let ms = request.timeoutMilliseconds, ms < 1 || ms > 86_400_000 {
            throw ServingError.badRequest("timeout_ms must be between 1 and 86400000")
        }
        let seconds = [request.timeoutMilliseconds.map { Double($0) / 1000 }, limits.maxRequestSeconds].compactMap { $0 }.min()
        return seconds.map { Date().addingTimeInterval($0) }
    }

    func decodeRequest(_ body: ByteBuffer) throws -> TranslateRequest {
        let data = Data(body.readableBytesView)
        if data.isEmpty { throw ServingError.badRequest("empty body: send {\"text\": \"…\"} as JSON") }
        do {
            return try JSONDecoder().decode(TranslateRequest.self, from: data)
        } catch let error as DecodingError {
            throw ServingError.describing(error)
        } catch {
            throw ServingError(.badRequest, "bad_json", "the body is not valid JSON")
        }
    }

    func resolveModel(_ name: String?) throws -> ServedModel {
        guard let name else { return models[0] }
        guard let model = models.first(where: { $0.name == name }) else {
            throw ServingError(.notFound, "unknown_model",
                               "no model named \"\(name)\"; this server has \(models.map(\.name).joined(separator: ", ")) (GET /v1/models)")
        }
        return model
    }

    /// The request's search settings, checked; greedy requests share one key.
    func decodingKey(for request: TranslateRequest, model: ServedModel) throws -> DecodingKey {
        let alignment = request.alignment ?? false
        if alignment && !model.hasAttention {
            throw ServingError(.badRequest, "alignment_unavailable",
                               "alignments come from attention and model \"\(model.name)\" has none; use a model trained with --attention dot or general, or drop \"alignment\"")
        }
        // A request that asks for beams or an n-best list means beam search even on a --greedy server.
        let greedy = request.greedy ?? (request.beamSize == nil && request.nBest == nil ? defaultKey.greedy : false)
        let nBest = request.nBest ?? 1
        if nBest < 1 { throw ServingError.badRequest("n_best must be at least 1") }
        if greedy {
            if nBest > 1 { throw ServingError.badRequest("greedy decoding gives one hypothesis; it contradicts n_best \(nBest)") }
            if let beam = request.beamSize, beam != 1, request.greedy == true {
                throw ServingError.badRequest("greedy decoding has no beam; it contradicts beam_size \(beam)")
            }
            return DecodingKey(beamSize: 1, greedy: true, nBest: 1, alignment: alignment)
        }
        let beam = request.beamSize ?? max(defaultKey.beamSize, nBest)
        if beam < 1 || beam > limits.maxBeamSize {
            throw ServingError.badRequest("beam_size must be between 1 and \(limits.maxBeamSize)")
        }
        if nBest > beam { throw ServingError.badRequest("n_best \(nBest) exceeds beam_size \(beam): raise beam_size") }
        return DecodingKey(beamSize: beam, greedy: false, nBest: nBest, alignment: alignment)
    }

    func checkedSentences(_ request: TranslateRequest) throws -> [String] {
        let sentences = request.text
        if sentences.isEmpty { throw ServingError.badRequest("\"text\" is an empty list: send at least one sentence") }
        if sentences.count > limits.maxSentencesPerRequest {
            throw ServingError(.contentTooLarge, "too_many_sentences",
                               "\(sentences.count) sentences in one request; the limit is \(limits.maxSentencesPerRequest)")
        }
        if sentences.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) {
            throw ServingError.badRequest(request.isSingleSentence ? "\"text\" is empty" : "every sentence in \"text\" is empty")
        }
        return sentences
    }

    func sentence(_ translation: Translation, key: DecodingKey) -> TranslateResponse.Sentence {
        TranslateResponse.Sentence(
            source: translation.source, text: translation.text, score: translation.score,
            nBest: key.nBest > 1 ? translation.nBest.map { .init(text: $0.text, score: $0.score) } : nil,
            warning: translation.inputWasTruncated
                ? "input longer than \(maxInputLength) subword tokens; translated its beginning only" : nil,
            alignment: key.alignment ? translation.alignment : nil)
    }
}

/// Encodes `value` as a JSON response.
func encodeJSON<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return jsonResponse(try encoder.encode(value), status: status)
}

/// Counts every answered request by endpoint and status (`seq2seq_requests_total`).
struct MetricsCountingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServingMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let known = ["/v1/translate", "/v1/models", "/health", "/ready", "/metrics", "/admin/reload"]
        let endpoint = known.contains(request.uri.path) ? request.uri.path : "other"
        do {
            let response = try await next(request, context)
            metrics.countRequest(endpoint: endpoint, status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.countRequest(endpoint: endpoint, status: error.status.code)
            throw error
        }
    }
}
