import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GSVAudio
import GSVTestSupport
import Testing

/// `gpt-sovits train all` on the tiny training folder, starting from the tiny v2 inference models
/// (whose SoVITS file has no posterior encoder, so it is initialised as the official loader does):
/// it writes both weight files and the end-of-training sample, and the pair is used at once by `say`
/// and by a running `serve`.
@Suite(.serialized) struct TrainCLITests {
    @Test(.enabled(if: CLITests.cliAvailable)) func trainedPairSpeaksThroughSayAndServe() async throws {
        let m = Fixtures.url("v2/models")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-train-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let c = E2ECase.all.first else { Issue.record("no e2e case for a reference clip"); return }
        let ref = Fixtures.url("v2/e2e").appendingPathComponent(c.refAudio).standardizedFileURL.path
        let refText = c.string("prompt_text")
        let hubert = m.appendingPathComponent("chinese-hubert-base-tiny").path
        let bert = m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path
        let r = try runCLI(["train", "all", "--dataset", Fixtures.url("v2/train/dataset").path, "--name", "tiny",
                            "--output", dir.path, "--max-steps", "1", "--batch-size", "2",
                            "--pretrained-gpt", m.appendingPathComponent("gpt_v2_tiny.ckpt").path,
                            "--pretrained-sovits", m.appendingPathComponent("sovits_v2_tiny.pth").path,
                            "--pretrained-sovits-d", Fixtures.url("v2/train/s2/s2D_pretrained_tiny.pth").path,
                            "--hubert", hubert, "--bert", bert,
                            "--sample-ref", ref, "--sample-ref-text", refText, "--sample-text", "你好，欢迎光临。"])
        #expect(r.status == 0, "train failed: \(r.stderr)\n\(r.stdout)")
        // The progress file the studio's Training page reads: each model's start, steps and weights, then done.
        let progress = (try? String(contentsOf: dir.appendingPathComponent("logs/tiny/progress.jsonl"), encoding: .utf8)) ?? ""
        let events = progress.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .map { "\($0["model"] as? String ?? "-"):\($0["event"] as? String ?? "?")" }
        #expect(events.first == "sovits:start" && events.last == "-:done", "\(events)")
        for e in ["sovits:step", "sovits:weights", "gpt:start", "gpt:step", "gpt:weights"] { #expect(events.contains(e), "\(e) missing: \(events)") }
        let written = r.stdout.split(separator: "\n").filter { $0.hasPrefix("wrote ") }.map { String($0.dropFirst(6)) }
        guard let gpt = written.first(where: { $0.hasSuffix(".ckpt") }), let sovits = written.first(where: { $0.hasSuffix(".pth") }),
              let sample = written.first(where: { $0.hasSuffix("_sample.wav") }) else {
            Issue.record("train did not report the two weight files and the sample: \(r.stdout)"); return
        }
        #expect(r.stdout.contains("enc_q"), "the missing posterior encoder is not mentioned")
        let sampleWav = try WAV.read(path: sample)
        #expect(sampleWav.sampleRate == 32000 && sampleWav.frameCount > 3200, "sample: \(sampleWav.frameCount) frames")

        // say, with the pair just written.
        let out = dir.appendingPathComponent("say.wav").path
        let s = try runCLI(["say", "你好，欢迎光临。", "--ref", ref, "--ref-text", refText, "--gpt", gpt, "--sovits", sovits,
                            "--hubert", hubert, "--bert", bert, "--seed", "1", "-o", out])
        #expect(s.status == 0, "say failed: \(s.stderr)")
        let sayWav = try WAV.read(path: out)
        #expect(sayWav.frameCount > 3200 && sayWav.interleaved.allSatisfy(\.isFinite))
        // say and the sample use the same engine, text, reference and seed: the same audio.
        #expect(sayWav.frameCount == sampleWav.frameCount, "say \(sayWav.frameCount) vs sample \(sampleWav.frameCount) frames")

        // serve, with the pair just written: GET /tts with the default voice.
        let port = try LocalPort.free()
        let server = Process()
        server.executableURL = cliExecutable
        server.arguments = ["serve", "--port", String(port), "--gpt", gpt, "--sovits", sovits, "--hubert", hubert, "--bert", bert,
                            "--ref-root", URL(fileURLWithPath: ref).deletingLastPathComponent().path, "--ref", ref, "--ref-text", refText,
                            "--no-studio"]
        let log = dir.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        server.standardOutput = handle
        server.standardError = handle
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var ready = false
        for _ in 0..<600 where server.isRunning {
            if let (_, status) = try? await get("http://127.0.0.1:\(port)/health"), status == 200 { ready = true; break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let serverLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(ready, "serve did not come up: \(serverLog)")
        guard ready else { return }
        let query = "text=%E4%BD%A0%E5%A5%BD%E3%80%82&text_lang=zh&seed=1"
        let (body, status) = try await get("http://127.0.0.1:\(port)/tts?\(query)")
        #expect(status == 200, "GET /tts: \(status) \(String(decoding: body.prefix(300), as: UTF8.self))")
        let wav = try WAV.decode(body)
        #expect(wav.frameCount > 1600 && wav.interleaved.allSatisfy(\.isFinite), "served \(wav.frameCount) frames")
    }

    private var cliExecutable: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let exe = dir.appendingPathComponent("gpt-sovits")
        return FileManager.default.fileExists(atPath: exe.path) ? exe : dir.deletingLastPathComponent().appendingPathComponent("gpt-sovits")
    }

    private func get(_ url: String) async throws -> (Data, Int) {
        guard let u = URL(string: url) else { throw URLError(.badURL) }
        var request = URLRequest(url: u)
        request.timeoutInterval = 120
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    }
}
