import Foundation
import Testing
@testable import Seq2Seq

/// Vocabulary shortlists: learning, the file format, and decoding with them (fp32, int8, greedy,
/// beam, ensembles, batch invariance).
@Suite struct ShortlistTests {
    static let (Vs, Vt) = (60, 300)

    static func model(_ architecture: ModelArchitecture, seed: UInt64 = 7) throws -> Seq2SeqModel {
        let config = ModelConfiguration(sourceVocabularySize: Vs, targetVocabularySize: Vt, embeddingSize: 16, hiddenSize: 32,
                                        layerCount: 2, cell: architecture.cell, encoder: architecture.encoder,
                                        attention: architecture.attention, inputFeeding: architecture.inputFeeding)
        return try Seq2SeqModel(configuration: config, seed: seed, initScale: 0.3)
    }

    static let architectures = [ModelArchitecture.original,
                                ModelArchitecture(cell: .gru, encoder: .bi, attention: .general, inputFeeding: true)]

    /// A shortlist of the frequent tokens 4..<4+frequent and, for source token s, candidates
    /// 100 + 3s ..< 100 + 3s + 3 (wrapping inside the vocabulary).
    static func syntheticShortlist(frequent: Int) throws -> VocabularyShortlist {
        try VocabularyShortlist(sourceVocabularySize: Vs, targetVocabularySize: Vt,
                                frequent: (0..<Int32(frequent)).map { 4 + $0 },
                                candidates: (0..<Vs).map { s in (0..<3).map { Int32((100 + 3 * s + $0) % Vt) } })
    }

    /// Greedy (beam nil) or beam search over `sources` with an optional shortlist.
    static func decode(_ models: [Seq2SeqModel], _ sources: [[Int32]], shortlist: VocabularyShortlist?, beam: Int?,
                       precision: DecodingPrecision = .fp32) throws -> [Hypothesis] {
        let batch = shortlist?.batch(sources: sources)
        let capacity = sources.count * (beam ?? 1)
        var scorer = EnsembleStepScorer(members: try models.map {
            ModelStepScorer(state: try $0.makeDecoderState(for: try $0.encode(sources: sources), capacity: capacity,
                                                           precision: precision, shortlist: batch))
        })
        let lengths = sources.map { _ in 12 }
        if let beam {
            return try BeamSearch(beamSize: beam, lengthPenalty: LengthPenalty(alpha: 0.6), beginOfSentence: 2, endOfSentence: 3)
                .search(&scorer, maxOutputLengths: lengths).map { $0[0] }
        }
        return try GreedySearch(beginOfSentence: 2, endOfSentence: 3).search(&scorer, maxOutputLengths: lengths)
    }

    // MARK: Decoding

    /// A shortlist holding every token gives the same log-probabilities (to rounding) and the same
    /// greedy and beam outputs as no shortlist, in fp32 and int8.
    @Test(arguments: architectures, DecodingPrecision.allCases)
    func shortlistOfEveryTokenChangesNothing(_ architecture: ModelArchitecture, precision: DecodingPrecision) throws {
        let model = try Self.model(architecture)
        var random = RandomGenerator(seed: 5)
        let sources = randomSequences(7, lengths: 2...9, vocabulary: Self.Vs, random: &random)
        let everything = try VocabularyShortlist(sourceVocabularySize: Self.Vs, targetVocabularySize: Self.Vt,
                                                 frequent: (0..<Int32(Self.Vt)).reversed(),
                                                 candidates: [[Int32]](repeating: [], count: Self.Vs))
        #expect(everything.batch(sources: sources).tokens.count == Self.Vt)
        let encoded = try model.encode(sources: sources)
        let full = try model.makeDecoderState(for: encoded, precision: precision)
        let listed = try model.makeDecoderState(for: encoded, precision: precision, shortlist: everything.batch(sources: sources))
        var tokens = [Int32](repeating: 2, count: sources.count)
        for _ in 0..<5 {
            let p = Array(try full.step(tokens: tokens)), q = Array(try listed.step(tokens: tokens))
            expectClose(q, p, abs: 2e-5, "log-probabilities with every token shortlisted")
            tokens = (0..<sources.count).map { r in Int32((0..<Self.Vt).max { p[r * Self.Vt + $0] < p[r * Self.Vt + $1] }!) }
        }
        for beam in [nil, 4] {
            let plain = try Self.decode([model], sources, shortlist: nil, beam: beam, precision: precision)
            let shortlisted = try Self.decode([model], sources, shortlist: everything, beam: beam, precision: precision)
            #expect(plain.map(\.tokens) == shortlisted.map(\.tokens), "beam \(beam ?? 1)")
            expectClose(shortlisted.map(\.score), plain.map(\.score), abs: 1e-4, "scores, beam \(beam ?? 1)")
        }
    }

