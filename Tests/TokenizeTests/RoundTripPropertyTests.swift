import Foundation
import Testing
@testable import Tokenize

/// Property: for random text — Hangul syllables and jamo, combining marks, emoji
/// with ZWJ, skin tones and variation selectors, controls, zero-width and
/// bidi characters, odd spaces, CJK, Arabic, lone invalid UTF-8 bytes —
/// `detokenize(tokenize(x)) == normalize(x)` for every line under every
/// normalization, and the number of lines is kept (no output holds a newline).
/// Deterministic (fixed seeds) so a failure reproduces; the failing line is printed.
struct RoundTripPropertyTests {
    /// Code point ranges drawn from, each with a weight.
    static let pools: [(ClosedRange<UInt32>, Int)] = [
        (0x20...0x7E, 6),          // ASCII
        (0xAC00...0xD7A3, 6),      // Hangul syllables
        (0x1100...0x11FF, 2),      // conjoining jamo
        (0x3131...0x318E, 1),      // compatibility jamo
        (0x0300...0x036F, 3),      // combining marks
        (0x1F300...0x1FAFF, 3),    // emoji
        (0x1F3FB...0x1F3FF, 1),    // skin tones
        (0x200D...0x200D, 2),      // ZWJ
        (0xFE0E...0xFE0F, 1),      // variation selectors
        (0xE0020...0xE007F, 1),    // emoji tag characters
        (0x00...0x1F, 2),          // C0 controls (tab, CR, ESC, NUL …)
        (0x7F...0x9F, 1),          // DEL and C1 controls
        (0x2000...0x206F, 2),      // spaces, zero-width, bidi, line/paragraph separators
        (0x00A0...0x00FF, 1),      // Latin-1 (NBSP, soft hyphen)
        (0xFF01...0xFF5E, 1),      // full-width forms
        (0x4E00...0x9FFF, 1),      // CJK
        (0x0600...0x06FF, 1),      // Arabic
        (0x2580...0x2582, 1),      // the word-boundary mark ▁ and neighbours
        (0xE000...0xF8FF, 1),      // private use
        (0xFFF0...0xFFFF, 1),      // specials, noncharacters
    ]

    /// Random bytes: UTF-8 of drawn code points, now and then a newline or an invalid byte.
    static func randomBytes(_ random: inout SplitMix) -> [UInt8] {
        let totalWeight = pools.reduce(0) { $0 + $1.1 }
        var bytes: [UInt8] = []
        let length = Int(random.next() % 40)
        for _ in 0..<length {
            let roll = random.next() % 100
            if roll < 3 { bytes.append(0x0A); continue }
            if roll < 7 { bytes.append(UInt8(0x80 + random.next() % 0x80)); continue }   // invalid UTF-8
            var pick = Int(random.next() % UInt64(totalWeight))
            var range = pools[0].0
            for (r, weight) in pools {
                if pick < weight { range = r; break }
                pick -= weight
            }
            let value = range.lowerBound + UInt32(random.next() % UInt64(range.count))
            if let scalar = Unicode.Scalar(value) { bytes += Array(String(scalar).utf8) }
        }
        return bytes
    }

    static let vocabularies: [VocabularyPair] = NormalizationForm.allCases.compactMap { form in
        try? VocabularyPair.learn(pairs: tinyPairs() + hardCases.map { (source: $0, target: $0) },
                                  options: VocabularyOptions(size: 600, normalization: form, minimumFrequency: 1))
    }

    @Test func randomTextRoundTripsAndKeepsItsLines() throws {
        #expect(Self.vocabularies.count == NormalizationForm.allCases.count)
        var random = SplitMix(seed: 2024)
        var checkedLines = 0
        for _ in 0..<1500 {
            let bytes = Self.randomBytes(&random)
            let text = String(decoding: bytes, as: UTF8.self)
            let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            for vocabulary in Self.vocabularies {
                let tokenizer = try vocabulary.tokenizer(for: .source)
                var outputs: [String] = []
                for line in lines {
                    let normalized = tokenizer.normalize(line)
                    let pieces = tokenizer.tokenize(line)
                    let back = tokenizer.detokenize(pieces)
                    #expect(back == normalized, "\(tokenizer.normalization): \(line.debugDescription) → \(back.debugDescription), normalized \(normalized.debugDescription)")
                    #expect(tokenizer.decode(tokenizer.encode(line)) == normalized, "\(line.debugDescription)")
                    #expect(Detokenizer.detokenize(line: pieces.joined(separator: " ")) == normalized, "\(line.debugDescription)")
                    outputs.append(back)
                    checkedLines += 1
                }
                let joined = outputs.joined(separator: "\n")
                #expect(joined.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).count == lines.count,
                        "line count changed for \(text.debugDescription)")
            }
        }
        #expect(checkedLines > 4000)
    }
}
