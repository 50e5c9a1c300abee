import Prometheus

/// The server's Prometheus metrics (`GET /metrics`, text exposition format):
///
/// - `seq2seq_requests_total{endpoint, status}`: answered HTTP requests
/// - `seq2seq_sentences_total{model}`: sentences translated
/// - `seq2seq_source_tokens_total{model}`: subword tokens of those sentences' sources
/// - `seq2seq_target_tokens_total{model}`: subword tokens of their translations
/// - `seq2seq_request_duration_seconds{model}`: histogram of translate-request latency
/// - `seq2seq_batch_sentences{model}`: histogram of dynamic batch sizes
/// - `seq2seq_batch_duration_seconds{model}`: histogram of decoding time per batch
/// - `seq2seq_queue_sentences{model}`: sentences in flight (queued or decoding)
public final class ServingMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    static let latencyBuckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    public init() {}

    /// `seq2seq_<metric>_<unit>` with its help line.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "seq2seq", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts one answered request.
    public func countRequest(endpoint: String, status: Int) {
        registry.makeCounter(descriptor: Self.name("requests", "total", "HTTP requests answered, by endpoint and status code"),
                             labels: [("endpoint", endpoint), ("status", String(status))]).increment()
    }

    /// Records one successful translate request of `sentences` sentences.
    public func recordTranslation(model: String, sentences: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.name("sentences", "total", "Sentences translated"),
                             labels: [("model", model)]).increment(by: Int64(sentences))
        registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Latency of POST /v1/translate, from body received to answer ready"),
            labels: [("model", model)], buckets: Self.latencyBuckets).record(duration)
    }

    /// Records one decoded batch.
    public func recordBatch(model: String, _ batch: BatchReport) {
        registry.makeCounter(descriptor: Self.name("source_tokens", "total", "Subword tokens of translated source sentences"),
                             labels: [("model", model)]).increment(by: Int64(batch.sourceTokens))
        registry.makeCounter(descriptor: Self.name("target_tokens", "total", "Subword tokens of the translations produced"),
                             labels: [("model", model)]).increment(by: Int64(batch.targetTokens))
        registry.makeValueHistogram(descriptor: Self.name("batch", "sentences", "Sentences per dynamic batch"),
                                    labels: [("model", model)], buckets: Self.batchBuckets)
            .record(Double(batch.sentences))
        registry.makeDurationHistogram(descriptor: Self.name("batch_duration", "seconds", "Decoding time per dynamic batch"),
                                       labels: [("model", model)], buckets: Self.latencyBuckets)
            .record(Duration.nanoseconds(Int64(batch.seconds * 1e9)))
    }

    /// Adds `delta` to the in-flight sentence gauge.
    public func adjustInFlight(model: String, by delta: Int) {
        registry.makeGauge(descriptor: Self.name("queue", "sentences", "Sentences queued or being decoded"),
                           labels: [("model", model)]).increment(by: Double(delta))
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
