import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

@Suite("GSVServer streaming, roles, OpenAI, concurrency", .serialized)
struct ServerStreamingTests {
    @Test("Streaming wav: a header chunk alone, then raw int16 PCM per chunk")
    func streamFraming() async throws {
        let a: [Float] = [0, 0.5, -0.5], b: [Float] = [0.25]
        let wav = try APIv2Routes.streamEncoding("wav").streamEncoder(sampleRate: 32000)
        let first = try wav.encode(a)
        let next = try wav.encode(b)
        #expect(try wav.finish().isEmpty)
        try #require(first.count == 2)
        #expect(first[0].prefix(4) == Data("RIFF".utf8))
        // The length fields of a stream of unknown length: 0xFFFFFFFF in both (RIFF and data), the one
        // header sox, ffmpeg, browsers and Python's wave all read (scripts/wav_stream_header_probe.py).
        let head = [UInt8](first[0])
        try #require(head.count == 44)
        #expect(head[4..<8].elementsEqual([0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(head[36..<40].elementsEqual("data".utf8))
        #expect(head[40..<44].elementsEqual([0xFF, 0xFF, 0xFF, 0xFF]))
        let header = try WAV.decode(first[0] + first[1] + next[0])
        #expect(header.sampleRate == 32000)
        #expect(header.frameCount == 4)
        #expect(first[1] == WAV.encodeSamples(a, format: .pcm16(.truncateClamp)))
        #expect(next == [WAV.encodeSamples(b, format: .pcm16(.truncateClamp))])
        let rawState = try APIv2Routes.streamEncoding("raw").streamEncoder(sampleRate: 32000)
        let raw = try rawState.encode(a)
        #expect(raw == [WAV.encodeSamples(a, format: .pcm16(.truncateClamp))])
        #expect(try APIv2Routes.streamEncoding("ogg") == .filePerChunk(.ogg))
        #expect(throws: APIError.self) { try APIv2Routes.streamEncoding("mp4") }
    }

    @Test("ChunkPacker sends each chunk's bytes before the next chunk exists", .timeLimit(.minutes(2)), arguments: [
        StreamEncoding.pcm16(resampleTo: 24000), .pcm16(resampleTo: nil), .wavStream, .ffmpeg(.mp3), .ffmpeg(.flac), .ffmpeg(.opus), .ffmpeg(.aac),
    ])
    func packerIsIncremental(encoding: StreamEncoding) async throws {
        if case .ffmpeg = encoding, !FFmpeg.isAvailable { return }
        func tone(_ seconds: Double, _ hz: Double) -> [Float] {
            (0..<Int(seconds * 32000)).map { Float(0.3 * sin(2 * Double.pi * hz * Double($0) / 32000)) }
        }
        // The synthesis side is driven by hand: the packer must answer chunk 1 while chunk 2 does not exist yet.
        let (events, engine) = AsyncThrowingStream<SynthesisEvent, Error>.makeStream()
        let parts = try ChunkPacker.parts(source: EventSource(events), first: AudioChunk(samples: tone(1, 440), sampleRate: 32000),
                                          encoding: encoding)
        var iterator = parts.makeAsyncIterator()
        func nextBytes() async throws -> Data {
            guard case let .bytes(d)? = try await iterator.next() else { throw RawHTTPError(description: "expected bytes") }
            return d
        }
        var before = try await nextBytes()
        #expect(!before.isEmpty)
        if encoding == .wavStream { before += try await nextBytes() }  // header, then the first PCM
        engine.yield(.progress(done: 1, total: 2))
        engine.yield(.audio(samples: tone(1, 660), sampleRate: 32000))
        let second = try await nextBytes()
        #expect(!second.isEmpty)
        engine.yield(.finished(fragments: [], timings: SynthesisTimings()))
        engine.finish()
        var rest = Data(), ended = false
        while let part = try await iterator.next() {
            switch part {
            case let .bytes(d): rest += d
            case .end: ended = true
            }
        }
        #expect(ended)
        let all = before + second + rest
        switch encoding {
        case .pcm16(resampleTo: 24000?): #expect(all.count == 2 * 48000)
        case .pcm16: #expect(all.count == 2 * 64000)
        case .wavStream: #expect(try WAV.decode(all).frameCount == 64000)
        case let .ffmpeg(format):
            let audio = try await FFmpeg.decode(data: all, name: "packed.\(format.rawValue)", sampleRate: 32000)
            #expect(abs(audio.samples.count - 64000) < 3200, "\(format): \(audio.samples.count) samples")
        case .filePerChunk: break
        }
    }

