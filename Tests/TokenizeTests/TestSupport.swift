import Foundation
import Testing
@testable import Tokenize

/// Hard Unicode inputs used by the round-trip tests of every stage.
let hardCases: [String] = [
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３",             // full-width Latin and digits
    "① ② ⑩ ㈜ ㎏ ﬁ ™",                                 // compatibility characters
    "\u{1112}\u{1161}\u{11AB}\u{1100}\u{1173}\u{11AF}", // decomposed Hangul jamo (한글)
    "ㅋㅋㅋ ㅎㅎ ㅠㅠ",                                 // Hangul compatibility jamo
    "👩🏽‍💻 👨‍👩‍👧‍👦 👍🏿 ❤️ 🏴󠁧󠁢󠁳󠁣󠁴󠁿 1️⃣",                 // emoji: ZWJ, skin tones, VS16, tags, keycap
    "e\u{301}te\u{301} n\u{303} a\u{308}\u{304} Z\u{335}\u{32A}", // combining marks
    "iPhone을 샀어요 3월 5일 GPU가",                    // mixed scripts
    "3.14 1,000.5 -2e10 $5.00 50% 2024-01-01 12:30",    // numbers
    "It's don't I'm you're rock 'n' roll",              // contractions
    "https://example.com/a/b?c=1&d=2#frag http://x.kr", // URLs
    "mail me@example.co.kr or a.b+c@d.org",             // e-mail
    "tab\there\tand\t\tthere",                          // tabs
    "odd\u{00A0}spaces\u{3000}every\u{2028}where\u{2029}x\u{2003}y\u{202F}z", // odd spaces
    "zero\u{200B}width\u{FEFF}chars\u{2060}and\u{00AD}soft", // zero-width characters
    "  leading and trailing   ",
    "literal ▁ mark and ▁▁ twice",
    "大韓民國 カタカナ ひらがな Ελληνικά Русский العربية",
    "<pad> <unk> <s> </s> <0x41>",                       // special-token look-alikes
    "((a)) [b] {c} «d» “e” ‘f’ — … ·",
    "",
]

/// Shared corpus folder: `<package root>/../shared/corpora`, or nil.
func sharedCorporaFolder() -> String? {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let folder = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpora").path
    return FileManager.default.fileExists(atPath: folder) ? folder : nil
}

/// A small fixed corpus for learning vocabularies in tests.
func tinyPairs() -> [(source: String, target: String)] {
    let english = ["I like tea.", "I like green tea.", "She likes coffee.", "We drink tea every day.",
                   "The cat sleeps.", "The dog sleeps too.", "It's raining today.", "Is it raining?"]
    let korean = ["나는 차를 좋아해요.", "나는 녹차를 좋아해요.", "그녀는 커피를 좋아해요.", "우리는 매일 차를 마셔요.",
                  "고양이가 자요.", "개도 자요.", "오늘 비가 와요.", "비가 와요?"]
    var pairs: [(source: String, target: String)] = []
    for _ in 0..<3 { for (e, k) in zip(english, korean) { pairs.append((e, k)) } }
    return pairs
}

/// A fresh temporary folder for one test.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "tokenize-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
