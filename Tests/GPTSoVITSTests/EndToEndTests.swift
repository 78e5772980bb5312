import Foundation
import GSVAudio
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GPTSoVITS

/// The official `TTS.run` cases of the fixtures (`v2/e2e/e2e.json`): the whole pipeline from text
/// and reference clip, with the recorded SoVITS noise injected in call order.
struct E2ECase: Sendable, CustomStringConvertible {
    var name: String
    var wav: String
    var inputs: [String: any Sendable]
    var refAudio: String
    /// Auxiliary reference clips (`aux_ref_audio_paths`), as the fixture names them.
    var auxRefAudios: [String] = []
    /// Prefix of this case's tensors in the fixture's `e2e.safetensors` (`<version>/` in sets with
    /// several versions).
    var tensorPrefix = ""
    var segments: Int
    /// (call, batch item, segment) of every GPT item, in call order.
    var gptItems: [(call: Int, item: Int, segment: Int)]
    var decodeCalls: Int
    var totalTokens: Int
    var description: String { name }

    static let all: [E2ECase] = {
        guard let data = try? Data(contentsOf: Fixtures.url("v2/e2e/e2e.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = json["cases"] as? [[String: Any]] else { return [] }
        return parse(cases)
    }()

    /// The cases of one `cases` list of an `e2e.json`, their tensors under `tensorPrefix`.
    static func parse(_ cases: [[String: Any]], tensorPrefix: String = "") -> [E2ECase] {
        cases.compactMap { c in
            guard let name = c["name"] as? String, let wav = c["wav"] as? String,
                  let inputs = c["inputs"] as? [String: Any], let ref = c["ref_audio"] as? String,
                  let segs = c["preprocess_segments"] as? [[String: Any]],
                  let calls = c["gpt_calls"] as? [[String: Any]], let decodes = c["decode_calls"] as? [[String: Any]] else { return nil }
            let items = calls.compactMap { g -> (Int, Int, Int)? in
                guard let a = g["call"] as? Int, let b = g["batch_item"] as? Int, let s = g["segment"] as? Int else { return nil }
                return (a, b, s)
            }
            let tokens = calls.reduce(0) { $0 + (($1["n_tokens"] as? Int) ?? 0) }
            var sendable: [String: any Sendable] = [:]
            for (k, v) in inputs {
                if let s = v as? String { sendable[k] = s } else if let n = v as? NSNumber { sendable[k] = n.doubleValue }
            }
            return E2ECase(name: name, wav: wav, inputs: sendable, refAudio: ref,
                           auxRefAudios: inputs["aux_ref_audio_paths"] as? [String] ?? [], tensorPrefix: tensorPrefix,
                           segments: segs.count, gptItems: items, decodeCalls: decodes.count, totalTokens: tokens)
        }
    }

    /// The name of this case's tensor `key` in the fixture's `e2e.safetensors`.
    func tensorName(_ key: String) -> String { "\(tensorPrefix)\(name)/\(key)" }

    /// Checks a synthesis against the official run: phone ids of every segment, semantic tokens
    /// of every GPT item (identical), and the waveform (SNR ≥ 40 dB against `officialWAV`).
    func expectReproduced(_ result: SynthesisResult, tensors st: SafeTensorsFile, officialWAV: String,
                          minimumSNR: Double = 40, sourceLocation: SourceLocation = #_sourceLocation) throws {
        func ints(_ k: String) throws -> [Int] {
            guard let t = st.tensors[tensorName(k)] else { throw WeightsError.missingKey(tensorName(k)) }
            return try t.int64Values().map { Int($0) }
        }
        // Fragments are reported in text order: phone ids of every segment and tokens of every GPT item.
        #expect(result.fragments.count == segments, sourceLocation: sourceLocation)
        for (k, f) in result.fragments.enumerated() {
            #expect(f.phoneIDs == (try ints("seg\(k)_phone_ids")), "\(self) segment \(k) phone ids", sourceLocation: sourceLocation)
        }
        for item in gptItems where item.segment < result.fragments.count {
            #expect(result.fragments[item.segment].semanticTokens == (try ints("gpt\(item.call)_b\(item.item)_pred_semantic")),
                    "\(self) GPT call \(item.call) item \(item.item)", sourceLocation: sourceLocation)
        }
        let official = try WAV.read(path: officialWAV)
        let pcm = official.interleaved.map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }
        #expect(result.samples.count == pcm.count, "\(self): \(result.samples.count) samples vs \(pcm.count)", sourceLocation: sourceLocation)
        let snr = snrDB(result.samples, pcm)
        print("e2e \(tensorPrefix)\(name): SNR \(String(format: "%.1f", snr)) dB (gate \(String(format: "%.1f", minimumSNR))), \(result.fragments.map(\.semanticTokens.count)) tokens")
        #expect(snr >= minimumSNR, "\(self): SNR \(snr) dB < \(minimumSNR)", sourceLocation: sourceLocation)
    }

