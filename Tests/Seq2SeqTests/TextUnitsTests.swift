import Foundation
import Testing
@testable import Seq2Seq

@Suite struct TextUnitsTests {
    static let korean = "한국어 문장입니다. 읽고, 쓰고, 뷁! 값싼 닭\n둘째 줄: ㅋㅋㅋ 😀 e\u{301}"

    @Test func preparationKeepsWhitespaceAndComposes() throws {
        let raw = "\u{FEFF}def f(x):\r\n\treturn  x\r\ncafe\u{301} \u{1112}\u{1161}\u{11AB}\rend"
        let text = LanguageModelText.prepare(raw)
        #expect(text == "def f(x):\n\treturn  x\ncafé 한\nend")
        #expect(LanguageModelText.characterCount(text) == text.unicodeScalars.count)
    }

    @Test func badFilesGetOneLineErrors() throws {
        #expect(throws: LanguageModelError.invalidUTF8(path: "x.txt", line: 2, byteOffset: 4)) {
            try LanguageModelText.decode(Data([0x61, 0x62, 0x63, 0x0A, 0xFF, 0x64]), path: "x.txt")
        }
        #expect(throws: LanguageModelError.emptyText(path: "e.txt")) { try LanguageModelText.decode(Data(), path: "e.txt") }
        #expect(throws: LanguageModelError.emptyText(path: "e.txt")) { try LanguageModelText.decode(Data(" \n\t\n".utf8), path: "e.txt") }
        #expect(throws: LanguageModelError.self) { try LanguageModelText.read(path: "/nonexistent/file.txt") }
        #expect(throws: LanguageModelError.self) { try LanguageModelText.read(path: NSTemporaryDirectory()) }
    }

    @Test func characterUnitsRoundTrip() throws {
        let text = LanguageModelText.prepare(Self.korean + "\nHello,\tworld!")
        let units = try CharacterUnits(kind: .char, learningFrom: text)
        #expect(units.decode(units.encode(text)) == text)
        #expect(units.encode(text).count == text.unicodeScalars.count)
        #expect(units.alphabet.first == "<unk>" && units.lineBreak != nil)
        #expect(units.decode(units.encode("한Z")) == "한\u{FFFD}", "unseen characters are <unk>, shown as U+FFFD")
        let restored = try CharacterUnits(kind: .char, alphabet: units.alphabet)
        #expect(restored.identity == units.identity && restored.encode(text) == units.encode(text))
    }

    /// Jamo units: every syllable becomes 2–3 conjoining jamo, the alphabet stays small, and
    /// decoding recomposes exactly (NFC).
    @Test func jamoUnitsDecomposeAndRecompose() throws {
        let text = LanguageModelText.prepare(Self.korean)
        let units = try CharacterUnits(kind: .jamo, learningFrom: text)
        let ids = units.encode(text)
        #expect(ids.count > text.unicodeScalars.count)
        #expect(units.decode(ids) == text)
        #expect(!units.alphabet.contains("한") && units.alphabet.contains("\u{1112}") && units.alphabet.contains("\u{11AB}"))
        #expect(Hangul.decompose("닭") == ["\u{1103}", "\u{1161}", "\u{11B0}"])
        #expect(Hangul.decompose("a") == nil)
        // All 11,172 syllables survive the round trip.
        var all = String.UnicodeScalarView()
        for v in 0xAC00...0xD7A3 { all.append(Unicode.Scalar(UInt32(v))!) }
        let syllables = String(all)
        let full = try CharacterUnits(kind: .jamo, learningFrom: syllables)
        #expect(full.count == 1 + 19 + 21 + 27)
        #expect(full.decode(full.encode(syllables)) == syllables)
    }

    /// The streaming writer holds a syllable back until it cannot grow, and writes jamo that form
    /// no syllable as standalone letters, so sampled text is always displayable Hangul.
    @Test func jamoWriterStreamsWholeSyllables() throws {
        var composer = Hangul.Composer()
        let pieces = ["\u{1112}", "\u{1161}", "\u{11AB}", "\u{1100}", "\u{1173}", "\u{1105}", "!", "\u{1161}", "\u{11AF}"]
            .map { composer.append(Unicode.Scalar($0)!) }
        #expect(pieces == ["", "", "한", "", "", "그", "ㄹ!", "ㅏ", "ㄹ"])
        #expect(composer.finish() == "")
        var open = Hangul.Composer()
        #expect(open.append("\u{1100}") == "" && open.append("\u{1161}") == "" && open.finish() == "가")
    }

    @Test func subwordUnitsRoundTripLines() throws {
        let text = "the cat sat on the mat\nthe dog sat\n\non the log"
        let units = try SubwordUnits(learningFrom: String(repeating: text + "\n", count: 20), size: 300)
        let ids = units.encode(text)
        #expect(ids.filter { $0 == units.lineBreak }.count == 3)
        #expect(units.decode(ids) == text)
        var writer = units.makeWriter()
        #expect(ids.map { writer.append($0) }.joined() + writer.finish() == text, "streamed pieces add up to the text")
    }

    /// Bits per character are over the original characters: a jamo model and a char model that
    /// assign the same total loss to a text get the same figure.
    @Test func bitsPerCharacterUseOriginalCharacters() {
        let e = TextEvaluation(lossSum: 10 * log(2), unitCount: 25, characterCount: 10)
        #expect(abs(e.bitsPerCharacter - 1) < 1e-12)
        #expect(abs(e.loss - 10 * log(2) / 25) < 1e-12)
    }
}
