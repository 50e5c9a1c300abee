import Testing
@testable import Tokenize

/// `seq2seq clean`'s per-pair filters, each alone and in their documented order.
@Suite struct PairFilterTests {
    static func verdict(_ english: String, _ korean: String, _ change: (inout PairFilterSettings) -> Void = { _ in })
        throws -> PairVerdict {
        var settings = PairFilterSettings()
        change(&settings)
        return try PairFilter(settings: settings).check(first: english, second: korean)
    }

    @Test func keepsARealPair() throws {
        #expect(try Self.verdict("Where is the station?", "역이 어디에 있어요?")
                == .keep(english: "Where is the station?", korean: "역이 어디에 있어요?", swapped: false))
        // Technical Korean with Latin identifiers keeps its pair (low Hangul threshold).
        #expect(try Self.verdict("Call os.path.join() with the file name.", "파일 이름으로 os.path.join()을 호출합니다.")
                == .keep(english: "Call os.path.join() with the file name.",
                         korean: "파일 이름으로 os.path.join()을 호출합니다.", swapped: false))
    }

    @Test func emptySide() throws {
        #expect(try Self.verdict("Hello.", "   ") == .drop(.empty))
        #expect(try Self.verdict("Hello.", "   ") { $0.dropEmpty = false; $0.dropWrongScript = false } != .drop(.empty))
    }

    @Test func overLongSide() throws {
        let long = String(repeating: "a ", count: 600)
        #expect(try Self.verdict(long, "안녕하세요") == .drop(.overLong))
        #expect(try Self.verdict(long, "안녕하세요") { $0.dropOverLong = false } != .drop(.overLong))
    }

    @Test func untranslatedCopy() throws {
        #expect(try Self.verdict("print(x)", "print(x)") == .drop(.copy))
        #expect(try Self.verdict("OK", "ＯＫ") == .drop(.copy), "equal after NFKC")
        #expect(try Self.verdict("print(x)", "print(x)") { $0.dropCopies = false } != .drop(.copy))
    }

    @Test func swappedColumnsAreFixedNotDropped() throws {
        #expect(try Self.verdict("고마워요.", "Thank you.") == .keep(english: "Thank you.", korean: "고마워요.", swapped: true))
        #expect(try Self.verdict("고마워요.", "Thank you.") { $0.fixSwapped = false } == .drop(.wrongScript))
    }

    @Test func wrongScript() throws {
        #expect(try Self.verdict("Thank you.", "Merci beaucoup.") == .drop(.wrongScript), "no Hangul on the Korean side")
        #expect(try Self.verdict("Спасибо.", "고마워요.") == .drop(.wrongScript), "Cyrillic on the English side")
        #expect(try Self.verdict("Thank you.", "Merci beaucoup.") { $0.dropWrongScript = false } != .drop(.wrongScript))
    }

    @Test func lengthRatioOutliers() throws {
        let english = "This sentence is very much longer than its supposed translation on the other side."
        #expect(try Self.verdict(english, "네.") == .drop(.lengthRatio))
        #expect(try Self.verdict("Yes.", "네.") != .drop(.lengthRatio), "too short to judge")
        #expect(try Self.verdict(english, "네.") { $0.dropLengthRatio = false } != .drop(.lengthRatio))
    }

    @Test func exactAndNormalizedDuplicates() throws {
        let filter = try PairFilter()
        #expect(filter.check(first: "Good morning.", second: "좋은 아침.") != .drop(.duplicate))
        #expect(filter.check(first: "Good morning.", second: "좋은 아침.") == .drop(.duplicate))
        #expect(filter.check(first: "good  MORNING.", second: "좋은 아침.") == .drop(.normalizedDuplicate))
        // A swapped repeat is the same pair once fixed.
        #expect(filter.check(first: "좋은 아침.", second: "Good morning.") == .drop(.duplicate))
        var settings = PairFilterSettings()
        settings.dropDuplicates = false
        settings.dropNormalizedDuplicates = false
        let keepAll = try PairFilter(settings: settings)
        _ = keepAll.check(first: "Good morning.", second: "좋은 아침.")
        #expect(keepAll.check(first: "Good morning.", second: "좋은 아침.") != .drop(.duplicate))
    }
}