    func string(_ k: String) -> String { inputs[k] as? String ?? "" }
    func number(_ k: String) -> Double { inputs[k] as? Double ?? 0 }
    /// A language field of the request, parsed as the server and CLI parse it.
    func language(_ k: String) throws -> TextLanguage { try TextLanguage(parsing: string(k)) }

    /// The request as our options.
    var options: SynthesisOptions {
        get throws {
        var o = SynthesisOptions()
        o.textLanguage = try language("text_lang")
        o.topK = Int(number("top_k"))
        o.topP = Float(number("top_p"))
        o.temperature = Float(number("temperature"))
        o.repetitionPenalty = Float(number("repetition_penalty"))
        o.textSplitMethod = TextSplitMethod(rawValue: string("text_split_method")) ?? .cut5
        o.batchSize = Int(number("batch_size"))
        o.batchThreshold = Float(number("batch_threshold"))
        o.splitBucket = number("split_bucket") != 0
        o.speedFactor = number("speed_factor")
        o.fragmentInterval = number("fragment_interval")
        o.seed = Int64(number("seed"))
        o.parallelInfer = number("parallel_infer") != 0
        return o
        }
    }
}

/// Shared models for the end-to-end tests (loading once keeps the suite fast).
enum E2EModels {
    static let engine: Result<TTSEngine, any Error> = Result {
        let m = Fixtures.url("v2/models")
        let paths = ModelPaths(gpt: m.appendingPathComponent("gpt_v2_tiny.ckpt").path,
                               sovits: m.appendingPathComponent("sovits_v2_tiny.pth").path,
                               hubert: m.appendingPathComponent("chinese-hubert-base-tiny").path,
                               bert: m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path)
        return TTSEngine(bundle: try ModelBundle.load(paths))
    }
}

func snrDB(_ ours: [Float], _ official: [Int16]) -> Double {
    var s = 0.0, n = 0.0
    for (x, w) in zip(ours, official) {
        let a = Double(x) * 32768, b = Double(w)
        s += b * b
        n += (a - b) * (a - b)
    }
    return 10 * log10(s / max(n, 1e-12))
}

