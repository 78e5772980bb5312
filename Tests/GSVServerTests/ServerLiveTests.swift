import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

/// Six sentences long enough to stay apart: six fragments, each synthesized and sent on its own.
private let sixSentences = "今天的天气非常好。我们一起去公园散步吧。那里的花都开了。小鸟在树上唱歌。孩子们在草地上玩耍。我们玩得很开心。"
/// Three of them, for the slower encoded formats.
private let threeSentences = "今天的天气非常好。我们一起去公园散步吧。那里的花都开了。"

@Suite("GSVServer over real sockets: OpenAI streaming, hang-ups, restart", .serialized)
struct ServerLiveTests {
    static func configuration() throws -> ServerConfiguration {
        var c = try Shared.configuration()
        c.defaultVoice = Shared.refVoice
        c.maxConcurrent = 1
        return c
    }

    static func speech(_ format: String, stream: String = "audio", input: String = sixSentences, seed: Int = 3) -> [String: Any] {
        ["model": "tts-1", "input": input, "voice": "default", "response_format": format, "stream_format": stream,
         "top_k": 1, "seed": seed, "language": "zh"]
    }

    @Test("OpenAI stream_format=audio: pcm (24 kHz) and wav arrive as one chunked part per synthesized fragment")
    func openAIStreaming() async throws {
        let chunks = try await Shared.expectedChunks(sixSentences, voice: Shared.refVoice, seed: 3)
        try #require(chunks.count >= 5)
        let samples32 = chunks.flatMap { $0 }
        let expectedPCM = int16Samples(WAV.encodeSamples(try KaiserResampler(from: 32000, to: 24000)(samples32), format: .pcm16(.truncateClamp)))
        let app = buildApplication(configuration: try Self.configuration())
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let pcm = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech("pcm"))
            #expect(pcm.status == 200)
            #expect(pcm.headers["content-type"] == "audio/pcm")
            #expect(pcm.headers["transfer-encoding"]?.contains("chunked") == true)
            // One body part per synthesized fragment (plus the resampler's tail), not one at the end.
            #expect(pcm.chunks.count >= chunks.count)
            let decoded = int16Samples(pcm.body)
            #expect(decoded.count == (samples32.count * 24000 + 31999) / 32000)
            #expect(decoded.count == expectedPCM.count)
            #expect(zip(decoded, expectedPCM).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
            // (That each part leaves as soon as its fragment exists is shown deterministically by
            // the ChunkPacker test; arrival times over a socket depend on the machine's load: with
            // every core busy, the writer may only run once the synthesis is done.)

