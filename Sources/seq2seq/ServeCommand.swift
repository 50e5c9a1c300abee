import ArgumentParser
import CommandLineSupport
import Foundation
import Seq2Seq
import Serving

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve trained models over HTTP (JSON), with dynamic batching.",
        discussion: """
            Endpoints: POST /v1/translate, GET /v1/models, GET /health, GET /ready, GET /metrics \
            (Prometheus). Requests that queue while the decoder is busy are decoded together, up to \
            --max-batch sentences, waiting at most --batch-window for the clients of the previous batch \
            (a lone request on an idle decoder starts at once); answers are the same as `translate` \
            gives with the same options.

            Under overload: past --max-queue waiting requests a request gets 429 with Retry-After; one \
            that waits longer than its "timeout_ms" or --max-request-time gets 504 and is not decoded; \
            a body slower than --client-timeout gets 408, and a silent connection is closed after twice that. \
            GET /ready answers 503 while a queue is full. \
            SIGTERM or Ctrl-C stops accepting connections, answers every request already received, \
            and exits 0. With --port 0 a free port is chosen; the address is printed on stdout.

            Examples:
              seq2seq serve --model model
              seq2seq serve --model en-ko=model-en-ko --model ko-en=model-ko-en --port 8080
              curl -s localhost:8080/v1/translate -d '{"text": ["hello", "thank you"], "beam_size": 5}'
            """)

    @Option(help: ArgumentHelp("Model directory to serve, as DIR or NAME=DIR (repeatable; the first is the default).",
                               valueName: "[NAME=]DIR"))
    var model: [String] = ["model"]

    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 exposes the server to the network).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0: pick a free one).")
    var port = 8080

    @Option(help: ArgumentHelp("Milliseconds the first queued request waits for others to batch with.", valueName: "ms"))
    var batchWindow: Double = 5

    @Option(help: "Most sentences decoded together in one batch.")
    var maxBatch = 32

    @Option(help: "Most requests waiting per model; more are answered 429 with Retry-After (0: no limit).")
    var maxQueue = 1024

    @Option(help: ArgumentHelp("Longest a request may wait for its translation; then 504 (0: no limit; a request's timeout_ms can only shorten it).", valueName: "ms"))
    var maxRequestTime: Double = 0

    @Option(help: ArgumentHelp("Longest wait for a request's body (then 408); a silent connection is closed after twice this.", valueName: "seconds"))
    var clientTimeout: Double = 10

    @Flag(inversion: .prefixedNo, help: "Decode with each model directory's vocabulary shortlist (shortlist.safetensors, written by `seq2seq train`); default: for every model that has one. /v1/models tells which do.")
    var shortlist: Bool?

    @Flag(help: "Let POST /admin/reload and SIGHUP reload every model from its directory (after retraining or replacing it) without dropping requests; a directory that does not load is refused and the old model keeps serving.")
    var allowReload = false

    @Option(help: "Default beams per sentence (a request's beam_size overrides it).")
    var beamSize = 5

    @Flag(help: "Greedy decoding by default (a request's greedy/beam_size overrides it).")
    var greedy = false

    @Option(help: ArgumentHelp("Length penalty α (GNMT), as for `translate`.", valueName: "α"))
    var lengthPenalty: Float = 0.6

    @Option(help: "Outputs are at most RATIO × source tokens + 10 tokens long.")
    var maxLengthRatio: Double = 2.0

    @Option(help: "Inputs longer than this many subword tokens are cut (the answer carries a warning), never dropped.")
    var maxInputLength = 200

    @Option(help: "Arithmetic of the decoder's products, as for `translate`: fp32 (as trained), int8 or bf16 (avx512_bf16 CPUs only). int8 decodes the small batches of light traffic faster too, within a few tenths of a chrF point.")
    var precision: DecodingPrecision = .fp32

    @Option(help: "Most sentences in one request.")
    var maxSentences = 256

    @Option(help: "Largest beam_size a request may ask for.")
    var maxBeamSize = 16

    @Option(help: ArgumentHelp("Largest request body in bytes.", valueName: "bytes"))
    var maxBodySize = 1 << 20

    @Option(help: "CPU threads for decoding (shared by all models).")
    var threads = 2

    @Option(help: ArgumentHelp(
        "Decoding workers per model (default: one per thread). Each decodes its own batches with its own copy of the model; with more than one, each keeps to one thread. More workers decode more sentences per second under load, at N times the model's memory.",
        valueName: "N"))
    var workers: Int?

    @Option(help: "Log level: \(TranslationServer.logLevels.joined(separator: ", ")).")
    var logLevel = "info"

    func validate() throws {
        for argument in model where ModelSpecification(argument: argument) == nil {
            throw ValidationError("--model '\(argument)': give DIR or NAME=DIR")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if !(batchWindow >= 0 && batchWindow <= 10_000) { throw ValidationError("--batch-window must be in 0...10000 ms") }
        if maxBatch < 1 { throw ValidationError("--max-batch must be at least 1") }
        if maxQueue < 0 { throw ValidationError("--max-queue must be ≥ 0 (0: no limit)") }
        if !(maxRequestTime >= 0 && maxRequestTime <= 86_400_000) { throw ValidationError("--max-request-time must be in 0...86400000 ms") }
        if !(clientTimeout > 0 && clientTimeout <= 86_400) { throw ValidationError("--client-timeout must be in (0, 86400] seconds") }
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        if maxBeamSize < 1 { throw ValidationError("--max-beam-size must be at least 1") }
        if beamSize > maxBeamSize { throw ValidationError("--beam-size \(beamSize) exceeds --max-beam-size \(maxBeamSize)") }
        if !lengthPenalty.isFinite || lengthPenalty < 0 { throw ValidationError("--length-penalty must be ≥ 0") }
        if !(maxLengthRatio > 0) { throw ValidationError("--max-length-ratio must be positive") }
        if maxInputLength < 1 { throw ValidationError("--max-input-length must be at least 1") }
        if maxSentences < 1 { throw ValidationError("--max-sentences must be at least 1") }
        if maxBodySize < 64 { throw ValidationError("--max-body-size must be at least 64 bytes") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        try DecodingOptions.checkAvailable(precision)
        if let workers, !(1...threads).contains(workers) {
            throw ValidationError("--workers must be in 1...\(threads) (--threads \(threads)); raise --threads to run more")
        }
        if !TranslationServer.logLevels.contains(logLevel) {
            throw ValidationError("--log-level must be one of \(TranslationServer.logLevels.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let workerCount = workers ?? threads
        ComputeThreads.configure(threads)
        var configuration = ServerConfiguration()
        configuration.workers = workerCount
        configuration.host = host
        configuration.port = port
        configuration.models = model.compactMap(ModelSpecification.init(argument:))
        configuration.decoding.beamSize = beamSize
        configuration.shortlist = shortlist
        configuration.allowReload = allowReload
        configuration.decoding.greedy = greedy
        configuration.decoding.lengthPenalty = lengthPenalty
        configuration.decoding.maxLengthRatio = maxLengthRatio
        configuration.decoding.maxInputLength = maxInputLength
        configuration.decoding.precision = precision
        configuration.batchWindow = batchWindow / 1000
        configuration.maxBatch = maxBatch
        configuration.maxQueue = maxQueue > 0 ? maxQueue : nil
        configuration.idleSeconds = 2 * clientTimeout
        configuration.limits.maxRequestSeconds = maxRequestTime > 0 ? maxRequestTime / 1000 : nil
        configuration.limits.bodySeconds = clientTimeout
        configuration.limits.maxSentencesPerRequest = maxSentences
        configuration.limits.maxBeamSize = maxBeamSize
        configuration.limits.maxBodyBytes = maxBodySize
        // A client closing its connection early must not end the server: writes then fail
        // with EPIPE, which the HTTP server handles. SIGTERM/SIGINT are taken over by the
        // server's graceful shutdown (Hummingbird's service group) once it starts.
        signal(SIGPIPE, SIG_IGN)
        TranslationServer.bootstrapLogging()
        try await TranslationServer(configuration: configuration, logLevel: logLevel).run { address in
            FileHandle.standardOutput.write(Data("listening on http://\(address)\n".utf8))
        }
    }
}
