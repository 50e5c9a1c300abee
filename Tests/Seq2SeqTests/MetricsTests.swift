import Foundation
import Testing
@testable import Seq2Seq

// BLEU / chrF against sacreBLEU 2.6.0: hand-computed cases that always run, and
// every score in ../shared/reference/metrics/expected.json when it is present.

// MARK: - Always-on, hand-computed

@Test func identicalCorpusScoresOneHundred() throws {
    let lines = ["The cat sat on the mat.", "Hello, world!", "Is it 3.5 or 4,000?"]
    let bleu = try BLEU().corpusScore(hypotheses: lines, references: lines)
    #expect(abs(bleu.score - 100) < 1e-9)
    #expect(bleu.brevityPenalty == 1)
    let chrf = try ChrF().corpusScore(hypotheses: lines, references: lines)
    #expect(abs(chrf.score - 100) < 1e-9)
    let ko = ["안녕하세요.", "나는 학생이에요."]
    #expect(abs(try BLEU(tokenizer: .char).corpusScore(hypotheses: ko, references: ko).score - 100) < 1e-9)
}

@Test func emptyHypothesesScoreZeroWithoutCrashing() throws {
    let refs = ["How cute!", "", "Tom left."]
    let empty = ["", "", ""]
    for tok in BLEUTokenizer.allCases {
        let s = try BLEU(tokenizer: tok).corpusScore(hypotheses: empty, references: refs)
        #expect(s.score == 0)
        #expect(s.brevityPenalty == 0)
        #expect(s.hypothesisLength == 0)
        #expect(BLEU(tokenizer: tok, effectiveOrder: true).sentenceScore(hypothesis: "", reference: "a b").score == 0)
    }
    #expect(try ChrF().corpusScore(hypotheses: empty, references: refs).score == 0)
    // Empty corpus, and empty reference with a non-empty hypothesis.
    #expect(try BLEU().corpusScore(hypotheses: [], references: []).score == 0)
    #expect(try ChrF().corpusScore(hypotheses: [], references: []).score == 0)
    #expect(BLEU().sentenceScore(hypothesis: "a b c d", reference: "").score == 0)
    #expect(ChrF().sentenceScore(hypothesis: "abc", reference: "").score == 0)
    #expect(ChrF().sentenceScore(hypothesis: "", reference: "").score == 0)
}

@Test func mismatchedLineCountsThrow() {
    #expect(throws: MetricError.lineCountMismatch(hypotheses: 1, references: 2)) {
        try BLEU().corpusScore(hypotheses: ["a"], references: ["a", "b"])
    }
    #expect(throws: MetricError.lineCountMismatch(hypotheses: 2, references: 0)) {
        try ChrF().corpusScore(hypotheses: ["a", "b"], references: [])
    }
}

@Test func bleuHandComputedCase() throws {
    // hyp "the cat the cat on mat ."  -> 13a tokens: the cat the cat on mat .   (7)
    // ref "the cat is on the mat."    -> 13a tokens: the cat is on the mat .    (7)
    // 1-grams: hyp the×2 cat×2 on mat . ; ref the×2 cat is on mat .  -> clipped 2+1+1+1+1 = 6 / 7
    // 2-grams: hyp "the cat"×2 "cat the" "cat on" "on mat" "mat ." ; ref has "the cat"×1,
    //          "on the", "the mat", "mat ." -> matches "the cat"(1) + "mat ."(1) = 2 / 6
    // 3-grams: none of hyp's 5 occur in ref (ref: the cat is, cat is on, is on the, on the mat, the mat .) -> 0 / 5
    // 4-grams: 0 / 4
    // exp smoothing: p3 = 100/(2·5) = 10, p4 = 100/(4·4) = 6.25; BP = 1 (7 = 7)
    // BLEU = exp((ln(600/7) + ln(100/3) + ln 10 + ln 6.25) / 4)
    let s = BLEU().sentenceScore(hypothesis: "the cat the cat on mat .", reference: "the cat is on the mat.")
    #expect(s.counts == [6, 2, 0, 0])
    #expect(s.totals == [7, 6, 5, 4])
    #expect(s.hypothesisLength == 7 && s.referenceLength == 7)
    let expected = exp((log(600.0 / 7) + log(100.0 / 3) + log(10.0) + log(6.25)) / 4)
    #expect(abs(s.score - expected) < 1e-9)
    #expect(abs(s.precisions[2] - 10) < 1e-12 && abs(s.precisions[3] - 6.25) < 1e-12)

    // Brevity: hyp "a b" vs ref "a b c d": counts [2,1,0,0] totals [2,1,0,0];
    // eff order 2: p = [100, 100]; BP = exp(1 - 4/2) = e^-1 -> 100/e; without eff order: 0.
    let eff = BLEU(effectiveOrder: true).sentenceScore(hypothesis: "a b", reference: "a b c d")
    #expect(abs(eff.score - 100 * exp(-1.0)) < 1e-9)
    #expect(BLEU().sentenceScore(hypothesis: "a b", reference: "a b c d").score == 0)
}

