import Foundation
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import GSVTrain
import Testing
@testable import GSVServer

@Suite("Studio routes: page files, sign-in, uploads, models, roles, encoding, status")
struct StudioRouteTests {
    @Test("/ serves the page with a policy that forbids loading anything from elsewhere; its files are served from the bundle")
    func page() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
                let csp = r.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("default-src 'self'"))
                #expect(csp.contains("connect-src 'self'"))
                let html = String(buffer: r.body)
                #expect(html.contains("/studio/studio.js"))
                // Every script and stylesheet the page names is local.
                #expect(!html.contains("http://") && !html.contains("https://"))
            }
            for (path, type) in [("/studio/studio.js", "javascript"), ("/studio/studio.css", "text/css"), ("/studio/pages/speak.js", "javascript"),
                                 ("/studio/favicon.svg", "image/svg")] {
                try await client.execute(uri: path, method: .get) { r in
                    #expect(r.status == .ok, "\(path)")
                    #expect(r.headers[.contentType]?.contains(type) == true, "\(path): \(r.headers[.contentType] ?? "")")
                    #expect(r.headers[.contentSecurityPolicy] != nil)
                }
            }
            try await client.execute(uri: "/studio/no-such-file.js", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/studio/../Package.swift", method: .get) { r in #expect(r.status != .ok) }
        }
    }

    @Test("The shell alone (no engine): the page, its files and the list of pages this server shows")
    func shellAlone() async throws {
        let router = Router()
        StudioShell(pages: ["review"], token: nil).register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("/studio/studio.js"))
            }
            try await client.execute(uri: "/studio/api/pages", method: .get) { r in
                #expect(jsonObject(r.body)["pages"] as? [String] == ["review"])
            }
            try await client.execute(uri: "/studio/studio.css", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/.hidden", method: .get) { r in #expect(r.status == .notFound) }
        }
        // With a token, the shell checks it itself: header or sign-in cookie.
        let guarded = Router()
        StudioShell(pages: ["review"], token: "t0k").register(on: guarded)
        try await Application(router: guarded).test(.router) { client in
            try await client.execute(uri: "/studio/api/pages", method: .get) { r in
                #expect(r.status == .unauthorized)
                #expect(jsonObject(r.body)["message"] as? String != nil)
            }
            try await client.execute(uri: "/studio/api/pages", method: .get, headers: [.authorization: "Bearer t0k"]) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/api/pages", method: .get, headers: [.cookie: "gsv_token=t0k"]) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .seeOther) }
            try await client.execute(uri: "/studio/login.html", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test("With a token: the page sends browsers to sign in; the sign-in sets a cookie that the page and its calls then use; cross-site writes with the cookie are refused")
    func signIn() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration(token: "s3cret")
        defer { cleanUp() }
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/studio/login.html")
            }
            try await client.execute(uri: "/studio/api/info", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/studio/studio.js", method: .get) { r in #expect(r.status == .unauthorized) }
            // The sign-in page itself needs no token.
            try await client.execute(uri: "/studio/login.html", method: .get) { r in #expect(r.status == .ok) }
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/studio/login", method: .post, headers: form, body: ByteBuffer(string: "token=wrong&next=%2F%23voices")) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location]?.hasPrefix("/studio/login.html?failed=1") == true)
                #expect(r.headers[.setCookie] == nil)
            }
            var cookie = ""
            try await client.execute(uri: "/studio/login", method: .post, headers: form, body: ByteBuffer(string: "token=s3cret&next=%2F%23voices")) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location] == "/#voices")
                let set = r.headers[.setCookie] ?? ""
                #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict"))
                cookie = String(set.split(separator: ";")[0])
            }
            // An open redirect is not possible through `next`.
            try await client.execute(uri: "/studio/login", method: .post, headers: form, body: ByteBuffer(string: "token=s3cret&next=%2F%2Fevil.example")) { r in
                #expect(r.headers[.location] == "/")
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/api/info", method: .get, headers: [.cookie: cookie]) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/api/info", method: .get, headers: [.cookie: "gsv_token=nope"]) { r in #expect(r.status == .unauthorized) }
            let crossSite: HTTPFields = [.cookie: cookie, .init("Sec-Fetch-Site")!: "cross-site", .contentType: "application/json"]
            try await client.execute(uri: "/tts", method: .post, headers: crossSite, body: jsonBody(["text": "你好"])) { r in
                #expect(r.status == .unauthorized)
            }
            // The bearer header keeps working for API clients.
            try await client.execute(uri: "/studio/api/info", method: .get, headers: [.authorization: "Bearer s3cret"]) { r in #expect(r.status == .ok) }
        }
    }

    @Test("/studio/api/info and /studio/api/models describe the loaded models, identified by content")
    func infoAndModels() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/studio/api/info", method: .get) { r in
                let info = jsonObject(r.body)
                #expect(info["version"] as? String == "v2")
                #expect((info["languages"] as? [String])?.contains("all_zh") == true)
                #expect(info["max_text"] as? Int == config.maxTextLength)
                #expect(info["roles"] as? Bool == true)
            }
            try await client.execute(uri: "/studio/api/models", method: .get) { r in
                let list = jsonObject(r.body)
                let gpt = (list["gpt"] as? [[String: Any]]) ?? []
                let sovits = (list["sovits"] as? [[String: Any]]) ?? []
                let current = list["current"] as? [String: Any]
                let gptPath = StudioFixtures.paths.gpt, sovitsPath = StudioFixtures.paths.sovits
                func same(_ a: Any?, _ b: String) -> Bool {
                    (a as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == URL(fileURLWithPath: b).resolvingSymlinksInPath().path
                }
                #expect(same(current?["gpt"], gptPath))
                #expect(same(current?["sovits"], sovitsPath))
                #expect(gpt.first.map { same($0["path"], gptPath) && $0["origin"] as? String == "loaded" } == true)
                #expect(sovits.first.map { same($0["path"], sovitsPath) && $0["version"] as? String == "v2" } == true)
                // Only GPT files in the GPT list and SoVITS files in the SoVITS list.
                #expect(gpt.allSatisfy { ($0["kind"] as? String) == "gpt" })
                #expect(sovits.allSatisfy { ($0["kind"] as? String) == "sovits" })
            }
        }
    }

    @Test("Reference uploads: a 3–10 s clip is stored (once) and usable in /tts; shorter, longer and non-audio files are refused with the reason")
    func referenceUploads() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        let ref = try Data(contentsOf: StudioFixtures.refWAV)
        try await buildApplication(configuration: config).test(.router) { client in
            var stored = ""
            try await client.execute(uri: "/studio/api/references?name=ref.wav", method: .post, body: ByteBuffer(bytes: ref)) { r in
                #expect(r.status == .created)
                let clip = jsonObject(r.body)
                stored = clip["path"] as? String ?? ""
                #expect(clip["name"] as? String == "ref.wav")
                let seconds = clip["seconds"] as? Double ?? 0
                #expect(seconds > 3 && seconds < 10)
                #expect(FileManager.default.contents(atPath: stored) == ref)
            }
            try await client.execute(uri: "/studio/api/references?name=again.wav", method: .post, body: ByteBuffer(bytes: ref)) { r in
                #expect(jsonObject(r.body)["path"] as? String == stored)
            }
            for seconds in [1.5, 12.0] {
                try await client.execute(uri: "/studio/api/references?name=tone.wav", method: .post,
                                         body: ByteBuffer(bytes: try StudioFixtures.toneWAV(seconds: seconds))) { r in
                    #expect(r.status == .badRequest)
                    let message = jsonObject(r.body)["message"] as? String ?? ""
                    #expect(message.contains("3") && message.contains("10 s"), "\(message)")
                }
            }
            // Auxiliary clips skip the length check. (The name as the page's URLSearchParams sends
            // "aux clip+1.wav": spaces as '+', a plus as %2B.)
            try await client.execute(uri: "/studio/api/references?name=aux+clip%2B1.wav&check=0", method: .post,
                                     body: ByteBuffer(bytes: try StudioFixtures.toneWAV(seconds: 1.5))) { r in
                #expect(r.status == .created)
                #expect(jsonObject(r.body)["name"] as? String == "aux clip+1.wav")
            }
            try await client.execute(uri: "/studio/api/references?name=notes.txt", method: .post, body: ByteBuffer(string: "hello, not audio")) { r in
                #expect(r.status == .badRequest)
                #expect((jsonObject(r.body)["message"] as? String)?.contains("notes.txt") == true)
            }
            // The stored clip is an allowed reference path for /tts.
            try await client.execute(uri: "/tts", method: .post, headers: [.contentType: "application/json"],
                                     body: jsonBody(["text": "你好。", "text_lang": "zh", "ref_audio_path": stored, "prompt_text": StudioFixtures.refText,
                                                     "prompt_lang": "zh", "top_k": 1, "seed": 1])) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "audio/wav")
            }
        }
    }

    @Test("Model uploads: a GPT checkpoint is stored, identified, listed and loadable with /set_gpt_weights; other files are refused")
    func weightsUpload() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        let gpt = try Data(contentsOf: URL(fileURLWithPath: StudioFixtures.paths.gpt))
        try await buildApplication(configuration: config).test(.router) { client in
            var path = ""
            try await client.execute(uri: "/studio/api/weights?name=my-voice.ckpt", method: .post, body: ByteBuffer(bytes: gpt)) { r in
                #expect(r.status == .created)
                let saved = jsonObject(r.body)
                #expect(saved["kind"] as? String == "gpt")
                #expect(saved["name"] as? String == "my-voice.ckpt")
                path = saved["path"] as? String ?? ""
            }
            try await client.execute(uri: "/studio/api/models", method: .get) { r in
                let gpts = (jsonObject(r.body)["gpt"] as? [[String: Any]]) ?? []
                #expect(gpts.contains { $0["path"] as? String == path && $0["origin"] as? String == "uploaded" })
            }
            try await client.execute(uri: "/set_gpt_weights?weights_path=\(q(path))", method: .get) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            try await client.execute(uri: "/studio/api/weights?name=notes.ckpt", method: .post, body: ByteBuffer(string: "not a checkpoint")) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/studio/api/weights?name=script.sh", method: .post, body: ByteBuffer(string: "#!/bin/sh")) { r in
                #expect(r.status == .badRequest)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: config.studio.directory!.appendingPathComponent("weights").path)
            #expect(left == ["my-voice.ckpt"])
        }
    }

    @Test("Roles: listed with their clips; created from uploaded clips in the role layout; edited (text, emotions added, renamed, removed) with unknown config keys kept")
    func roles() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        let ref = try Data(contentsOf: StudioFixtures.refWAV)
        let rolesDir = try #require(config.rolesDirectory)
        try await buildApplication(configuration: config).test(.router) { client in
            var clip = ""
            try await client.execute(uri: "/studio/api/references?name=ref.wav", method: .post, body: ByteBuffer(bytes: ref)) { r in
                clip = jsonObject(r.body)["path"] as? String ?? ""
            }
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(uri: "/studio/api/roles", method: .post, headers: json, body: jsonBody([
                "name": "新角色", "ref_upload": clip, "ref_text": StudioFixtures.refText, "ref_lang": "zh",
                "emotions": [["label": "高兴", "text": "我很开心", "upload": clip], ["label": "悲伤", "text": "我有点难过", "upload": clip]],
            ])) { r in
                #expect(r.status == .created, "\(String(buffer: r.body))")
                let role = jsonObject(r.body)
                #expect(role["name"] as? String == "新角色")
                #expect(((role["emotions"] as? [[String: Any]]) ?? []).compactMap { $0["label"] as? String } == ["高兴", "悲伤"])
            }
            let folder = rolesDir.appendingPathComponent("新角色")
            let fm = FileManager.default
            #expect(fm.contents(atPath: folder.appendingPathComponent("新角色.wav").path) == ref)
            #expect(fm.fileExists(atPath: folder.appendingPathComponent("refAudio/高兴/我很开心.wav").path))
            let role = try Role(folder: folder)
            #expect(role.defaultReference.text == StudioFixtures.refText)
            #expect(role.emotionReferences["悲伤"]?.text == "我有点难过")
            // No staging folder is left behind.
            #expect(try fm.contentsOfDirectory(atPath: rolesDir.path).allSatisfy { !$0.hasPrefix(".") })

            try await client.execute(uri: "/studio/api/roles", method: .post, headers: json,
                                     body: jsonBody(["name": "新角色", "ref_upload": clip])) { r in #expect(r.status == .conflict) }
            for bad in ["", "../evil", ".hidden", "a/b"] {
                try await client.execute(uri: "/studio/api/roles", method: .post, headers: json, body: jsonBody(["name": bad, "ref_upload": clip])) { r in
                    #expect(r.status == .badRequest, "name \(bad)")
                }
            }
            try await client.execute(uri: "/studio/api/roles", method: .post, headers: json,
                                     body: jsonBody(["name": "x", "ref_upload": "/etc/passwd"])) { r in #expect(r.status == .badRequest) }

            // Edit: new text, 高兴 renamed, 悲伤 removed, 恐惧 added; a key this page does not edit stays.
            var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
            cfg["BERTmodel_note"] = "kept"
            try JSONSerialization.data(withJSONObject: cfg).write(to: folder.appendingPathComponent("config.json"))
            try await client.execute(uri: "/studio/api/roles/\(q("新角色"))", method: .put, headers: json, body: jsonBody([
                "ref_text": "新的文本。",
                "emotions": [["label": "高兴", "text": "我非常开心"], ["label": "恐惧", "text": "好可怕", "upload": clip]],
            ])) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            let edited = try Role(folder: folder)
            #expect(edited.defaultReference.text == "新的文本。")
            #expect(Set(edited.emotionReferences.keys) == ["高兴", "恐惧"])
            #expect(edited.emotionReferences["高兴"]?.text == "我非常开心")
            #expect(!fm.fileExists(atPath: folder.appendingPathComponent("refAudio/悲伤").path))
            let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
            #expect(after["BERTmodel_note"] as? String == "kept")

            try await client.execute(uri: "/studio/api/roles", method: .get) { r in
                let list = jsonObject(r.body)
                let names = ((list["roles"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
                #expect(names.contains("新角色"))
                #expect((list["emotion_labels"] as? [String])?.count == emotionLabels.count)
            }
            try await client.execute(uri: "/studio/api/roles/\(q("新角色"))/clip?emotion=\(q("恐惧"))", method: .get) { r in
                #expect(r.status == .ok)
                #expect(Data(r.body.readableBytesView) == ref)
            }
            try await client.execute(uri: "/studio/api/roles/\(q("新角色"))/clip?emotion=\(q("愤怒"))", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/studio/api/roles/nobody/clip", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/studio/api/roles/nobody", method: .put, headers: json, body: jsonBody(["ref_text": "x"])) { r in
                #expect(r.status == .notFound)
            }
            // The edited role synthesises with a forced emotion through the api_v2 role extension.
            try await client.execute(uri: "/tts", method: .post, headers: json,
                                     body: jsonBody(["text": "你好。", "role": "新角色", "emotion": "恐惧", "top_k": 1, "seed": 1])) { r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test("/studio/api/encode turns a result into each download format", .enabled(if: FFmpeg.isAvailable, "needs ffmpeg"))
    func encode() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        let wav = try StudioFixtures.toneWAV(seconds: 1.0)
        try await buildApplication(configuration: config).test(.router) { client in
            for format in EncodedAudioFormat.allCases {
                try await client.execute(uri: "/studio/api/encode?format=\(format.rawValue)", method: .post, body: ByteBuffer(bytes: wav)) { r in
                    #expect(r.status == .ok, "\(format)")
                    #expect(r.headers[.contentType] == format.mimeType)
                    let audio = try await FFmpeg.decode(data: Data(r.body.readableBytesView), name: "x.\(format.rawValue)", sampleRate: 32000)
                    #expect(abs(audio.duration - 1.0) < 0.1, "\(format): \(audio.duration) s")
                    // An ADTS AAC stream has no place for tags; the other containers carry them.
                    if format != .aac {
                        #expect(String(decoding: r.body.readableBytesView, as: UTF8.self).contains("AI-generated"), "\(format): the AI-generated tag")
                    }
                }
            }
            try await client.execute(uri: "/studio/api/encode?format=exe", method: .post, body: ByteBuffer(bytes: wav)) { r in #expect(r.status == .badRequest) }
            try await client.execute(uri: "/studio/api/encode?format=mp3", method: .post, body: ByteBuffer(string: "nope")) { r in #expect(r.status == .badRequest) }
        }
    }

    @Test("Training: /studio/api/training lists the runs of the training folders with their latest records; the page is listed")
    func training() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        let folder = try #require(config.studio.trainingFolders.first)
        let log = try StudioFixtures.writeTrainingRun("alice", in: folder, steps: 5, batches: 3)
        // A line still being written when the page reads is skipped, not an error.
        let handle = try FileHandle(forWritingTo: log.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"event\":\"st".utf8))
        try handle.close()
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/studio/api/pages", method: .get) { r in
                #expect((jsonObject(r.body)["pages"] as? [String])?.contains("training") == true)
            }
            try await client.execute(uri: "/studio/api/training", method: .get) { r in
                #expect(r.status == .ok)
                let body = jsonObject(r.body)
                #expect(body["folders"] as? [String] == [folder.path])
                let runs = (body["runs"] as? [[String: Any]]) ?? []
                #expect(runs.count == 1)
                #expect(runs.first?["name"] as? String == "alice")
                let records = (runs.first?["records"] as? [[String: Any]]) ?? []
                // start + 5 steps + weights + gpt start, in order.
                #expect(records.map { $0["event"] as? String ?? "" } == ["start"] + Array(repeating: "step", count: 5) + ["weights", "start"])
                let lastStep = records.last { $0["event"] as? String == "step" }
                #expect(lastStep?["epoch"] as? Int == 2 && lastStep?["batch"] as? Int == 2)
                #expect((lastStep?["values"] as? [String: Double])?["loss_g"] == 36)
                #expect(lastStep?["eta_seconds"] as? Double == 10)
            }
        }
    }

    @Test("Page files: every UI string in English and Chinese; no inline scripts, styles or handlers (the CSP would block them)")
    func pageFiles() throws {
        let folder = try #require(StudioShell.assetsFolder)
        /// The keys of a file's `en: {…}` and `zh: {…}` string tables (i18n.js, or a page's own for studio.addStrings).
        func tables(_ text: String) -> (en: Set<String>, zh: Set<String>)? {
            guard let en = text.range(of: "\n  en: {"), let zh = text.range(of: "\n  zh: {") else { return nil }
            let zhEnd = text.range(of: "\n  }", range: zh.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
            func keys(_ part: Substring) -> Set<String> {
                Set(part.split(separator: "\n").compactMap { line -> String? in
                    let l = line.trimmingCharacters(in: .whitespaces)
                    guard l.hasPrefix("'"), let end = l.dropFirst().firstIndex(of: "'") else { return nil }
                    return String(l[l.index(after: l.startIndex)..<end])
                })
            }
            return (keys(text[en.upperBound..<zh.lowerBound]), keys(text[zh.upperBound..<zhEnd]))
        }
        let files = (FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".js") || $0.hasSuffix(".html") }
        var texts: [String: String] = [:]
        for name in files { texts[name] = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) }
        let shared = try #require(tables(texts["i18n.js"] ?? ""))
        #expect(shared.en.count > 100)
        var known = shared.en
        for (name, text) in texts.sorted(by: { $0.key < $1.key }) {
            guard name == "i18n.js" || text.contains("addStrings("), let table = tables(text) else { continue }
            #expect(table.en.subtracting(table.zh).isEmpty, "\(name): missing in zh: \(table.en.subtracting(table.zh).sorted())")
            #expect(table.zh.subtracting(table.en).isEmpty, "\(name): missing in en: \(table.zh.subtracting(table.en).sorted())")
            known.formUnion(table.en)
        }
        // Every key a page names literally (t('…'), data-i18n="…") exists.
        let pattern = try Regex(#"(?:\bt\(|data-i18n(?:-[a-z]+)?=")'?([a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+)['"]"#)
        var named = 0
        for (name, text) in texts.sorted(by: { $0.key < $1.key }) {
            for match in text.matches(of: pattern) {
                named += 1
                let key = String(match.output[1].substring ?? "")
                #expect(known.contains(key), "\(name): string '\(key)' is in no string table")
            }
            guard name.hasSuffix(".html") else { continue }
            #expect(!text.contains("<style"), "\(name): inline <style>")
            #expect(!text.contains(" style="), "\(name): inline style attribute")
            #expect(text.matches(of: try Regex(#"<script(?![^>]*\bsrc=)"#)).isEmpty, "\(name): inline <script>")
            #expect(text.matches(of: try Regex(#"\son[a-z]+="#)).isEmpty, "\(name): inline event handler")
        }
        #expect(named > 100, "only \(named) string keys found in the page files")
    }

    @Test("Status: /studio/api/status names the loaded models; /metrics carries the memory, queue and each synthesis the page shows")
    func status() async throws {
        let (config, cleanUp) = try StudioFixtures.configuration()
        defer { cleanUp() }
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/tts", method: .post, headers: [.contentType: "application/json"], body: jsonBody([
                "text": "你好。", "text_lang": "zh", "ref_audio_path": StudioFixtures.refWAV.path, "prompt_text": StudioFixtures.refText,
                "prompt_lang": "zh", "top_k": 1, "seed": 1, "streaming_mode": 1,
            ])) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/studio/api/status", method: .get) { r in
                let s = jsonObject(r.body)
                let models = s["models"] as? [String: Any]
                #expect(models?["version"] as? String == "v2")
                #expect((models?["weight_bytes"] as? Int ?? 0) > 0)
                #expect(URL(fileURLWithPath: models?["gpt"] as? String ?? "").lastPathComponent == URL(fileURLWithPath: StudioFixtures.paths.gpt).lastPathComponent)
                #expect(s["uptime_seconds"] as? Double ?? -1 >= 0)
            }
            try await client.execute(uri: "/metrics?format=json", method: .get) { r in
                let m = jsonObject(r.body)
                let samples = (m["samples"] as? [[String: Any]]) ?? []
                func value(_ name: String) -> Double? { samples.first { $0["name"] as? String == name }?["value"] as? Double }
                #expect(value("gsv_process_resident_bytes") ?? 0 > 0)
                #expect(value("gsv_process_peak_resident_bytes") ?? 0 >= value("gsv_process_resident_bytes") ?? 0)
                #expect(value("gsv_queue_slots") == Double(config.maxConcurrent))
                let recent = (m["recent"] as? [[String: Any]]) ?? []
                #expect(recent.count == 1)
                #expect(recent.first?["route"] as? String == "/tts")
                #expect(recent.first?["text_characters"] as? Int == 3)
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(String(buffer: r.body).contains("gsv_process_resident_bytes"))
            }
        }
    }
}
