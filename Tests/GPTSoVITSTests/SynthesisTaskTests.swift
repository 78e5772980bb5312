import Foundation
import GSVModels
import GSVTensor
import GSVTestSupport
import Testing
@testable import GPTSoVITS

/// The per-request synthesis task: its GPT options, and the GPT/SoVITS overlap.
@Suite struct SynthesisTaskTests {
    /// A task's GPT options (the benchmark's end-to-end stage fixes them): with EOS suppressed and
    /// a token cap every fragment decodes exactly that many tokens, and the audio matches the token
    /// counts.
    @Test func taskGPTOptionsFixTokenCounts() throws {
        let engine = try E2EModels.engine.get()
        let c = try #require(E2ECase.all.first)
        let voice = try Self.fixtureVoice()
        var options = try c.options
        options.speedFactor = 1
        let n = 7
        var fragments: [FragmentReport] = []
        let task = try SynthesisTask(engine: engine, text: c.string("text"), voice: voice, options: options, noise: .seeded) {
            if case let .finished(f, _) = $0 { fragments = f }
        }
        task.gptOptions.maxNewTokens = n
        task.gptOptions.suppressEOS = true
        try task.run()
        #expect(!fragments.isEmpty)
        let hop = engine.bundle.sovits.config.hopLength, rate = Double(engine.bundle.sampleRate)
        for f in fragments {
            #expect(f.semanticTokens.count == n)
            #expect(abs(f.seconds - Double(n * 2 * hop) / rate) < 1e-9)
        }
    }

    /// The stage methods called one by one (split, frontend, BERT, GPT input, GPT) give the
    /// tokens ``SynthesisTask/run()`` reports, sentence by sentence.
    @Test func stageMethodsGiveTheTokensOfARun() throws {
        let engine = try E2EModels.engine.get()
        var o = Self.options(seed: 3, maxTokens: 12)
        o.splitBucket = false
        let text = "今天天气很好，我们去散步吧。明天也许会下雨。后天再说吧！"
        var fragments: [FragmentReport] = []
        try SynthesisTask(engine: engine, text: text, voice: try Self.fixtureVoice(), options: o) {
            if case let .finished(f, _) = $0 { fragments = f }
        }.run()
        let staged = try SynthesisTask(engine: engine, text: text, voice: try Self.fixtureVoice(), options: o) { _ in }
        var sentences = try staged.splitText().compactMap { try staged.sentence($0) }
        try staged.addBertFeatures(to: &sentences)
        var tokens: [[Int]] = []
        for s in sentences { tokens += try staged.decodeGPT([staged.gptInput(for: s)]).map(\.tokens) }
        #expect(sentences.count > 1)
        #expect(tokens == fragments.map(\.semanticTokens))
        #expect(sentences.map(\.phones.normText) == fragments.map(\.normText))
    }

    /// The reference clip, transcript and language of the fixture's first end-to-end case.
    static func fixtureVoice() throws -> VoiceReference {
        let c = try #require(E2ECase.all.first)
        let refPath = Fixtures.url("v2/e2e").appendingPathComponent(c.refAudio).standardizedFileURL.path
        return VoiceReference(audioPath: refPath, promptText: c.string("prompt_text"), promptLanguage: try c.language("prompt_lang"))
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
        let voice = try Self.fixtureVoice()
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
        let voice = try Self.fixtureVoice()
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