@Suite struct EndToEndTests {
    @Test func fixtureHasCases() { #expect(!E2ECase.all.isEmpty) }

    @Test(arguments: E2ECase.all)
    func officialRunIsReproduced(_ c: E2ECase) async throws {
        let engine = try E2EModels.engine.get()
        let st = try SafeTensorsFile(path: Fixtures.url("v2/e2e/e2e.safetensors").path)
        let noise = try (0..<c.decodeCalls).map { try st.tensor(c.tensorName("noise\($0)")) }
        let refPath = Fixtures.url("v2/e2e").appendingPathComponent(c.refAudio).standardizedFileURL.path
        let voice = VoiceReference(audioPath: refPath, promptText: c.string("prompt_text"), promptLanguage: try c.language("prompt_lang"))
        let result = try await engine.synthesizeAll(c.string("text"), voice: voice, options: try c.options, noise: .injected(noise))
        try c.expectReproduced(result, tensors: st, officialWAV: Fixtures.url("v2/e2e/" + c.wav).path)
    }

    @Test func shortOrMissingReferenceIsAClearError() async throws {
        let engine = try E2EModels.engine.get()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.wav").path
        try WAV.write([Float](repeating: 0.1, count: 16000), sampleRate: 16000, to: short)
        var o = SynthesisOptions()
        o.seed = 1
        await #expect(throws: SynthesisError.self) {
            _ = try await engine.synthesizeAll("你好世界。", voice: VoiceReference(audioPath: short, promptText: "你好。", promptLanguage: .zh), options: o)
        }
        await #expect(throws: SynthesisError.self) {
            _ = try await engine.synthesizeAll("你好世界。", voice: VoiceReference(audioPath: dir.appendingPathComponent("nope.wav").path, promptText: "", promptLanguage: .zh), options: o)
        }
        let ref = Fixtures.url("v2/ref/ref.wav").path
        await #expect(throws: SynthesisError.self) {
            _ = try await engine.synthesizeAll("   ", voice: VoiceReference(audioPath: ref, promptText: "", promptLanguage: .zh), options: o)
        }
        // An unknown language is refused where the request is read, naming the field.
        #expect(throws: RequestFieldError(field: "text_lang", message: "text_lang: xx is not supported")) {
            _ = try JSONDecoder().decode(SynthesisOptions.self, from: Data(#"{"text_lang": "xx"}"#.utf8))
        }
    }
}

@Suite struct ConcurrencyTests {
    /// Concurrent requests with different voices on one engine: each result equals the same
    /// request run alone (no voice or state bleeds between requests).
    @Test func concurrentRequestsMatchTheirSingleRuns() async throws {
        let engine = try E2EModels.engine.get()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let voices = [
            VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path, promptText: "今天天气很好，我们去散步吧。", promptLanguage: .zh),
            VoiceReference(audioPath: repo.appendingPathComponent("examples/reference_en.wav").path,
                           promptText: "The weather is lovely today, so let's take a walk in the park.", promptLanguage: .en),
        ]
        var o = SynthesisOptions()
        o.topK = 1
        o.seed = 7
        let texts = ["我们一起去公园吧。", "Hello there, nice to meet you."]
        var single: [[Float]] = []
        for i in 0..<4 {
            single.append(try await engine.synthesizeAll(texts[i % 2], voice: voices[i / 2], options: o).samples)
        }
        #expect(single[0] != single[2], "different voices must give different audio")
        let options = o
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for i in 0..<4 {
                group.addTask { (i, try await engine.synthesizeAll(texts[i % 2], voice: voices[i / 2], options: options).samples) }
            }
            var out = [[Float]](repeating: [], count: 4)
            for try await (i, s) in group { out[i] = s }
            return out
        }
        for i in 0..<4 { #expect(concurrent[i] == single[i], "request \(i)") }
    }

    @Test func cancellationStopsTheStream() async throws {
        let engine = try E2EModels.engine.get()
        let voice = VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path, promptText: "今天天气很好，我们去散步吧。", promptLanguage: .zh)
        var o0 = SynthesisOptions()
        o0.seed = 3
        o0.textSplitMethod = .cut5
        o0.streamingMode = .fragments
        let o = o0
        let text = String(repeating: "今天天气很好，我们去散步吧。", count: 20)
        let task = Task {
            var chunks = 0
            for try await e in engine.synthesize(text, voice: voice, options: o) {
                if case .audio = e { chunks += 1 }
            }
            return chunks
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        let started = Date()
        let result = await task.result
        // Generous bound: the current SoVITS decode finishes first, and the suite runs tests in parallel on 2 cores.
        #expect(Date().timeIntervalSince(started) < 60)
        if case let .success(chunks) = result { #expect(chunks < 20, "the stream ran to completion despite cancellation") }
        // Let the abandoned work end (at its next GPT step) before the test process may exit. This
        // waits for every synthesis in the process, so other tests' work bounds its duration.
        await TTSEngine.waitUntilIdle()
    }
}
