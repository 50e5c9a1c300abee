import Foundation
import Hummingbird

/// A request the server refuses, answered with `status` and the JSON body
/// `{"error": {"message": "…", "type": "…"}}`. Every failure a client can cause
/// ends up as one of these, never as a crash.
public struct ServingError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    /// Stable machine-readable kind (`bad_json`, `bad_request`, `too_large`, …).
    public var type: String
    public var message: String
    /// Sent as `Retry-After` (429, 503): when the client may try again.
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ type: String, _ message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    static func badRequest(_ message: String) -> ServingError { ServingError(.badRequest, "bad_request", message) }

    public var description: String { "\(status.code) \(type): \(message)" }

    struct Body: Codable {
        struct Detail: Codable {
            var message: String
            var type: String
        }
        var error: Detail
    }

    /// The JSON body bytes.
    var bodyData: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(Body(error: .init(message: message, type: type))))
            ?? Data(#"{"error":{"message":"internal error","type":"internal"}}"#.utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = jsonResponse(bodyData, status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }

    /// A readable message for a `DecodingError` of the request body.
    static func describing(_ error: DecodingError) -> ServingError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let location = path(context.codingPath + [key])
            return .badRequest(location == "text" ? "missing field \"text\": send {\"text\": \"…\"} or {\"text\": [\"…\", …]}"
                                                  : "missing field \"\(location)\"")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let location = path(context.codingPath)
            if location.hasPrefix("text") {
                return .badRequest("\"text\" must be a string or a list of strings")
            }
            return .badRequest("field \"\(location)\" has the wrong type (\(expectedType(location)))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return ServingError(.badRequest, "bad_json", "the body is not valid JSON")
            }
            return .badRequest("field \"\(path(context.codingPath))\": \(context.debugDescription)")
        @unknown default:
            return .badRequest("unreadable request: \(error)")
        }
    }

    private static func expectedType(_ field: String) -> String {
        switch field {
        case "beam_size", "n_best": return "expected an integer"
        case "greedy", "alignment": return "expected true or false"
        case "model": return "expected a model name string"
        case "timeout_ms": return "expected an integer number of milliseconds"
        default: return "see the API in README.md"
        }
    }
}

/// A response with a JSON body.
func jsonResponse(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}

/// Turns every error that escapes a route (Hummingbird's own 404/405/413
/// included) into a `ServingError` JSON body, so clients always get JSON.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServingError {
            throw error
        } catch let error as any HTTPResponseError {
            let message: String
            switch error.status {
            case .notFound: message = "no such endpoint: \(request.method) \(request.uri.path); see GET /v1/models, POST /v1/translate, GET /health, GET /ready, GET /metrics"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge: message = "request body too large"
            default: message = error.status.reasonPhrase
            }
            throw ServingError(error.status, "http", message)
        } catch {
            context.logger.error("request failed: \(error)")
            throw ServingError(.internalServerError, "internal", "internal error: \(error)")
        }
    }
}