@Test func chrFHandComputedCase() {
    // hyp "ab c" -> "abc", ref "abd" (whitespace removed).
    // n=1: hyp a b c, ref a b d -> 2 matches / 3 / 3;  n=2: ab bc vs ab bd -> 1 / 2 / 2
    // n=3: abc vs abd -> 0 / 1 / 1;  n=4..6: no n-grams on either side (not averaged).
    // P = R = (2/3 + 1/2 + 0) / 3 = 7/18;  chrF2 = 100 · 5 P R / (4P + R) = 100 · 7/18
    let s = ChrF().sentenceScore(hypothesis: "ab c", reference: "abd")
    #expect(s.statistics.hypothesisCounts == [3, 2, 1, 0, 0, 0])
    #expect(s.statistics.matchCounts == [2, 1, 0, 0, 0, 0])
    #expect(abs(s.score - 700.0 / 18) < 1e-9)
    // Hypothesis shorter than the reference: P = 1, R = (2/3 + 1/2) / 2 = 7/12 at orders 1, 2.
    // "ab" vs "abc": n=1 2/2 match, ref 3; n=2 1/1, ref 2; n=3 hyp 0 -> skipped.
    let t = ChrF().sentenceScore(hypothesis: "ab", reference: "abc")
    let p = 1.0, r = (2.0 / 3 + 1.0 / 2) / 2
    #expect(abs(t.score - 100 * 5 * p * r / (4 * p + r)) < 1e-9)
}

@Test(arguments: [
    // (input, sacreBLEU 13a tokens joined by spaces), checked against Python's `re.sub`
    // with sacreBLEU's four patterns. Note "e.g." -> "e . g ." and ".5" -> ". 5":
    // the period rules only spare a period/comma that touches a digit on the other side.
    ("Hello, world!", "Hello , world !"),
    ("It costs $3.50, or 4,000 won.", "It costs $ 3.50 , or 4,000 won ."),
    ("don't re-enter 1990-2000 e.g.", "don't re-enter 1990 - 2000 e . g ."),
    ("&quot;quoted&quot; &amp;lt; a&amp;b", "\" quoted \" < a & b"),
    ("x<skipped>y line-\nbreak\nnext", "xy linebreak next"),
    ("(a)[b]{c}/d:e;f?g@h#i%j^k_l`m|n~o*p+q=r", "( a ) [ b ] { c } / d : e ; f ? g @ h # i % j ^ k _ l ` m | n ~ o * p + q = r"),
    ("...", ". . ."), (".5 and 5. and a.b", ". 5 and 5 . and a . b"),
    ("a.,b 1.,2 3,.4 x-1-2", "a . , b 1 . , 2 3 , . 4 x-1 - 2"),
    ("한국어 문장입니다.", "한국어 문장입니다 ."),
    ("tab\tand\u{3000}ideographic\u{A0}space\u{1C}!", "tab and ideographic space !"),
])
func tokenizer13aMatchesRegexes(input: String, expected: String) {
    #expect(BLEUTokenizer.thirteenA.tokenize(input).joined(separator: " ") == expected)
}

