#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Debian's `chromium`, driven headless through the DevTools protocol over a
/// pipe (`--remote-debugging-pipe`: commands on fd 3, replies on fd 4, each a
/// JSON message ended by a NUL byte). Loads a page and reports what a person
/// would see: console errors, requested URLs, DOM facts, fonts, screenshots.
final class HeadlessChromium {
    /// The browser executable, if installed.
    static let executable: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    enum BrowserError: Error, CustomStringConvertible {
        case launchFailed(String), closed, timedOut(String), protocolError(String)
        var description: String {
            switch self {
            case .launchFailed(let why): return "chromium did not start: \(why)"
            case .closed: return "chromium closed the DevTools pipe"
            case .timedOut(let what): return "timed out waiting for \(what)"
            case .protocolError(let what): return "DevTools error: \(what)"
            }
        }
    }

    private var pid: pid_t = 0
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var pending: [UInt8] = []
    private var nextId = 1
    private let profile: URL
    /// Every event received so far (method, params), in order.
    private(set) var events: [(method: String, params: [String: Any])] = []
    private var session: String?

    /// Starts the browser with a `width`×`height` window.
    init(width: Int = 1280, height: Int = 1000) throws {
        guard let executable = Self.executable else { throw BrowserError.launchFailed("not installed") }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-profile-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        var commands: [Int32] = [0, 0], replies: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&replies) == 0 else { throw BrowserError.launchFailed("pipe failed") }
        // Move every end above fd 4 (so the dup2 onto 3 and 4 below cannot clobber one) and
        // mark them close-on-exec (so no other child process inherits them).
        func moveHigh(_ fd: Int32) -> Int32 {
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
            close(fd)
            return moved
        }
        commands = commands.map(moveHigh)
        replies = replies.map(moveHigh)
        toBrowser = commands[1]
        fromBrowser = replies[0]
        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                         "--user-data-dir=" + profile.path, "--no-first-run", "--no-default-browser-check",
                         "--disable-extensions", "--disable-background-networking", "--disable-sync",
                         "--disable-component-update", "--hide-scrollbars", "--mute-audio",
                         "--window-size=\(width),\(height)", "about:blank"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, replies[1], 4)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(commands[0])
        close(replies[1])
        guard status == 0 else { throw BrowserError.launchFailed(String(cString: strerror(status))) }
    }

    deinit { shutdown() }

    /// Closes the browser (politely, then by its process id) and removes its profile.
    func shutdown() {
        guard pid != 0 else { return }
        _ = try? send("Browser.close", timeout: 5, inSession: false)
        close(toBrowser)
        var status: Int32 = 0
        for _ in 0..<50 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(100_000)
        }
        if waitpid(pid, &status, WNOHANG) == 0 { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        close(fromBrowser)
        pid = 0
        try? FileManager.default.removeItem(at: profile)
    }

    // MARK: - Protocol

    /// Sends a command (in the page session once attached) and returns its result.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], timeout: Double = 30,
              inSession: Bool = true) throws -> [String: Any] {
        let id = nextId
        nextId += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if inSession, let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BrowserError.closed }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try receive(until: deadline, what: method)
            if let replyId = reply["id"] as? Int, replyId == id {
                if let error = reply["error"] as? [String: Any] { throw BrowserError.protocolError("\(method): \(error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
        }
    }

    /// Waits until an event `method` has arrived (also one received earlier).
    func waitForEvent(_ method: String, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !events.contains(where: { $0.method == method }) { _ = try receive(until: deadline, what: method) }
    }

    /// Reads one message; events are recorded in `events`.
    private func receive(until deadline: Date, what: String) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let data = Data(pending[..<end])
                pending.removeSubrange(...end)
                guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { continue }
                if let method = object["method"] as? String {
                    events.append((method, object["params"] as? [String: Any] ?? [:]))
                }
                return object
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw BrowserError.timedOut(what) }
            var poller = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(min(remaining, 1) * 1000)) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fromBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BrowserError.closed }
            pending += chunk[..<n]
        }
    }

    // MARK: - Pages

    /// Opens `url` in a new page and waits for its load event.
    func load(_ url: URL, timeout: Double = 60) throws {
        let target = try send("Target.createTarget", ["url": "about:blank"], inSession: false)
        guard let targetId = target["targetId"] as? String else { throw BrowserError.protocolError("no target id") }
        let attached = try send("Target.attachToTarget", ["targetId": targetId, "flatten": true], inSession: false)
        session = attached["sessionId"] as? String
        for domain in ["Runtime", "Log", "Network", "Page", "DOM", "CSS"] { try send(domain + ".enable") }
        events.removeAll()
        try send("Page.navigate", ["url": url.absoluteString])
        try waitForEvent("Page.loadEventFired", timeout: timeout)
    }

    /// Console errors, uncaught exceptions and error log entries so far.
    var errors: [String] {
        events.compactMap { event in
            switch event.method {
            case "Runtime.consoleAPICalled":
                guard ["error", "assert"].contains(event.params["type"] as? String ?? "") else { return nil }
                return "console: \(event.params["args"] ?? "")"
            case "Runtime.exceptionThrown":
                return "exception: \(event.params["exceptionDetails"] ?? "")"
            case "Log.entryAdded":
                let entry = event.params["entry"] as? [String: Any] ?? [:]
                return entry["level"] as? String == "error" ? "log: \(entry["text"] ?? "") \(entry["url"] ?? "")" : nil
            default: return nil
            }
        }
    }

    /// URLs the page requested.
    var requestedURLs: [String] {
        events.filter { $0.method == "Network.requestWillBeSent" }
            .compactMap { ($0.params["request"] as? [String: Any])?["url"] as? String }
    }

    /// Evaluates `expression` in the page; returns its value (JSON types).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] { throw BrowserError.protocolError("evaluate: \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Font families the browser used to draw the text of the first element matching `selector`.
    func platformFonts(of selector: String) throws -> [String] {
        let document = try send("DOM.getDocument", ["depth": 0])
        guard let root = (document["root"] as? [String: Any])?["nodeId"] as? Int else { return [] }
        let found = try send("DOM.querySelector", ["nodeId": root, "selector": selector])
        guard let node = found["nodeId"] as? Int, node != 0 else { return [] }
        let fonts = try send("CSS.getPlatformFontsForNode", ["nodeId": node])
        return (fonts["fonts"] as? [[String: Any]] ?? []).compactMap { $0["familyName"] as? String }
    }

    /// A PNG screenshot of the viewport, or of `clip` (page coordinates) if given.
    func screenshot(clip: (x: Double, y: Double, width: Double, height: Double)? = nil) throws -> Data {
        var params: [String: Any] = ["format": "png"]
        if let clip {
            params["clip"] = ["x": clip.x, "y": clip.y, "width": clip.width, "height": clip.height, "scale": 1]
            params["captureBeyondViewport"] = true
        }
        let result = try send("Page.captureScreenshot", params)
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw BrowserError.protocolError("no screenshot data")
        }
        return data
    }
}
