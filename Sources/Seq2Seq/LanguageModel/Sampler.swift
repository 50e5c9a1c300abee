import Foundation

/// How `Sampler` draws units.
public struct SamplingOptions: Sendable, Equatable {
    /// Softmax temperature T: p ∝ exp(z / T). 0 = argmax (greedy); below 1 sharpens, above 1 flattens.
    public var temperature: Float = 1
    /// Draw only among the K most likely units (nil = all).
    public var topK: Int?
    /// Characters to generate after the prime.
    public var length = 500
    /// Seed of the draws: the same seed, model and prime give the same text.
    public var seed: UInt64 = 1

    public init(temperature: Float = 1, topK: Int? = nil, length: Int = 500, seed: UInt64 = 1) {
        self.temperature = temperature
        self.topK = topK
        self.length = length
        self.seed = seed
    }
}

/// Generates text from a language model one unit at a time, as the lecture notes' sampler:
/// feed the prime, then repeatedly draw the next unit from softmax(z / T) and feed it back.
///
/// Each step runs the model's own forward (`LanguageModel.feed`: the `RecurrentStack` with the
/// cells' row functions), one row from the carried state.
public final class Sampler {
    public let model: LanguageModel
    public let units: any TextUnits
    private let categorical: CategoricalDraw

    public init(model: LanguageModel, units: any TextUnits) throws {
        guard units.count == model.configuration.vocabularySize else {
            throw LanguageModelError.invalidConfiguration(
                "the units have \(units.count) entries but the model's vocabulary has \(model.configuration.vocabularySize)")
        }
        self.model = model
        self.units = units
        categorical = CategoricalDraw(capacity: units.count)
    }

    /// Generates `options.length` characters after `prime` (prepared text; empty = start as after
    /// a line break, or from a random unit if the vocabulary has none). `emit` receives the prime
    /// and then the generated text piece by piece as soon as it is final. Returns all of it.
    @discardableResult
    public func sample(prime: String, options: SamplingOptions, emit: (String) -> Void = { _ in }) throws -> String {
        var random = RandomGenerator(seed: options.seed)
        var writer = units.makeWriter()
        var output = ""
        func write(_ piece: String) {
            guard !piece.isEmpty else { return }
            output += piece
            emit(piece)
        }
        var ids = units.encode(prime)
        if ids.isEmpty {
            if let lineBreak = units.lineBreak {
                ids = [lineBreak]                          // start as at the beginning of a line; not printed
            } else {
                let start = draw(Array(repeating: 0, count: units.count), options: SamplingOptions(temperature: 1), random: &random)
                ids = [start]
                write(writer.append(start))
            }
        } else {
            for id in ids { write(writer.append(id)) }
        }
        let primeCharacters = output.unicodeScalars.count
        let state = RecurrentState(configuration: model.configuration, rows: 1)
        var logits = try model.feed(ids, state: state)
        var next: [Int32] = [0]
        while output.unicodeScalars.count - primeCharacters < options.length {
            let id = draw(logits, count: units.count, options: options, random: &random)
            write(writer.append(id))
            next[0] = id
            logits = try model.feed(next, state: state)
        }
        write(writer.finish())
        return output
    }

    private func draw(_ logits: [Float], options: SamplingOptions, random: inout RandomGenerator) -> Int32 {
        logits.withUnsafeBufferPointer { draw($0.baseAddress!, count: $0.count, options: options, random: &random) }
    }

    /// Draws one unit from logits `[V]` (`CategoricalDraw`): argmax at T = 0, else softmax(z / T)
    /// restricted to the top K, never a reserved unit (`<unk>`, specials).
    func draw(_ z: UnsafePointer<Float>, count V: Int, options: SamplingOptions,
              random: inout RandomGenerator) -> Int32 {
        let reserved = units.reservedIDs
        return categorical.draw(z, count: V, temperature: options.temperature, topK: options.topK,
                                excluding: { reserved.contains($0) }, random: &random) ?? 0
    }
}