@Test func charTokenizerWorksOnCodePoints() {
    #expect(BLEUTokenizer.char.tokenize("나는 학생.") == ["나", "는", "학", "생", "."])
    // A combining accent is its own code point in Python, so its own token.
    #expect(BLEUTokenizer.char.tokenize("e\u{301}") == ["e", "\u{301}"])
    // Swift's String == would call these equal (canonical equivalence); sacreBLEU does not.
    #expect(BLEU(tokenizer: .char).sentenceScore(hypothesis: "\u{E9}", reference: "e\u{301}").counts[0] == 0)
}

@Test func signaturesMatchSacreBLEUFormat() {
    #expect(BLEU().signature == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0")
    #expect(BLEU(tokenizer: .char, effectiveOrder: true).signature
            == "nrefs:1|case:mixed|eff:yes|tok:char|smooth:exp|version:2.6.0")
    #expect(ChrF().signature == "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0")
}

// MARK: - Against sacreBLEU's output in ../shared/reference/metrics

private let metricsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/reference/metrics")

private struct Reference {
    var expected: [String: Any]
    var lines: [String: [String]]  // "hyp.en" -> lines
}

/// Whether `../shared/reference/metrics` is beside the package (the tests below are skipped otherwise).
private let metricsReferenceExists = FileManager.default.fileExists(
    atPath: metricsDirectory.appendingPathComponent("expected.json").path)

private func loadReference() throws -> Reference {
    let json = metricsDirectory.appendingPathComponent("expected.json")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json))
    guard let expected = object as? [String: Any] else { throw ReferenceError.malformed("expected.json") }
    var lines: [String: [String]] = [:]
    for name in ["hyp.en", "ref.en", "hyp.ko", "ref.ko"] {
        let text = try String(contentsOf: metricsDirectory.appendingPathComponent(name), encoding: .utf8)
        var parts = text.components(separatedBy: "\n")
        if parts.last == "" { parts.removeLast() }  // drop only the final empty string
        lines[name] = parts
    }
    return Reference(expected: expected, lines: lines)
}

private enum ReferenceError: Error { case malformed(String) }

private func dictionary(_ any: Any?, _ path: String) throws -> [String: Any] {
    guard let d = any as? [String: Any] else { throw ReferenceError.malformed(path) }
    return d
}

private func expectBLEU(_ s: BLEUScore, _ e: [String: Any], _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
    let score = try #require(e["score"] as? Double, sourceLocation: sourceLocation)
    #expect(abs(s.score - score) <= 1e-6, "\(what): score \(s.score) vs \(score)", sourceLocation: sourceLocation)
    #expect(s.counts == (e["counts"] as? [Int]), "\(what): counts", sourceLocation: sourceLocation)
    #expect(s.totals == (e["totals"] as? [Int]), "\(what): totals", sourceLocation: sourceLocation)
    let precisions = try #require(e["precisions"] as? [Double], sourceLocation: sourceLocation)
    #expect(zip(s.precisions, precisions).allSatisfy { abs($0 - $1) <= 1e-6 } && precisions.count == 4,
            "\(what): precisions \(s.precisions) vs \(precisions)", sourceLocation: sourceLocation)
    let bp = try #require(e["bp"] as? Double, sourceLocation: sourceLocation)
    #expect(abs(s.brevityPenalty - bp) <= 1e-12, "\(what): bp", sourceLocation: sourceLocation)
    #expect(s.hypothesisLength == (e["sys_len"] as? Int), "\(what): sys_len", sourceLocation: sourceLocation)
    #expect(s.referenceLength == (e["ref_len"] as? Int), "\(what): ref_len", sourceLocation: sourceLocation)
    #expect(s.signature == (e["signature"] as? String), "\(what): signature", sourceLocation: sourceLocation)
}

