import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GSVAudio
import GSVBrowserTesting
import GSVPrepare
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

/// A `.list` with four clips of different lengths (tones) in a temporary folder.
struct ReviewFixture {
    let folder: URL
    let list: String
    let clips: [String]
    let original: String

    static let texts = ["第一句话。", "Second sentence.", "第三句，有点长。", "Fourth one."]
    static let seconds = [1.0, 1.5, 2.0, 1.2]

    init(rows: Int = 4) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("clips"), withIntermediateDirectories: true)
        var clips: [String] = [], lines: [String] = []
        for i in 0..<rows {
            let path = folder.appendingPathComponent("clips/clip\(i).wav").path
            let n = Int(Self.seconds[i % 4] * 32000)
            let samples = (0..<n).map { Float(0.2 * sin(Double($0) * 2 * Double.pi * Double(200 + 40 * i) / 32000)) }
            try WAV.encode(samples, sampleRate: 32000).write(to: URL(fileURLWithPath: path))
            clips.append(path)
            lines.append("\(path)|spk|\(i % 2 == 0 ? "ZH" : "EN")|\(Self.texts[i % 4])")
        }
        self.clips = clips
        list = folder.appendingPathComponent("voice.list").path
        original = lines.map { $0 + "\n" }.joined()
        try original.write(toFile: list, atomically: false, encoding: .utf8)
    }

    /// The rows of the list on disk, as `[path, speaker, language, text]`.
    func rowsOnDisk() throws -> [[String]] {
        try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        }
    }

    func cleanup() { try? FileManager.default.removeItem(at: folder) }
}

