import Testing
@testable import Tokenize

struct NormalizerTests {
    /// (input, expected NFKC, expected NFC)
    static let table: [(String, String, String)] = [
        ("Ｆｕｌｌ－ｗｉｄｔｈ", "Full-width", "Ｆｕｌｌ－ｗｉｄｔｈ"),
        ("①②", "12", "①②"),
        ("㈜", "(주)", "㈜"),
        ("ﬁle", "file", "ﬁle"),
        ("\u{1112}\u{1161}\u{11AB}", "한", "한"),
        ("ㅋㅋ", "\u{110F}\u{110F}", "ㅋㅋ"),
        ("e\u{301}", "\u{E9}", "\u{E9}"),
        ("a\u{00A0}b\u{3000}c\u{2028}d\te\u{2029}f", "a b c d e f", "a b c d e f"),
        ("  lead  and   trail  ", "lead and trail", "lead and trail"),
        ("x\u{200B}y\u{FEFF}z\u{2060}w", "xyzw", "xyzw"),
        ("co\u{00AD}op", "coop", "coop"),
        ("a\u{200D}b", "ab", "ab"),
        ("a\u{0007}b\u{007F}c\u{0085}d", "abc d", "abc d"),
        ("\u{200E}left\u{200F}", "left", "left"),
        ("👩🏽‍💻", "👩🏽‍💻", "👩🏽‍💻"),
        ("👨‍👩‍👧", "👨‍👩‍👧", "👨‍👩‍👧"),
        ("❤️", "❤️", "❤️"),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"),
        ("It's 3.14", "It's 3.14", "It's 3.14"),
        ("https://example.com/a?b=1", "https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("iPhone을 3월", "iPhone을 3월", "iPhone을 3월"),
        ("", "", ""),
        ("  \t \u{3000} ", "", ""),
    ]

    @Test(arguments: table)
    func nfkcAndNFC(input: String, nfkc: String, nfc: String) throws {
        #expect(try Normalizer(form: .nfkc).normalize(input) == nfkc)
        #expect(try Normalizer(form: .nfc).normalize(input) == nfc)
    }

    @Test func icuIsLinked() {
        #expect(icuVersion().split(separator: ".").count >= 2)
    }

    @Test func noneKeepsCompatibilityCharactersButCleansSpaces() throws {
        let n = try Normalizer(form: .none)
        #expect(n.normalize("Ａ\u{00A0}①  e\u{301}\u{200B}") == "Ａ ① e\u{301}")
    }

    @Test(arguments: hardCases)
    func idempotent(input: String) throws {
        for form in NormalizationForm.allCases {
            let n = try Normalizer(form: form)
            let once = n.normalize(input)
            #expect(n.normalize(once) == once, "form \(form)")
            #expect(!once.hasPrefix(" ") && !once.hasSuffix(" ") && !once.contains("  "))
            #expect(!once.unicodeScalars.contains { $0.value == 0x200B || $0.value == 0xFEFF || $0.value == 0x09 })
        }
    }

    @Test func emojiZWJKeptOnlyInsideEmoji() throws {
        let n = try Normalizer(form: .nfkc)
        let family = "👨\u{200D}👩\u{200D}👧"
        #expect(n.normalize("x" + family + "\u{200D}y").unicodeScalars.filter { $0.value == 0x200D }.count == 2)
    }

    @Test func longLineIsLinear() throws {
        let n = try Normalizer(form: .nfkc)
        let line = String(repeating: "가나다 abc ", count: 100_000)   // ~1 MB
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = n.normalize(line) }
        #expect(elapsed < .seconds(2))
        #expect(n.normalize(line).utf8.count == line.utf8.count - 1)
    }
}
