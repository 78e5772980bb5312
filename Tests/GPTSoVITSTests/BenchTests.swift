import Foundation
import GSVModels
import GSVTensor
import GSVTestSupport
import Testing
@testable import GPTSoVITS

@Suite struct BenchTests {
    @Test func medianOfOddEvenAndEmpty() {
        #expect(BenchmarkStatistics.median([3, 1, 2]) == 2)
        #expect(BenchmarkStatistics.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchmarkStatistics.median([]) == nil)
        #expect(BenchmarkStatistics.seconds(.milliseconds(1500)) == 1.5)
    }

    @Test func procStatusParsing() throws {
        let status = "Name:\tgpt-sovits\nVmPeak:\t  123456 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"
        #expect(ProcessMetrics.kilobytes(field: "VmHWM", inProcStatus: status) == 2048)
        #expect(ProcessMetrics.kilobytes(field: "VmRSS", inProcStatus: status) == 1024)
        #expect(ProcessMetrics.kilobytes(field: "VmSwap", inProcStatus: status) == nil)
        #expect(ProcessMetrics.kilobytes(field: "VmHWM", inProcStatus: "VmHWM:\tlots kB\n") == nil)
        // This process has touched memory, so its peak is positive (and at least a megabyte).
        let peak = try #require(ProcessMetrics.peakResidentBytes())
        #expect(peak > 1_048_576)
    }

    @Test func defaultTextIsHundredCharactersAndSettingsValidate() {
        #expect(BenchmarkSettings.defaultText.count == 100)
        var s = BenchmarkSettings(reference: VoiceReference(audioPath: "x.wav", promptText: "", promptLanguage: .zh))
        #expect(s.validationErrors().isEmpty)
        s.tokens = 0
        s.runs = 0
        s.text = "  "
        let problems = s.validationErrors()
        #expect(problems.count == 3)
        #expect(problems.contains { $0.contains("tokens") })
    }

    /// EOS suppression (the benchmark's fixed token count): on a tiny random GPT whose EOS is one
    /// of 4 tokens, plain decoding stops on EOS early for some seed, while suppressed decoding
    /// always returns exactly the requested count without EOS.
    @Test func suppressedEOSDecodesExactlyTheRequestedTokens() throws {
        let config = T2SConfig(vocabSize: 4, phonemeVocabSize: 8, embeddingDim: 16, hiddenDim: 16, heads: 2, layers: 1,
                               eos: 3, bertDim: 8, maxSec: nil)
        let model = try Text2SemanticDecoder.random(config: config, seed: 7)
        let input = T2SInput(phoneIDs: [1, 2, 3, 4], bert: Tensor.zeros([8, 4]), promptTokens: [0, 1])
        let n = 40
        var stoppedOnEOS = false
        for seed in UInt64(1)...8 {
            var rng = SeededRNG(seed: seed)
            let plain = try model.decode(input, options: T2SDecodeOptions(earlyStopNum: n, maxSteps: n + 1), rng: &rng)
            if plain.stopReason == .eos { stoppedOnEOS = true }
            rng = SeededRNG(seed: seed)
            let fixed = try model.decode(batch: [input, input], options: T2SDecodeOptions(earlyStopNum: n, maxSteps: n + 1, suppressEOS: true),
                                         rng: &rng)
            for r in fixed {
                #expect(r.tokens.count == n)
                #expect(r.stopReason == .earlyStop)
                #expect(!r.tokens.contains(config.eos))
            }
        }
        #expect(stoppedOnEOS)
    }

    /// The engine's decode hook (used by the benchmark's end-to-end stage): with EOS suppressed and
    /// an early-stop limit every fragment decodes exactly that many tokens, and the audio matches
    /// the token counts.
    @Test func engineDecodeHookFixesTokenCounts() throws {
        let engine = try E2EModels.engine.get()
        let c = try #require(E2ECase.all.first)
        let refPath = Fixtures.url("v2/e2e").appendingPathComponent(c.refAudio).standardizedFileURL.path
        let voice = VoiceReference(audioPath: refPath, promptText: c.string("prompt_text"), promptLanguage: try c.language("prompt_lang"))
        var options = try c.options
        options.speedFactor = 1
        let n = 7
        var fragments: [FragmentReport] = []
        var hookCalls = 0
        try engine.run(c.string("text"), voice: voice, options: options, noise: .seeded,
                       adjustDecode: { d in
                           hookCalls += 1
                           d.earlyStopNum = n
                           d.maxSteps = n + 1
                           d.suppressEOS = true
                       },
                       emit: { if case let .finished(f, _) = $0 { fragments = f } })
        #expect(hookCalls == 1)
        #expect(!fragments.isEmpty)
        let hop = engine.bundle.sovits.config.hopLength, rate = Double(engine.bundle.sampleRate)
        for f in fragments {
            #expect(f.semanticTokens.count == n)
            #expect(abs(f.seconds - Double(n * 2 * hop) / rate) < 1e-9)
        }
    }