    /// With a partial shortlist each row is the full distribution renormalized over its own
    /// sentence's shortlist, −∞ elsewhere: log p_s(t) = log p(t) − log Σ_{u ∈ shortlist} p(u).
    @Test(arguments: DecodingPrecision.allCases)
    func partialShortlistRenormalizesPerSentence(precision: DecodingPrecision) throws {
        let model = try Self.model(Self.architectures[1])
        let sources: [[Int32]] = [[5, 9, 11], [40, 41], [5, 5, 59, 2, 30, 1]]
        let shortlist = try Self.syntheticShortlist(frequent: 20)
        let batch = shortlist.batch(sources: sources)
        let encoded = try model.encode(sources: sources)
        let rows = [0, 0, 1, 2, 2, 2]                                     // beams of different sentences
        let full = try model.makeDecoderState(for: encoded, sourceRows: rows, precision: precision)
        let listed = try model.makeDecoderState(for: encoded, sourceRows: rows, precision: precision, shortlist: batch)
        var tokens: [Int32] = [2, 2, 2, 2, 2, 2]
        for step in 0..<4 {
            let p = Array(try full.step(tokens: tokens)), q = Array(try listed.step(tokens: tokens))
            for (r, s) in rows.enumerated() {
                let allowed = Set(shortlist.tokens(forSource: sources[s]))
                #expect(allowed.isSuperset(of: [3] + (4..<24).map { Int32($0) } + sources[s].flatMap { shortlist.candidates[Int($0)] }))
                let row = Array(p[r * Self.Vt..<(r + 1) * Self.Vt])
                let logZ = Float(log(allowed.map { exp(Double(row[Int($0)])) }.reduce(0, +)))
                var expected = [Float](repeating: -.infinity, count: Self.Vt)
                for t in allowed { expected[Int(t)] = row[Int(t)] - logZ }
                let actual = Array(q[r * Self.Vt..<(r + 1) * Self.Vt])
                #expect(zip(actual, expected).allSatisfy { ($0 == -.infinity) == ($1 == -.infinity) }, "step \(step) row \(r): −∞ pattern")
                expectClose(actual.filter(\.isFinite), expected.filter(\.isFinite), abs: 1e-4, "step \(step) row \(r)")
            }
            tokens = (0..<rows.count).map { r in Int32((0..<Self.Vt).max { q[r * Self.Vt + $0] < q[r * Self.Vt + $1] }!) }
            #expect(zip(tokens, rows).allSatisfy { shortlist.tokens(forSource: sources[$1]).contains($0) })
        }
    }

    /// A sentence's translation with a shortlist does not depend on its batch: decoded with
    /// others (a larger union of shortlists) or alone, greedy and beam, fp32 and int8.
    @Test(arguments: DecodingPrecision.allCases)
    func shortlistedDecodingIsBatchInvariant(precision: DecodingPrecision) throws {
        let model = try Self.model(Self.architectures[1], seed: 11)
        var random = RandomGenerator(seed: 9)
        let sources = randomSequences(12, lengths: 1...10, vocabulary: Self.Vs, random: &random)
        let shortlist = try Self.syntheticShortlist(frequent: 30)
        for beam in [nil, 3] {
            let batched = try Self.decode([model], sources, shortlist: shortlist, beam: beam, precision: precision)
            for (s, source) in sources.enumerated() {
                let alone = try Self.decode([model], [source], shortlist: shortlist, beam: beam, precision: precision)[0]
                #expect(alone.tokens == batched[s].tokens, "sentence \(s), beam \(beam ?? 1)")
                #expect(abs(alone.score - batched[s].score) <= 1e-4, "sentence \(s), beam \(beam ?? 1)")
                let allowed = Set(shortlist.tokens(forSource: source))
                #expect(batched[s].tokens.allSatisfy(allowed.contains), "sentence \(s) left its shortlist")
            }
        }
    }

