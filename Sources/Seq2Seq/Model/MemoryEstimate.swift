#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Memory a model configuration needs for a job, estimated before anything is
/// allocated, so that `--hidden 100000000` or `--beam-size 100000000` is
/// refused with a figure instead of ending in "Fatal error: out of memory".
///
/// Figures are bytes (as `Double`: the products of absurd sizes do not fit in
/// an `Int`). They count the large float buffers — parameters, gradients and
/// Adam moments, per-token activation buffers, decoder rows — and not the
/// small bookkeeping around them, so a job fits when the estimate does, with
/// some room to spare.
public struct MemoryEstimate: Sendable, Equatable, CustomStringConvertible {
    /// Weights, plus gradients and the two Adam moments when training: 4 bytes × parameters × copies.
    public var parameters: Double
    /// Buffers that grow with the batch: LSTM caches, output-layer logits, decoder rows.
    public var activations: Double

    /// Everything.
    public var total: Double { parameters + activations }

    public var description: String {
        "\(MemoryEstimate.format(total)) (parameters \(MemoryEstimate.format(parameters)), "
            + "batch buffers \(MemoryEstimate.format(activations)))"
    }

    /// `1.5 GiB`, `320 MiB`, `12 KiB`.
    public static func format(_ bytes: Double) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(Int(value)) bytes" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }
}

extension ModelConfiguration {
    /// Largest vocabulary size accepted (ids are `Int32`; 16 M tokens is far beyond any real vocabulary).
    public static let maximumVocabularySize = 1 << 24
    /// Largest embedding or hidden size accepted.
    public static let maximumWidth = 1 << 20
    /// Largest number of layers accepted.
    public static let maximumLayerCount = 1024

    /// Throws `ModelError.invalidConfiguration` when a size is beyond the limits
    /// above. Within them every tensor size and `parameterCount` fit in an
    /// `Int`, so the layout can be computed (and a memory estimate made) without
    /// overflow; call it before `parameterShapes` on sizes from a file or a user.
    public func checkSizeLimits() throws {
        let vocabularies = [("source vocabulary size", sourceVocabularySize), ("target vocabulary size", targetVocabularySize)]
        if let problem = Self.sizeLimitProblem(vocabularies: vocabularies, embeddingSize: embeddingSize,
                                               hiddenSize: hiddenSize, layerCount: layerCount) {
            throw ModelError.invalidConfiguration(problem)
        }
    }

    /// The one size check of every model kind (translation and language models): the first of
    /// the named vocabulary sizes, the embedding and hidden sizes and the layer count that is
    /// beyond its limit, as "hidden size 2000000 exceeds the limit 1048576"; nil when all fit.
    static func sizeLimitProblem(vocabularies: [(String, Int)], embeddingSize: Int, hiddenSize: Int,
                                 layerCount: Int) -> String? {
        let limits = vocabularies.map { ($0.0, $0.1, maximumVocabularySize) } + [
            ("embedding size", embeddingSize, maximumWidth),
            ("hidden size", hiddenSize, maximumWidth),
            ("layer count", layerCount, maximumLayerCount),
        ]
        return limits.first { $0.1 > $0.2 }.map { "\($0.0) \($0.1) exceeds the limit \($0.2)" }
    }


    /// `parameterCount` computed in floating point from `parameterShapes`, so that it
    /// cannot overflow for absurd sizes (the layout is built for up to
    /// `maximumLayerCount` layers; more are counted as that many).
    public var parameterCountEstimate: Double {
        var capped = self
        capped.layerCount = min(layerCount, Self.maximumLayerCount)
        let count = capped.parameterShapes.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
        return count * Double(layerCount) / Double(max(capped.layerCount, 1)) // rough beyond the cap
    }

    /// Bytes one LSTM stack keeps per packed token during training: per layer the
    /// gates and their gradient [4H] twice, c, tanh c, h, h_{t−1} [H] each, the
    /// input and its dropout mask [I] each; plus the two ping-pong gradient buffers.
    private func trainingBytesPerToken() -> Double {
        let (E, H) = (Double(embeddingSize), Double(hiddenSize))
        var floats = 2 * max(E, H)
        floats += 12 * H * Double(layerCount) + 2 * E + 2 * H * Double(max(0, layerCount - 1))
        return 4 * floats
    }

    /// Memory to train on batches of at most `rows` sentence pairs holding at most
    /// `sourceTokens` and `targetTokens` tokens (target tokens counting `</s>`):
    /// parameters × 4 copies (weights, gradients, Adam m and v), both LSTM stacks'
    /// caches, the output layer's logits/gradient [Nt, V] and its input gradient [Nt, H],
    /// and greedy dev translation of 64 sentences at a time.
    public func trainingMemory(rows: Int, sourceTokens: Int, targetTokens: Int) -> MemoryEstimate {
        let (H, V) = (Double(hiddenSize), Double(targetVocabularySize))
        let perToken = trainingBytesPerToken()
        var activations = perToken * Double(sourceTokens) + perToken * Double(targetTokens)
        activations += 4 * Double(targetTokens) * (V + H)                      // logits [Nt, V], dTop [Nt, H]
        activations += 4 * Double(rows) * Double(layerCount) * H * 8           // initial/final states and their gradients
        activations += attentionBytes(rows: rows, sourceTokens: sourceTokens, targetTokens: targetTokens, training: true)
        let validation = decodingMemory(rows: 64, sourceTokens: sourceTokens, maxOutputLength: 2 * sourceTokens + 10)
        return MemoryEstimate(parameters: 4 * 4 * parameterCountEstimate,
                              activations: activations + validation.activations)
    }

