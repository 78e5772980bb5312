import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

/// A query value percent-encoded as a form: bytes in `safe` (and ASCII letters and digits) kept,
/// space as `+`, every other byte `%XX` of the UTF-8.
func formEncode(_ s: String, safe: String) -> String {
    let keep = Set(safe.utf8)
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            out.append(Character(Unicode.Scalar(b)))
        case _ where keep.contains(b): out.append(Character(Unicode.Scalar(b)))
        case UInt8(ascii: " "): out.append("+")
        default: out += String(format: "%%%02X", b)
        }
    }
    return out
}

/// As Python's `urllib.parse.urlencode` (what `requests` sends) encodes a value: `quote_plus`.
func pythonQuotePlus(_ s: String) -> String { formEncode(s, safe: "_.-~") }

/// As the WHATWG `application/x-www-form-urlencoded` serializer (JavaScript `URLSearchParams`, HTML
/// forms) encodes a value.
func urlSearchParams(_ s: String) -> String { formEncode(s, safe: "*-._") }

/// A query string from pairs with `encode` applied to names and values.
func query(_ pairs: [(String, String)], _ encode: (String) -> String) -> String {
    pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
}

@Suite("GSVServer request model")
struct ServerRequestModelTests {
    @Test("Form queries: + is a space, %2B a plus, repeated names kept in order, bad escapes kept")
    func formQuery() {
        let q = FormQuery("text=Hello+world%21&a=1&a=2&plus=%2B1&zh=%E4%BD%A0+%E5%A5%BD&bad=%zz%4&empty=&flag")
        #expect(q["text"] == "Hello world!")
        #expect(q.values("a") == ["1", "2"])
        #expect(q["plus"] == "+1")
        #expect(q["zh"] == "你 好")
        #expect(q["bad"] == "%zz%4")
        #expect(q["empty"] == "")
        #expect(q["flag"] == "")
        let json = try? JSONSerialization.jsonObject(with: q.jsonData()) as? [String: Any]
        #expect(json?["a"] as? [String] == ["1", "2"])
        #expect(json?["text"] as? String == "Hello world!")
    }

