import ArgumentParser
import CommandLineSupport
import Foundation
import Tokenize

struct CleanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Filter an english<TAB>korean corpus: wrong script, swapped columns, length outliers, duplicates, copies.",
        discussion: """
            Reads PAIRS (english<TAB>korean per line) as a stream and writes the kept pairs to -o \
            (atomically) or standard output, then prints one summary line with the count of each \
            filter on standard error. Each line is counted under the first filter that drops it, in \
            this order (each can be switched off):
              empty          a side is empty or only spaces after normalization (--no-empty)
              over-long      a side has more than --max-characters characters (--no-over-long)
              copy           both sides are the same text after normalization (--no-copies)
              swapped        a Korean<TAB>English line is turned around: fixed and counted, not dropped (--no-swap-fix)
              wrong script   under --min-latin-share of the English side's letters are Latin, or under \
            --min-hangul-share of the Korean side's letters are Hangul (--no-script-check)
              length ratio   English/Korean characters (spaces not counted) outside \
            --min-length-ratio…--max-length-ratio, when the longer side has at least \
            --ratio-min-characters (--no-length-ratio)
              duplicate      the same line was kept before (--no-duplicates)
              normalized duplicate  equal to a kept line after NFKC, space cleanup and lower-casing \
            (--no-normalized-duplicates)
            Memory does not grow with the corpus except for 16 bytes per kept pair (hashes).

            A line that is not two tab-separated UTF-8 columns stops the run with FILE:LINE: reason \
            and exit status 1; with --lenient it is skipped and counted.

            Examples:
              seq2seq clean pairs.tsv -o clean.tsv
              seq2seq clean --lenient --rejected dropped.tsv --no-length-ratio pairs.tsv -o clean.tsv
            """)

    @Argument(help: "Corpus: english<TAB>korean per line.")
    var pairs: String

    @Option(name: .shortAndLong, help: "Write the kept pairs here (atomically); standard output when absent.")
    var output: String?

    @Option(help: "Also write every dropped or skipped line here, as reason<TAB>line (to review the filters).")
    var rejected: String?

    @Flag(help: "Skip and count malformed lines (wrong number of columns, invalid UTF-8) instead of stopping.")
    var lenient = false

    @OptionGroup var filters: CleanFilterOptions

    func validate() throws { try filters.validate() }

    func run() throws {
        let filter = try PairFilter(settings: filters.settings)
        let input = try CorpusCleaner.openInput(pairs)
        defer { close(input) }
        let outputFile = try output.map { try OutputFile(path: $0) } ?? OutputFile.standardOutput()
        defer { outputFile.discard() }   // removes an unfinished temporary file; nothing after `commit()`
        let rejectedFile = try rejected.map { try OutputFile(path: $0) }
        defer { rejectedFile?.discard() }
        let cleaner = CorpusCleaner(filter: filter, lenient: lenient)
        let summary = try cleaner.clean(LineReader(fileDescriptor: input), file: pairs,
                                        output: LineWriter(output: outputFile),
                                        rejected: rejectedFile.map { LineWriter(output: $0) })
        try outputFile.commit()
        try rejectedFile?.commit()
        printError("clean: \(summary)")
    }
}

/// The `--no-…` switches and thresholds of `seq2seq clean` (see `PairFilterSettings`).
struct CleanFilterOptions: ParsableArguments {
    @Flag(name: .customLong("no-empty"), help: "Keep pairs with an empty side.")
    var keepEmpty = false
    @Flag(name: .customLong("no-over-long"), help: "Keep pairs with a side over --max-characters.")
    var keepOverLong = false
    @Option(help: "Longest side kept, in characters (Unicode scalars, spaces included).")
    var maxCharacters = PairFilterSettings().maximumCharacters
    @Flag(name: .customLong("no-copies"), help: "Keep pairs whose two sides are the same normalized text.")
    var keepCopies = false
    @Flag(name: .customLong("no-swap-fix"), help: "Do not turn Korean<TAB>English lines around.")
    var noSwapFix = false
    @Flag(name: .customLong("no-script-check"), help: "Keep pairs whose sides are in the wrong script.")
    var keepWrongScript = false
    @Option(help: "Smallest share of the English side's letters that must be Latin (0-1).")
    var minLatinShare = PairFilterSettings().minimumLatinShare
    @Option(help: "Smallest share of the Korean side's letters that must be Hangul (0-1; low because technical text has Latin identifiers).")
    var minHangulShare = PairFilterSettings().minimumHangulShare
    @Flag(name: .customLong("no-length-ratio"), help: "Keep pairs with an outlying length ratio.")
    var keepLengthOutliers = false
    @Option(help: "Smallest allowed English characters per Korean character.")
    var minLengthRatio = PairFilterSettings().minimumLengthRatio
    @Option(help: "Largest allowed English characters per Korean character.")
    var maxLengthRatio = PairFilterSettings().maximumLengthRatio
    @Option(help: "Check the length ratio only when the longer side has at least this many characters.")
    var ratioMinCharacters = PairFilterSettings().lengthRatioMinimumCharacters
    @Flag(name: .customLong("no-duplicates"), help: "Keep exact repeats of a kept line.")
    var keepDuplicates = false
    @Flag(name: .customLong("no-normalized-duplicates"), help: "Keep repeats that differ only in normalization, spacing or case.")
    var keepNormalizedDuplicates = false

    func validate() throws {
        try OptionCheck.require(maxCharacters, in: 1...Int(Int32.max), "--max-characters")
        try OptionCheck.require(minLatinShare, in: 0...1, "--min-latin-share")
        try OptionCheck.require(minHangulShare, in: 0...1, "--min-hangul-share")
        try OptionCheck.require(minLengthRatio, in: 0...1_000_000, "--min-length-ratio")
        try OptionCheck.require(maxLengthRatio, in: minLengthRatio...1_000_000, "--max-length-ratio")
        try OptionCheck.require(ratioMinCharacters, in: 0...Int(Int32.max), "--ratio-min-characters")
    }

    var settings: PairFilterSettings {
        var s = PairFilterSettings()
        s.dropEmpty = !keepEmpty
        s.dropOverLong = !keepOverLong
        s.maximumCharacters = maxCharacters
        s.dropCopies = !keepCopies
        s.fixSwapped = !noSwapFix
        s.dropWrongScript = !keepWrongScript
        s.minimumLatinShare = minLatinShare
        s.minimumHangulShare = minHangulShare
        s.dropLengthRatio = !keepLengthOutliers
        s.minimumLengthRatio = minLengthRatio
        s.maximumLengthRatio = maxLengthRatio
        s.lengthRatioMinimumCharacters = ratioMinCharacters
        s.dropDuplicates = !keepDuplicates
        s.dropNormalizedDuplicates = !keepNormalizedDuplicates
        return s
    }
}