    /// Memory to translate with `rows` decoder rows at once (sentences per batch ×
    /// beam size), `sourceTokens` source tokens in the batch and outputs of at most
    /// `maxOutputLength` tokens: the weights (once), the encoder's caches, and per
    /// decoder row the states [L, H] ×4, the step buffers, two rows of
    /// log-probabilities [V] and the hypotheses' tokens.
    public func decodingMemory(rows: Int, sourceTokens: Int, maxOutputLength: Int) -> MemoryEstimate {
        let (E, H, L, V) = (Double(embeddingSize), Double(hiddenSize), Double(layerCount), Double(targetVocabularySize))
        let perRow = 4 * (4 * L * H + max(E, H) + 6 * H + 2 * V) + 16 * Double(maxOutputLength)
        let encoder = trainingBytesPerToken() / 2 * Double(sourceTokens)
        let decoderWeights = 4 * L * 4 * H * (max(E, H) + H)                    // [W_ih, W_hh] copies per layer
        let attention = attentionBytes(rows: rows, sourceTokens: sourceTokens, targetTokens: rows, training: false)
        return MemoryEstimate(parameters: 4 * parameterCountEstimate,
                              activations: perRow * Double(rows) + encoder + decoderWeights + attention)
    }

    /// With attention: the source memory [Ns, H] (and its projection and gradient), the
    /// scores/weights [Nt, S] for each target token over its sentence's source, and the
    /// context and attentional vectors [Nt, 2H]; twice over for the backward pass.
    private func attentionBytes(rows: Int, sourceTokens: Int, targetTokens: Int, training: Bool) -> Double {
        guard attention != .none else { return 0 }
        let H = Double(hiddenSize)
        let sourceLength = Double(sourceTokens) / Double(max(rows, 1))
        let copies: Double = training ? 2 : 1
        return 4 * copies * (3 * Double(sourceTokens) * H + Double(targetTokens) * (2 * sourceLength + 4 * H))
    }
}

/// The machine's memory, from `/proc/meminfo` (and a cgroup v2 limit when one is set).
public struct SystemMemory: Sendable, Equatable {
    /// Bytes that can be allocated without swapping (`MemAvailable`, capped by the cgroup's free room).
    public var available: Double
    /// Installed memory (`MemTotal`, capped by the cgroup limit).
    public var total: Double

    /// The current figures, or nil where `/proc/meminfo` is unavailable (then no check is made).
    public static func current() -> SystemMemory? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Double? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let kib = Double(parts[1]) else { return nil }
            return kib * 1024
        }
        guard let total = field("MemTotal") else { return nil }
        var memory = SystemMemory(available: field("MemAvailable") ?? total, total: total)
        if let limitText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let limit = Double(limitText.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let used = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8))
                .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            memory.total = min(memory.total, limit)
            memory.available = min(memory.available, max(0, limit - used))
        }
        return memory
    }
}

/// A job needs more memory than the machine has available.
public struct InsufficientMemoryError: Error, CustomStringConvertible, Equatable {
    /// What was being set up, e.g. "training with --hidden 100000000 …".
    public var job: String
    public var estimate: MemoryEstimate
    public var memory: SystemMemory
    /// What to change, e.g. "lower --hidden, --layers or --batch-size".
    public var advice: String

    public var description: String {
        "\(job) needs about \(estimate) of memory, but this machine has \(MemoryEstimate.format(memory.available)) "
            + "available (\(MemoryEstimate.format(memory.total)) installed); \(advice)"
    }
}

extension MemoryEstimate {
    /// Throws `InsufficientMemoryError` when the estimate exceeds the available memory.
    /// Does nothing where the machine's memory cannot be read.
    public func require(for job: String, advice: String, memory: SystemMemory? = SystemMemory.current()) throws {
        guard let memory, total > memory.available else { return }
        throw InsufficientMemoryError(job: job, estimate: self, memory: memory, advice: advice)
    }
}

extension Translator {
    /// The estimate for decoding batches of `batchSize` sentences of at most
    /// `options.maxInputLength` tokens with the current options.
    public func decodingMemory(batchSize: Int) -> MemoryEstimate {
        func product(_ a: Int, _ b: Int) -> Int {
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? .max : value
        }
        let rows = product(batchSize, options.greedy ? 1 : options.beamSize)
        let sourceTokens = product(batchSize, options.maxInputLength)
        return model.configuration.decodingMemory(
            rows: rows, sourceTokens: sourceTokens,
            maxOutputLength: options.maxOutputLength(sourceLength: options.maxInputLength))
    }
}
