import Foundation
import Testing
@testable import Tokenize
#if canImport(Glibc)
import Glibc
#endif

/// `OutputFile`: what each kind of destination becomes, and that nothing is left
/// half-written; `FileContents` on things that can be read only once.
struct OutputFileTests {
    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("output-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
        var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    }

    func write(_ text: String, to output: OutputFile) throws {
        try Data(text.utf8).withUnsafeBytes { try output.write($0) }
    }

    func type(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & S_IFMT
    }

    @Test func regularFileIsReplacedOnlyAtCommit() throws {
        let folder = try Folder()
        try "old".write(toFile: folder.file("out.txt"), atomically: false, encoding: .utf8)
        chmod(folder.file("out.txt"), 0o640)
        let output = try OutputFile(path: folder.file("out.txt"))
        #expect(output.isAtomic)
        try write("new", to: output)
        #expect(try String(contentsOfFile: folder.file("out.txt"), encoding: .utf8) == "old")   // not yet
        try output.commit()
        #expect(try String(contentsOfFile: folder.file("out.txt"), encoding: .utf8) == "new")
        var info = stat()
        stat(folder.file("out.txt"), &info)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(folder.entries == ["out.txt"])
    }

    @Test func discardLeavesTheDestinationAndNoTemporary() throws {
        let folder = try Folder()
        try "old".write(toFile: folder.file("out.txt"), atomically: false, encoding: .utf8)
        do {
            let output = try OutputFile(path: folder.file("out.txt"))
            try write("half", to: output)
            output.discard()
        }
        do {
            let output = try OutputFile(path: folder.file("new.txt"))
            try write("half", to: output)
            _ = output   // dropped without commit: deinit discards
        }
        #expect(folder.entries == ["out.txt"])
        #expect(try String(contentsOfFile: folder.file("out.txt"), encoding: .utf8) == "old")
    }

    @Test func symbolicLinkKeepsTheLinkAndReplacesItsTarget() throws {
        let folder = try Folder()
        try "old".write(toFile: folder.file("target.txt"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder.file("link"), withDestinationPath: "target.txt")
        let output = try OutputFile(path: folder.file("link"))
        try write("new", to: output)
        try output.commit()
        #expect(type(folder.file("link")) == S_IFLNK)
        #expect(try String(contentsOfFile: folder.file("target.txt"), encoding: .utf8) == "new")
        // A dangling link gets its target created.
        try FileManager.default.createSymbolicLink(atPath: folder.file("dangling"), withDestinationPath: "created.txt")
        let second = try OutputFile(path: folder.file("dangling"))
        try write("made", to: second)
        try second.commit()
        #expect(type(folder.file("dangling")) == S_IFLNK)
        #expect(try String(contentsOfFile: folder.file("created.txt"), encoding: .utf8) == "made")
    }

    @Test func fifoIsWrittenThrough() throws {
        let folder = try Folder()
        #expect(mkfifo(folder.file("fifo"), 0o644) == 0)
        let path = folder.file("fifo")
        let box = Box()
        let reader = Thread { box.bytes = (try? FileContents.read(path)) ?? [] }
        reader.start()
        let output = try OutputFile(path: path)
        #expect(!output.isAtomic)
        try write("through", to: output)
        try output.commit()
        while !reader.isFinished { usleep(5_000) }
        #expect(String(decoding: box.bytes, as: UTF8.self) == "through")
        #expect(type(path) == S_IFIFO)
        #expect(folder.entries == ["fifo"])
    }

    @Test func foldersEmptyPathsAndMissingFoldersAreRefused() throws {
        let folder = try Folder()
        #expect(throws: AtomicFileError.isFolder(path: folder.path)) { try OutputFile(path: folder.path) }
        #expect(throws: AtomicFileError.emptyPath) { try OutputFile(path: "") }
        #expect(throws: AtomicFileError.folderMissing(path: folder.file("no/x"), folder: folder.file("no"))) {
            try OutputFile(path: folder.file("no/x"))
        }
        #expect(throws: AtomicFileError.self) { try AtomicFile.write("x", to: folder.path) }
        #expect(folder.entries.isEmpty, "left \(folder.entries)")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func deviceWriteErrorsAreReported() throws {
        let output = try OutputFile(path: "/dev/full")
        #expect(!output.isAtomic)
        #expect(throws: AtomicFileError.self) { try write(String(repeating: "x", count: 10_000), to: output) }
        output.discard()
        let device = try OutputFile(path: "/dev/full")
        let writer = LineWriter(output: device)
        try writer.write(line: "x")
        #expect(throws: LineIOError.writeFailed(destination: "/dev/full", reason: "No space left on device")) { try writer.flush() }
        device.discard()
    }

    @Test func folderCreationSaysWhatIsInTheWay() throws {
        let folder = try Folder()
        try Tokenize.Folder.create(folder.file("a/b/c"))
        #expect(type(folder.file("a/b/c")) == S_IFDIR)
        try "x".write(toFile: folder.file("file"), atomically: false, encoding: .utf8)
        #expect(throws: AtomicFileError.cannotCreateFolder(path: folder.file("file/sub"), reason: "\(folder.file("file")) is a file, not a folder")) {
            try Tokenize.Folder.create(folder.file("file/sub"))
        }
    }

    @Test func pendingTemporariesAreRemovedBySignalCleanup() throws {
        let folder = try Folder()
        let output = try OutputFile(path: folder.file("out.txt"))
        try write("partial", to: output)
        #expect(folder.entries.count == 1 && folder.entries[0].hasSuffix(".tmp"))
        PendingFiles.removeAllNow()   // what the SIGINT/SIGTERM handler does
        #expect(folder.entries.isEmpty)
        output.discard()
    }

    @Test func fileContentsReadsPipesAndNamesProblems() throws {
        let pipe = Pipe()
        let text = String(repeating: "가나다\tabc\n", count: 20_000)   // more than a pipe buffer
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(text.utf8))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let bytes = try FileContents.read("/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)")
        #expect(bytes == Array(text.utf8))
        #expect(throws: FileReadError.notFound(path: "/nonexistent/x")) { try FileContents.read("/nonexistent/x") }
        #expect(throws: FileReadError.isFolder(path: "/tmp")) { try FileContents.read("/tmp") }
    }

    @Test func readerReportsWhetherInputIsWaiting() throws {
        let pipe = Pipe()
        let reader = LineReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        #expect(!reader.isReady(waitingAtMost: 20))      // nothing written yet
        pipe.fileHandleForWriting.write(Data("one\ntwo\n".utf8))
        #expect(reader.isReady(waitingAtMost: 20))
        #expect(try reader.nextLine() == "one")
        #expect(reader.isReady(waitingAtMost: 0))        // "two" is buffered
        #expect(try reader.nextLine() == "two")
        #expect(!reader.isReady(waitingAtMost: 20))
        try pipe.fileHandleForWriting.close()
        #expect(reader.isReady(waitingAtMost: 20))       // end of input
        #expect(try reader.nextLine() == nil)
    }

    @Test func vocabularyPrefixesMustNameFiles() throws {
        let folder = try Folder()
        for bad in ["", "adir/", folder.path, folder.path + "/", "x/.."] {
            #expect(throws: TokenizeError.badVocabularyPrefix(bad)) { try VocabularyPair.checkPrefix(bad) }
        }
        try VocabularyPair.checkPrefix(folder.file("name"))
    }
}

private final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }
