import Tokenize

/// normalize → tokenize → detokenize on arbitrary bytes (invalid UTF-8 becomes
/// U+FFFD, as the line reader does), for every normalization form. Properties,
/// per line: `decode(encode(x)) == normalize(x)`, the text format
/// (`detokenize(line: pieces joined by spaces)`) gives the same, and no output
/// holds a newline — so the number of lines is kept.
enum RoundTripTarget: FuzzTarget {
    nonisolated(unsafe) static var tokenizers: [Tokenizer] = {
        let text = ["the cat sat on the mat", "고양이가 매트 위에 앉았다", "e\u{301}te\u{301} 👩🏽‍💻 ① Ｆｕｌｌ",
                    "ㅋㅋㅋ 大韓民國 Ελληνικά", "https://example.com/a?b=c"]
        return NormalizationForm.allCases.compactMap { form in
            let vocabulary = try? VocabularyPair.learn(sources: text, targets: text,
                                                       options: VocabularyOptions(size: 400, normalization: form, minimumFrequency: 1))
            return try? vocabulary?.tokenizer(for: .source)
        }
    }()

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        for tokenizer in tokenizers {
            for line in lines {
                let normalized = tokenizer.normalize(line)
                if normalized.utf8.contains(0x0A) { violation("normalize kept a newline") }
                let ids = tokenizer.encode(line)
                guard tokenizer.decode(ids) == normalized else {
                    violation("decode(encode(x)) != normalize(x) for \(line.debugDescription) (\(tokenizer.normalization))")
                }
                let pieces = tokenizer.tokenize(line)
                if pieces.contains(where: { $0.utf8.contains(0x0A) || $0.utf8.contains(0x20) }) {
                    violation("a piece holds a space or newline")
                }
                guard Detokenizer.detokenize(line: pieces.joined(separator: " ")) == normalized else {
                    violation("text-format round trip failed for \(line.debugDescription)")
                }
            }
        }
    }

    static var seeds: [[UInt8]] {
        ["Hello, world!\n안녕", "e\u{301}\u{200D}👨‍👩‍👧 ▁▁ <0x41>\u{1B}\r\n", "\u{FEFF}\t\u{2028}x\u{0}y"].map { Array($0.utf8) }
            + [[0xFF, 0xC3, 0x28, 0x0A, 0xE2, 0x82]]
    }
}