    /// The fixture reference clip and its transcript.
    static var fixtureVoice: VoiceReference {
        VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path, promptText: "今天天气很好，我们去散步吧。",
                       promptLanguage: .zh)
    }

    /// `batch_size` 1, cut5, a seed and a token cap per sentence.
    static func options(seed: Int64, maxTokens: Int) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.seed = seed
        o.textSplitMethod = .cut5
        o.batchSize = 1
        o.maxTokensPerSentence = maxTokens
        return o
    }

    /// The SoVITS/GPT overlap changes timing only: the samples and tokens equal a serial run.
    @Test func overlappedSoVITSDecodeGivesTheSerialResult() async throws {
        let bundle = try E2EModels.engine.get().bundle
        let serial = TTSEngine(bundle: bundle, overlapsSoVITS: false)
        let overlapped = TTSEngine(bundle: bundle, overlapsSoVITS: true)
        let voice = Self.fixtureVoice
        let o = Self.options(seed: 5, maxTokens: 12)
        let text = "今天天气很好，我们去散步吧。明天也许会下雨。后天再说吧！"
        let a = try await serial.synthesizeAll(text, voice: voice, options: o)
        let b = try await overlapped.synthesizeAll(text, voice: voice, options: o)
        #expect(a.fragments.count > 1)
        #expect(a.samples == b.samples)
        #expect(a.fragments == b.fragments)
    }

    /// Streaming with the overlap: the first chunk is decoded at once, later batches (streaming 1) or
    /// chunks (streaming 2 and 3) in the background; the events (chunks in order, their samples,
    /// progress) equal a serial run's.
    @Test(arguments: [StreamingMode.fragments, .tokenChunks, .fixedTokenChunks])
    func overlappedStreamGivesTheSerialChunks(mode: StreamingMode) async throws {
        let bundle = try E2EModels.engine.get().bundle
        let voice = Self.fixtureVoice
        var o = Self.options(seed: 9, maxTokens: 14)
        o.streamingMode = mode
        o.minChunkLength = 4
        let text = "今天天气很好，我们去散步吧。明天也许会下雨。后天再说吧！大后天呢？"
        func chunks(_ engine: TTSEngine) async throws -> (audio: [[Float]], progress: [Int]) {
            var audio: [[Float]] = []
            var progress: [Int] = []
            for try await e in engine.synthesize(text, voice: voice, options: o) {
                switch e {
                case let .audio(s, _): audio.append(s)
                case let .progress(done, _): progress.append(done)
                case .finished: break
                }
            }
            return (audio, progress)
        }
        let a = try await chunks(TTSEngine(bundle: bundle, overlapsSoVITS: false))
        let b = try await chunks(TTSEngine(bundle: bundle, overlapsSoVITS: true))
        #expect(a.audio.count > 2)
        #expect(a.audio == b.audio)
        #expect(a.progress == b.progress)
    }
}

@Suite struct PipelineBenchmarkRunTests {
    /// The whole benchmark on the tiny fixture models: every figure is produced and the streaming
    /// first chunks have the sizes their modes imply.
    @Test func runsEveryStageOnTheTinyModels() async throws {
        let engine = try E2EModels.engine.get()
        var settings = BenchmarkSettings(reference: VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path,
                                                                   promptText: "今天天气很好，我们去散步吧。", promptLanguage: .zh))
        settings.text = "我们明天早上八点在公园门口见面吧。今天天气很好。"
        settings.tokens = 30
        settings.runs = 1
        settings.warmupRuns = 0
        settings.gptBatch = 2
        let report = try await PipelineBenchmark(bundle: engine.bundle, settings: settings).run(loadSeconds: 0) { _ in }
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
