import Foundation
import Testing

/// Translating a large file in shards with standard tools, as README.md shows:
/// `split -n l/N` (one shard per process or machine, e.g. a job array) and GNU
/// `parallel --pipe -k`. `translate` is a line filter that keeps order and line
/// count, so the concatenated shards equal one process's output.
@Suite(.serialized)
struct ShardedTranslationCLITests {
    /// The tiny model directory kept as a fixture by the Seq2Seq tests (read only).
    static let model = BinaryRunner.packageRoot.appendingPathComponent("Tests/Seq2SeqTests/Fixtures/lstm-format1").path

    static let parallel: String? = ["/usr/bin/parallel", "/usr/local/bin/parallel"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    final class Workspace {
        let folder: String
        /// 301 lines: the fixture's inputs over and over, with empty lines among them.
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("shard-cli-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let inputs = try String(contentsOfFile: ShardedTranslationCLITests.model + "/inputs.txt", encoding: .utf8)
                .split(separator: "\n").map(String.init) + [""]
            let lines = (0..<301).map { inputs[($0 * 7) % inputs.count] }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path("input.txt")))
        }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
    }

    /// Runs a shell script in the workspace with `$TRANSLATE` set to `translate --model FIXTURE --threads 1 OPTIONS`.
    static func shell(_ w: Workspace, _ script: String, options: String) throws -> BinaryRunner.Result {
        let translate = try BinaryRunner.locate("translate").path
        return try BinaryRunner.runExecutable(
            "/bin/sh", ["-c", "set -e; " + script], currentDirectory: w.folder,
            environment: ["TRANSLATE": "\(translate) --model \(model) --threads 1 \(options)"], timeout: 30)
    }

    static let modes = ["--greedy", "--beam-size 3"]

    @Test(arguments: modes)
    func splitShardsEqualOneProcess(_ options: String) throws {
        let w = try Workspace()
        let one = try Self.shell(w, "$TRANSLATE < input.txt > one.txt", options: options)
        #expect(one.status == 0, "\(one.errors)")
        // Three processes, each on its own chunk (as the tasks of a job array would), then joined in order.
        let sharded = try Self.shell(w, """
            for k in 1 2 3; do split -n l/$k/3 input.txt > chunk.$k; done
            for k in 1 2 3; do $TRANSLATE < chunk.$k > part.$k; done
            cat part.1 part.2 part.3 > sharded.txt
            """, options: options)
        #expect(sharded.status == 0, "\(sharded.errors)")
        let expected = try String(contentsOfFile: w.path("one.txt"), encoding: .utf8)
        #expect(expected.split(separator: "\n", omittingEmptySubsequences: false).count == 302)  // 301 lines + final newline
        #expect(try String(contentsOfFile: w.path("sharded.txt"), encoding: .utf8) == expected)
    }

    @Test(.enabled(if: parallel != nil, "GNU parallel not installed (apt-get install parallel)"), arguments: modes)
    func gnuParallelPipeEqualsOneProcess(_ options: String) throws {
        let w = try Workspace()
        let one = try Self.shell(w, "$TRANSLATE < input.txt > one.txt", options: options)
        #expect(one.status == 0, "\(one.errors)")
        let piped = try Self.shell(w, "parallel --will-cite --pipe -k -N 40 -j 3 $TRANSLATE < input.txt > piped.txt",
                                   options: options)
        #expect(piped.status == 0, "\(piped.errors)")
        #expect(try String(contentsOfFile: w.path("piped.txt"), encoding: .utf8)
                == String(contentsOfFile: w.path("one.txt"), encoding: .utf8))
    }
}
