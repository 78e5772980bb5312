import Foundation
import GSVTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A headless Chromium driven through chromedriver, for page tests.
///
/// ```swift
/// @Test(.enabled(if: Browser.isAvailable, Browser.unavailableReason))
/// func page() async throws {
///     try await Browser.with { browser in
///         try await browser.open("http://127.0.0.1:\(port)/")
///         try await browser.click("#speak-button")
///         try await browser.waitUntil("document.querySelector('#result audio') !== null", what: "the result")
///         try await browser.screenshot(named: "speak")
///         #expect(try await browser.consoleErrors().isEmpty)
///     }
/// }
/// ```
///
/// Chromium and chromedriver are found through `GSV_CHROMIUM` / `GSV_CHROMEDRIVER` (paths) or the
/// `PATH` (`chromium`, `chromium-browser`, `google-chrome`; `chromedriver`); Debian's packages
/// `chromium` and `chromium-driver` provide both (`scripts/install-deps.sh` installs them).
/// Every browser gets its own profile folder and driver process; ``close()`` ends both.
public actor Browser {
    /// What to start the browser with.
    public struct Options: Sendable {
        /// Window size in CSS pixels.
        public var width = 1280
        public var height = 900
        /// Browser language (`--lang`, and the `Accept-Language` it sends): e.g. `en-US`, `zh-CN`.
        public var language = "en-US"
        /// Extra command-line switches for Chromium.
        public var extraArguments: [String] = []
        /// Default options: 1280×900, English, autoplay allowed, fake microphone.
        public init() {}
    }

    /// The driver client.
    public nonisolated let driver: WebDriverClient
    /// The session id.
    public nonisolated let sessionID: String
    private let driverProcess: Process
    private let profile: URL
    private var log: [ConsoleEntry] = []
    private var closed = false

    private init(driver: WebDriverClient, sessionID: String, driverProcess: Process, profile: URL) {
        self.driver = driver
        self.sessionID = sessionID
        self.driverProcess = driverProcess
        self.profile = profile
    }

    // MARK: - Finding and starting

    /// The Chromium executable, if one is installed.
    public static var chromium: URL? {
        find(env: "GSV_CHROMIUM", names: ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"])
    }

    /// The chromedriver executable, if one is installed.
    public static var chromedriver: URL? { find(env: "GSV_CHROMEDRIVER", names: ["chromedriver"]) }

    /// Whether both Chromium and chromedriver are installed.
    public static var isAvailable: Bool { chromium != nil && chromedriver != nil }

    /// Why browser tests are skipped when ``isAvailable`` is false (for `.enabled(if:_:)`).
    public static let unavailableReason: Comment =
        "needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver; scripts/install-deps.sh does it)"

    private static func find(env name: String, names: [String]) -> URL? {
        let env = ProcessInfo.processInfo.environment
        let fm = FileManager.default
        if let custom = env[name], !custom.isEmpty { return fm.isExecutableFile(atPath: custom) ? URL(fileURLWithPath: custom) : nil }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            for n in names {
                let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(n)
                if fm.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return nil
    }

    /// Starts chromedriver and a headless Chromium session.
    public static func launch(_ options: Options = Options()) async throws -> Browser {
        guard let chromium, let chromedriver else { throw WebDriverError(code: "unavailable", message: "\(unavailableReason)", command: "launch") }
        let port = try LocalPort.free()
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-browser-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = chromedriver
        process.arguments = ["--port=\(port)", "--log-path=\(profile.appendingPathComponent("chromedriver.log").path)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let driver = WebDriverClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!)
        let deadline = Date().addingTimeInterval(20)
        while !(await driver.isReady()) {
            guard Date() < deadline, process.isRunning else {
                kill(process)
                throw WebDriverError(code: "unavailable", message: "chromedriver did not become ready on port \(port)", command: "launch")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        var args: [JSONValue] = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            .string("--window-size=\(options.width),\(options.height)"), .string("--lang=\(options.language)"),
            .string("--user-data-dir=\(profile.appendingPathComponent("profile").path)"),
        ]
        args += options.extraArguments.map { .string($0) }
        let capabilities: JSONValue = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
                "binary": .string(chromium.path), "args": .array(args),
                "prefs": ["intl.accept_languages": .string(options.language)],
            ],
            "goog:loggingPrefs": ["browser": "ALL"],
            "timeouts": ["script": 120_000, "pageLoad": 60_000, "implicit": 0],
        ]]]
        do {
            let created = try await driver.send("POST", "session", capabilities)
            guard let id = created["sessionId"].string else {
                throw WebDriverError(code: "session not created", message: "no sessionId in \(created)", command: "POST session")
            }
            return Browser(driver: driver, sessionID: id, driverProcess: process, profile: profile)
        } catch {
            kill(process)
            try? FileManager.default.removeItem(at: profile)
            throw error
        }
    }

    /// Runs `body` with a fresh browser and closes it afterwards, also when `body` throws.
    public static func with<T: Sendable>(_ options: Options = Options(), _ body: (Browser) async throws -> T) async throws -> T {
        let browser = try await launch(options)
        do {
            let result = try await body(browser)
            await browser.close()
            return result
        } catch {
            await browser.saveFailureScreenshot()
            await browser.close()
            throw error
        }
    }

    /// Ends the session and the driver, and removes the profile folder.
    public func close() async {
        guard !closed else { return }
        closed = true
        // Ending the session closes Chromium; chromedriver itself ignores SIGTERM, so it is killed.
        _ = try? await driver.send("DELETE", "session/\(sessionID)")
        Self.kill(driverProcess)
        try? FileManager.default.removeItem(at: profile)
    }

    // MARK: - Navigation and elements

    private var session: String { "session/\(sessionID)" }

    /// Loads `url` and waits for the document to load.
    public func open(_ url: String) async throws {
        try await driver.send("POST", "\(session)/url", ["url": .string(url)])
    }

    /// The current URL.
    public func currentURL() async throws -> String { try await driver.send("GET", "\(session)/url").string ?? "" }

    /// The first element matching a CSS selector (fails with `no such element`).
    public func find(_ css: String) async throws -> WebElement {
        let v = try await driver.send("POST", "\(session)/element", ["using": "css selector", "value": .string(css)])
        guard let id = v[WebElement.key].string else { throw WebDriverError(code: "no such element", message: css, command: "find") }
        return WebElement(id: id)
    }

    /// Every element matching a CSS selector.
    public func findAll(_ css: String) async throws -> [WebElement] {
        let v = try await driver.send("POST", "\(session)/elements", ["using": "css selector", "value": .string(css)])
        return (v.array ?? []).compactMap { $0[WebElement.key].string.map(WebElement.init(id:)) }
    }

    /// Clicks the first element matching `css` (as a user would: it must be visible and enabled).
    public func click(_ css: String) async throws {
        let e = try await find(css)
        // Centre it first, so a sticky header or footer cannot be over it.
        try await execute("arguments[0].scrollIntoView({ block: 'center', inline: 'center' })", [e.json])
        try await driver.send("POST", "\(session)/element/\(e.id)/click")
    }

    /// Types `text` into the first element matching `css`; `clear` empties it first. For an
    /// `<input type=file>`, `text` is the path of the file to choose.
    public func type(_ css: String, _ text: String, clear: Bool = false) async throws {
        let e = try await find(css)
        if clear { try await driver.send("POST", "\(session)/element/\(e.id)/clear") }
        try await driver.send("POST", "\(session)/element/\(e.id)/value", ["text": .string(text)])
    }

    /// The rendered text of the first element matching `css`.
    public func text(_ css: String) async throws -> String {
        let e = try await find(css)
        return try await driver.send("GET", "\(session)/element/\(e.id)/text").string ?? ""
    }

    /// Presses and releases keys in order on the focused element (e.g. `[.tab]`, `[.enter]`).
    public func press(_ keys: [Key]) async throws {
        var actions: [JSONValue] = []
        for k in keys {
            actions.append(["type": "keyDown", "value": .string(k.rawValue)])
            actions.append(["type": "keyUp", "value": .string(k.rawValue)])
        }
        try await driver.send("POST", "\(session)/actions", ["actions": [["type": "key", "id": "keyboard", "actions": .array(actions)]]])
        try await driver.send("DELETE", "\(session)/actions")
    }

    /// Presses keys together (e.g. `[.control, .enter]`): all go down in order, then up in reverse.
    public func pressChord(_ keys: [Key]) async throws {
        let down: [JSONValue] = keys.map { ["type": "keyDown", "value": .string($0.rawValue)] }
        let up: [JSONValue] = keys.reversed().map { ["type": "keyUp", "value": .string($0.rawValue)] }
        try await driver.send("POST", "\(session)/actions", ["actions": [["type": "key", "id": "keyboard", "actions": .array(down + up)]]])
        try await driver.send("DELETE", "\(session)/actions")
    }

    /// Resizes the window (CSS pixels).
    public func resize(width: Int, height: Int) async throws {
        try await driver.send("POST", "\(session)/window/rect", ["width": .number(Double(width)), "height": .number(Double(height))])
    }

    // MARK: - Scripts

    /// Runs a function body in the page (`return …` gives the result; `arguments[i]` the args).
    @discardableResult
    public func execute(_ script: String, _ args: [JSONValue] = []) async throws -> JSONValue {
        try await driver.send("POST", "\(session)/execute/sync", ["script": .string(script), "args": .array(args)])
    }

    /// Runs an asynchronous function body: it ends by calling `arguments[arguments.length - 1](result)`.
    @discardableResult
    public func executeAsync(_ script: String, _ args: [JSONValue] = []) async throws -> JSONValue {
        try await driver.send("POST", "\(session)/execute/async", ["script": .string(script), "args": .array(args)])
    }

    /// Polls a JavaScript expression until it is truthy and returns its value. An expression that
    /// throws (an element not there yet) counts as not yet. On timeout, fails with `what`, the
    /// expression's last value or exception, and the browser's console log.
    @discardableResult
    public func waitUntil(_ expression: String, timeout: TimeInterval = 30, what: String) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSONValue = .null
        while true {
            last = try await execute("try { return { value: (\(expression)) }; } catch (e) { return { exception: String(e) }; }")
            if last["value"].isTruthy { return last["value"] }
            if Date() >= deadline {
                let console = (try? await consoleLog().map(\.description).joined(separator: "\n")) ?? ""
                throw WebDriverError(code: "timeout", message: "waited \(timeout) s for \(what) (\(expression) → \(last))\nconsole:\n\(console)", command: "waitUntil")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    // MARK: - Evidence

    /// Every console entry the page logged so far (the driver hands each entry out once; this
    /// keeps them all).
    public func consoleLog() async throws -> [ConsoleEntry] {
        let v = try await driver.send("POST", "\(session)/se/log", ["type": "browser"])
        for e in v.array ?? [] {
            log.append(ConsoleEntry(level: e["level"].string ?? "", source: e["source"].string ?? "", message: e["message"].string ?? ""))
        }
        return log
    }

    /// The console entries at level `SEVERE`: uncaught exceptions, `console.error`, failed loads.
    public func consoleErrors() async throws -> [ConsoleEntry] {
        try await consoleLog().filter { $0.level == "SEVERE" }
    }

    /// A PNG of the viewport.
    public func screenshot() async throws -> Data {
        let b64 = try await driver.send("GET", "\(session)/screenshot").string ?? ""
        guard let data = Data(base64Encoded: b64) else { throw WebDriverError(code: "bad screenshot", message: "not base64", command: "screenshot") }
        return data
    }

    /// Writes a screenshot to `<screenshotDirectory>/<name>.png` and returns its URL.
    @discardableResult
    public func screenshot(named name: String) async throws -> URL {
        let dir = Self.screenshotDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("\(name).png")
        try await screenshot().write(to: url, options: .atomic)
        return url
    }

    /// Best effort: the page as it was when a test failed, as `failure-<time>.png`.
    func saveFailureScreenshot() async {
        let stamp = Int(Date().timeIntervalSince1970 * 1000)
        _ = try? await screenshot(named: "failure-\(stamp)")
    }

    /// Where screenshots go: `$GSV_SCREENSHOT_DIR`, else `.build/screenshots` in the package.
    public static var screenshotDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["GSV_SCREENSHOT_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        // Sources/GSVBrowserTesting/Browser.swift → package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/screenshots", isDirectory: true)
    }

    // MARK: - Helpers

    /// Ends a driver process (SIGKILL: chromedriver does not stop on SIGTERM) and reaps it.
    static func kill(_ process: Process) {
        guard process.isRunning else { return }
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        #else
        _ = Darwin.kill(process.processIdentifier, SIGKILL)
        #endif
        process.waitUntilExit()
    }
}