    @Test("Live socket: streaming_mode 1 sends the header then the PCM of every sentence group")
    func liveStreaming() async throws {
        let text = "你好。我们走吧。"
        let started = Date()
        let chunks = try await Shared.expectedChunks(text, voice: Shared.refVoice, seed: 11)
        // How long the same synthesis takes on this machine now: the limits below scale with it, so
        // a machine busy with other tests (every core taken) slows the test down but does not fail it.
        let synthesisSeconds = Date().timeIntervalSince(started)
        let limit = max(300, 20 * synthesisSeconds)
        try #require(!chunks.isEmpty)
        let pcm = chunks.map { WAV.encodeSamples($0, format: .pcm16(.truncateClamp)) }.reduce(Data(), +)
        var config = try Shared.configuration()
        config.headerTimeout = limit
        let app = buildApplication(configuration: config)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let body: [String: Any] = ["text": text, "text_lang": "zh", "ref_audio_path": Shared.refPath, "prompt_text": Shared.refText,
                                       "prompt_lang": "zh", "top_k": 1, "seed": 11, "streaming_mode": 1]
            // (The raw client waits as long as the synthesis takes; HummingbirdTesting's client gives
            // up after 15 s, which a loaded machine exceeds.)
            let r = try await RawHTTP.send(port: port, path: "/tts", json: body, timeout: limit)
            #expect(r.status == 200)
            // Synthesis routes watch the connection for hang-ups and close it afterwards.
            #expect(r.headers["connection"] == "close")
            let data = r.body
            #expect(data.count == 44 + pcm.count)
            #expect(data.prefix(4) == Data("RIFF".utf8))
            #expect(data.dropFirst(44) == pcm)
            // The server goes on answering (on a new connection).
            let running = try await RawHTTP.send(port: port, method: "GET", path: "/running", timeout: limit)
            #expect(running.status == 200)
        }
    }

    @Test("Roles: the classifier picks the emotion reference of the golden label", arguments: [
        ("今天真是太开心了！", "恐惧"), ("好可怕...", "悲伤"), ("你好。", "高兴"), ("有点紧张...", "中性"),
    ])
    func roleEmotion(text: String, emotion: String) async throws {
        let core = ServerCore(try Shared.configuration())
        let voice = try await core.roleVoice("小明", text: text, emotion: nil)
        let expected = Shared.roleVoice(emotion: emotion)
        #expect((voice.audioPath as NSString).lastPathComponent == (expected.audioPath as NSString).lastPathComponent)
        #expect(voice.promptText == expected.promptText)
        // A forced emotion without a folder falls back to the default reference.
        let fallback = try await core.roleVoice("小明", text: text, emotion: "愤怒")
        #expect((fallback.audioPath as NSString).lastPathComponent == "小明.wav")
        #expect(fallback.promptText == Shared.refText)
    }

    @Test("Roles through POST /tts (CABM shape): audio equals the engine with the chosen reference")
    func roleRequests() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let happy = try await Shared.expectedWAV("你好。", voice: Shared.roleVoice(emotion: "高兴"), seed: 5)
        let sad = try await Shared.expectedWAV("你好。", voice: Shared.roleVoice(emotion: "悲伤"), seed: 5)
        #expect(happy != sad)
        try await app.test(.router) { client in
            let body: [String: Any] = ["text": "你好。", "role": "小明", "temperature": 1, "top_k": 1, "seed": 5]
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(body)) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == happy)
            }
            var forced = body
            forced["emotion"] = "悲伤"
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(forced)) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == sad)
            }
            forced["emotion"] = "开心"
            try await client.execute(uri: "/tts", method: .post, body: jsonBody(forced)) { r in
                #expect(r.status == .badRequest)
                #expect((jsonObject(r.body)["message"] as? String)?.hasPrefix("emotion '开心' is not one of") == true)
            }
            for name in ["小红", "../小明", ""] where !name.isEmpty {
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "你好。", "role": name])) { r in
                    #expect(r.status == .badRequest)
                    #expect(jsonObject(r.body)["message"] as? String == "unknown role '\(name)'")
                }
            }
        }
    }

    @Test("OpenAI /v1/audio/speech: wav, pcm, sse events, and errors")
    func openAI() async throws {
        let app = buildApplication(configuration: try Shared.configuration())
        let text = "你好。我们走吧。"
        let voice = Shared.roleVoice(emotion: "恐惧")  // the classifier's choice for this text
        let core = ServerCore(try Shared.configuration())
        let chosen = try await core.roleVoice("小明", text: text, emotion: nil)
        // No language in the request: the voice's (a Chinese role reads Chinese mixed with English).
        let chunks = try await Shared.expectedChunks(text, voice: chosen, seed: 9, language: .zh)
        _ = voice
        // The OpenAI route always synthesizes fragment by fragment (and streams each one).
        let whole = chunks.flatMap { $0 }
        // Streamed WAV: header with unknown length, then the PCM of every chunk.
        let streamedWAV = try WAV.header(sampleRate: 32000, dataBytes: nil) + WAV.encodeSamples(whole, format: .pcm16(.truncateClamp))
        // OpenAI pcm: 24 kHz int16.
        let pcm24 = try KaiserResampler(from: 32000, to: 24000)(whole)
        try await app.test(.router) { client in
            let base: [String: Any] = ["model": "tts-1", "input": text, "voice": "小明", "top_k": 1, "seed": 9]
            var wav = base
            wav["response_format"] = "wav"
            try await client.execute(uri: "/v1/audio/speech", method: .post, body: jsonBody(wav)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
                #expect(r.headers[.contentType] == "audio/wav")
                #expect(bytes(r.body) == streamedWAV)
            }
            var sse = base
            sse["response_format"] = "pcm"
            sse["stream_format"] = "sse"
            try await client.execute(uri: "/v1/audio/speech", method: .post, body: jsonBody(sse)) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "text/event-stream")
                let text = String(decoding: bytes(r.body), as: UTF8.self)
                let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.compactMap { e -> [String: Any]? in
                    guard e.hasPrefix("data: ") else { return nil }
                    return try? JSONSerialization.jsonObject(with: Data(e.dropFirst(6).utf8)) as? [String: Any]
                }
                // One delta per synthesized chunk plus the resampler's tail, then `done`.
                try #require(events.count >= chunks.count + 1)
                var audio = Data()
                for e in events.dropLast() {
                    #expect(e["type"] as? String == "speech.audio.delta")
                    audio += (e["audio"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
                }
                let decoded = int16Samples(audio)
                #expect(decoded.count == pcm24.count)
                #expect(decoded.count == (whole.count * 3 + 3) / 4)
                let expected24 = int16Samples(WAV.encodeSamples(pcm24, format: .pcm16(.truncateClamp)))
                #expect(zip(decoded, expected24).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
                let done = try #require(events.last)
                #expect(done["type"] as? String == "speech.audio.done")
                let usage = done["usage"] as? [String: Any]
                #expect((usage?["output_tokens"] as? Int ?? 0) > 0)
                #expect(usage?["total_tokens"] as? Int == (usage?["input_tokens"] as? Int ?? -1) + (usage?["output_tokens"] as? Int ?? -1))
            }
            let bad: [([String: Any], String)] = [
                (["input": text, "voice": "alloy"], "voice 'alloy' not found (GET /v1/voices lists them)"),
                (["input": "", "voice": "小明"], "input is required"),
                (["input": text, "voice": "小明", "response_format": "ogg"], "response_format: ogg is not supported (mp3, opus, aac, flac, wav, pcm)"),
                (["input": text, "voice": "小明", "speed": 9], "speed must be in [0.25, 4] (got 9.0)"),
                (["input": text, "voice": "小明", "stream_format": "ws"], "stream_format: ws is not supported (audio, sse)"),
            ]
            for (body, message) in bad {
                try await client.execute(uri: "/v1/audio/speech", method: .post, body: jsonBody(body)) { r in
                    #expect(r.status == .badRequest)
                    #expect((jsonObject(r.body)["error"] as? [String: Any])?["message"] as? String == message)
                }
            }
            try await client.execute(uri: "/v1/voices", method: .get) { r in
                let ids = (jsonObject(r.body)["voices"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["小明"])
            }
        }
    }

    @Test("8 simultaneous requests with distinct voices each get their own single-request audio")
    func concurrency() async throws {
        struct Job: Sendable {
            var text: String
            var seed: Int64
            var emotion: String?  // nil: the fixture reference via ref_audio_path
        }
        let texts = ["你好。", "好的。", "走吧。", "再见。"]
        let emotions = ["悲伤", "高兴", "中性", "恐惧"]
        var jobs: [Job] = []
        for i in 0..<8 {
            let emotion: String? = i % 2 == 0 ? nil : emotions[i / 2]
            jobs.append(Job(text: texts[i % 4], seed: Int64(20 + i), emotion: emotion))
        }
        var expected: [Data] = []
        for j in jobs {
            let voice = j.emotion.map { Shared.roleVoice(emotion: $0) } ?? Shared.refVoice
            expected.append(try await Shared.expectedWAV(j.text, voice: voice, seed: j.seed))
        }
        var config = try Shared.configuration()
        config.maxConcurrent = 3
        config.queueLength = 8
        let core = ServerCore(config)
        let app = Application(router: buildRouter(core: core))
        let expectedCopy = expected
        let jobList = jobs
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, Data, Bool).self) { group in
                for (i, j) in jobList.enumerated() {
                    var body: [String: Any] = ["text": j.text, "text_lang": "zh", "top_k": 1, "seed": j.seed]
                    if let e = j.emotion {
                        body["role"] = "小明"
                        body["emotion"] = e
                    } else {
                        body["ref_audio_path"] = Shared.refPath
                        body["prompt_text"] = Shared.refText
                        body["prompt_lang"] = "zh"
                    }
                    let buffer = jsonBody(body)
                    group.addTask {
                        try await client.execute(uri: "/tts", method: .post, body: buffer) { r in (i, bytes(r.body), r.status == .ok) }
                    }
                }
                var seen = 0
                for try await (i, data, ok) in group {
                    #expect(ok)
                    #expect(data == expectedCopy[i], "request \(i)")
                    seen += 1
                }
                #expect(seen == 8)
            }
        }
        // The requests really overlapped: the gate saw more than one synthesis at a time.
        #expect(await core.gate.peakRunning > 1)
    }
}