            let wav = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech("wav"))
            #expect(wav.status == 200)
            #expect(wav.headers["content-type"] == "audio/wav")
            #expect(wav.chunks.count >= chunks.count + 1)  // the header is a part of its own
            #expect(wav.chunks.first?.count == 44)
            let file = try WAV.decode(wav.body)
            #expect(file.sampleRate == 32000)
            #expect(file.frameCount == samples32.count)
            // pcm is the wav's audio at 24/32 of the length.
            #expect(decoded.count == (file.frameCount * 3 + 3) / 4)
        }
    }

    @Test("OpenAI mp3 / opus / aac / flac stream through one ffmpeg process", .enabled(if: FFmpeg.isAvailable))
    func openAIEncodedStreaming() async throws {
        let chunks = try await Shared.expectedChunks(threeSentences, voice: Shared.refVoice, seed: 3)
        let seconds = Double(chunks.reduce(0) { $0 + $1.count }) / 32000
        let app = buildApplication(configuration: try Self.configuration())
        try await app.test(.live) { client in
            let port = try #require(client.port)
            for (format, mime) in [("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("aac", "audio/aac"), ("flac", "audio/flac")] {
                let r = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech(format, input: threeSentences))
                #expect(r.status == 200, "\(format)")
                #expect(r.headers["content-type"] == mime)
                #expect(r.headers["transfer-encoding"]?.contains("chunked") == true)
                #expect(r.chunks.count >= 2, "\(format): \(r.chunks.count) parts")
                // One continuous file: it decodes to the whole utterance (codec padding aside).
                let audio = try await FFmpeg.decode(data: r.body, name: "stream.\(format)", sampleRate: 32000)
                let decoded = Double(audio.samples.count) / 32000
                #expect(abs(decoded - seconds) < 0.15, "\(format): decoded \(decoded) s, synthesized \(seconds) s")
            }
            // SSE with mp3: the deltas concatenate to one decodable file.
            let sse = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech("mp3", stream: "sse", input: threeSentences))
            #expect(sse.status == 200)
            let events = String(decoding: sse.body, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
            #expect(events.last?["type"] as? String == "speech.audio.done")
            let mp3 = events.dropLast().compactMap { ($0["audio"] as? String).flatMap { Data(base64Encoded: $0) } }.reduce(Data(), +)
            let audio = try await FFmpeg.decode(data: mp3, name: "sse.mp3", sampleRate: 32000)
            #expect(abs(Double(audio.samples.count) / 32000 - seconds) < 0.15)
        }
    }

    @Test("Clients that hang up (mid-stream, mid-synthesis, or while queued) free their slots long before the synthesis would have ended")
    func hangUpCancels() async throws {
        let long = String(repeating: sixSentences, count: 2)
        let t0 = Date()
        let full = try await Shared.expectedChunks(long, voice: Shared.refVoice, seed: 4)
        let fullSeconds = Date().timeIntervalSince(t0)
        try #require(full.count >= 10)
        let core = ServerCore(try Self.configuration())
        let app = Application(router: buildRouter(core: core), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let r = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech("pcm", input: long, seed: 4), closeAfterChunks: 1)
            #expect(r.status == 200)
            #expect(r.closedEarly)
            let hungUp = Date()
            while await core.gate.running > 0, Date().timeIntervalSince(hungUp) < fullSeconds * 2 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            let freed = Date().timeIntervalSince(hungUp)
            #expect(await core.gate.running == 0)
            #expect(freed < fullSeconds * 0.5, "slot freed \(freed) s after the hang-up; the whole synthesis takes \(fullSeconds) s")

            // Non-streaming /tts: one running and one queued request, both abandoned before any answer.
            let body = try JSONSerialization.data(withJSONObject: [
                "text": long, "text_lang": "zh", "ref_audio_path": Shared.refPath, "prompt_text": Shared.refText,
                "prompt_lang": "zh", "top_k": 1, "seed": 4,
            ] as [String: Any])
            // The queued client hangs up first, then the running one, both long before either could
            // be answered (the running one 2 × 15 % of the synthesis time after sending); the waits
            // for the server's state scale with the same measured time, so a machine busy with
            // other tests slows this down without failing it.
            let hangUp = max(1.5, fullSeconds * 0.15)
            async let running = RawHTTP.send(port: port, path: "/tts", body: body, hangUpAfter: 2 * hangUp)
            let sent = Date()
            while await core.gate.running == 0, Date().timeIntervalSince(sent) < hangUp * 0.5 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            #expect(await core.gate.running == 1)
            async let queued = RawHTTP.send(port: port, path: "/tts", body: body, hangUpAfter: hangUp)
            let queuedSent = Date()
            while await core.gate.queued == 0, Date().timeIntervalSince(queuedSent) < hangUp * 0.8 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            #expect(await core.gate.queued == 1)
            _ = try await (running, queued)
            let left = Date()
            while await core.gate.running + core.gate.queued > 0, Date().timeIntervalSince(left) < fullSeconds * 2 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            let emptied = Date().timeIntervalSince(left)
            #expect(await core.gate.running == 0)
            #expect(await core.gate.queued == 0)
            #expect(emptied < fullSeconds * 0.5, "gate empty \(emptied) s after the hang-ups; the whole synthesis takes \(fullSeconds) s")

            // The server still serves.
            let next = try await RawHTTP.send(port: port, path: "/v1/audio/speech", json: Self.speech("pcm", input: "你好。"))
            #expect(next.status == 200)
            #expect(!next.body.isEmpty)
        }
        // The abandoned syntheses end as well (a process exiting under one would crash).
        await TTSEngine.waitUntilIdle()
    }

    @Test("A client that writes a whole oversized body before reading gets the 413 and a closed connection")
    func oversizedBodyFromAWritingClient() async throws {
        var config = try Self.configuration()
        config.maxBodyBytes = 1024
        let app = buildApplication(configuration: config)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // Far beyond the socket buffers: the client blocks in write() unless the server reads.
            let text = String(repeating: "好", count: 3 << 20)
            for path in ["/tts", "/v1/audio/speech"] {
                let body = try JSONSerialization.data(withJSONObject: ["text": text, "input": text, "voice": "default"])
                let r = try await RawHTTP.send(port: port, path: path, body: body, timeout: 60)
                #expect(r.status == 413, "\(path)")
                #expect(r.headers["connection"]?.lowercased() == "close")
                let message = path == "/tts" ? jsonObject(ByteBuffer(bytes: r.body))["message"] as? String
                    : (jsonObject(ByteBuffer(bytes: r.body))["error"] as? [String: Any])?["message"] as? String
                #expect(message == "request body exceeds 1024 bytes")
            }
            // The server goes on serving.
            let ok = try await RawHTTP.send(port: port, method: "GET", path: "/health")
            #expect(ok.status == 200)
        }
    }

    @Test("A client that never finishes its request head is disconnected after the header timeout")
    func headerReadTimeout() async throws {
        var config = try Self.configuration()
        config.headerTimeout = 1
        let app = buildApplication(configuration: config)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let closedAfter = try await RawHTTP.secondsUntilClosed(port: port, sending: "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1", wait: 20)
            let seconds = try #require(closedAfter, "the connection stayed open")
            #expect(seconds >= 0.5 && seconds < 10)
            // A complete request is still answered.
            let ok = try await RawHTTP.send(port: port, method: "GET", path: "/health")
            #expect(ok.status == 200)
        }
    }

    /// Whether `python3` can import the `openai` package (scripts/install-deps.sh installs it).
    static let openAIPackageAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import openai"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("The official openai Python package: models, speech (whole and streamed), speed, errors and auth as the SDK sees them",
          .enabled(if: openAIPackageAvailable, "needs python3 with the openai package (scripts/install-deps.sh installs it)"))
    func openAIPythonClient() async throws {
        var config = try Self.configuration()
        config.bearerToken = "test-token"
        let app = buildApplication(configuration: config)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let script = Self.repositoryRoot.appendingPathComponent("scripts/openai_client_test.py").path
            let extra = #"{"top_k": 1, "seed": 1, "max_tokens_per_sentence": 30}"#
            let (status, output) = try await Self.run(["python3", script, "--base-url", "http://127.0.0.1:\(port)/v1",
                                                       "--api-key", "test-token", "--voice", "default", "--extra", extra])
            #expect(status == 0, "\(output)")
            #expect(output.contains("all checks passed"), "\(output)")
        }
    }

    /// Runs a command to its end on a thread of its own; returns its status and combined output.
    static func run(_ arguments: [String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    p.arguments = arguments
                    let pipe = Pipe()
                    p.standardOutput = pipe
                    p.standardError = pipe
                    try p.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
                })
            }.start()
        }
    }

    // MARK: - Restart

    @Test("Restart command: /proc/self/exe target, the same arguments")
    func restartCommand() {
        let args = ["/opt/bin/gpt-sovits", "serve", "-p", "9880", "--allow-restart"]
        let exists: (String) -> Bool = { $0 == "/opt/bin/gpt-sovits" || $0 == "/usr/bin/gpt-sovits" }
        let plain = ProcessRestart.command(arguments: args, procSelfExe: "/opt/bin/gpt-sovits", bundleExecutable: nil, fileExists: exists)
        #expect(plain.path == "/opt/bin/gpt-sovits")
        #expect(plain.argv == args)
        // A binary replaced in place: the new file at the same path.
        #expect(ProcessRestart.command(arguments: args, procSelfExe: "/opt/bin/gpt-sovits (deleted)", bundleExecutable: nil, fileExists: exists).path
            == "/opt/bin/gpt-sovits")
        // Deleted and not replaced: the running image through /proc/self/exe.
        #expect(ProcessRestart.command(arguments: args, procSelfExe: "/tmp/old (deleted)", bundleExecutable: nil, fileExists: exists).path
            == "/proc/self/exe")
        // No /proc: the bundle's executable, else argv[0].
        #expect(ProcessRestart.command(arguments: args, procSelfExe: nil, bundleExecutable: "/usr/bin/gpt-sovits", fileExists: exists).path
            == "/usr/bin/gpt-sovits")
        let fallback = ProcessRestart.command(arguments: args, procSelfExe: nil, bundleExecutable: nil, fileExists: exists)
        #expect(fallback.path == args[0])
        #expect(fallback.argv == args)
        #expect(ProcessRestart.currentCommand().argv == CommandLine.arguments)
    }

    static let binary: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/gpt-sovits")

    @Test("gpt-sovits serve --allow-restart: /control?command=restart comes back on the same port as a new instance",
          .enabled(if: FileManager.default.isExecutableFile(atPath: binary.path)), .timeLimit(.minutes(5)))
    func restartProcess() async throws {
        let port = try LocalPort.free()
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "-p", String(port), "--gpt", Shared.paths.gpt, "--sovits", Shared.paths.sovits,
                             "--hubert", Shared.paths.hubert, "--bert", Shared.paths.bert, "--allow-restart", "--allow-exit"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        defer {
            if process.isRunning { kill(pid, SIGKILL) }
        }
        func health(within seconds: Double) async throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                if let r = try? await RawHTTP.send(port: port, method: "GET", path: "/health", timeout: 5), r.status == 200,
                   let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any] {
                    return obj
                }
                guard Date() < deadline, process.isRunning else { throw RawHTTPError(description: "server on port \(port) did not answer /health") }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        let before = try await health(within: 120)
        #expect(before["pid"] as? Int == Int(pid))
        let restart = try await RawHTTP.send(port: port, method: "GET", path: "/control?command=restart", timeout: 30)
        #expect(restart.status == 200)
        #expect((try? JSONSerialization.jsonObject(with: restart.body) as? [String: Any])?["message"] as? String == "restarting")
        // Wait for a different instance on the same port.
        let deadline = Date().addingTimeInterval(120)
        var after: [String: Any] = before
        while after["instance"] as? String == before["instance"] as? String, Date() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            after = (try? await health(within: 10)) ?? after
        }
        #expect(after["instance"] as? String != before["instance"] as? String)
        // exec keeps the process: same PID, new image.
        #expect(after["pid"] as? Int == Int(pid))
        #expect(process.isRunning)
        // The restarted server still handles signals: exit stops it.
        let exit = try await RawHTTP.send(port: port, method: "GET", path: "/control?command=exit", timeout: 30)
        #expect(exit.status == 200)
        for _ in 0..<300 where process.isRunning { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(!process.isRunning)
    }
}
