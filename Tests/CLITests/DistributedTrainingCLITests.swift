import Foundation
import Seq2Seq
import Testing

/// `seq2seq train --distributed` under Open MPI's `mpirun` (skipped where
/// mpirun is not installed; `.ci/run` installs openmpi-bin): two ranks with
/// batch 32 train the same weights as one process with batch 64, a SIGTERM on
/// one rank stops both with one saved checkpoint, `--resume` continues it, and
/// the checkpoint translates. Without MPI, `--distributed` says how to install it.
@Suite(.serialized)
struct DistributedTrainingCLITests {
    /// `mpirun` on the PATH (or Debian's place for it), if any.
    static let mpirun: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin"]
        return folders.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Tiny model with the default dropout and word dropout (drawn per sentence, keyed by its place in the
    /// global batch, so the ranks draw what one process draws), no validation until the end.
    static let tiny = ["--embedding", "24", "--hidden", "32", "--layers", "1", "--vocab-size", "300", "--seed", "7",
                       "--threads", "1", "--validate-every", "0"]

    final class Workspace {
        let folder: String
        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-cli-" + UUID().uuidString).path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let corpus = try String(contentsOf: BinaryRunner.packageRoot.appendingPathComponent("Corpora/everyday.tsv"),
                                    encoding: .utf8)
            // 200 pairs: batches of 64 leave a last batch of 4 in each epoch (uneven shards).
            let lines = corpus.split(separator: "\n").prefix(200)
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path("pairs.tsv")))
        }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
        func path(_ name: String) -> String { folder + "/" + name }
    }

    /// `mpirun … -np ranks seq2seq train PAIRS --distributed ARGS`.
    static func distributedTrain(_ w: Workspace, ranks: Int, _ arguments: [String]) throws -> BinaryRunner.Result {
        let mpirun = try #require(Self.mpirun)
        let seq2seq = try BinaryRunner.locate("seq2seq").path
        return try BinaryRunner.runExecutable(
            mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), seq2seq, "train",
                     w.path("pairs.tsv"), "--distributed"] + tiny + arguments, timeout: 240)
    }

    /// Largest difference between the weights of two checkpoints relative to the largest weight of
    /// the same tensor, max over tensors of max|a − b| / max|a| (∞ if the layouts differ).
    static func maxDifference(_ a: String, _ b: String) throws -> Float {
        let x = try Checkpoint.load(from: a, loadOptimizer: false).model.parameters
        let y = try Checkpoint.load(from: b, loadOptimizer: false).model.parameters
        guard x.entries == y.entries else { return .infinity }
        var largest: Float = 0
        for e in x.entries {
            var difference: Float = 0, scale: Float = 0
            for i in e.offset..<(e.offset + e.count) {
                difference = max(difference, abs(x.pointer[i] - y.pointer[i]))
                scale = max(scale, abs(x.pointer[i]))
            }
            largest = max(largest, difference / max(scale, .leastNormalMagnitude))
        }
        return largest
    }

    @Test(.enabled(if: mpirun != nil, "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"))
    func twoRanksWithBatch32EqualOneProcessWithBatch64() throws {
        let w = try Workspace()
        let single = try BinaryRunner.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("one"),
                                                      "--batch-size", "64", "--max-steps", "5"] + Self.tiny, timeout: 240)
        #expect(single.status == 0, "\(single.errors)")
        let two = try Self.distributedTrain(w, ranks: 2, ["--output", w.path("two"), "--batch-size", "32", "--max-steps", "5"])
        #expect(two.status == 0, "\(two.errors)")
        #expect(two.errors.contains("distributed: 2 ranks × 32 sentences per batch = global batches of 64"))
        #expect(two.errors.contains("gradient all-reduce"))
        // Rank 0 alone reports progress and validations.
        #expect(two.errors.components(separatedBy: "validation step 5:").count == 2, "\(two.errors)")
        let difference = try Self.maxDifference(w.path("one/last"), w.path("two/last"))
        #expect(difference <= 1e-5, "weights differ by \(difference) of their tensor's largest weight")
        // A control that the comparison can fail: batch 32 in one process trains other weights.
        let half = try BinaryRunner.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("half"),
                                                    "--batch-size", "32", "--max-steps", "5"] + Self.tiny, timeout: 240)
        #expect(half.status == 0)
        #expect(try Self.maxDifference(w.path("one/last"), w.path("half/last")) > 1e-3)
        // The distributed checkpoint translates.
        let translated = try BinaryRunner.run("translate", ["--model", w.path("two"), "--threads", "1", "hello world"])
        #expect(translated.status == 0, "\(translated.errors)")
        #expect(translated.lines.count == 1)
    }

    @Test(.enabled(if: mpirun != nil, "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"))
    func validationDecisionsOfRankZeroReachEveryRank() throws {
        // Validations every 2 steps that stop improving halve the learning rate; only rank 0 validates,
        // so the other rank must take its learning-rate scale to stay equal to one process.
        let w = try Workspace()
        let extra = ["--max-steps", "8", "--validate-every", "2", "--decay-on-plateau", "0.5", "--patience", "1000"]
        let single = try BinaryRunner.run("seq2seq", ["train", w.path("pairs.tsv"), "--output", w.path("one"),
                                                      "--batch-size", "64"] + Self.tiny + extra, timeout: 240)
        #expect(single.status == 0, "\(single.errors)")
        let two = try Self.distributedTrain(w, ranks: 2, ["--output", w.path("two"), "--batch-size", "32"] + extra)
        #expect(two.status == 0, "\(two.errors)")
        let scale = try Checkpoint.load(from: w.path("two/last"), loadOptimizer: false).metadata.trainingState?.learningRateScale
        #expect(scale.map { $0 < 1 } == true, "expected at least one plateau decay, scale \(String(describing: scale))")
        let difference = try Self.maxDifference(w.path("one/last"), w.path("two/last"))
        #expect(difference <= 1e-5, "weights differ by \(difference) of their tensor's largest weight")
    }

    /// A distributed run of two ranks in the background (no epoch or patience limit), writing its
    /// output to `run.log`; returns once the log shows validation step 12 (checkpoints exist by then).
    static func startLongRun(_ w: Workspace) throws -> (process: Process, log: FileHandle, deadline: Date) {
        let mpirun = try #require(Self.mpirun)
        let seq2seq = try BinaryRunner.locate("seq2seq").path
        let log = w.path("run.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", seq2seq, "train", w.path("pairs.tsv"),
                             "--distributed", "--output", w.path("model"), "--batch-size", "32", "--epochs", "100000",
                             "--patience", "100000"] + Self.tiny
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Wait for a few steps (validations at each 4-batch epoch end).
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains("validation step 12:") == true { break }
            usleep(50_000)
        }
        return (process, handle, deadline)
    }

    /// The step of `model/last`, and a check that `--resume` on `ranks` ranks continues it by 3 steps.
    static func expectResumeContinues(_ w: Workspace, ranks: Int) throws {
        let stopped = try Checkpoint.load(from: w.path("model/last"), loadOptimizer: false).metadata.trainingState?.step ?? 0
        #expect(stopped >= 10)
        let resumed = try Self.distributedTrain(w, ranks: ranks, ["--output", w.path("model"), "--batch-size", "32",
                                                                  "--resume", "--max-steps", String(stopped + 3)])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.errors.contains("resuming at step \(stopped)"))
        let after = try Checkpoint.load(from: w.path("model/last"), loadOptimizer: false).metadata.trainingState?.step
        #expect(after == stopped + 3)
    }

    @Test(.enabled(if: mpirun != nil, "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"))
    func sigtermOnOneRankStopsAllAndResumeContinues() throws {
        let w = try Workspace()
        let (process, handle, deadline) = try Self.startLongRun(w)
        let ranks = Self.children(of: process.processIdentifier)
        #expect(ranks.count == 2, "rank processes: \(ranks)")
        if let last = ranks.max() { kill(last, SIGTERM) }
        while Date() < deadline && process.isRunning { usleep(50_000) }
        if process.isRunning { process.terminate() }
        try handle.close()
        let text = (try? String(contentsOfFile: w.path("run.log"), encoding: .utf8)) ?? ""
        #expect(text.components(separatedBy: "interrupted: saved a resumable checkpoint").count == 2, "\(text)")
        #expect(FileManager.default.fileExists(atPath: w.path("model/last/model.safetensors")))
        // --resume continues the distributed run for a few more steps.
        try Self.expectResumeContinues(w, ranks: 2)
    }

    /// kill -9 of either rank (the one that writes checkpoints, or the other) ends the whole job with a
    /// non-zero exit within 60 s instead of leaving the survivor waiting in an all-reduce; the last
    /// checkpoint stays loadable and `--resume` continues it on 2 ranks or on 1.
    @Test(.enabled(if: mpirun != nil, "mpirun not installed (apt-get install openmpi-bin libopenmpi-dev)"),
          arguments: [(killed: 0, resumeRanks: 1), (killed: 1, resumeRanks: 2)])
    func killingOneRankEndsTheJobAndTheCheckpointResumes(killed: Int, resumeRanks: Int) throws {
        let w = try Workspace()
        let (process, handle, _) = try Self.startLongRun(w)
        let ranks = Self.children(of: process.processIdentifier).sorted()   // started in rank order
        try #require(ranks.count == 2, "rank processes: \(ranks)")
        kill(ranks[killed], SIGKILL)
        let killedAt = Date()
        while Date().timeIntervalSince(killedAt) < 60 && process.isRunning { usleep(50_000) }
        let ended = !process.isRunning
        if process.isRunning { process.terminate(); kill(ranks[1 - killed], SIGKILL) }
        process.waitUntilExit()
        try handle.close()
        #expect(ended, "mpirun still running 60 s after kill -9 of rank \(killed)")
        #expect(process.terminationStatus != 0)
        let text = (try? String(contentsOfFile: w.path("run.log"), encoding: .utf8)) ?? ""
        #expect(text.contains("exited on signal 9"), "\(text.suffix(2000))")
        _ = try Checkpoint.load(from: w.path("model/last"), loadOptimizer: true)
        try Self.expectResumeContinues(w, ranks: resumeRanks)
    }

    @Test func distributedWithoutMPISaysHowToInstall() throws {
        let w = try Workspace()
        // SEQ2SEQ_LIBMPI names the only libmpi to try: a missing one stands for a machine without MPI.
        let result = try BinaryRunner.run("seq2seq", ["train", w.path("pairs.tsv"), "--distributed", "--output",
                                                      w.path("model")] + Self.tiny,
                                          environment: ["SEQ2SEQ_LIBMPI": "/nonexistent/libmpi.so.40"])
        #expect(result.status != 0)
        #expect(result.errors.contains("apt-get install openmpi-bin libopenmpi-dev"), "\(result.errors)")
        #expect(result.errors.contains("mpirun -np N"))
        #expect(!FileManager.default.fileExists(atPath: w.path("model/last")))
    }

    /// Process ids whose parent is `parent` (from /proc).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }
}