@Suite("Review API (prepare review / serve --review)")
struct ReviewRouteTests {
    @Test("state, audio, edits and their errors, save; the token guards everything but the sign-in files")
    func routes() async throws {
        let fx = try ReviewFixture()
        defer { fx.cleanup() }
        var config = ReviewServerConfiguration(review: try ReviewRoutes(listPath: fx.list))
        config.token = "s3cret"
        let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        let json: HTTPFields = [.authorization: "Bearer s3cret", .contentType: "application/json"]
        try await buildReviewApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/prepare/review/api/state", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/studio/login.html", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/api/pages", method: .get, headers: auth) { r in
                #expect(jsonObject(r.body)["pages"] as? [String] == ["review"])
            }
            var ids: [Int] = []
            try await client.execute(uri: "/prepare/review/api/state", method: .get, headers: auth) { r in
                #expect(r.status == .ok)
                let state = jsonObject(r.body)
                let rows = state["rows"] as? [[String: Any]] ?? []
                #expect(rows.count == fx.clips.count)
                #expect(rows.map { $0["text"] as? String } == ReviewFixture.texts)
                #expect(state["dirty"] as? Bool == false)
                ids = rows.compactMap { $0["id"] as? Int }
            }
            try #require(ids.count == fx.clips.count)
            try await client.execute(uri: "/prepare/review/api/audio/\(ids[1])", method: .get, headers: auth) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "audio/wav")
                #expect(Data(r.body.readableBytesView) == FileManager.default.contents(atPath: fx.clips[1]))
            }
            try await client.execute(uri: "/prepare/review/api/audio/999", method: .get, headers: auth) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/prepare/review/api/audio/x", method: .get, headers: auth) { r in #expect(r.status == .badRequest) }
            // Bad requests name the problem and change nothing.
            for (path, body, needle) in [("edit", "{", "malformed"), ("edit", "{\"text\":\"a\"}", "'id'"), ("edit", "{\"id\":999,\"text\":\"a\"}", "999"),
                                         ("edit", "{\"id\":\(ids[0]),\"text\":\"a|b\"}", "'|'"), ("edit", "{\"id\":\(ids[0]),\"language\":\"FR\"}", "FR"),
                                         ("merge", "{\"ids\":[\(ids[0])]}", "two"), ("split", "{\"id\":\(ids[0]),\"at\":99}", "outside")] {
                try await client.execute(uri: "/prepare/review/api/\(path)", method: .post, headers: json, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .badRequest, "\(path) \(body)")
                    let message = jsonObject(r.body)["message"] as? String ?? ""
                    #expect(message.contains(needle), "\(path) \(body): \(message)")
                }
            }
            try await client.execute(uri: "/prepare/review/api/edit", method: .post, headers: json,
                                     body: ByteBuffer(string: "{\"id\":\(ids[0]),\"text\":\"改过的第一句。\"}")) { r in
                #expect(r.status == .ok)
                let state = jsonObject(r.body)
                #expect(state["dirty"] as? Bool == true)
                #expect(state["canUndo"] as? Bool == true)
            }
            #expect(try String(contentsOfFile: fx.list, encoding: .utf8) == fx.original, "nothing is written before Save")
            // Someone else changes the file: Save refuses (409), Save with force overwrites.
            try (fx.original + "\(fx.clips[0])|spk|ZH|外来的一行。\n").write(toFile: fx.list, atomically: false, encoding: .utf8)
            try await client.execute(uri: "/prepare/review/api/save", method: .post, headers: auth) { r in
                #expect(r.status == .conflict)
                #expect((jsonObject(r.body)["message"] as? String ?? "").contains("changed"))
            }
            try await client.execute(uri: "/prepare/review/api/save", method: .post, headers: json, body: ByteBuffer(string: "{\"force\":true}")) { r in
                #expect(r.status == .ok)
                #expect(jsonObject(r.body)["dirty"] as? Bool == false)
            }
            let rows = try fx.rowsOnDisk()
            #expect(rows.count == fx.clips.count)
            #expect(rows.first?.last == "改过的第一句。")
            #expect(FileManager.default.fileExists(atPath: AtomicFile.backupPath(of: fx.list)))
        }
    }

    @Test("serve --review: the review routes join the server's groups behind its token, and the studio lists the Review page")
    func inServe() async throws {
        let fx = try ReviewFixture()
        defer { fx.cleanup() }
        var (config, cleanUp) = try StudioFixtures.configuration(token: "s3cret")
        defer { cleanUp() }
        config.routeGroups.append(try ReviewRoutes(listPath: fx.list))
        config.studio.extraPages.append(ReviewRoutes.studioPage)
        let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/prepare/review/api/state", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/prepare/review/api/state", method: .get, headers: auth) { r in
                #expect(r.status == .ok)
                #expect((jsonObject(r.body)["rows"] as? [Any])?.count == fx.clips.count)
            }
            try await client.execute(uri: "/prepare/review/api/state", method: .post, headers: auth) { r in #expect(r.status == .methodNotAllowed) }
            try await client.execute(uri: "/studio/api/pages", method: .get, headers: auth) { r in
                #expect((jsonObject(r.body)["pages"] as? [String])?.last == "review")
            }
            try await client.execute(uri: "/studio/pages/review.js", method: .get, headers: auth) { r in #expect(r.status == .ok) }
        }
    }

    /// The `gpt-sovits` executable built beside the test bundle (`swift build --build-tests` builds it).
    static var executable: URL? {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL]
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for dir in candidates {
            let url = dir.appendingPathComponent("gpt-sovits")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    @Test("killing `prepare review` (SIGKILL) while it saves leaves the previous or the new list, whole",
          .enabled(if: executable != nil, "the gpt-sovits executable is not built beside the tests (swift build --build-tests builds it)"))
    func killDuringSave() async throws {
        let exe = try #require(Self.executable)
        let fx = try ReviewFixture()
        defer { fx.cleanup() }
        // A list of 3000 rows (about 0.5 MB): a save takes long enough, in a debug build too, that
        // kills land before, during and after the write.
        let rowCount = 3000
        let big = (0..<rowCount).map { "\(fx.clips[$0 % 4])|spk|ZH|第\($0)句：" + String(repeating: "文本", count: 20) + "\n" }.joined()
        try big.write(toFile: fx.list, atomically: false, encoding: .utf8)
        var kills = 0, newSeen = 0
        var saveSeconds = 0.0
        for round in 0..<6 {
            let port = try LocalPort.free()
            let p = Process()
            p.executableURL = exe
            p.arguments = ["prepare", "review", fx.list, "--port", String(port)]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
            let base = "http://127.0.0.1:\(port)/prepare/review/api"
            var state: [String: Any] = [:]
            for _ in 0..<600 {
                if let (data, _) = try? await URLSession.shared.data(from: URL(string: base + "/state")!),
                   let s = try? JSONSerialization.jsonObject(with: data) as? [String: Any] { state = s; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let firstID = try #require(((state["rows"] as? [[String: Any]])?.first?["id"]) as? Int, "the server did not start")
            var edit = URLRequest(url: URL(string: base + "/edit")!)
            edit.httpMethod = "POST"
            edit.setValue("application/json", forHTTPHeaderField: "Content-Type")
            edit.httpBody = try JSONSerialization.data(withJSONObject: ["id": firstID, "text": "round \(round)"])
            _ = try await URLSession.shared.data(for: edit)
            var save = URLRequest(url: URL(string: base + "/save")!)
            save.httpMethod = "POST"
            save.httpBody = Data("{\"force\":true}".utf8)
            if round == 0 {
                // Measure whole saves (the shorter of two); later rounds are killed at spread moments within that time.
                saveSeconds = .infinity
                for _ in 0..<2 {
                    let t0 = Date()
                    let (_, response) = try await URLSession.shared.data(for: save)
                    saveSeconds = min(saveSeconds, Date().timeIntervalSince(t0))
                    #expect((response as? HTTPURLResponse)?.statusCode == 200)
                }
                #expect(try fx.rowsOnDisk().first?.last == "round 0")
                continue
            }
            let before = try fx.rowsOnDisk().first?.last ?? ""
            let saving = Task { try? await URLSession.shared.data(for: save) }
            try await Task.sleep(for: .milliseconds(Int(Double(round - 1) / 4 * saveSeconds * 1000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            _ = await saving.value
            kills += 1
            // The list is whole: every row, every line complete; its first row is the old or the new text.
            let rows = try fx.rowsOnDisk()
            let text = try String(contentsOfFile: fx.list, encoding: .utf8)
            #expect(rows.count == rowCount, "round \(round): \(rows.count) rows")
            #expect(text.split(separator: "\n").dropFirst() == big.split(separator: "\n").dropFirst(), "round \(round): rows 2… differ from the list")
            #expect(text.hasSuffix("\n"), "round \(round): the last line is cut")
            let first = rows.first?.last ?? ""
            #expect(first == before || first == "round \(round)", "round \(round): first row '\(first.prefix(20))', was '\(before)'")
            if first == "round \(round)" { newSeen += 1 }
            // A killed save may leave its temporary file (a hidden .tmp beside the list); never a partial list.
            for name in try FileManager.default.contentsOfDirectory(atPath: fx.folder.path) where name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(at: fx.folder.appendingPathComponent(name))
            }
        }
        #expect(kills == 5)
        print(String(format: "GSVServer: review kill-during-save: a save took %.3f s; %d kills, the new list was in place after %d", saveSeconds, kills, newSeen))
    }
}

@Suite("Review page in a browser", .serialized, .enabled(if: Browser.isAvailable, Browser.unavailableReason))
struct ReviewBrowserTests {
    @Test("edit text and language, split, delete, merge and undo it, save: the .list on disk is as expected; a conflicting save is offered to overwrite")
    func review() async throws {
        let fx = try ReviewFixture()
        defer { fx.cleanup() }
        let routes = try ReviewRoutes(listPath: fx.list)
        let session = routes.session
        var config = ReviewServerConfiguration(review: routes)
        config.port = 0
        try await buildReviewApplication(configuration: config).test(.live) { client in
            let port = try #require(client.port)
            try await Browser.with { browser in
                try await browser.open("http://127.0.0.1:\(port)/")
                try await browser.waitUntil("window.studioDebug && window.studioDebug.mounted().includes('review') && document.querySelectorAll('#review-table tbody tr').length === \(fx.clips.count)",
                                           what: "the Review page with its rows")
                #expect(try await browser.execute("return window.studioDebug.pages()").array == [.string("review")])
                #expect(try await browser.text("#nav-review") == "Review")
                // Each clip plays from the API (same origin, so the sign-in cookie would go with it).
                let type = try await browser.execute("return fetch(document.querySelector('#review-table audio').src).then(r => r.status + ' ' + r.headers.get('content-type'))")
                #expect(type.string == "200 audio/wav")
                let ids = await session.state().rows.map(\.id)
                try #require(ids.count == 4)
                func row(_ id: Int) -> String { "#review-table tr[data-id=\"\(id)\"]" }
                func setValue(_ css: String, _ value: String) async throws {
                    let ok = try await browser.execute("""
                        const e = document.querySelector(arguments[0]); if (!e) return false;
                        e.value = arguments[1]; e.dispatchEvent(new Event('change', { bubbles: true })); return true;
                        """, [.string(css), .string(value)])
                    #expect(ok.bool == true, "\(css)")
                }
                func waitForRevision(after r: Int) async throws {
                    for _ in 0..<300 where await session.state().revision <= r { try await Task.sleep(for: .milliseconds(50)) }
                    // …and the page has drawn the answer.
                    try await Task.sleep(for: .milliseconds(100))
                }
                var rev = await session.state().revision

                // 1. Edit the first row's text, 2. the second row's language.
                try await setValue("\(row(ids[0])) .review-text", "改过的第一句。")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try await browser.waitUntil("!document.querySelector('#review-dirty').hidden", what: "the unsaved badge")
                try await setValue("\(row(ids[1])) .review-lang", "JA")
                try await waitForRevision(after: rev); rev = await session.state().revision

                // 3. Split the third row at 0.5 s.
                try await setValue("\(row(ids[2])) .review-split-at", "0.5")
                try await browser.click("\(row(ids[2])) .review-split")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try await browser.waitUntil("document.querySelectorAll('#review-table tbody tr').length === 5", what: "the split row")

                // 4. Delete the fourth row (confirmed).
                _ = try await browser.execute("window.confirm = () => true; return true")
                try await browser.click("\(row(ids[3])) .review-select")
                try await browser.click("#review-delete")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try await browser.waitUntil("document.querySelectorAll('#review-table tbody tr').length === 4", what: "the deleted row gone")

                // 5. Merge the first two rows, then undo the merge.
                try await browser.click("\(row(ids[0])) .review-select")
                try await browser.click("\(row(ids[1])) .review-select")
                try await browser.click("#review-merge")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try await browser.waitUntil("document.querySelectorAll('#review-table tbody tr').length === 3", what: "the merged row")
                try await browser.click("#review-undo")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try await browser.waitUntil("document.querySelectorAll('#review-table tbody tr').length === 4", what: "the merge undone")
                try await browser.screenshot(named: "review")

                // 6. Save (Ctrl+S).
                _ = try await browser.execute("document.querySelector(arguments[0]).dispatchEvent(new KeyboardEvent('keydown', { key: 's', ctrlKey: true, bubbles: true })); return true",
                                              [.string("\(row(ids[0])) .review-text")])
                try await browser.waitUntil("document.querySelector('#review-msg').classList.contains('ok')", what: "the saved message")
                // Shown only when they apply (computed style: the `hidden` attribute must win over the button and badge styles).
                #expect(try await browser.execute("return getComputedStyle(document.querySelector('#review-dirty')).display").string == "none")
                #expect(try await browser.execute("return getComputedStyle(document.querySelector('#review-save-force')).display").string == "none")

                let rows = try fx.rowsOnDisk()
                #expect(rows.count == 4, "\(rows)")
                guard rows.count == 4 else { return }
                #expect(rows[0] == [fx.clips[0], "spk", "ZH", "改过的第一句。"])
                #expect(rows[1] == [fx.clips[1], "spk", "JA", ReviewFixture.texts[1]])
                // The split: two new files, each row with the whole text (as the official tool does).
                #expect(rows[2][0] != fx.clips[2] && rows[3][0] != fx.clips[2] && rows[2][0] != rows[3][0])
                #expect(rows[2][3] == ReviewFixture.texts[2] && rows[3][3] == ReviewFixture.texts[2])
                let first = try AudioLoader.load(path: rows[2][0]), second = try AudioLoader.load(path: rows[3][0])
                #expect(first.samples.count == 16000)
                #expect(first.samples.count + second.samples.count == Int(ReviewFixture.seconds[2] * 32000))
                #expect(!rows.contains { $0[0] == fx.clips[3] }, "the deleted row is gone")
                #expect(try String(contentsOfFile: AtomicFile.backupPath(of: fx.list), encoding: .utf8) == fx.original)

                // 7. Someone edits the file meanwhile: Save is refused and "overwrite anyway" is offered.
                try await setValue("\(row(ids[1])) .review-text", "再改一次。")
                try await waitForRevision(after: rev); rev = await session.state().revision
                try "\(fx.clips[0])|spk|ZH|别人写的。\n".write(toFile: fx.list, atomically: false, encoding: .utf8)
                try await browser.click("#review-save")
                try await browser.waitUntil("!document.querySelector('#review-save-force').hidden", what: "the overwrite button")
                #expect(try await browser.text("#review-msg").contains("changed on disk"))
                #expect(try fx.rowsOnDisk().count == 1, "a refused save writes nothing")
                try await browser.click("#review-save-force")
                try await browser.waitUntil("document.querySelector('#review-save-force').hidden", what: "the forced save")
                let after = try fx.rowsOnDisk()
                #expect(after.count == 4)
                #expect(after.count > 1 && after[1][3] == "再改一次。")

                // Chinese UI.
                _ = try await browser.execute("const s = document.querySelector('#ui-language'); s.value = 'zh'; s.dispatchEvent(new Event('change')); return true")
                #expect(try await browser.text("#title-review") == "校对标注")
                try await browser.screenshot(named: "review-zh")
                let errors = try await browser.consoleErrors().filter { !$0.description.contains("409 (Conflict)") }
                #expect(errors.isEmpty, "console errors:\n\(errors.map(\.description).joined(separator: "\n"))")
                let missing = try await browser.execute("return window.studioDebug.missingStrings()")
                #expect(missing.array?.isEmpty != false, "UI strings missing: \(missing)")
            }
        }
    }
}
