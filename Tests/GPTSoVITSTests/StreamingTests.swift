import Foundation
import GSVModels
import GSVTensor
import GSVTestSupport
import Testing
@testable import GPTSoVITS

/// Token streaming (`streaming_mode` 2/3): chunk cutting, chunk rendering and the whole path.
@Suite struct StreamingTokenChunkerTests {
    /// Feeds `tokens` one step at a time and collects the chunks.
    private func run(_ chunker: inout StreamingTokenChunker, _ tokens: [Int]) -> [[Int]] {
        var chunks: [[Int]] = []
        for n in 1...tokens.count {
            if let c = chunker.step(tokens[0..<n]) { chunks.append(c) }
        }
        if let last = chunker.finish(tokens) { chunks.append(last) }
        return chunks
    }

    @Test func fixedLengthChunksHaveExactlyTheMinimumLength() {
        var c = StreamingTokenChunker(chunkLength: 4, muteSimilarity: nil)
        #expect(run(&c, Array(1...10)) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
        var exact = StreamingTokenChunker(chunkLength: 5, muteSimilarity: nil)
        #expect(run(&exact, Array(1...10)) == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
    }

    @Test func silenceAlignedCutsAtAPairOfMuteLikeTokensAndRepeatsTheTail() {
        // Token 1 is mute-like (similarity 0.9), token 0 is not (negative → −1).
        let sim: [Float] = [-0.5, 0.9]
        var c = StreamingTokenChunker(chunkLength: 4, muteSimilarity: sim)
        // Pending after 6 tokens: [0,0,0,0,1,1] → scores [-1,-1,-1,-1,.9,.9], pair sums
        // [-2,-2,-2,-.1,1.8,.9]: best index 4 (≥ 0, 4+1 ≥ 4) → emit all six, advance by five.
        let tokens = [0, 0, 0, 0, 1, 1, 0, 0, 0]
        let chunks = run(&c, tokens)
        #expect(chunks == [[0, 0, 0, 0, 1, 1], [1, 0, 0, 0]])
    }

    @Test func slicesThatStartAfterThePromptAreIndexedFromTheirStart() {
        // The engine passes `tokens[promptCount...]`, whose indices do not start at 0.
        let prompt = [7, 7, 7]
        let tokens = [0, 0, 0, 0, 1, 1, 0, 0, 0]
        let all = prompt + tokens
        var c = StreamingTokenChunker(chunkLength: 4, muteSimilarity: [-0.5, 0.9, -0.5, -0.5, -0.5, -0.5, -0.5, 0.9])
        var chunks: [[Int]] = []
        for n in 1...tokens.count {
            if let chunk = c.step(all[prompt.count..<(prompt.count + n)]) { chunks.append(chunk) }
        }
        if let last = c.finish(tokens) { chunks.append(last) }
        #expect(chunks == [[0, 0, 0, 0, 1, 1], [1, 0, 0, 0]])
    }

    @Test func silenceAlignedWaitsWhileNoCutQualifies() {
        // No mute-like pair: nothing before the end, then everything at once.
        var c = StreamingTokenChunker(chunkLength: 3, muteSimilarity: [-0.2, 0.5])
        #expect(run(&c, [0, 0, 0, 0, 0, 0, 0, 0]) == [[0, 0, 0, 0, 0, 0, 0, 0]])
        // A cut before the minimum length does not count: pair at index 0 is best but 0+1 < 3.
        var d = StreamingTokenChunker(chunkLength: 3, muteSimilarity: [-0.2, 0.5])
        #expect(run(&d, [1, 1, 0, 0, 0]) == [[1, 1, 0, 0, 0]])
    }
}

@Suite struct StreamingChunkRendererTests {
    /// A deterministic noise-like "ideal" signal, one value per global sample index.
    private static func ideal(_ g: Int) -> Float {
        var x = UInt64(g) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        x = x &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 32
        return Float(x % 20_000) / 10_000 - 1
    }

    /// Renders `chunks` with a decoder that returns the ideal signal of the kept tokens: the
    /// emitted pieces must join into the ideal signal of the whole history.
    private func renderIdeal(_ chunks: [[Int]?], overlap: Int, perToken: Int) throws -> (joined: [Float], pieces: Int, history: Int) {
        var r = StreamingChunkRenderer(overlapLength: overlap, samplesPerToken: Double(perToken))
        var out: [Float] = []
        var pieces = 0
        var historyCount = 0
        for (i, chunk) in chunks.enumerated() {
            let isFinal = i == chunks.count - 1
            let piece = try r.render(chunk, isFinal: isFinal) { history, result, _ in
                historyCount = history.count
                let kept = min(result ?? history.count, history.count)
                let start = (history.count - kept) * perToken
                let audio = (start..<(history.count * perToken)).map(Self.ideal)
                return SoVITSStreamingOutput(audio: Tensor(shape: [audio.count], scalars: audio),
                                             latent: Tensor.zeros([1, 2 * kept]))
            }
            if !piece.isEmpty { pieces += 1 }
            out += piece
        }
        return (out, pieces, historyCount)
    }