private func expectChrF(_ s: ChrFScore, _ e: [String: Any], _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
    let score = try #require(e["score"] as? Double, sourceLocation: sourceLocation)
    #expect(abs(s.score - score) <= 1e-6, "\(what): score \(s.score) vs \(score)", sourceLocation: sourceLocation)
    let stats = try #require(e["stats_hyp_ref_match_per_order"] as? [[Int]], sourceLocation: sourceLocation)
    let mine = (0..<ChrF.characterOrder).map {
        [s.statistics.hypothesisCounts[$0], s.statistics.referenceCounts[$0], s.statistics.matchCounts[$0]]
    }
    #expect(mine == stats, "\(what): statistics", sourceLocation: sourceLocation)
    #expect(s.signature == (e["signature"] as? String), "\(what): signature", sourceLocation: sourceLocation)
}

@Test(.enabled(if: metricsReferenceExists, "../shared/reference/metrics is not beside the package"))
func corpusScoresMatchSacreBLEU() throws {
    let ref = try loadReference()
    let corpus = try dictionary(ref.expected["corpus"], "corpus")
    var checked = 0
    for lang in ["en", "ko"] {
        let hyps = try #require(ref.lines["hyp.\(lang)"]), refs = try #require(ref.lines["ref.\(lang)"])
        #expect(hyps.count == 50 && refs.count == 50)
        let entries = try dictionary(corpus[lang], "corpus.\(lang)")
        for (key, value) in entries {
            let e = try dictionary(value, "corpus.\(lang).\(key)")
            switch key {
            case "bleu_13a":
                try expectBLEU(try BLEU().corpusScore(hypotheses: hyps, references: refs), e, "\(lang) \(key)")
            case "bleu_char":
                try expectBLEU(try BLEU(tokenizer: .char).corpusScore(hypotheses: hyps, references: refs), e, "\(lang) \(key)")
            case "chrf":
                try expectChrF(try ChrF().corpusScore(hypotheses: hyps, references: refs), e, "\(lang) \(key)")
            default:
                Issue.record("unknown corpus metric \(lang).\(key)")
            }
            checked += 1
        }
    }
    #expect(checked == 5)
}

@Test(.enabled(if: metricsReferenceExists, "../shared/reference/metrics is not beside the package"))
func sentenceScoresMatchSacreBLEU() throws {
    let ref = try loadReference()
    let sentences = try dictionary(ref.expected["sentence_first_10_lines"], "sentence_first_10_lines")
    var checked = 0
    for lang in ["en", "ko"] {
        let hyps = try #require(ref.lines["hyp.\(lang)"]), refs = try #require(ref.lines["ref.\(lang)"])
        let list = try #require(sentences[lang] as? [[String: Any]])
        #expect(list.count == 10)
        for entry in list {
            let line = try #require(entry["line"] as? Int)
            let hyp = hyps[line - 1], reference = refs[line - 1]
            #expect(hyp == (entry["hyp"] as? String) && reference == (entry["ref"] as? String),
                    "\(lang) line \(line) text differs from the files")
            for (key, value) in entry where value is [String: Any] {
                let e = try dictionary(value, key)
                let what = "\(lang) line \(line) \(key)"
                switch key {
                case "bleu_13a", "bleu_13a_eff", "bleu_char", "bleu_char_eff":
                    let metric = BLEU(tokenizer: key.hasPrefix("bleu_char") ? .char : .thirteenA,
                                      effectiveOrder: key.hasSuffix("_eff"))
                    try expectBLEU(metric.sentenceScore(hypothesis: hyp, reference: reference), e, what)
                case "chrf":
                    try expectChrF(ChrF().sentenceScore(hypothesis: hyp, reference: reference), e, what)
                default:
                    Issue.record("unknown sentence metric \(what)")
                }
                checked += 1
            }
        }
    }
    // 10 lines × (3 English + 5 Korean metrics) = 80 sentence scores (+ 5 corpus = the README's 85).
    #expect(checked == 80)
}
