import Foundation

/// Reads `training-log.jsonl` (one `ValidationRecord` per line, or one
/// `LanguageModelValidationRecord` for a language model) leniently:
/// a record is kept if it has a step; missing or non-finite numbers become
/// gaps in the curves; unreadable lines are skipped with a note (a truncated
/// last line, left by a kill in the middle of a write, is the common case).
public enum TrainingLogReader {
    /// The validations of the log's text, with notes about lines that could not be read.
    /// Time is summed over resumed invocations (each restarts its clock at 0).
    public static func history(fromLog text: String, fileName: String = "training-log.jsonl") -> TrainingHistory {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var points: [ValidationPoint] = []
        var notes: [String] = []
        var badLines: [Int] = []
        var timeOffset = 0.0, lastRawSeconds = -Double.infinity
        for (index, line) in lines.enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard var point = point(from: line) else {
                if index == lines.count - 1 && !text.hasSuffix("\n") {
                    notes.append("the last line of \(fileName) is incomplete (training was probably stopped while writing it); it is left out")
                } else {
                    badLines.append(index + 1)
                }
                continue
            }
            if let raw = point.seconds {
                if raw < lastRawSeconds, let previous = points.last?.seconds { timeOffset = previous }
                lastRawSeconds = raw
                point.seconds = raw + timeOffset
            }
            points.append(point)
        }
        if !badLines.isEmpty {
            let shown = badLines.prefix(5).map(String.init).joined(separator: ", ")
            notes.append("\(badLines.count) unreadable line\(badLines.count == 1 ? "" : "s") of \(fileName) left out (line \(shown)\(badLines.count > 5 ? ", …" : ""))")
        }
        if timeOffset > 0 { notes.append("training was resumed; wall-clock time is summed over the runs") }
        return TrainingHistory(points: points, notes: notes)
    }

    /// One record, or nil if the line is not a JSON object with an integer `step`.
    static func point(from line: String) -> ValidationPoint? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let step = integer(object["step"]) else { return nil }
        return ValidationPoint(step: step, epoch: integer(object["epoch"]), seconds: number(object["seconds"]),
                               trainLoss: number(object["trainLoss"]), devLoss: number(object["devLoss"]),
                               bleu: number(object["bleu"]), chrF: number(object["chrF"]),
                               characterBLEU: number(object["bleuChar"]),
                               trainBitsPerCharacter: number(object["trainBitsPerCharacter"]),
                               devBitsPerCharacter: number(object["devBitsPerCharacter"]),
                               charactersPerSecond: number(object["charactersPerSecond"]),
                               isBest: (object["isBest"] as? Bool) ?? false)
    }

    static func number(_ value: Any?) -> Double? {
        guard value is NSNumber || value is Double || value is Int, let d = (value as? NSNumber)?.doubleValue
        else { return nil }
        return d.isFinite ? d : nil
    }

    static func integer(_ value: Any?) -> Int? {
        guard let d = number(value), d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }
}