    @Test func chunksJoinIntoTheContinuousSignal() throws {
        // First, two middles (one shorter than 10 tokens: wider overlap), last.
        let chunks: [[Int]?] = [Array(0..<16), Array(0..<18), Array(0..<6), Array(0..<12)]
        let (joined, pieces, history) = try renderIdeal(chunks, overlap: 2, perToken: 40)
        #expect(pieces == 4)
        #expect(history == 52)
        let expected = (0..<(52 * 40)).map(Self.ideal)
        #expect(joined.count == expected.count)
        let worst = zip(joined, expected).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-5)
    }

    @Test func nothingPendingAtTheEndEmitsTheWithheldTail() throws {
        let (joined, pieces, _) = try renderIdeal([Array(0..<16), Array(0..<16), nil], overlap: 2, perToken: 40)
        #expect(pieces == 3)
        let expected = (0..<(32 * 40)).map(Self.ideal)
        #expect(joined.count == expected.count)
        #expect((zip(joined, expected).map { abs($0 - $1) }.max() ?? 1) < 1e-5)
    }

    @Test func aSingleFinalChunkIsEmittedWhole() throws {
        let (joined, pieces, _) = try renderIdeal([Array(0..<7)], overlap: 2, perToken: 40)
        #expect(pieces == 1)
        #expect(joined == (0..<(7 * 40)).map(Self.ideal))
    }
}

@Suite struct TokenStreamingTests {
    private static let voice = VoiceReference(audioPath: Fixtures.url("v2/ref/ref.wav").path,
                                              promptText: "今天天气很好，我们去散步吧。", promptLanguage: .zh)
    private static let text = "我们明天早上八点在公园门口见面吧。"

