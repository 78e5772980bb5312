import Foundation
import GSVAudio
import GSVBrowserTesting
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

/// Sentences long enough to stay apart: several fragments, each sent as soon as it is made.
private let sentences = "今天的天气非常好。我们一起去公园散步吧。那里的花都开了。"

/// The studio in a real (headless) Chromium against a live server on the tiny fixture models.
/// Screenshots go to `Browser.screenshotDirectory` (`.build/screenshots`, or `$GSV_SCREENSHOT_DIR`).
@Suite("Studio in a browser", .serialized, .enabled(if: Browser.isAvailable, Browser.unavailableReason))
struct StudioBrowserTests {
    /// Runs `body` with a browser on a live server.
    static func withStudio(token: String? = nil, language: String = "en-US",
                           _ body: @escaping @Sendable (Browser, String, ServerConfiguration) async throws -> Void) async throws {
        let (config, cleanUp) = try StudioFixtures.configuration(token: token)
        defer { cleanUp() }
        try await buildApplication(configuration: config).test(.live) { client in
            let port = try #require(client.port)
            var options = Browser.Options()
            options.language = language
            try await Browser.with(options) { browser in
                try await body(browser, "http://127.0.0.1:\(port)", config)
            }
        }
    }

    /// Chooses `value` in a `<select>` as a user would (the change event fires).
    static func choose(_ browser: Browser, _ css: String, _ value: String) async throws {
        let ok = try await browser.execute("""
            const s = document.querySelector(arguments[0]);
            if (!s || ![...s.options].some(o => o.value === arguments[1])) return false;
            s.value = arguments[1]; s.dispatchEvent(new Event('change', { bubbles: true })); return true;
            """, [.string(css), .string(value)])
        #expect(ok.bool == true, "option \(value) of \(css)")
    }

    static func noConsoleErrors(_ browser: Browser) async throws {
        let errors = try await browser.consoleErrors()
        #expect(errors.isEmpty, "console errors:\n\(errors.map(\.description).joined(separator: "\n"))")
        let missing = try await browser.execute("return window.studioDebug ? window.studioDebug.missingStrings() : []")
        #expect(missing.array?.isEmpty != false, "UI strings missing: \(missing)")
        // Nothing was fetched from another origin.
        let foreign = try await browser.execute("return performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.startsWith(location.origin) && !u.startsWith('blob:') && !u.startsWith('data:'))")
        #expect(foreign.array?.isEmpty != false, "fetched from elsewhere: \(foreign)")
    }

