import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

@Suite("GSVServer routes", .serialized)
struct ServerRouteTests {
    @Test("POST and GET /tts answer the WAV of engine.synthesizeAll for the same request and seed")
    func ttsMatchesEngine() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let expected = try await Shared.expectedWAV("你好。", voice: Shared.refVoice, seed: 7)
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                                       "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 7]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "audio/wav")
                #expect(bytes(r.body) == expected)
            }
            let uri = "/tts?text=\(q("你好。"))&text_lang=zh&ref_audio_path=\(q(Shared.refPath))&prompt_text=\(q(Shared.refText))&prompt_lang=zh&top_k=1&seed=7"
            try await client.execute(uri: uri, method: .get) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expected)
            }
            // raw: the same samples without the header.
            var raw = body
            raw["media_type"] = "raw"
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(raw)) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expected.dropFirst(44))
            }
        }
    }

    @Test("media_type ogg and aac go through ffmpeg", .enabled(if: FFmpeg.isAvailable))
    func encodedFormats() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                                       "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 7, "media_type": "ogg"]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "audio/ogg")
                #expect(bytes(r.body).prefix(4) == Data("OggS".utf8))
            }
            var aac = body
            aac["media_type"] = "aac"
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(aac)) { r in
                #expect(r.status == .ok)
                let d = bytes(r.body)
                // ADTS sync word 0xFFF.
                #expect(d.count > 2 && d[d.startIndex] == 0xFF && d[d.startIndex + 1] & 0xF0 == 0xF0)
            }
        }
    }

    @Test("Validation errors are 400 with the official messages")
    func validation() async throws {
        var config = try Shared.configuration()
        config.maxTextLength = 20
        let app = buildApplication(configuration: config)
        let base: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath, "prompt_lang": "zh"]
        func with(_ changes: [String: Any?]) -> [String: Any] {
            var b = base
            for (k, v) in changes { b[k] = v }
            return b
        }
        let raw: [([String: Any], String)] = [
            (with(["text": nil]), "text is required"),
            (with(["text_lang": "xx"]), "text_lang: xx is not supported in version v2"),
            (with(["ref_audio_path": nil]), "ref_audio_path is required"),
            (with(["prompt_lang": nil]), "prompt_lang is required"),
            (with(["media_type": "mp4"]), "media_type: mp4 is not supported"),
            (with(["text_split_method": "cut9"]), "text_split_method:cut9 is not supported"),
            (with(["streaming_mode": 7]), "the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)"),
            (with(["top_k": "abc"]), "top_k: 'abc' is not a valid number"),
            (with(["text": String(repeating: "好", count: 21)]), "text is too long: 21 characters (limit 20)"),
        ]
        let cases: [(ByteBuffer, String)] = raw.map { (jsonBody($0.0), $0.1) }
        let streaming2 = jsonBody(with(["streaming_mode": 2]))
        let silent = jsonBody(with(["text": "。。。"]))
        try await app.test(.router) { client in
            for (body, message) in cases {
                try await client.execute(uri: "/tts", method: .post, body: body) { r in
                    #expect(r.status == .badRequest)
                    #expect(jsonObject(r.body)["message"] as? String == message)
                }
            }
            try await client.execute(uri: "/tts", method: .post, body: ByteBuffer(string: "{not json")) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "request body is not a JSON object")
            }
            // Token streaming: a WAV header, then PCM.
            try await client.execute(uri: "/tts", method: .post, body: streaming2) { r in
                #expect(r.status == .ok)
                #expect(r.body.readableBytes > 44 + 32000)
                #expect(r.body.getString(at: 0, length: 4) == "RIFF")
            }
            // A failed synthesis (text with nothing to say) is an error.
            try await client.execute(uri: "/tts", method: .post, body: silent) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "tts failed")
            }
        }
    }

    @Test("Reference and weight paths must resolve inside the allowed roots")
    func pathConfinement() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let escape = Fixtures.url("v2/ref").path + "/../../roles/role/小明/小明.wav"
        try await app.test(.router) { client in
            for path in ["/etc/passwd", escape, "relative/ref.wav"] {
                let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": path, "prompt_lang": "zh"]
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                    #expect(r.status == .badRequest)
                    #expect((jsonObject(r.body)["message"] as? String)?.contains("outside the allowed folders") == true)
                }
            }
            let aux: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath, "prompt_lang": "zh",
                                      "aux_ref_audio_paths": ["/etc/hostname"]]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(aux)) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "aux_ref_audio_paths: /etc/hostname is outside the allowed folders")
            }
            // Inside the root but missing: the synthesis fails with a 400 naming the file.
            let missing = Fixtures.url("v2/ref").path + "/nope.wav"
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": missing, "prompt_lang": "zh"]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .badRequest)
                #expect((jsonObject(r.body)["Exception"] as? String)?.contains("nope.wav") == true)
            }
            try await client.execute(uri: "/set_gpt_weights?weights_path=\(q("/etc/passwd"))", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "weights_path: /etc/passwd is outside the allowed folders")
            }
            try await client.execute(uri: "/set_sovits_weights", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "sovits weight path is required")
            }
            try await client.execute(uri: "/set_gpt_weights?weights_path=\(q(Fixtures.url("v2/models/none.ckpt").path))", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "change gpt weight failed")
            }
            try await client.execute(uri: "/set_refer_audio?refer_audio_path=\(q("/etc/passwd"))", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test("set_refer_audio sets the voice used by requests without ref_audio_path")
    func setReferAudio() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let expected = try await Shared.expectedWAV("好的。", voice: Shared.refVoice, seed: 3)
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "好的。", "text_lang": "zh", "top_k": 1, "seed": 3]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "ref_audio_path is required")
            }
            let uri = "/set_refer_audio?refer_audio_path=\(q(Shared.refPath))&prompt_text=\(q(Shared.refText))&prompt_lang=zh"
            try await client.execute(uri: uri, method: .get) { r in
                #expect(r.status == .ok)
                #expect(jsonObject(r.body)["message"] as? String == "success")
            }
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expected)
            }
            try await client.execute(uri: "/v1/voices", method: .get) { r in
                let ids = (jsonObject(r.body)["voices"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["default", "小明"])
            }
        }
    }

    @Test("set_gpt_weights / set_sovits_weights load a new bundle that then serves requests")
    func swapWeights() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let expected = try await Shared.expectedWAV("你好。", voice: Shared.refVoice, seed: 7)
        try await app.test(.router) { client in
            try await client.execute(uri: "/set_sovits_weights?weights_path=\(q(Shared.paths.sovits))", method: .get) { r in
                #expect(r.status == .ok)
                #expect(jsonObject(r.body)["message"] as? String == "success")
            }
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                                       "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 7]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expected)
            }
            // Not a checkpoint: the swap fails and the old engine keeps serving.
            try await client.execute(uri: "/set_gpt_weights?weights_path=\(q(Shared.refPath))", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "change gpt weight failed")
            }
        }
    }

    @Test("Bearer token: 401 without it, health and running exempt")
    func bearerToken() async throws {
        var config = try Shared.configuration()
        config.bearerToken = "s3cret"
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer wrong"]) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer s3cret"]) { r in
                #expect(r.status == .ok)
                let ids = (jsonObject(r.body)["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids?.contains("gpt-sovits") == true)
            }
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok)
                #expect(jsonObject(r.body)["version"] as? String == "v2")
                #expect(jsonObject(r.body)["sample_rate"] as? Int == 32000)
            }
            try await client.execute(uri: "/running", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test("Body size limit answers 413")
    func bodyLimit() async throws {
        var config = try Shared.configuration()
        config.maxBodyBytes = 64
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": String(repeating: "好", count: 100), "text_lang": "zh"]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .contentTooLarge)
            }
        }
    }

    @Test("/control: exit and restart only when allowed, command required")
    func control() async throws {
        final class Flag: @unchecked Sendable {
            let lock = NSLock()
            var count = 0
            func hit() { lock.lock(); count += 1; lock.unlock() }
            var value: Int { lock.lock(); defer { lock.unlock() }; return count }
        }
        let flag = Flag(), restarts = Flag()
        var config = try Shared.configuration()
        config.onExit = { flag.hit() }
        config.onRestart = { restarts.hit() }
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/control?command=exit", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "exit is disabled on this server (start it with --allow-exit)")
            }
            try await client.execute(uri: "/control?command=restart", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "restart is disabled on this server (start it with --allow-restart)")
            }
            try await client.execute(uri: "/control?command=reboot", method: .get) { r in
                #expect(jsonObject(r.body)["message"] as? String == "unknown command 'reboot' (use restart or exit)")
            }
        }
        config.allowExit = true
        config.allowRestart = true
        try await buildApplication(configuration: config).test(.router) { client in
            try await client.execute(uri: "/control", method: .get) { r in
                #expect(jsonObject(r.body)["message"] as? String == "command is required")
            }
            for _ in 0..<2 {
                try await client.execute(uri: "/control?command=restart", method: .get) { r in
                    #expect(r.status == .ok)
                    #expect(jsonObject(r.body)["message"] as? String == "restarting")
                }
            }
            try await client.execute(uri: "/control?command=exit", method: .get) { r in #expect(r.status == .ok) }
        }
        for _ in 0..<50 where flag.value == 0 || restarts.value == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(flag.value == 1)
        #expect(restarts.value == 1)  // fires once however often it is asked
    }

    @Test("Over HTTP: with one slot and no queue, simultaneous requests beyond the first get 503")
    func busy() async throws {
        var config = try Shared.configuration()
        config.maxConcurrent = 1
        config.queueLength = 0
        let app = buildApplication(configuration: config)
        let body = jsonBody(["text": "你好。我们走吧。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                             "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 1])
        try await app.test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await client.execute(uri: "/tts", method: .post, body: body) { r in
                            (r.status.code, jsonObject(r.body)["message"] as? String ?? "")
                        }
                    }
                }
                var all: [(Int, String)] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.filter { $0.0 == 200 }.count >= 1)
            let busy = statuses.filter { $0.0 == 503 }
            #expect(busy.count >= 1)
            #expect(busy.allSatisfy { $0.1.hasPrefix("server busy") })
            #expect(statuses.allSatisfy { $0.0 == 200 || $0.0 == 503 })
        }
    }

    @Test("Admission gate: concurrency limit, then queue, then 503")
    func admissionGate() async throws {
        let gate = AdmissionGate(maxConcurrent: 1, queueLength: 1)
        try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        for _ in 0..<100 where await gate.queued == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(await gate.queued == 1)
        await #expect(throws: APIError.self) { try await gate.acquire() }
        await gate.release()
        try await waiter.value
        #expect(await gate.running == 1)
        #expect(await gate.queued == 0)
        await gate.release()
        #expect(await gate.running == 0)
    }

    @Test("Slot lease: released once, and given back when dropped unreleased")
    func slotLease() async throws {
        let gate = AdmissionGate(maxConcurrent: 2, queueLength: 0)
        try await gate.acquire()
        try await gate.acquire()
        let lease = SlotLease(gate)
        await lease.release()
        await lease.release()
        #expect(await gate.running == 1)
        var dropped: SlotLease? = SlotLease(gate)
        #expect(dropped != nil)
        dropped = nil
        for _ in 0..<200 where await gate.running > 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(await gate.running == 0)
    }

    @Test("Admission gate: a cancelled waiter leaves the queue")
    func admissionGateCancel() async throws {
        let gate = AdmissionGate(maxConcurrent: 1, queueLength: 2)
        try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        let second = Task { try await gate.acquire() }
        for _ in 0..<100 where await gate.queued < 2 { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(await gate.queued == 2)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await gate.queued == 1)
        // The slot goes to the request still waiting, then back to idle.
        await gate.release()
        try await second.value
        #expect(await gate.running == 1)
        await gate.release()
        #expect(await gate.running == 0)
        #expect(await gate.queued == 0)
    }
}
