import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The kinds of failure a hostile user found (issue 13), end to end through the
/// built binaries: each test reproduces a kind with several cases and checks
/// the one-line error, the exit status, and that nothing was overwritten or lost.
@Suite(.serialized)
struct ReliabilityCLITests {
    typealias Workspace = TrainTranslateCLITests.Workspace
    static let tiny = TrainTranslateCLITests.tiny

    static func run(_ tool: String, _ arguments: [String], stdin: String = "",
                    in folder: String? = nil) throws -> BinaryRunner.Result {
        try BinaryRunner.run(tool, arguments, stdin: Data(stdin.utf8), currentDirectory: folder, timeout: 240)
    }

    /// A small trained model shared by the tests that only read it.
    nonisolated(unsafe) static let shared: (workspace: Workspace, model: String)? = {
        guard let w = try? Workspace() else { return nil }
        let result = try? run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("model"), "--epochs", "2"] + tiny)
        guard result?.status == 0 else { return nil }
        return (w, w.path("model"))
    }()

    static func sharedModel(sourceLocation: SourceLocation = #_sourceLocation) throws -> (Workspace, String) {
        let shared = try #require(Self.shared, "training the shared model failed", sourceLocation: sourceLocation)
        return (shared.workspace, shared.model)
    }

    /// Expects a failure whose stderr is one `Error:` line mentioning every text in `mentions`.
    @discardableResult
    static func expectFailure(_ tool: String, _ arguments: [String], mentions: [String], stdin: String = "",
                              in folder: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> BinaryRunner.Result {
        let result = try run(tool, arguments, stdin: stdin, in: folder)
        #expect(result.status != 0, "\(tool) \(arguments) should fail: \(result.errors.suffix(300))", sourceLocation: sourceLocation)
        for text in mentions {
            #expect(result.errors.contains(text), "stderr lacks '\(text)': \(result.errors)", sourceLocation: sourceLocation)
        }
        let errorLines = result.errors.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == 1, "expected one Error: line: \(result.errors)", sourceLocation: sourceLocation)
        #expect(!result.errors.contains("Fatal error") && !result.errors.contains("NSCocoaErrorDomain"),
                "trap or raw Foundation error: \(result.errors)", sourceLocation: sourceLocation)
        return result
    }

    static func fileType(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Files whose name ends in `.tmp` under `folder` (left-overs of an atomic write).
    static func temporaries(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".tmp") }
    }

    // MARK: 1. -o never destroys what it points at

    @Test func outputTargetsAreWrittenThroughNotReplaced() throws {
        let (w, model) = try Self.sharedModel()
        let expected = try Self.run("translate", ["--model", model, "hello", "Thank you."])
        #expect(expected.status == 0 && expected.lines.count == 2)

        // A symbolic link: the link stays, its target gets the translations.
        try w.write("old\n", to: "target.txt")
        try FileManager.default.createSymbolicLink(atPath: w.path("link.txt"), withDestinationPath: "target.txt")
        let viaLink = try Self.run("translate", ["--model", model, "-o", w.path("link.txt"), "hello", "Thank you."])
        #expect(viaLink.status == 0, "\(viaLink.errors)")
        #expect(Self.fileType(w.path("link.txt")) == S_IFLNK)
        #expect(try w.read("target.txt") == expected.output)
        // The same for eval --output.
        try FileManager.default.createSymbolicLink(atPath: w.path("hyp-link.txt"), withDestinationPath: "hyp.txt")
        let eval = try Self.run("seq2seq", ["eval", "--model", model, w.path("test.tsv"), "--output", w.path("hyp-link.txt")])
        #expect(eval.status == 0, "\(eval.errors)")
        #expect(Self.fileType(w.path("hyp-link.txt")) == S_IFLNK)
        #expect(try w.read("hyp.txt").split(separator: "\n", omittingEmptySubsequences: false).count == 13)

        // A regular file is replaced whole and keeps its permissions.
        try w.write("old\n", to: "plain.txt")
        chmod(w.path("plain.txt"), 0o600)
        #expect(try Self.run("translate", ["--model", model, "-o", w.path("plain.txt"), "hello", "Thank you."]).status == 0)
        #expect(try w.read("plain.txt") == expected.output)
        var info = stat()
        stat(w.path("plain.txt"), &info)
        #expect(info.st_mode & 0o777 == 0o600)

        // A FIFO stays a FIFO; a reader gets the lines.
        #expect(mkfifo(w.path("fifo"), 0o644) == 0)
        let received = DataBox()
        let fifoPath = w.path("fifo")
        let reader = Thread { received.data = FileHandle(forReadingAtPath: fifoPath)?.readDataToEndOfFile() ?? Data() }
        reader.start()
        let viaFIFO = try Self.run("translate", ["--model", model, "-o", w.path("fifo"), "hello", "Thank you."])
        #expect(viaFIFO.status == 0, "\(viaFIFO.errors)")
        while !reader.isFinished { usleep(10_000) }
        #expect(String(decoding: received.data, as: UTF8.self) == expected.output)
        #expect(Self.fileType(w.path("fifo")) == S_IFIFO)

        // /dev/stdout writes to standard output (the test's capture file), not a replacement.
        let viaStdout = try Self.run("translate", ["--model", model, "-o", "/dev/stdout", "hello", "Thank you."])
        #expect(viaStdout.status == 0 && viaStdout.output == expected.output, "\(viaStdout.errors)")

        // A device node (root only: mknod) stays a device; one that fails writes reports it.
        if getuid() == 0 {
            #expect(mknod(w.path("null-device"), S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0)
            #expect(try Self.run("translate", ["--model", model, "-o", w.path("null-device"), "hello"]).status == 0)
            #expect(Self.fileType(w.path("null-device")) == S_IFCHR)
            #expect(mknod(w.path("full-device"), S_IFCHR | 0o666, dev_t(1 << 8 | 7)) == 0)
            try Self.expectFailure("translate", ["--model", model, "-o", w.path("full-device"), "hello"],
                                   mentions: [w.path("full-device"), "No space left"])
            try Self.expectFailure("seq2seq", ["eval", "--model", model, w.path("test.tsv"), "--output", w.path("full-device")],
                                   mentions: [w.path("full-device"), "No space left"])
            #expect(Self.fileType(w.path("full-device")) == S_IFCHR)
        }

        // A folder, an empty path, a missing folder: refused, nothing left behind.
        try FileManager.default.createDirectory(atPath: w.path("adir"), withIntermediateDirectories: true)
        try Self.expectFailure("translate", ["--model", model, "-o", w.path("adir"), "hello"], mentions: ["adir: is a folder"])
        try Self.expectFailure("translate", ["--model", model, "-o", "", "hello"], mentions: ["output path is empty"])
        try Self.expectFailure("translate", ["--model", model, "-o", w.path("nowhere/out.txt"), "hello"],
                               mentions: ["nowhere", "does not exist"])
        // A failure after the output was opened (no model) leaves the old file and no temporary.
        try Self.expectFailure("translate", ["--model", w.path("no-model"), "-o", w.path("plain.txt"), "hello"],
                               mentions: ["no-model"])
        #expect(try w.read("plain.txt") == expected.output)
        #expect(Self.temporaries(in: w.folder).isEmpty, "left: \(Self.temporaries(in: w.folder))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("adir")).isEmpty)
    }

    // MARK: 2. Every write error exits non-zero

    /// Runs `tool` with standard output on /dev/full.
    static func runIntoFullDevice(_ tool: String, _ arguments: [String], stdin: String = "") throws -> (status: Int32, errors: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("full-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/stdin", contents: Data(stdin.utf8))
        FileManager.default.createFile(atPath: folder + "/stderr", contents: nil)
        let process = Process()
        process.executableURL = try BinaryRunner.locate(tool)
        process.arguments = arguments
        process.standardInput = FileHandle(forReadingAtPath: folder + "/stdin")
        process.standardOutput = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        process.standardError = FileHandle(forWritingAtPath: folder + "/stderr")
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: Self.bytes(folder + "/stderr") ?? Data(), as: UTF8.self))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func writeErrorsOnStandardOutputExitNonZero() throws {
        let (w, model) = try Self.sharedModel()
        let cases: [(String, [String], String)] = [
            ("translate", ["--model", model, "hello"], ""),
            ("translate", ["--model", model, "--format", "jsonl"], "hello\nworld\n"),
            ("seq2seq", ["eval", "--model", model, w.path("test.tsv")], ""),
            ("seq2seq", ["normalize"], "some text\n"),
            ("seq2seq", ["tokenize", "--vocab", model + "/vocab"], "some text\n"),
            ("seq2seq", ["vocab", w.path("test.tsv"), "--size", "280", "--output", w.path("v/x")], ""),
        ]
        for (tool, arguments, stdin) in cases {
            let result = try Self.runIntoFullDevice(tool, arguments, stdin: stdin)
            #expect(result.status != 0, "\(tool) \(arguments) > /dev/full exited 0")
            #expect(result.errors.contains("No space left on device") && result.errors.contains("cannot write"),
                    "\(tool) \(arguments): \(result.errors)")
        }
    }

    // MARK: 3. Non-finite numbers never reach a checkpoint

    @Test func nonFiniteAndOutOfRangeOptionsAreRefusedAtParseTime() throws {
        let w = try Workspace()
        let train = ["train", w.path("pairs.tsv"), "--output", w.path("m")]
        let trainCases: [[String]] = [
            ["--clip", "nan"], ["--clip", "inf"], ["--learning-rate", "inf"], ["--learning-rate", "1e30"],
            ["--learning-rate", "nan"], ["--learning-rate", "-0.1"], ["--dropout", "nan"], ["--dropout", "-inf"],
            ["--label-smoothing", "inf"], ["--label-smoothing", "nan"], ["--time-budget", "inf"], ["--time-budget", "nan"],
            ["--time-budget", "1e999"], ["--time-budget", "-5s"], ["--hidden", "-1"], ["--embedding", "0"],
            ["--layers", "1000000"], ["--batch-size", "-8"], ["--threads", "100000000000"], ["--vocab-size", "-1"],
            ["--patience", "0"], ["--max-steps", "-1"],
        ]
        for extra in trainCases {
            try Self.expectFailure("seq2seq", train + Self.tiny + extra, mentions: [extra[0]])
        }
        #expect(!w.exists("m"), "a refused run created its output folder")
        let decodeCases: [[String]] = [
            ["--max-length-ratio", "inf"], ["--max-length-ratio", "nan"], ["--max-length-ratio", "0"],
            ["--length-penalty", "nan"], ["--length-penalty", "-inf"], ["--beam-size", "-3"], ["--batch-size", "0"],
            ["--max-input-length", "-1"], ["--threads", "-2"],
        ]
        for extra in decodeCases {
            try Self.expectFailure("translate", ["--model", w.path("m")] + extra + ["hello"], mentions: [extra[0]])
            try Self.expectFailure("seq2seq", ["eval", "--model", w.path("m"), w.path("test.tsv")] + extra, mentions: [extra[0]])
        }
    }

    /// Runs that used to end in `EncodingError.invalidValue: nan`: a one-pair file (no dev
    /// pairs), a zero time budget, resuming at or past --max-steps. They work, log no NaN,
    /// and leave loadable checkpoints.
    @Test func degenerateRunsFinishCleanlyWithoutNaN() throws {
        let w = try Workspace()
        let firstPair = try w.read("pairs.tsv").split(separator: "\n")[0]
        try w.write(firstPair + "\n", to: "one.tsv")
        let runs: [(String, [String])] = [
            ("one", ["train", w.path("one.tsv"), "--output", w.path("one"), "--epochs", "2"]),
            ("zero", ["train", w.path("pairs.tsv"), "--output", w.path("zero"), "--time-budget", "0s"]),
            ("steps", ["train", w.path("pairs.tsv"), "--output", w.path("steps"), "--max-steps", "3"]),
            ("steps", ["train", w.path("pairs.tsv"), "--output", w.path("steps"), "--max-steps", "3", "--resume"]),
            ("steps", ["train", w.path("pairs.tsv"), "--output", w.path("steps"), "--max-steps", "2", "--resume"]),
        ]
        for (name, arguments) in runs {
            let result = try Self.run("seq2seq", arguments + Self.tiny)
            #expect(result.status == 0, "\(arguments): \(result.errors)")
            #expect(!result.errors.contains("EncodingError"), "\(result.errors)")
            let log = try w.read(name + "/training-log.jsonl")
            #expect(!log.lowercased().contains("nan") && !log.contains("inf"), "\(name): \(log)")
            let translation = try Self.run("translate", ["--model", w.path(name), "hello"])
            #expect(translation.status == 0, "\(name): \(translation.errors)")
        }
        let again = try Self.run("seq2seq", runs[4].1 + Self.tiny)
        #expect(again.errors.contains("nothing to do"), "\(again.errors)")
    }

    // MARK: 4. --resume never destroys the best model

    @Test func resumeRefusesOtherDataAndInconsistentCheckpoints() throws {
        let w = try Workspace()
        let train = ["train", w.path("pairs.tsv"), "--output", w.path("m")] + Self.tiny
        #expect(try Self.run("seq2seq", train + ["--max-steps", "6", "--validate-every", "3"]).status == 0)
        let best = Self.bytes(w.path("m/best/model.safetensors"))
        let last = Self.bytes(w.path("m/last/model.safetensors"))
        #expect(best != nil && last != nil)

        // A smaller training file, or another --dev file: refused, best/ and last/ untouched.
        let lines = try w.read("pairs.tsv").split(separator: "\n")
        try w.write(lines.prefix(40).joined(separator: "\n") + "\n", to: "smaller.tsv")
        try Self.expectFailure("seq2seq", ["train", w.path("smaller.tsv"), "--output", w.path("m"), "--resume", "--max-steps", "20"] + Self.tiny,
                               mentions: ["smaller.tsv", "--allow-data-change"])
        try Self.expectFailure("seq2seq", train + ["--resume", "--max-steps", "20", "--dev", w.path("test.tsv")],
                               mentions: ["--dev", "--allow-data-change"])
        #expect(Self.bytes(w.path("m/best/model.safetensors")) == best)
        #expect(Self.bytes(w.path("m/last/model.safetensors")) == last)
        // The same bytes under another path are the same data.
        try FileManager.default.copyItem(atPath: w.path("pairs.tsv"), toPath: w.path("moved.tsv"))
        let moved = try Self.run("seq2seq", ["train", w.path("moved.tsv"), "--output", w.path("m"), "--resume", "--max-steps", "7"] + Self.tiny)
        #expect(moved.status == 0, "\(moved.errors)")
        // Said explicitly, the change is accepted (with a warning).
        let allowed = try Self.run("seq2seq", ["train", w.path("smaller.tsv"), "--output", w.path("m"), "--resume",
                                               "--allow-data-change", "--max-steps", "8"] + Self.tiny)
        #expect(allowed.status == 0, "\(allowed.errors)")
        #expect(allowed.errors.contains("changed data"))

        // A missing optimizer, a damaged session, a session from another step: each its own message.
        let resume = ["train", w.path("smaller.tsv"), "--output", w.path("m"), "--resume", "--max-steps", "30"] + Self.tiny
        try FileManager.default.copyItem(atPath: w.path("m"), toPath: w.path("backup"))
        func restore() throws {
            try FileManager.default.removeItem(atPath: w.path("m"))
            try FileManager.default.copyItem(atPath: w.path("backup"), toPath: w.path("m"))
        }
        try FileManager.default.removeItem(atPath: w.path("m/last/optimizer.safetensors"))
        try Self.expectFailure("seq2seq", resume, mentions: ["optimizer.safetensors is missing"])
        try restore()
        try w.write("{\"epoch\": 1, \"batch", to: "m/last/session.json")
        try Self.expectFailure("seq2seq", resume, mentions: ["session.json is damaged"])
        try w.write("not json at all", to: "m/last/session.json")
        try Self.expectFailure("seq2seq", resume, mentions: ["session.json is damaged"])
        try FileManager.default.removeItem(atPath: w.path("m/last/session.json"))
        try Self.expectFailure("seq2seq", resume, mentions: ["session.json is missing"])
        try restore()
        let session = try w.read("m/last/session.json").replacingOccurrences(of: "\"step\":8", with: "\"step\":5")
        try w.write(session, to: "m/last/session.json")
        try Self.expectFailure("seq2seq", resume, mentions: ["do not belong together", "step 5"])
        // Last/ of one run with the optimizer of another (a mixed folder).
        try restore()
        #expect(try Self.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("other"), "--max-steps", "2"] + Self.tiny).status == 0)
        try FileManager.default.removeItem(atPath: w.path("m/last/optimizer.safetensors"))
        try FileManager.default.copyItem(atPath: w.path("other/last/optimizer.safetensors"), toPath: w.path("m/last/optimizer.safetensors"))
        try Self.expectFailure("seq2seq", resume, mentions: ["optimizer"])
    }

    // MARK: 5. A trained model is never overwritten by accident

    @Test func existingModelFolderNeedsResumeOrForce() throws {
        let w = try Workspace()
        let train = ["train", w.path("pairs.tsv"), "--output", w.path("m"), "--epochs", "1"] + Self.tiny
        #expect(try Self.run("seq2seq", train).status == 0)
        try FileManager.default.removeItem(atPath: w.path("m/last"))
        let kept = ["best/model.safetensors", "vocab.meta", "vocab.source.vocab", "model.json", "training-log.jsonl"]
            .map { ($0, Self.bytes(w.path("m/" + $0))) }
        try Self.expectFailure("seq2seq", train, mentions: [w.path("m"), "not empty", "--resume", "--force"])
        try Self.expectFailure("seq2seq", train + ["--vocab-size", "280"], mentions: ["--force"])
        for (name, data) in kept { #expect(Self.bytes(w.path("m/" + name)) == data, "\(name) changed") }
        // A folder with anything in it counts; --force replaces what training wrote, nothing else.
        try w.write("notes", to: "m/README.txt")
        let forced = try Self.run("seq2seq", train + ["--force", "--seed", "8"])
        #expect(forced.status == 0, "\(forced.errors)")
        #expect(try w.read("m/README.txt") == "notes")
        #expect(Self.bytes(w.path("m/best/model.safetensors")) != kept[0].1)
        try Self.expectFailure("seq2seq", train + ["--force", "--resume"], mentions: ["--force"])
    }

    // MARK: 6. Sizes are refused with a memory figure, before anything is written

    @Test func hugeSizesAreRefusedWithTheMemoryFigure() throws {
        let (w, model) = try Self.sharedModel()
        for extra in [["--hidden", "100000000"], ["--embedding", "50000000"], ["--batch-size", "100000000", "--max-length", "200"]] {
            try Self.expectFailure("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("huge")] + Self.tiny + extra,
                                   mentions: ["needs about", "available", extra[0]])
            #expect(!w.exists("huge"), "a refused run left \(w.path("huge"))")
        }
        try Self.expectFailure("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("huge")] + Self.tiny + ["--layers", "1000000"],
                               mentions: ["--layers"])
        try Self.expectFailure("translate", ["--model", model, "--beam-size", "100000000", "hello"],
                               mentions: ["needs about", "available", "--beam-size"])
        try Self.expectFailure("translate", ["--model", model, "--batch-size", "1000000000", "hello"],
                               mentions: ["needs about", "--batch-size"])
        try Self.expectFailure("seq2seq", ["eval", "--model", model, w.path("test.tsv"), "--beam-size", "100000000"],
                               mentions: ["needs about", "--beam-size"])
    }

    // MARK: 7. Input that can be read only once

    @Test func pipesAndFIFOsWorkAsTrainingFiles() throws {
        let w = try Workspace()
        let corpus = try w.read("pairs.tsv")
        let seq2seq = try BinaryRunner.locate("seq2seq").path
        let viaStdin = try BinaryRunner.runShell("cat \(w.path("pairs.tsv")) | \(seq2seq) train /dev/stdin --output \(w.path("stdin")) --epochs 1 "
                                                 + Self.tiny.joined(separator: " "))
        #expect(viaStdin.status == 0, "\(viaStdin.errors)")
        #expect(w.exists("stdin/best/model.safetensors"))
        // Process substitution, through bash.
        let command = "\(seq2seq) train <(cat \(w.path("pairs.tsv"))) --output \(w.path("subst")) --epochs 1 "
            + Self.tiny.joined(separator: " ")
        let substitution = try BinaryRunner.runShell(command)
        #expect(substitution.status == 0, "\(substitution.errors)")
        // A FIFO, for train and vocab.
        for (arguments, name) in [(["train", w.path("fifo.tsv"), "--output", w.path("fifo"), "--epochs", "1"] + Self.tiny, "train"),
                                  (["vocab", w.path("fifo.tsv"), "--size", "280", "--output", w.path("v/fifo")], "vocab")] {
            unlink(w.path("fifo.tsv"))
            #expect(mkfifo(w.path("fifo.tsv"), 0o644) == 0)
            let fifoPath = w.path("fifo.tsv")
            let writer = Thread {
                if let handle = FileHandle(forWritingAtPath: fifoPath) {
                    handle.write(Data(corpus.utf8))
                    try? handle.close()
                }
            }
            writer.start()
            let result = try Self.run("seq2seq", arguments)
            #expect(result.status == 0, "\(name) from a FIFO: \(result.errors)")
            while !writer.isFinished { usleep(10_000) }
        }
        #expect(w.exists("v/fifo.meta"))
        // Resuming from a pipe with the same bytes is the same data.
        let resumed = try BinaryRunner.runShell("cat \(w.path("pairs.tsv")) | \(seq2seq) train /dev/stdin --output \(w.path("stdin")) --epochs 2 --resume "
                                                + Self.tiny.joined(separator: " "))
        #expect(resumed.status == 0, "\(resumed.errors)")
    }

    // MARK: 8. Messages say what is wrong

    @Test func messagesNameTheRealProblem() throws {
        let (w, model) = try Self.sharedModel()
        let train = ["train", w.path("pairs.tsv")] + Self.tiny
        try Self.expectFailure("seq2seq", train + ["--output", w.path("m8"), "--hidden", "-1"], mentions: ["--hidden must be between"])
        try w.write("a file", to: "afile")
        try Self.expectFailure("seq2seq", train + ["--output", w.path("afile")], mentions: ["afile: is a file"])
        try Self.expectFailure("seq2seq", train + ["--output", w.path("afile") + "/sub"], mentions: ["afile is a file"])
        try Self.expectFailure("seq2seq", train + ["--output", ""], mentions: ["--output is empty"])
        // An unreadable checkpoint is not "not found".
        try FileManager.default.copyItem(atPath: model, toPath: w.path("unreadable"))
        try FileManager.default.removeItem(atPath: w.path("unreadable/best/model.safetensors"))
        try FileManager.default.createDirectory(atPath: w.path("unreadable/best/model.safetensors"), withIntermediateDirectories: true)
        let unreadable = try Self.expectFailure("translate", ["--model", w.path("unreadable"), "hello"], mentions: ["cannot read"])
        #expect(!unreadable.errors.contains("not found"))
        // A vocabulary prefix must name files, not a folder.
        try FileManager.default.createDirectory(atPath: w.path("vocabs"), withIntermediateDirectories: true)
        for prefix in ["adir/", "vocabs", ""] {
            try Self.expectFailure("seq2seq", ["vocab", w.path("pairs.tsv"), "--output", prefix], mentions: ["vocabulary prefix"], in: w.folder)
        }
        #expect(!w.exists("adir.meta") && !w.exists(".meta") && !w.exists("vocabs.meta"))
        // Training or dev files that are folders or missing.
        try Self.expectFailure("seq2seq", ["train", w.folder, "--output", w.path("m9")] + Self.tiny, mentions: ["folder"])
        try Self.expectFailure("seq2seq", train + ["--output", w.path("m9"), "--dev", w.path("nope.tsv")], mentions: ["nope.tsv"])
        // Data that turns out unusable leaves no half-made model folder behind.
        try Self.expectFailure("seq2seq", train + ["--output", w.path("m10"), "--max-length", "1"], mentions: ["--max-length"])
        #expect(!w.exists("m10"))
        // A model.json that cannot be read is not "missing".
        try FileManager.default.copyItem(atPath: model, toPath: w.path("manifest"))
        try FileManager.default.removeItem(atPath: w.path("manifest/model.json"))
        try FileManager.default.createDirectory(atPath: w.path("manifest/model.json"), withIntermediateDirectories: true)
        try Self.expectFailure("translate", ["--model", w.path("manifest"), "hello"], mentions: ["model.json", "cannot read"])
        // Bench sizes get the same memory check.
        try Self.expectFailure("seq2seq", ["bench", "decode", "--beam-size", "100000000"], mentions: ["needs about"])
    }

    // MARK: 9. Damaged checkpoints are refused

    @Test func damagedCheckpointsAreRefused() throws {
        let (w, model) = try Self.sharedModel()
        func damaged(_ name: String, _ change: (inout Data) -> Void) throws -> String {
            try FileManager.default.copyItem(atPath: model, toPath: w.path(name))
            let path = w.path(name + "/best/model.safetensors")
            var data = try #require(Self.bytes(path))
            change(&data)
            try data.write(to: URL(fileURLWithPath: path))
            return w.path(name)
        }
        let flipped = try damaged("flipped") { data in
            for i in 0..<64 { data[data.count / 2 + i] ^= 0xFF }
        }
        try Self.expectFailure("translate", ["--model", flipped, "hello"], mentions: ["damaged", "checksum"])
        let nan = try damaged("nan") { data in
            let start = (data.count / 2) & ~3
            for i in stride(from: start, to: min(start + 4096, data.count), by: 4) {
                withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { data.replaceSubrange(i..<(i + 4), with: $0) }
            }
        }
        try Self.expectFailure("translate", ["--model", nan, "hello"], mentions: ["damaged"])
        try Self.expectFailure("seq2seq", ["eval", "--model", nan, w.path("test.tsv")], mentions: ["damaged"])
        let truncated = try damaged("truncated") { data in data.removeLast(100) }
        try Self.expectFailure("translate", ["--model", truncated, "hello"], mentions: ["model.safetensors"])

        // A checkpoint written before checksums existed still loads; NaN in it is refused by value.
        let fixture = BinaryRunner.packageRoot.appendingPathComponent("Tests/Seq2SeqTests/Fixtures/lstm-format1").path
        #expect(try Self.run("translate", ["--model", fixture, "hello"]).status == 0)
        try FileManager.default.copyItem(atPath: fixture, toPath: w.path("old"))
        let oldPath = w.path("old/best/model.safetensors")
        var old = try #require(Self.bytes(oldPath))
        let start = (old.count - 400) & ~3
        for i in stride(from: start, to: start + 64, by: 4) {
            withUnsafeBytes(of: Float.infinity.bitPattern.littleEndian) { old.replaceSubrange(i..<(i + 4), with: $0) }
        }
        try old.write(to: URL(fileURLWithPath: oldPath))
        try Self.expectFailure("translate", ["--model", w.path("old"), "hello"], mentions: ["NaN or infinite"])
    }

    // MARK: 10. One output line per input line

    @Test func evalOutputKeepsOneLinePerTestLine() throws {
        let (w, model) = try Self.sharedModel()
        let good = try w.read("test.tsv").split(separator: "\n").map(String.init)
        let lines = [good[0], "no tab here", good[1], "", "\tempty source", good[2], "bad \u{FFFD}\u{1}\tline", good[3]]
        var bytes = Data((lines.joined(separator: "\n") + "\n").utf8)
        bytes.append(contentsOf: [0xFF, 0x09, 0x61, 0x0A])   // invalid UTF-8: line 9
        try bytes.write(to: URL(fileURLWithPath: w.path("mixed.tsv")))
        let result = try Self.run("seq2seq", ["eval", "--model", model, w.path("mixed.tsv"), "--output", w.path("mixed.hyp")])
        #expect(result.status == 0, "\(result.errors)")
        let hypotheses = try w.read("mixed.hyp").split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(hypotheses.count == 9, "\(hypotheses)")
        for skipped in [1, 3, 4, 8] where skipped < hypotheses.count { #expect(hypotheses[skipped].isEmpty) }
        let sources = [good[0], good[1], good[2]].map { String($0.split(separator: "\t")[0]) }
        let translations = try Self.run("translate", ["--model", model], stdin: sources.joined(separator: "\n") + "\n")
        #expect(translations.lines.count == 3)
        #expect([hypotheses[0], hypotheses[2], hypotheses[5]] == translations.lines.map { Substring($0) })
    }

    // MARK: 11. Signals and pipes

    /// Starts a long training run and waits until its first checkpoint exists.
    static func startTraining(_ w: Workspace, into name: String) throws -> (Process, String) {
        let stderrPath = w.path(name + ".stderr")
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = try BinaryRunner.locate("seq2seq")
        process.arguments = ["train", w.path("pairs.tsv"), "--output", w.path(name), "--epochs", "100000",
                             "--validate-every", "4", "--patience", "1000000"] + tiny
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: w.path(name + "/last/session.json")) && Date() < deadline && process.isRunning {
            usleep(20_000)
        }
        usleep(100_000)
        return (process, stderrPath)
    }

    @Test func sigtermExits143AndSaves() throws {
        let w = try Workspace()
        let (process, stderrPath) = try Self.startTraining(w, into: "m")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let errors = String(decoding: Self.bytes(stderrPath) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == 143, "\(errors)")
        #expect(errors.contains("saved a resumable checkpoint"), "\(errors)")
        let resumed = try Self.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("m"), "--resume",
                                               "--epochs", "100000", "--validate-every", "4", "--patience", "1000000",
                                               "--time-budget", "1s"] + Self.tiny)
        #expect(resumed.status == 0, "\(resumed.errors)")
    }

    @Test func doubleInterruptStillSaves() throws {
        let w = try Workspace()
        let (process, stderrPath) = try Self.startTraining(w, into: "m")
        kill(process.processIdentifier, SIGINT)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let errors = String(decoding: Self.bytes(stderrPath) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(errors)")
        #expect(errors.contains("saved a resumable checkpoint"), "\(errors)")
        #expect(Self.temporaries(in: w.path("m/last")).isEmpty)
    }

    /// `(echo hello; sleep 5; echo Go.) | translate` answers the first line before the second arrives.
    @Test func translateAnswersWhenItsInputPauses() throws {
        let (_, model) = try Self.sharedModel()
        let expected = try Self.run("translate", ["--model", model, "hello", "Go."]).lines
        let session = try BinaryRunner.Interactive("translate", ["--model", model])
        session.send("hello")
        #expect(try session.receiveLine(timeout: 20) == expected[0])
        session.send("Go.")
        #expect(try session.receiveLine(timeout: 20) == expected[1])
        #expect(session.finish() == 0)
    }

    // MARK: Kill -9 at random moments

    /// Kills training with SIGKILL at 10 random moments (after its first checkpoint): every
    /// time the model still translates, `last/` (or, if the kill fell between the two renames
    /// of a save, `last.previous/`) loads, and `--resume` continues.
    @Test func killNineAtRandomMomentsLeavesAResumableModel() throws {
        let w = try Workspace()
        var random = SystemRandomNumberGenerator()
        let train = ["train", w.path("pairs.tsv"), "--output", w.path("m"), "--epochs", "100000",
                     "--validate-every", "3", "--patience", "1000000"] + Self.tiny
        let first = try Self.startTraining(w, into: "m").0
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        for round in 0..<10 {
            let process = Process()
            process.executableURL = try BinaryRunner.locate("seq2seq")
            process.arguments = train + ["--resume"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 150_000...900_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let translation = try Self.run("translate", ["--model", w.path("m"), "hello"])
            #expect(translation.status == 0, "round \(round): \(translation.errors)")
            // last/ alone (without best/) must load too.
            let copy = w.path("copy\(round)")
            try FileManager.default.copyItem(atPath: w.path("m"), toPath: copy)
            try? FileManager.default.removeItem(atPath: copy + "/best")
            if !FileManager.default.fileExists(atPath: copy + "/last") {
                try FileManager.default.moveItem(atPath: copy + "/last.previous", toPath: copy + "/last")
            }
            let fromLast = try Self.run("translate", ["--model", copy, "hello"])
            #expect(fromLast.status == 0, "round \(round): last/ does not load: \(fromLast.errors)")
            try FileManager.default.removeItem(atPath: copy)
        }
        let final = try Self.run("seq2seq", train + ["--resume", "--time-budget", "1s"])
        #expect(final.status == 0, "\(final.errors)")
        #expect(final.errors.contains("resuming at step"))
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

extension BinaryRunner {
    /// Runs `command` with `/bin/bash -c` (for pipes and process substitution); output in files.
    static func runShell(_ command: String, timeout: TimeInterval = 240) throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-shell-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in ["stdout", "stderr"] { FileManager.default.createFile(atPath: folder + "/" + name, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: folder + "/stdout")
        process.standardError = FileHandle(forWritingAtPath: folder + "/stderr")
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); throw RunnerError.timedOut(command) }
        return Result(status: process.terminationStatus,
                      stdout: FileManager.default.contents(atPath: folder + "/stdout") ?? Data(),
                      stderr: FileManager.default.contents(atPath: folder + "/stderr") ?? Data())
    }
}