    @Test("Speak: upload a reference, synthesise with streamed playback (sound starts before the answer ends), waveform, history, downloads; keyboard; phone width")
    func speak() async throws {
        try await Self.withStudio { browser, base, _ in
            try await browser.open(base + "/")
            try await browser.waitUntil("document.querySelector('#speak') && window.studioDebug.mounted().includes('speak') && document.querySelector('#gpt-select').options.length > 0", what: "the Speak page")
            #expect(try await browser.text("#nav-speak") == "Speak")
            #expect(try await browser.execute("return document.querySelector('#opt-top_k').value").string == "15")
            #expect(try await browser.execute("return document.querySelector('#opt-repetition_penalty').value").string == "1.35")

            // The 3–10 s check names the problem before anything is sent.
            let short = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString).wav")
            try StudioFixtures.toneWAV(seconds: 1.5).write(to: short)
            defer { try? FileManager.default.removeItem(at: short) }
            try await browser.type("#ref-file", short.path)
            try await browser.waitUntil("document.querySelector('#ref-msg').classList.contains('error')", what: "the length message")
            #expect(try await browser.text("#ref-msg").contains("3–10 s"))

            try await browser.type("#ref-file", StudioFixtures.refWAV.path)
            try await browser.waitUntil("document.querySelector('#ref-msg').classList.contains('ok')", what: "the reference accepted")
            try await browser.type("#prompt-text", StudioFixtures.refText)
            try await Self.choose(browser, "#prompt-lang", "zh")
            try await Self.choose(browser, "#text-lang", "zh")
            try await browser.type("#text", sentences)
            try await browser.type("#opt-top_k", "1", clear: true)
            try await browser.click("#speak")
            let done = try await browser.waitUntil("window.studioDebug.lastSynthesis && (window.studioDebug.lastSynthesis.finished || window.studioDebug.lastSynthesis.error) && window.studioDebug.lastSynthesis", timeout: 120, what: "the synthesis")
            #expect(done["error"] == .null, "\(done)")
            let firstChunk = try #require(done["firstChunk"].number), playing = try #require(done["playing"].number), finished = try #require(done["finished"].number)
            // Playback began with the first chunk, while the rest was still on its way.
            #expect(playing >= firstChunk)
            #expect(playing < finished, "sound started at \(playing) ms, the answer ended at \(finished) ms")
            try await browser.waitUntil("document.querySelectorAll('#history li').length === 1", what: "the history entry")
            #expect(try await browser.execute("return document.querySelector('#result-audio').src.startsWith('blob:')").bool == true)
            // The waveform was drawn.
            #expect(try await browser.execute("""
                const c = document.querySelector('#waveform'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;
                """).number ?? 0 > 100)
            try await browser.screenshot(named: "speak")

            // Downloads: WAV made in the page; the others through the server's ffmpeg.
            try await browser.click("#download")
            let wav = try await browser.waitUntil("window.studioDebug.lastDownload", what: "the WAV download")
            #expect(wav["format"].string == "wav")
            #expect(wav["bytes"].number ?? 0 > 44)
            if FFmpeg.isAvailable {
                try await Self.choose(browser, "#download-format", "mp3")
                try await browser.click("#download")
                let mp3 = try await browser.waitUntil("window.studioDebug.lastDownload.format === 'mp3' && window.studioDebug.lastDownload", what: "the MP3 download")
                #expect(mp3["type"].string == "audio/mpeg")
            }

            // Replaying from the history, and reusing its settings (the exact seed).
            try await browser.click("#history .history-reuse")
            #expect(try await browser.execute("return document.querySelector('#opt-keep-random').checked").bool == false)
            let seed = try await browser.execute("return document.querySelector('#opt-seed').value").string
            #expect(Int(seed ?? "") ?? -1 >= 0)

            // Keyboard: Ctrl+Enter in the text speaks again.
            try await browser.execute("window.studioDebug.lastSynthesis = null; const t = document.querySelector('#text'); t.value = '你好。'; t.focus();")
            try await browser.pressChord([.control, .enter])
            try await browser.waitUntil("window.studioDebug.lastSynthesis && window.studioDebug.lastSynthesis.finished", timeout: 120, what: "the synthesis started from the keyboard")
            try await browser.waitUntil("document.querySelectorAll('#history li').length === 2", what: "the second history entry")

            // A phone-sized window: one column, nothing wider than the screen.
            try await browser.resize(width: 390, height: 844)
            try await browser.waitUntil("document.documentElement.clientWidth <= 400", what: "the narrow window")
            #expect(try await browser.execute("return document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1").bool == true)
            try await browser.execute("window.scrollTo(0, 0)")
            try await browser.screenshot(named: "speak-phone")
            try await Self.noConsoleErrors(browser)
        }
    }

    @Test("Voices: roles as cards, try an emotion, create a role, use it on the Speak page; Training shows a run; Status shows the requests; the UI switches to Chinese")
    func voicesStatusLanguage() async throws {
        try await Self.withStudio { browser, base, config in
            try await browser.open(base + "/#voices")
            try await browser.waitUntil("document.querySelectorAll('.role-card').length > 0 || (document.querySelector('#voices-msg') || {}).textContent", what: "the Voices page")
            let fixtureRoles = (try? FileManager.default.contentsOfDirectory(atPath: config.rolesDirectory!.path))?.filter { !$0.hasPrefix(".") } ?? []
            #expect(try await browser.findAll(".role-card").count == fixtureRoles.count)

            // Create a role from the page.
            try await browser.click("#role-new")
            try await browser.waitUntil("document.querySelector('#role-editor').open", what: "the role editor")
            try await browser.type("#role-name", "测试角色")
            try await browser.type("#role-ref-file", StudioFixtures.refWAV.path)
            try await browser.waitUntil("document.querySelector('#role-ref-msg').classList.contains('ok')", what: "the role's reference accepted")
            try await browser.type("#role-ref-text", StudioFixtures.refText)
            try await browser.execute("document.querySelector('.emotion-row[data-emotion=\"高兴\"]').open = true")
            try await browser.type("#emotion-高兴-file", StudioFixtures.refWAV.path)
            try await browser.waitUntil("document.querySelector('#emotion-高兴-msg').classList.contains('ok')", what: "the emotion clip accepted")
            try await browser.type("#emotion-text-高兴", "哈哈真开心")
            try await browser.click("#role-save")
            try await browser.waitUntil("document.querySelector('.role-card[data-role=\"测试角色\"]')", what: "the new role's card")
            let role = try Role(folder: config.rolesDirectory!.appendingPathComponent("测试角色"))
            #expect(role.defaultReference.text == StudioFixtures.refText)
            #expect(role.emotionReferences["高兴"]?.text == "哈哈真开心")

            // Try the new role's emotion: it is synthesised and played.
            try await browser.click(".role-card[data-role=\"测试角色\"] .try-emotion[data-emotion=\"高兴\"]")
            let tried = try await browser.waitUntil("window.studioDebug.lastTry && (window.studioDebug.lastTry.finished || window.studioDebug.lastTry.error) && window.studioDebug.lastTry", timeout: 120, what: "trying the emotion")
            #expect(tried["error"] == .null, "\(tried)")
            #expect(tried["playing"].number != nil)
            try await browser.screenshot(named: "voices")

            // Use it on the Speak page: role mode with that role chosen.
            try await browser.click(".role-card[data-role=\"测试角色\"] .role-use")
            try await browser.waitUntil("location.hash === '#speak' && document.querySelector('#mode-role').getAttribute('aria-pressed') === 'true' && document.querySelector('#role-select').value === '测试角色'", what: "role mode on the Speak page")
            try await Self.choose(browser, "#emotion-select", "高兴")
            try await browser.type("#text", "你好。")
            try await browser.click("#speak")
            let spoken = try await browser.waitUntil("window.studioDebug.lastSynthesis && (window.studioDebug.lastSynthesis.finished || window.studioDebug.lastSynthesis.error) && window.studioDebug.lastSynthesis", timeout: 120, what: "role synthesis")
            #expect(spoken["error"] == .null, "\(spoken)")

            // Training: a run in the server's training folder, with its progress, losses and files.
            let trainingFolder = try #require(config.studio.trainingFolders.first)
            _ = try StudioFixtures.writeTrainingRun("alice", in: trainingFolder, steps: 5, batches: 3)
            try await browser.click("#nav-training")
            try await browser.waitUntil("(document.querySelector('.run-card[data-run=\"alice\"] progress') || {}).value === 5", what: "the training run")
            #expect(try await browser.text("#run-state-alice") == "running")
            #expect(try await browser.findAll(".run-card[data-run=\"alice\"] .files li").count == 1)
            try await browser.screenshot(named: "training")

            // Status: the requests just made, with their timings.
            try await browser.click("#nav-status")
            try await browser.waitUntil("document.querySelectorAll('#requests-table tbody tr').length >= 2", what: "the requests on the Status page")
            #expect(try await browser.text("#status-running").contains("/"))
            try await browser.screenshot(named: "status")

            // Chinese UI: every label changes, and the choice is remembered.
            try await Self.choose(browser, "#ui-language", "zh")
            #expect(try await browser.text("#nav-speak") == "合成")
            #expect(try await browser.execute("return document.documentElement.lang").string == "zh-CN")
            try await browser.screenshot(named: "status-zh")
            try await browser.open(base + "/#voices")
            try await browser.waitUntil("document.querySelector('#title-voices') && document.querySelector('#title-voices').textContent === '角色'", what: "the Voices page in Chinese after a reload")
            try await browser.screenshot(named: "voices-zh")
            try await browser.click("#nav-speak")
            try await browser.waitUntil("document.querySelector('#speak') && document.querySelector('#speak').textContent === '合成'", what: "the Speak page in Chinese")
            // Messages shown before the switch are in the new language too; choices are kept.
            #expect(try await browser.text("#speak-msg") == "完成。")
            #expect(try await browser.execute("return document.querySelector('#emotion-select').value").string == "高兴")
            try await browser.screenshot(named: "speak-zh")
            try await Self.noConsoleErrors(browser)
        }
    }

    @Test("The UI language follows the browser's; with a token the page asks to sign in and then works")
    func languageAndSignIn() async throws {
        try await Self.withStudio(token: "letmein", language: "zh-CN") { browser, base, _ in
            try await browser.open(base + "/")
            try await browser.waitUntil("location.pathname === '/studio/login.html'", what: "the sign-in page")
            try await browser.type("#token", "wrong")
            try await browser.click("#login")
            try await browser.waitUntil("location.search.includes('failed')", what: "the refusal")
            try await browser.type("#token", "letmein")
            try await browser.click("#login")
            try await browser.waitUntil("document.querySelector('#nav-speak')", what: "the studio after signing in")
            #expect(try await browser.text("#nav-speak") == "合成")
            try await browser.waitUntil("document.querySelector('#version-badge') && document.querySelector('#version-badge').textContent === 'v2'", what: "the page's calls working with the cookie")
            // The failed sign-in left one 303 in the log, no errors.
            try await Self.noConsoleErrors(browser)
        }
    }
}
