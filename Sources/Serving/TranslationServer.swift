import Foundation
import Hummingbird
import Logging
import Seq2Seq

/// Everything `seq2seq serve` can be told.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// TCP port; 0 picks a free one (the chosen address is printed on stdout).
    public var port = 8080
    /// Models to serve; the first answers requests that name none.
    public var models: [ModelSpecification] = []
    /// Server-wide decoding settings (length penalty, maximum lengths, default beam size).
    public var decoding = TranslationOptions()
    /// Decode with each model directory's vocabulary shortlist (nil: for those that have one).
    public var shortlist: Bool?
    /// Seconds the oldest queued request waits for others to batch with.
    public var batchWindow: TimeInterval = 0.005
    /// Most sentences decoded together.
    public var maxBatch = 32
    /// Decoding threads per model, each decoding its own batches with its own copy of the model.
    public var workers = 1
    /// `POST /admin/reload` and SIGHUP reload the models from their directories.
    public var allowReload = false
    /// Most requests waiting per model; more are answered 429 (nil: no limit).
    public var maxQueue: Int?
    /// Seconds a connection may stay silent (no request bytes) before it is closed
    /// (longer than `limits.bodySeconds`, so a slow body is answered 408 first).
    public var idleSeconds: Double = 20
    public var limits = ServingLimits()

    public init() {}
}

/// Errors of starting the server (a request never produces one of these).
public enum ServerError: Error, CustomStringConvertible, Equatable {
    case noModels
    case duplicateModelName(String)
    case addressInUse(String)

    public var description: String {
        switch self {
        case .noModels: return "no model to serve; give --model DIR or --model NAME=DIR"
        case .duplicateModelName(let name):
            return "two --model arguments are named \"\(name)\"; name them apart with --model NAME=DIR"
        case .addressInUse(let address):
            return "\(address) is already in use (another server?); stop it or choose another --port (0 picks a free one)"
        }
    }
}

/// `seq2seq serve`: loads the models, starts each model's decoding workers and
/// the Hummingbird HTTP server, and runs until SIGTERM or SIGINT. On that
/// signal the server stops accepting connections, answers every request
/// already received (Hummingbird's graceful shutdown), lets the decoding
/// threads drain, and returns normally.
public struct TranslationServer {
    public let configuration: ServerConfiguration
    let logger: Logger

    /// - Parameter logLevel: swift-log level name (trace, debug, info, notice, warning, error, critical).
    public init(configuration: ServerConfiguration, logLevel: String = "info") {
        self.configuration = configuration
        var logger = Logger(label: "seq2seq.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        self.logger = logger
    }

    /// Sends every log line (ours and Hummingbird's) to standard error, so
    /// standard output carries only the "listening on" line. Call once per process.
    public static func bootstrapLogging() {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
    }

    /// The level names `init(logLevel:)` accepts.
    public static let logLevels = Logger.Level.allCases.map(\.rawValue)

    /// Runs until a shutdown signal; `onListening` gets the bound address ("127.0.0.1:8080").
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let config = configuration
        guard !config.models.isEmpty else { throw ServerError.noModels }
        var seen = Set<String>()
        for model in config.models where !seen.insert(model.name).inserted {
            throw ServerError.duplicateModelName(model.name)
        }
        let metrics = ServingMetrics()
        var served: [ServedModel] = []
        defer { for model in served { model.batcher.stop() } }
        for specification in config.models {
            let model = try ServedModel(name: specification.name, path: specification.path, options: config.decoding,
                                        shortlist: config.shortlist, window: config.batchWindow, maxBatch: config.maxBatch, maxQueue: config.maxQueue,
                                        workers: config.workers, metrics: metrics)
            served.append(model)
            logger.info("model \(model.name): \(model.summary)")
        }
        let reloader = ModelReloader(models: served, enabled: config.allowReload, logger: logger)
        let hangUp = reloader.watchHangUp()
        defer { hangUp?.cancel() }
        let routes = TranslationRoutes(
            models: served,
            defaultKey: DecodingKey(beamSize: config.decoding.beamSize, greedy: config.decoding.greedy, nBest: 1),
            maxInputLength: config.decoding.maxInputLength, limits: config.limits, metrics: metrics, reloader: reloader)
        let logger = self.logger
        let app = Application(
            router: routes.makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.idleSeconds * 1000)))),
            configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port),
                                                    serverName: "seq2seq"),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? config.host):\($0.port ?? config.port)" }
                    ?? "\(config.host):\(config.port)"
                logger.info("listening on http://\(address) (batch window \(Int(config.batchWindow * 1000)) ms, max batch \(config.maxBatch), \(config.workers) decoding worker\(config.workers == 1 ? "" : "s") per model)")
                onListening(address)
            },
            logger: logger)
        do {
            try await app.runService()
        } catch where "\(error)".contains("Address already in use") {   // NIO's IOError, errno EADDRINUSE
            throw ServerError.addressInUse("\(config.host):\(config.port)")
        }
        logger.info("stopped accepting requests; every request received was answered")
    }
}