    @Test("SynthesisOptions decode from api_v2 keys: numbers as strings, booleans as strings or 0/1, streaming_mode as a boolean")
    func optionsDecoding() throws {
        let json = #"{"text_lang": "EN", "top_k": "5", "top_p": 0.5, "temperature": "0.8", "batch_size": 4.0, "split_bucket": "false", "#
            + #""parallel_infer": 0, "seed": "-1", "streaming_mode": true, "text_split_method": "cut2", "speed_factor": 1.25}"#
        let o = try JSONDecoder().decode(SynthesisOptions.self, from: Data(json.utf8))
        #expect(o.textLanguage == .en)
        #expect(o.topK == 5 && o.topP == 0.5 && o.temperature == 0.8 && o.batchSize == 4)
        #expect(!o.splitBucket && !o.parallelInfer && o.seed == -1)
        #expect(o.streamingMode == .fragments)
        #expect(o.textSplitMethod == .cut2 && o.speedFactor == 1.25)
        // Web-UI labels parse to the same language the engine uses.
        let label = try JSONDecoder().decode(SynthesisOptions.self, from: Data(#"{"text_lang": "中文", "streaming_mode": "3"}"#.utf8))
        #expect(label.textLanguage == .allZh)
        #expect(label.streamingMode == .fixedTokenChunks)
        // Encoding uses the same keys, and round-trips.
        let again = try JSONDecoder().decode(SynthesisOptions.self, from: JSONEncoder().encode(o))
        #expect(again == o)
        // Absent keys take the defaults given in userInfo.
        var defaults = SynthesisOptions()
        defaults.topK = 3
        let d = JSONDecoder()
        d.userInfo[.synthesisDefaults] = defaults
        #expect(try d.decode(SynthesisOptions.self, from: Data(#"{"seed": 4}"#.utf8)).topK == 3)
    }

    @Test("OpenAI requests without a language: a Chinese voice reads Chinese (with English words), any other voice auto")
    func openAIDefaultLanguage() {
        func voice(_ language: TextLanguage) -> VoiceReference { VoiceReference(audioPath: "/r.wav", promptText: "", promptLanguage: language) }
        #expect(OpenAIRoutes.defaultLanguage(for: voice(.zh)) == .zh)
        #expect(OpenAIRoutes.defaultLanguage(for: voice(.allZh)) == .zh)
        for other in [TextLanguage.en, .auto, .allJa, .ja] {
            #expect(OpenAIRoutes.defaultLanguage(for: voice(other)) == .auto, "\(other)")
        }
    }

    @Test("Every field refuses a value of the wrong type with a message naming it")
    func wrongTypesNameTheField() throws {
        let numeric = Set(["top_k", "top_p", "temperature", "repetition_penalty", "batch_size", "batch_threshold", "speed_factor",
                           "fragment_interval", "seed", "overlap_length", "min_chunk_length", "noise_scale", "sample_steps",
                           "max_tokens_per_sentence"])
        let keys = SynthesisOptions.CodingKeys.allCases.map(\.rawValue)
            + ["text", "ref_audio_path", "aux_ref_audio_paths", "prompt_lang", "prompt_text", "media_type", "super_sampling", "role", "emotion"]
        for key in keys {
            for bad in [#"{"k": 1}"#, #"[1, 2]"#] {
                let body = Data((key == "text" ? #"{"text": \#(bad)}"# : #"{"text": "hi", "\#(key)": \#(bad)}"#).utf8)
                do {
                    _ = try JSONDecoder().decode(TTSRequest.self, from: body)
                    Issue.record("\(key) = \(bad) was accepted")
                } catch let e as RequestFieldError {
                    #expect(e.field == key)
                    #expect(e.message.contains(key) || key == "streaming_mode", "\(e.message)")
                }
            }
            if numeric.contains(key) {
                #expect(throws: RequestFieldError.self, "\(key) = true") {
                    _ = try JSONDecoder().decode(TTSRequest.self, from: Data(#"{"\#(key)": true}"#.utf8))
                }
            }
        }
        #expect(throws: RequestFieldError(field: "text", message: "text: expected a string, got an array")) {
            _ = try JSONDecoder().decode(TTSRequest.self, from: Data(#"{"text": ["a", "b"]}"#.utf8))
        }
        #expect(throws: RequestFieldError(field: "top_k", message: "top_k: 1.5 is not an integer")) {
            _ = try JSONDecoder().decode(TTSRequest.self, from: Data(#"{"top_k": 1.5}"#.utf8))
        }
    }
}

@Suite("GSVServer HTTP conventions", .serialized)
struct ServerConventionTests {
    @Test("GET queries encoded as Python requests and URLSearchParams send them (+ for spaces) read as the same request as POST")
    func formEncodedQueries() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        // "+" in Chinese text must stay a plus sign (加 is what a literal '+' is read as), spaces stay spaces.
        let text = "你好 世界。1+1=2。"
        let body = jsonBody(["text": text, "text_lang": "zh", "ref_audio_path": Shared.refPath,
                             "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 7])
        let pairs: [(String, String)] = [("text", text), ("text_lang", "zh"), ("ref_audio_path", Shared.refPath),
                                         ("prompt_text", Shared.refText), ("prompt_lang", "zh"), ("top_k", "1"), ("seed", "7")]
        let expected = try await Shared.expectedWAV(text, voice: Shared.refVoice, seed: 7)
        try await app.test(.router) { client in
            try await client.execute(uri: "/tts", method: .post, body: body) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expected)
            }
            for encode in [pythonQuotePlus, urlSearchParams] {
                let uri = "/tts?" + query(pairs, encode)
                #expect(uri.contains("+"))
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .ok, "\(uri)")
                    #expect(bytes(r.body) == expected)
                }
            }
        }
    }

    @Test("25 everyday Chinese sentences: OpenAI requests without a language field, and GET /tts text_lang=auto, all answer 200")
    func everydayChinese() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/everyday_zh.txt")
        let sentences = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        try #require(sentences.count == 25)
        var config = try Shared.configuration()
        // A default voice declared English: without a language the OpenAI route then detects it per run
        // (auto); the role 小明 is Chinese, so its requests read Chinese mixed with English.
        config.defaultVoice = VoiceReference(audioPath: Shared.refPath, promptText: "", promptLanguage: .en)
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            for sentence in sentences {
                for voice in ["default", "小明"] {
                    // (A short token cap keeps the tiny model fast; the language handling is what is tested.)
                    let body = jsonBody(["model": "tts-1", "input": sentence, "voice": voice, "response_format": "pcm",
                                         "max_tokens_per_sentence": 6, "seed": 1])
                    try await client.execute(uri: "/v1/audio/speech", method: .post, body: body) { r in
                        #expect(r.status == .ok, "\(voice): \(sentence): \(String(buffer: r.body))")
                        #expect(r.body.readableBytes > 0)
                    }
                }
                let pairs: [(String, String)] = [("text", sentence), ("text_lang", "auto"), ("ref_audio_path", Shared.refPath),
                                                 ("prompt_text", Shared.refText), ("prompt_lang", "zh"), ("max_tokens_per_sentence", "6")]
                try await client.execute(uri: "/tts?" + query(pairs, pythonQuotePlus), method: .get) { r in
                    #expect(r.status == .ok, "/tts auto: \(sentence): \(String(buffer: r.body))")
                }
            }
        }
    }

    @Test("Wrong JSON types get 400 naming the field, on /tts (api_v2 shape) and /v1/audio/speech (OpenAI shape, param)")
    func wrongTypes() async throws {
        var config = try Shared.configuration()
        config.defaultVoice = Shared.refVoice
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            let base: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath, "prompt_lang": "zh"]
            for key in ["text", "text_lang", "top_k", "seed", "streaming_mode", "split_bucket", "aux_ref_audio_paths", "media_type"] {
                var b = base
                b[key] = ["a": 1]
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(b)) { r in
                    #expect(r.status == .badRequest)
                    let message = jsonObject(r.body)["message"] as? String ?? ""
                    #expect(message.contains(key), "\(key): \(message)")
                }
            }
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": ["a", "b"], "text_lang": "zh"])) { r in
                #expect(r.status == .badRequest)
                #expect(jsonObject(r.body)["message"] as? String == "text: expected a string, got an array")
            }
            let speech: [String: Any] = ["model": "tts-1", "input": "你好。", "voice": "default"]
            for key in ["input", "voice", "model", "speed", "response_format", "stream_format", "language", "top_k", "seed"] {
                var b = speech
                b[key] = [1, 2]
                try await client.execute(uri: "/v1/audio/speech", method: .post, body: jsonBody(b)) { r in
                    #expect(r.status == .badRequest)
                    let error = jsonObject(r.body)["error"] as? [String: Any]
                    #expect(error?["param"] as? String == key, "\(key): \(String(describing: error))")
                    #expect(error?["type"] as? String == "invalid_request_error")
                }
            }
        }
    }

    @Test("Unknown routes answer JSON 404, wrong methods 405 with Allow; OpenAI paths in OpenAI's shape")
    func unknownRoutes() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        try await app.test(.router) { client in
            try await client.execute(uri: "/nope", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(r.headers[.contentType] == "application/json")
                #expect(jsonObject(r.body)["detail"] as? String == "Not Found")
            }
            try await client.execute(uri: "/control", method: .post) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(jsonObject(r.body)["detail"] as? String == "Method Not Allowed")
                #expect(r.headers[.allow] == "GET")
            }
            try await client.execute(uri: "/tts", method: .delete) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "GET, POST")
            }
            try await client.execute(uri: "/v1/audio/speech", method: .get) { r in
                #expect(r.status == .methodNotAllowed)
                #expect((jsonObject(r.body)["error"] as? [String: Any])?["message"] != nil)
            }
            try await client.execute(uri: "/v1/nothing", method: .get) { r in
                #expect(r.status == .notFound)
                #expect((jsonObject(r.body)["error"] as? [String: Any])?["type"] as? String == "not_found_error")
            }
        }
    }

    @Test("Bearer scheme in any case; /health shows no paths, PID or instance without the token")
    func bearerAndHealth() async throws {
        var config = try Shared.configuration()
        config.bearerToken = "s3cret"
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            for scheme in ["Bearer", "bearer", "BEARER", "  bEaReR  "] {
                try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "\(scheme) s3cret"]) { r in
                    #expect(r.status == .ok, "\(scheme)")
                }
            }
            for wrong in ["Basic s3cret", "Bearer", "Bearers3cret", "Bearer s3cret2"] {
                try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: wrong]) { r in
                    #expect(r.status == .unauthorized, "\(wrong)")
                }
            }
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok)
                let body = String(buffer: r.body)
                #expect(jsonObject(r.body).keys.sorted() == ["sample_rate", "status", "version"])
                #expect(jsonObject(r.body)["status"] as? String == "ok")
                #expect(!body.contains("pid") && !body.contains("/") && !body.contains("instance"))
            }
            try await client.execute(uri: "/health", method: .get, headers: [.authorization: "Bearer s3cret"]) { r in
                #expect(jsonObject(r.body)["pid"] as? Int == Int(getpid()))
                #expect(jsonObject(r.body)["version"] as? String == "v2")
            }
            // Unknown routes still need the token (nothing about the server leaks without it).
            try await client.execute(uri: "/nope", method: .get) { r in #expect(r.status == .unauthorized) }
        }
    }

    @Test("prompt_text longer than the documented limit is refused")
    func promptTextLimit() async throws {
        var config = try Shared.configuration()
        config.maxPromptTextLength = 10
        let app = buildApplication(configuration: config)
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                                       "prompt_text": String(repeating: "好", count: 11), "prompt_lang": "zh"]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .badRequest)
                #expect((jsonObject(r.body)["message"] as? String)?.hasPrefix("prompt_text is too long: 11 characters (limit 10") == true)
            }
            let uri = "/set_refer_audio?refer_audio_path=\(q(Shared.refPath))&prompt_text=\(q(String(repeating: "好", count: 11)))"
            try await client.execute(uri: uri, method: .get) { r in #expect(r.status == .badRequest) }
        }
    }

    @Test("/metrics: Prometheus text with requests, syntheses, queue and model cache; the same samples and the recent syntheses as JSON")
    func metrics() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "你好。", "text_lang": "zh", "ref_audio_path": Shared.refPath,
                                       "prompt_text": Shared.refText, "prompt_lang": "zh", "top_k": 1, "seed": 7]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": 1])) { r in #expect(r.status == .badRequest) }
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let text = String(buffer: r.body)
                for needle in [#"gsv_http_requests_total{route="/tts",method="POST",status="200"} 1"#,
                               #"gsv_http_requests_total{route="/tts",method="POST",status="400"} 1"#,
                               #"gsv_synthesis_total{api="api_v2",outcome="ok"} 1"#,
                               "gsv_synthesis_seconds_count{api=\"api_v2\"} 1", "gsv_synthesis_rtf_count{api=\"api_v2\"} 1",
                               "gsv_synthesis_audio_seconds_total{api=\"api_v2\"}", "gsv_queue_running 0", "gsv_queue_slots 2",
                               "gsv_model_cache_bytes 0", "gsv_model_cache_budget_bytes"] {
                    #expect(text.contains(needle), "missing \(needle) in\n\(text)")
                }
            }
            try await client.execute(uri: "/metrics?format=json", method: .get) { r in
                let samples = jsonObject(r.body)["samples"] as? [[String: Any]] ?? []
                let ok = samples.first {
                    $0["name"] as? String == "gsv_synthesis_total" && ($0["labels"] as? [String: String])?["outcome"] == "ok"
                }
                #expect(ok?["value"] as? Double == 1)
                #expect(samples.contains { $0["name"] as? String == "gsv_queue_capacity" && $0["value"] as? Double == 32 })
                // The recent syntheses, for status pages.
                let recent = jsonObject(r.body)["recent"] as? [[String: Any]] ?? []
                #expect(recent.count == 1)
                #expect(recent.first?["route"] as? String == "/tts")
                #expect(recent.first?["outcome"] as? String == "ok")
                #expect(recent.first?["text_characters"] as? Int == 3)
                #expect((recent.first?["audio_seconds"] as? Double ?? 0) > 0)
            }
        }
    }

    @Test("Blocking server work (voice preparation) runs on the engine's executor, so waitUntilIdle waits for it")
    func blockingWorkIsTracked() async throws {
        let executor = BlockingWorkExecutor(idleTimeout: 1)
        let started = ExitLatch()
        let task = Task {
            try await executor.perform { () -> Int in
                _ = started.trigger()
                Thread.sleep(forTimeInterval: 0.3)
                return 42
            }
        }
        for _ in 0..<200 where executor.runningTaskCount == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
        #expect(executor.runningTaskCount == 1)
        await executor.waitUntilIdle()
        #expect(executor.runningTaskCount == 0)
        #expect(try await task.value == 42)
        #expect(!started.trigger())  // the work ran
        await #expect(throws: APIError.self) { try await executor.perform { () -> Int in throw APIError.badRequest("x") } }
    }
}
