import Foundation
import GSVAudio
import GSVTestSupport
import GSVWeights
import Testing

/// Runs the built `gpt-sovits` executable (it sits next to the test bundle in the build folder).
func runCLI(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var exe = dir.appendingPathComponent("gpt-sovits")
    if !FileManager.default.fileExists(atPath: exe.path) {
        exe = dir.deletingLastPathComponent().appendingPathComponent("gpt-sovits")
    }
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct CLITests {
    static var cliAvailable: Bool {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("gpt-sovits").path)
            || FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("gpt-sovits").path)
    }

    /// `say --report` on the first e2e case: the reported tokens are the official ones, the WAV has
    /// the official length and carries the AI-generated tag.
    @Test(.enabled(if: cliAvailable)) func sayReportMatchesTheOfficialRun() throws {
        guard let c = E2ECase.all.first(where: { $0.decodeCalls == 1 && $0.number("speed_factor") == 1 }) else {
            Issue.record("no single-call e2e case"); return
        }
        let m = Fixtures.url("v2/models")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.wav").path
        let report = dir.appendingPathComponent("report.json").path
        let ref = Fixtures.url("v2/e2e").appendingPathComponent(c.refAudio).standardizedFileURL.path
        let r = try runCLI(["say", c.string("text"), "--ref", ref, "--ref-text", c.string("prompt_text"),
                            "--ref-lang", c.string("prompt_lang"), "--lang", c.string("text_lang"),
                            "--gpt", m.appendingPathComponent("gpt_v2_tiny.ckpt").path,
                            "--sovits", m.appendingPathComponent("sovits_v2_tiny.pth").path,
                            "--hubert", m.appendingPathComponent("chinese-hubert-base-tiny").path,
                            "--bert", m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path,
                            "--top-k", String(Int(c.number("top_k"))), "--text-split-method", c.string("text_split_method"),
                            "--seed", "42", "-o", out, "--report", report])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let fragments = try #require(json["fragments"] as? [[String: Any]])
        let st = try SafeTensorsFile(path: Fixtures.url("v2/e2e/e2e.safetensors").path)
        for item in c.gptItems {
            let golden = try st.tensors["\(c.name)/gpt\(item.call)_b\(item.item)_pred_semantic"]?.int64Values().map { Int($0) }
            #expect(fragments[item.segment]["semantic_tokens"] as? [Int] == golden)
        }
        let wav = try WAV.read(path: out)
        let official = try WAV.read(path: Fixtures.url("v2/e2e/" + c.wav).path)
        #expect(wav.sampleRate == 32000 && wav.frameCount == official.frameCount)
        #expect(wav.metadata.values.contains { $0.contains("AI-generated") })
    }

    @Test(.enabled(if: cliAvailable)) func badInputsFailWithAMessage() throws {
        let r = try runCLI(["say", "你好。", "--ref", "/nonexistent/ref.wav", "--models", "/nonexistent-models"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not found"))
        let i = try runCLI(["inspect", "/nonexistent.ckpt"])
        #expect(i.status != 0 && !i.stderr.isEmpty)
    }
}
