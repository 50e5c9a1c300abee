import Testing
@testable import Tokenize

struct WordSplitterTests {
    /// (input, words with ▁ for "starts a word"), as ICU's UBRK_WORD rules give them.
    static let table: [(String, [String])] = [
        ("Hello, world!", ["▁Hello", ",", "▁world", "!"]),
        ("iPhone을 샀다", ["▁iPhone", "을", "▁샀다"]),
        ("3월 3일", ["▁3", "월", "▁3", "일"]),
        ("나는 학교에 갑니다.", ["▁나는", "▁학교에", "▁갑니다", "."]),
        ("3.14 and 1,000.5", ["▁3.14", "▁and", "▁1,000.5"]),
        ("It's don't", ["▁It's", "▁don't"]),
        ("https://example.com/a", ["▁https", ":", "/", "/", "example.com", "/", "a"]),
        ("mail me@example.co.kr", ["▁mail", "▁me@example.co.kr"]),
        ("👩🏽‍💻 and 👨‍👩‍👧", ["▁👩🏽‍💻", "▁and", "▁👨‍👩‍👧"]),
        ("a\tb\u{3000}c", ["▁a", "▁b", "▁c"]),
        ("...", ["▁.", ".", "."]),
        ("", []),
        ("   ", []),
    ]

    @Test(arguments: table)
    func splits(input: String, expected: [String]) throws {
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .nfkc))
        let words = splitter.split(input)
        #expect(words.map(\.description) == expected)
        #expect(words.allSatisfy { !$0.text.contains(" ") && !$0.text.isEmpty })
    }

    @Test func ruleStatusTellsNumbersFromLetters() throws {
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .nfkc))
        let words = splitter.split("abc 42 , 大韓民國")
        let kinds = words.map { $0.ruleStatus / 100 }
        #expect(Array(kinds.prefix(3)) == [2, 1, 0])
        #expect(kinds.count > 3 && kinds.dropFirst(3).allSatisfy { $0 == 4 })
    }

    @Test(arguments: hardCases)
    func wordsAndSpacesRebuildTheNormalizedText(input: String) throws {
        let normalizer = try Normalizer(form: .nfkc)
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .nfkc))
        var rebuilt = ""
        for (i, w) in splitter.split(input).enumerated() {
            if w.startsWord && i > 0 { rebuilt += " " }
            rebuilt += w.text
        }
        #expect(rebuilt == normalizer.normalize(input))
    }

    @Test func longWordsAreChunkedWithoutSplittingSurrogates() throws {
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .nfkc))
        let word = String(repeating: "a𝄞", count: 100)   // 300 UTF-16 units, one ICU word
        let words = splitter.split(word)
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.text.utf16.count <= WordSplitter.maximumWordUnits })
        #expect(words.map(\.text).joined() == word)
        #expect(words.enumerated().allSatisfy { $0.element.startsWord == ($0.offset == 0) })
    }

    @Test func iteratorIsReusedAcrossLines() throws {
        let splitter = try WordSplitter(normalizer: try Normalizer(form: .nfkc))
        let first = splitter.split("one two")
        _ = splitter.split("완전히 다른 문장입니다")
        #expect(splitter.split("one two") == first)
    }
}