    private static func options(_ mode: StreamingMode, chunk: Int = 16) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.topK = 1
        o.seed = 5
        o.streamingMode = mode
        o.minChunkLength = chunk
        o.parallelInfer = false
        return o
    }

    private static func collect(_ engine: TTSEngine, _ o: SynthesisOptions) async throws -> (chunks: [[Float]], result: [FragmentReport]) {
        var chunks: [[Float]] = []
        var reports: [FragmentReport] = []
        for try await e in engine.synthesize(text, voice: voice, options: o) {
            switch e {
            case let .audio(s, rate):
                #expect(rate == 32000)
                chunks.append(s)
            case let .finished(f, _): reports = f
            case .progress: break
            }
        }
        return (chunks, reports)
    }

    @Test func soVITSStreamingDecodeKeepsAndCrossFadesTheTail() throws {
        let sovits = try E2EModels.engine.get().bundle.sovits
        let codes = (0..<30).map { ($0 * 37) % 1024 }
        let phones = [10, 20, 30, 40, 50, 60]
        let ge = Tensor(shape: [sovits.config.ginChannels], scalars: (0..<sovits.config.ginChannels).map { Float(sin(Double($0))) })
        let full = try sovits.decodeTrace(codes: codes, phones: phones, ge: ge, noiseScale: 0, noise: .seeded(1))
        let whole = try sovits.decodeStreaming(codes: codes, phones: phones, ge: ge, noiseScale: 0, noise: .seeded(1),
                                               resultTokens: nil, overlap: nil)
        #expect(whole.audio.scalars == full.audio.scalars)
        // Kept frames are the last 2·r frames of the full latent.
        let r = 8
        let cropped = try sovits.decodeStreaming(codes: codes, phones: phones, ge: ge, noiseScale: 0, noise: .seeded(1),
                                                 resultTokens: r, overlap: nil)
        let h = full.prior.hidden, c = h.shape[0], t = h.shape[1]
        #expect(cropped.latent.shape == [c, 2 * r])
        #expect(cropped.latent.scalars == h.slice(axis: 1, (t - 2 * r)..<t).scalars)
        #expect(cropped.audio.count == 2 * r * sovits.config.hopLength)
        // Cross-fade: the first L frames become sin-weighted sums of new and old.
        let l = 4
        let old = Tensor(shape: [c, l], scalars: (0..<(c * l)).map { Float($0 % 7) * 0.1 })
        let faded = try sovits.decodeStreaming(codes: codes, phones: phones, ge: ge, noiseScale: 0, noise: .seeded(1),
                                               resultTokens: r, overlap: old)
        for ch in [0, c / 2, c - 1] {
            for k in 0..<(2 * r) {
                let new = cropped.latent.scalars[ch * 2 * r + k]
                let expected = k < l
                    ? Float(sin(Double(k) * .pi / Double(2 * l))) * new + Float(sin(Double(l + k) * .pi / Double(2 * l))) * old.scalars[ch * l + k]
                    : new
                #expect(abs(faded.latent.scalars[ch * 2 * r + k] - expected) < 1e-5)
            }
        }
        #expect(throws: SoVITSError.self) {
            _ = try sovits.decodeStreaming(codes: codes, phones: phones, ge: ge, noise: .seeded(1), resultTokens: 0, overlap: nil)
        }
    }

    @Test func tokenStreamingEmitsChunksWithTheNaiveGPTTokens() async throws {
        let engine = try E2EModels.engine.get()
        var plain = Self.options(.off)
        plain.streamingMode = .off
        let reference = try await engine.synthesizeAll(Self.text, voice: Self.voice, options: plain)
        let tokens = reference.fragments.flatMap(\.semanticTokens)
        let chunk = Self.options(.fixedTokenChunks).minChunkLength
        #expect(tokens.count > chunk, "the fixture GPT should give more than one chunk (\(chunk) tokens) for this text")

        for mode in [StreamingMode.tokenChunks, .fixedTokenChunks] {
            let (chunks, reports) = try await Self.collect(engine, Self.options(mode))
            #expect(reports.flatMap(\.semanticTokens) == tokens, "mode \(mode.rawValue): GPT tokens")
            let silence = AudioAssembly.silenceSamples(seconds: 0.3, sampleRate: 32000)
            #expect(chunks.last?.count == silence && chunks.last?.allSatisfy { $0 == 0 } == true)
            let speech = chunks.dropLast().reduce(0) { $0 + $1.count }
            let expected = tokens.count * 1280
            if mode == .fixedTokenChunks {
                #expect(chunks.count - 1 == (tokens.count + 15) / 16, "mode 3: one chunk per 16 tokens")
                // SOLA shifts each join by at most its search window.
                #expect(abs(speech - expected) <= 320 * chunks.count, "mode 3: \(speech) samples for \(tokens.count) tokens")
            } else {
                #expect(chunks.count >= 2)
                // Re-emitted tokens after each cut add audio, never remove it.
                #expect(speech >= expected - 320 * chunks.count, "mode 2: \(speech) samples for \(tokens.count) tokens")
            }
            #expect(chunks.dropLast().allSatisfy { c in c.contains { $0 != 0 } })
        }
    }

    @Test func oneChunkSentenceEqualsTheNonStreamingAudio() async throws {
        let engine = try E2EModels.engine.get()
        var plain = Self.options(.off, chunk: 1500)
        plain.streamingMode = .off
        let reference = try await engine.synthesizeAll(Self.text, voice: Self.voice, options: plain)
        let streamed = try await engine.synthesizeAll(Self.text, voice: Self.voice, options: Self.options(.fixedTokenChunks, chunk: 1500))
        #expect(streamed.samples == reference.samples)
    }

    /// Without prior noise, fixed-length chunks joined by the latent cross-fade and SOLA stay close
    /// to the one-piece decode (17.4 dB measured on the tiny models; a missing cross-fade or a
    /// misplaced chunk falls far below).
    @Test func noiselessStreamingStaysCloseToTheWholeDecode() async throws {
        let engine = try E2EModels.engine.get()
        var plain = Self.options(.off)
        plain.noiseScale = 0
        var streaming = Self.options(.fixedTokenChunks)
        streaming.noiseScale = 0
        let a = try await engine.synthesizeAll(Self.text, voice: Self.voice, options: plain).samples
        let b = try await engine.synthesizeAll(Self.text, voice: Self.voice, options: streaming).samples
        #expect(a.count == b.count)
        var s = 0.0, n = 0.0
        for (x, y) in zip(a, b) { s += Double(x * x); n += Double((x - y) * (x - y)) }
        let snr = 10 * log10(s / max(n, 1e-12))
        #expect(snr > 12, "streamed vs whole: \(snr) dB")
    }
}