    /// An ensemble with a shortlist scores the mean of its members' shortlisted log-probabilities
    /// and never leaves the shortlist.
    @Test func ensembleWithShortlist() throws {
        let models = [try Self.model(Self.architectures[0], seed: 3), try Self.model(Self.architectures[1], seed: 4)]
        let sources: [[Int32]] = [[1, 2, 3], [7, 8]]
        let shortlist = try Self.syntheticShortlist(frequent: 10)
        let batch = shortlist.batch(sources: sources)
        let states = try models.map { try $0.makeDecoderState(for: try $0.encode(sources: sources), shortlist: batch) }
        let members = try models.map { ModelStepScorer(state: try $0.makeDecoderState(for: try $0.encode(sources: sources), shortlist: batch)) }
        let ensemble = EnsembleStepScorer(members: members)
        var mean = [Float](repeating: 0, count: 2 * Self.Vt)
        try mean.withUnsafeMutableBufferPointer { try ensemble.step(tokens: [2, 2], logProbabilities: $0) }
        let a = Array(try states[0].step(tokens: [2, 2])), b = Array(try states[1].step(tokens: [2, 2]))
        for i in mean.indices {
            if a[i] == -.infinity { #expect(mean[i] == -.infinity) } else { #expect(abs(mean[i] - (a[i] + b[i]) / 2) <= 1e-6) }
        }
        let hypotheses = try Self.decode(models, sources, shortlist: shortlist, beam: 2)
        for (s, h) in hypotheses.enumerated() { #expect(h.tokens.allSatisfy(Set(shortlist.tokens(forSource: sources[s])).contains)) }
    }

    /// Shortlists that do not fit the batch or the model are refused with typed errors.
    @Test func mismatchedShortlistsAreRefused() throws {
        let model = try Self.model(.original)
        let encoded = try model.encode(sources: [[1, 2], [3]])
        #expect(throws: ModelError.self) {
            try model.makeDecoderState(for: encoded, shortlist: BatchShortlist(tokens: [3], members: [[0]]))
        }
        #expect(throws: ModelError.self) {
            try model.makeDecoderState(for: encoded, shortlist: BatchShortlist(tokens: [3, Int32(Self.Vt)], members: [[0], [1]]))
        }
        #expect(throws: ModelError.self) {
            try model.makeDecoderState(for: encoded, shortlist: BatchShortlist(tokens: [3], members: [[0], [1]]))
        }
    }

    // MARK: Learning

    /// The frequent list is the most frequent target tokens in order; a source token's first
    /// candidate is the target token that always comes with it, frequent tokens are left out and
    /// at most K are kept; a sentence's shortlist holds </s>, the frequent tokens and its candidates.
    @Test func learnsFrequentTokensAndCandidates() throws {
        var pairs: [(source: [Int32], target: [Int32])] = []
        for i in 0..<40 {
            // Target 10 in every pair (most frequent), 11 in every other, 12 in every fourth.
            var target: [Int32] = [10, 10]
            if i % 2 == 0 { target.append(11) }
            if i % 4 == 0 { target.append(12) }
            var source: [Int32] = [Int32(20 + i % 5)]        // source 20…24 in turn
            target.append(Int32(200 + i % 5))                 // …always with target 200…204
            if i % 3 == 0 { source.append(7); target.append(150) }   // source 7 with 150 (also a rare 151)
            if i == 3 { target.append(151) }
            pairs.append((source, target))
        }
        let shortlist = try VocabularyShortlist.learn(
            pairs: pairs, sourceVocabularySize: Self.Vs, targetVocabularySize: Self.Vt,
            settings: ShortlistSettings(frequentCount: 2, candidateCount: 2))
        #expect(shortlist.frequent == [10, 11])
        for s in 20..<25 {
            #expect(shortlist.candidates[s].first == Int32(200 + s - 20), "source \(s): \(shortlist.candidates[s])")
            #expect(shortlist.candidates[s].count == 2)
            #expect(!shortlist.candidates[s].contains(10) && !shortlist.candidates[s].contains(11))
        }
        #expect(shortlist.candidates[7].first == 150)
        #expect(shortlist.candidates[0].isEmpty)
        let list = shortlist.tokens(forSource: [7, 22])
        #expect(list == list.sorted() && Set(list).count == list.count)
        #expect(Set(list).isSuperset(of: [3, 10, 11, 150, 202]))
        #expect(Set(list) == Set([3] + shortlist.frequent + shortlist.candidates[7] + shortlist.candidates[22]))
        // The batch form: the union, and each sentence's own tokens as positions in it.
        let batch = shortlist.batch(sources: [[7], [22], []])
        #expect(batch.tokens == Set(batch.tokens).sorted())
        for (s, source) in [[Int32(7)], [22], []].enumerated() {
            #expect(batch.members[s].map { batch.tokens[Int($0)] } == shortlist.tokens(forSource: source))
        }
    }

    @Test func learningRefusesInvalidSettings() {
        #expect(throws: ShortlistError.self) {
            try VocabularyShortlist.learn(pairs: [], sourceVocabularySize: 10, targetVocabularySize: 10,
                                          settings: ShortlistSettings(frequentCount: -1))
        }
        #expect(throws: ShortlistError.self) {
            try VocabularyShortlist.learn(pairs: [], sourceVocabularySize: 0, targetVocabularySize: 10)
        }
    }

    // MARK: File

    @Test func fileRoundTrips() throws {
        let shortlist = try VocabularyShortlist(sourceVocabularySize: 3, targetVocabularySize: 20, frequent: [9, 4],
                                                candidates: [[5, 6, 7], [], [19]], sourceVocabulary: "a#source",
                                                targetVocabulary: "a#target")
        let bytes = [UInt8](try shortlist.serialized())
        #expect(try VocabularyShortlist(bytes: bytes) == shortlist)
        #expect(throws: ShortlistError.self) {
            try shortlist.check(sourceVocabulary: "b#source", targetVocabulary: "a#target", sourceVocabularySize: 3,
                                targetVocabularySize: 20, path: "x")
        }
        #expect(throws: ShortlistError.self) {
            try shortlist.check(sourceVocabulary: "a#source", targetVocabulary: "a#target", sourceVocabularySize: 3,
                                targetVocabularySize: 21, path: "x")
        }
    }

    /// Malformed files throw a typed error with a one-line message; none traps.
    @Test func malformedFilesGiveOneLineTypedErrors() throws {
        func file(_ tensors: [String: SafeTensors.Tensor], _ metadata: [String: String]) throws -> [UInt8] {
            [UInt8](try SafeTensors(tensors: tensors, metadata: metadata).serialized())
        }
        let good = ["format": "seq2seq-shortlist", "format_version": "1", "target_vocabulary_size": "20"]
        let frequent = SafeTensors.Tensor(integers: [4, 5], shape: [2])
        let table = SafeTensors.Tensor(integers: [5, -1, 6, 7], shape: [2, 2])
        var cases: [(String, [UInt8])] = [
            ("empty", []),
            ("truncated", Array(try file(["frequent": frequent, "candidates": table], good).dropLast(5))),
            ("not safetensors", Array("seq2seq-shortlist 1\n4 5\n".utf8)),
            ("no format tag", try file(["frequent": frequent, "candidates": table], ["target_vocabulary_size": "20"])),
            ("future version", try file(["frequent": frequent, "candidates": table], good.merging(["format_version": "2"]) { $1 })),
            ("no target size", try file(["frequent": frequent, "candidates": table], good.filter { $0.key != "target_vocabulary_size" })),
            ("huge target size", try file(["frequent": frequent, "candidates": table], good.merging(["target_vocabulary_size": "99999999999"]) { $1 })),
            ("missing candidates", try file(["frequent": frequent], good)),
            ("float tensor", try file(["frequent": .init(floats: [4, 5], shape: [2]), "candidates": table], good)),
            ("candidates of rank 1", try file(["frequent": frequent, "candidates": .init(integers: [5, 6], shape: [2])], good)),
            ("no source rows", try file(["frequent": frequent, "candidates": .init(integers: [], shape: [0, 2])], good)),
            ("frequent id too large", try file(["frequent": .init(integers: [4, 20], shape: [2]), "candidates": table], good)),
            ("negative candidate", try file(["frequent": frequent, "candidates": .init(integers: [5, -2, 6, 7], shape: [2, 2])], good)),
            ("huge candidate", try file(["frequent": frequent, "candidates": .init(integers: [5, Int64.max, 6, 7], shape: [2, 2])], good)),
        ]
        // Flipped bytes of a good file (checksums, JSON or values break; nothing may trap).
        let valid = try file(["frequent": frequent, "candidates": table], good)
        _ = try VocabularyShortlist(bytes: valid)
        var random = RandomGenerator(seed: 17)
        for i in 0..<40 {
            var damaged = valid
            damaged[Int.random(in: 0..<damaged.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            cases.append(("flipped byte \(i)", damaged))
        }
        for (name, bytes) in cases {
            do {
                _ = try VocabularyShortlist(bytes: bytes, path: "DIR/shortlist.safetensors")
                #expect(name.hasPrefix("flipped"), "\(name): accepted")
            } catch let error as ShortlistError {
                #expect(!error.description.contains("\n") && error.description.contains("shortlist.safetensors"), "\(name): \(error)")
            } catch let error as SafeTensorsError {
                #expect(!error.description.contains("\n") && error.description.contains("shortlist.safetensors"), "\(name): \(error)")
            }
        }
        #expect(throws: ShortlistError.notFound(path: "/nonexistent/shortlist.safetensors")) {
            try VocabularyShortlist(contentsOf: "/nonexistent/shortlist.safetensors")
        }
    }
}
