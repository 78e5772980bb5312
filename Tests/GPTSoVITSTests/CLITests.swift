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

    /// `say --streaming-mode 1` writes its WAV as the audio arrives, then finishes it in place: the
    /// header carries the exact sizes and the AI-generated tag.
    @Test(.enabled(if: cliAvailable)) func streamedWAVIsFinishedInPlace() throws {
        let m = Fixtures.url("v2/models")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("streamed.wav").path
        let r = try runCLI(["say", "今天天气很好。明天也许会下雨。", "--ref", Fixtures.url("v2/ref/ref.wav").path,
                            "--ref-text", "今天天气很好，我们去散步吧。",
                            "--gpt", m.appendingPathComponent("gpt_v2_tiny.ckpt").path,
                            "--sovits", m.appendingPathComponent("sovits_v2_tiny.pth").path,
                            "--hubert", m.appendingPathComponent("chinese-hubert-base-tiny").path,
                            "--bert", m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path,
                            "--streaming-mode", "1", "--max-tokens", "10", "--seed", "1", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        try #require(data.count > 44)
        func u32(_ o: Int) -> Int { (0..<4).reduce(0) { $0 | Int(data[data.startIndex + o + $1]) << (8 * $1) } }
        #expect(u32(4) == data.count - 8)
        let wav = try WAV.decode(data)
        #expect(wav.frameCount > 0 && wav.metadata.values.contains { $0.contains("AI-generated") })
        #expect(u32(data.count - 2 * wav.frameCount - 4) == 2 * wav.frameCount)
    }

    @Test(.enabled(if: cliAvailable)) func badInputsFailWithAMessage() throws {
        let r = try runCLI(["say", "你好。", "--ref", "/nonexistent/ref.wav", "--models", "/nonexistent-models"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not found"))
        let i = try runCLI(["inspect", "/nonexistent.ckpt"])
        #expect(i.status != 0 && !i.stderr.isEmpty)
    }
}

/// Each command-line error: one clear line on standard error, nothing on standard output, a
/// non-zero exit status, and (for errors in the arguments) the subcommand's own usage line.
@Suite(.serialized) struct CLIErrorTests {
    static let ref = Fixtures.url("v2/ref/ref.wav").standardizedFileURL.path

    /// The tiny fixture models as command-line options.
    static var tinyModels: [String] {
        let m = Fixtures.url("v2/models")
        return ["--gpt", m.appendingPathComponent("gpt_v2_tiny.ckpt").path, "--sovits", m.appendingPathComponent("sovits_v2_tiny.pth").path,
                "--hubert", m.appendingPathComponent("chinese-hubert-base-tiny").path,
                "--bert", m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path]
    }

    /// The full language-ID model is used when the models folder holds one (`models download lid`
    /// puts it at fast_langdetect/lid.176.bin) or `--lid` names one: a file there that is not a
    /// fastText model stops the run with an error naming it (so the file is really read).
    @Test(.enabled(if: CLITests.cliAvailable)) func languageModelFromTheModelsFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-lid-\(UUID().uuidString)")
        let lid = dir.appendingPathComponent("fast_langdetect/lid.176.bin")
        try FileManager.default.createDirectory(at: lid.deletingLastPathComponent(), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(repeating: 7, count: 4096).write(to: lid)
        let inFolder = try failing(["say", "你好。", "--ref", Self.ref, "--models", dir.path] + Self.tinyModels, usage: nil)
        #expect(inFolder.hasPrefix("Error: cannot load the language-ID model \(lid.path)"), "\(inFolder)")
        let named = dir.appendingPathComponent("other.bin")
        try Data(repeating: 9, count: 4096).write(to: named)
        let explicit = try failing(["say", "你好。", "--ref", Self.ref, "--lid", named.path] + Self.tinyModels, usage: nil)
        #expect(explicit.hasPrefix("Error: cannot load the language-ID model \(named.path)"), "\(explicit)")
    }

    /// Runs the CLI and checks the shape every error shares; returns standard error.
    func failing(_ args: [String], usage subcommand: String?, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try runCLI(args)
        #expect(r.status != 0, "exit status of \(args)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "stdout of \(args): \(r.stdout)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("Error: ") == true, "\(r.stderr)", sourceLocation: sourceLocation)
        if let subcommand {
            #expect(r.stderr.contains("Usage: gpt-sovits \(subcommand)"), "\(r.stderr)", sourceLocation: sourceLocation)
        }
        for leak in ["NSCocoaErrorDomain", "APIError(", "Missing value", "Error Domain="] {
            #expect(!r.stderr.contains(leak), "\(r.stderr)", sourceLocation: sourceLocation)
        }
        return String(lines.first ?? "")
    }

    @Test(.enabled(if: CLITests.cliAvailable)) func g2pErrors() throws {
        #expect(try failing(["g2p", "--lang", "ja", "こんにちは"], usage: nil)
            == "Error: unsupported language 'ja': Japanese text is not implemented yet (zh, en, all_zh and auto are) (in \"こんにちは\")")
        #expect(try failing(["g2p", ""], usage: "g2p") == "Error: the text is empty")
        #expect(try failing(["g2p", "--lang", "klingon", "你好"], usage: "g2p").hasPrefix("Error: --lang: unknown language 'klingon'"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-g2p-\(UUID().uuidString).txt")
        try Data("你好。\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try failing(["g2p", "你好", "--file", file.path], usage: "g2p") == "Error: give either TEXT or --file, not both")
        // Han-only text with --lang auto reads as Chinese (no Japanese frontend yet), exit status 0.
        let auto = try runCLI(["g2p", "--lang", "auto", "--segments-only", "你好，世界。"])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stdout.contains("[zh] 你好，世界。"), "\(auto.stdout)")
        // With --json a failed line is also reported on standard output, in order; the status says it failed.
        let r = try runCLI(["g2p", "--json", "--lang", "ja", "こんにちは"])
        #expect(r.status != 0)
        #expect(r.stdout.contains(#""error""#))
    }

    @Test(.enabled(if: CLITests.cliAvailable)) func sayErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try failing(["say", "你好。", "--ref", Self.ref, "--top-k", "-3"], usage: "say") == "Error: --top-k must be ≥ 1 (got -3)")
        #expect(try failing(["say", "你好。", "--ref", Self.ref, "--speed-factor", "9"], usage: "say")
            == "Error: --speed-factor must be in [0.25, 4] (got 9.0)")
        #expect(try failing(["say", "你好。", "--ref", dir.path], usage: "say") == "Error: --ref: \(dir.path) is a folder, not an audio file")
        let file = dir.appendingPathComponent("text.txt")
        try Data("你好。".utf8).write(to: file)
        #expect(try failing(["say", "你好。", "--ref", Self.ref, "--file", file.path], usage: "say") == "Error: give either TEXT or --file, not both")
        #expect(try failing(["say", "你好。", "--ref", Self.ref, "--lang", "xx"], usage: "say").hasPrefix("Error: --lang: unknown language 'xx'"))
        // Negative numbers are values, not options: --seed -1 parses, and the run fails later on the missing models.
        let models = try failing(["say", "你好。", "--ref", Self.ref, "--seed", "-1", "--models", dir.appendingPathComponent("none").path], usage: nil)
        #expect(models.contains("not found"), "\(models)")
    }

    /// bench takes the api_v2 request options through the shared option group (checked the same
    /// way as say's) and refuses the ones each measurement sets itself.
    @Test(.enabled(if: CLITests.cliAvailable)) func benchErrors() throws {
        #expect(try failing(["bench", "--top-k", "0"], usage: "bench") == "Error: --top-k must be ≥ 1 (got 0)")
        #expect(try failing(["bench", "--text-split-method", "cut9"], usage: "bench") == "Error: --text-split-method must be one of cut0…cut5 (got 'cut9')")
        #expect(try failing(["bench", "--batch-size", "2"], usage: "bench") == "Error: --batch-size is set by each measurement (use --e2e-batch-size)")
        #expect(try failing(["bench", "--streaming-mode", "1"], usage: "bench").hasPrefix("Error: --streaming-mode is set by each measurement"))
        #expect(try failing(["bench", "--max-tokens", "5"], usage: "bench") == "Error: --max-tokens is set by bench (use --tokens)")
        #expect(try failing(["bench", "--lang", "xx"], usage: "bench").hasPrefix("Error: --lang: unknown language 'xx'"))
    }

    @Test(.enabled(if: CLITests.cliAvailable)) func serveErrors() throws {
        #expect(try failing(["serve", "--ref", "refs/x.wav"], usage: "serve")
            == "Error: --ref: refs/x.wav is not allowed (the server allows no reference or weight folders; start it with --ref-root)")
        let root = Fixtures.url("v2/ref").standardizedFileURL.path
        #expect(try failing(["serve", "--ref-root", root, "--ref", "/etc/hostname"], usage: "serve")
            == "Error: --ref: /etc/hostname is outside the allowed folders")
        #expect(try failing(["serve", "--ref-root", root, "--ref", root], usage: "serve")
            == "Error: --ref: \(root) is a folder, not an audio file")
        #expect(try failing(["serve", "--top-k", "0"], usage: "serve") == "Error: --top-k must be ≥ 1 (got 0)")
        #expect(try failing(["serve", "--port", "70000"], usage: "serve") == "Error: --port must be in 0…65535 (got 70000)")
    }
}
