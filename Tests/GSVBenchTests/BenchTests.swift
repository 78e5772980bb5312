import Foundation
import GPTSoVITS
import GSVTestSupport
import Testing
@testable import GSVBench

/// The tiny fixture models (loaded once).
enum BenchFixture {
    static let bundle: Result<ModelBundle, any Error> = Result {
        let m = Fixtures.url("v2/models")
        return try ModelBundle.load(ModelPaths(gpt: m.appendingPathComponent("gpt_v2_tiny.ckpt").path,
                                               sovits: m.appendingPathComponent("sovits_v2_tiny.pth").path,
                                               hubert: m.appendingPathComponent("chinese-hubert-base-tiny").path,
                                               bert: m.appendingPathComponent("chinese-roberta-wwm-ext-large-tiny").path))
    }
}

@Suite struct BenchTests {
    @Test func medianOfOddEvenAndEmpty() {
        #expect(BenchmarkStatistics.median([3, 1, 2]) == 2)
        #expect(BenchmarkStatistics.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchmarkStatistics.median([]) == nil)
        #expect(BenchmarkStatistics.seconds(.milliseconds(1500)) == 1.5)
    }

    @Test func defaultTextIsHundredCharactersAndSettingsValidate() {
        #expect(BenchmarkSettings.defaultText.count == 100)
        var s = BenchmarkSettings(reference: VoiceReference(audioPath: "x.wav", promptText: "", promptLanguage: .zh))
        #expect(s.validationErrors().isEmpty)
        #expect(s.options.seed == 1)
        s.tokens = 0
        s.runs = 0
        s.text = "  "
        s.options.topK = 0
        let problems = s.validationErrors()
        #expect(problems.count == 4)
        #expect(problems.contains { $0.contains("tokens") })
        #expect(problems.contains { $0.contains("top_k") })
    }
}

@Suite struct PipelineBenchmarkRunTests {
    /// The whole benchmark on the tiny fixture models: every figure is produced and the streaming
    /// first chunks have the sizes their modes imply.
    @Test func runsEveryStageOnTheTinyModels() async throws {
        let bundle = try BenchFixture.bundle.get()
        var settings = BenchmarkSettings(reference: VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path,
                                                                   promptText: "今天天气很好，我们去散步吧。", promptLanguage: .zh))
        settings.text = "我们明天早上八点在公园门口见面吧。今天天气很好。"
        settings.tokens = 30
        settings.runs = 1
        settings.warmupRuns = 0
        settings.gptBatch = 2
        let report = try await PipelineBenchmark(bundle: bundle, settings: settings).run(loadSeconds: 0) { _ in }
        #expect(report.gptTokensPerSecond > 0 && report.gptTokensPerSecondBatch > 0)
        #expect(report.rtf > 0 && report.sovitsRTF > 0)
        #expect(report.firstChunkMs > 0 && report.firstChunkWarmMs > 0 && report.firstChunkFixedStreamMs > 0)
        // Streaming 3 cuts the first chunk at 16 tokens and withholds the 2-token overlap, unless
        // the GPT stopped (EOS) before 18 tokens; streaming 1 gives the whole first sentence.
        #expect(report.firstChunkFixedStreamAudioSeconds <= 14 * 0.04 + 1e-9)
        #expect(report.firstChunkFixedStreamAudioSeconds > 0)
        #expect(report.firstChunkAudioSeconds >= report.firstChunkFixedStreamAudioSeconds)
        #expect(report.peakRSSMB > 0)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        #expect(json?["first_chunk_stream3_ms"] != nil && json?["first_chunk_stream2_ms"] != nil)
        #expect(json?["sovits_overlap"] as? Bool == TTSEngine.overlapsSoVITSByDefault)
        // Process CPU time of every measured stage; the end-to-end run does at least the GPT
        // stage's work (same fragments, plus frontend, BERT, HuBERT and SoVITS).
        let stages = ["frontend", "RoBERTa", "CN-HuBERT", "GPT batch 1", "GPT batch 2", "SoVITS", "end to end"]
        #expect(Set(stages).isSubset(of: Set(report.cpuSeconds.keys)), "\(report.cpuSeconds.keys.sorted())")
        #expect(stages.allSatisfy { (report.cpuSeconds[$0] ?? 0) > 0 })
        #expect((report.cpuSeconds["end to end"] ?? 0) > (report.cpuSeconds["SoVITS"] ?? .infinity))
        #expect((json?["cpu_seconds"] as? [String: Double])?.count == report.cpuSeconds.count)
        #expect(!report.cpu.isEmpty)
    }
}
