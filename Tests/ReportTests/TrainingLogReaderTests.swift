import Foundation
import Testing
@testable import Report

/// `training-log.jsonl` as a kill, a resume or a hand edit may leave it.
struct TrainingLogReaderTests {
    static func record(step: Int, seconds: Double, chrF: Double, best: Bool) -> String {
        "{\"bleu\":1.5,\"bleuChar\":2.5,\"chrF\":\(chrF),\"devLoss\":4.2,\"devPerplexity\":66.7,\"epoch\":0,\"gradientNorm\":1,\"isBest\":\(best),\"learningRate\":0.002,\"seconds\":\(seconds),\"step\":\(step),\"trainLoss\":4.5,\"translated\":10}"
    }

    @Test func truncatedLastLineGivesANoteAndKeepsTheRest() {
        let full = Self.record(step: 10, seconds: 5, chrF: 10, best: true) + "\n" + Self.record(step: 20, seconds: 9, chrF: 12, best: true) + "\n"
        let cut = full + String(Self.record(step: 30, seconds: 14, chrF: 13, best: true).prefix(40))
        let history = TrainingLogReader.history(fromLog: cut)
        #expect(history.points.map(\.step) == [10, 20])
        #expect(history.best?.step == 20)
        #expect(history.notes.count == 1 && history.notes[0].contains("last line"), "\(history.notes)")
    }

    @Test func unreadableMiddleLineIsSkippedWithItsNumber() {
        let text = Self.record(step: 10, seconds: 5, chrF: 10, best: true) + "\nnot json\n" + Self.record(step: 20, seconds: 9, chrF: 8, best: false) + "\n"
        let history = TrainingLogReader.history(fromLog: text)
        #expect(history.points.map(\.step) == [10, 20])
        #expect(history.best?.step == 10)
        #expect(history.notes == ["1 unreadable line of training-log.jsonl left out (line 2)"])
    }

    @Test func resumedRunsAddUpTheirClocks() {
        let text = [Self.record(step: 10, seconds: 5, chrF: 10, best: true), Self.record(step: 20, seconds: 9, chrF: 11, best: true),
                    Self.record(step: 30, seconds: 3, chrF: 12, best: true)].joined(separator: "\n") + "\n"
        let history = TrainingLogReader.history(fromLog: text)
        #expect(history.points.compactMap(\.seconds) == [5, 9, 12])
        #expect(history.notes.contains { $0.contains("resumed") })
    }

    @Test func missingAndNullNumbersBecomeGaps() {
        let history = TrainingLogReader.history(fromLog: "{\"step\":5,\"chrF\":null,\"isBest\":false}\n{\"chrF\":3}\n")
        #expect(history.points.count == 1)
        #expect(history.points[0].chrF == nil && history.points[0].devLoss == nil)
        #expect(history.notes.count == 1)   // the record without a step
    }
}
