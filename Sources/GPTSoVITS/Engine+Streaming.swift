// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.run with streaming_mode (token streaming, l.1340-1470)
// and GPT_SoVITS/AR/models/t2s_model.py: infer_panel_naive(streaming_mode=True) (chunk cutting).
import Foundation
import GSVModels
import GSVTensor
import GSVText

/// Cuts the semantic tokens of one sentence into streaming chunks while the GPT decodes, as
/// `infer_panel_naive(streaming_mode=True)`.
///
/// Silence-aligned (`streaming_mode` 2): once at least `chunkLength + 2` tokens are pending, every
/// pending token is scored by its embedding's cosine similarity to the mute token (negative scores
/// become −1) plus its successor's score; at the best position `a` (first maximum), if the score is
/// ≥ 0 and `a + 1 ≥ chunkLength`, every pending token is emitted and the pointer moves on by
/// `a + 1` only — the tokens after the cut are emitted again at the start of the next chunk, as the
/// official driver does. Fixed-length (`streaming_mode` 3): every `chunkLength` tokens.
struct StreamingTokenChunker {
    /// Minimum tokens per chunk (`min_chunk_length`).
    let chunkLength: Int
    /// Per-token similarity to the mute token; nil = fixed-length chunks.
    let muteSimilarity: [Float]?
    /// Tokens past the cut position (`check_token_num`).
    static let lookahead = 2
    /// `chunk_split_thershold`, hard-coded 0 in `TTS.run`.
    static let threshold: Float = 0
    /// The official mute token of every version.
    static let muteToken = 486

    private(set) var counter = 0
    private(set) var pointer = 0

    init(chunkLength: Int, muteSimilarity: [Float]?) {
        self.chunkLength = chunkLength
        self.muteSimilarity = muteSimilarity
    }

    /// Called after every GPT step that did not end decoding, with all tokens generated so far.
    /// - Returns: a chunk to synthesise now, or nil.
    mutating func step(_ generated: ArraySlice<Int>) -> [Int]? {
        counter += 1
        guard let sim = muteSimilarity else {
            guard counter >= chunkLength else { return nil }
            let chunk = Array(generated.suffix(counter))
            pointer += counter
            counter = 0
            return chunk
        }
        guard counter >= chunkLength + Self.lookahead, pointer < generated.count else { return nil }
        let pending = Array(generated[(generated.startIndex + pointer)...])
        var score = pending.map { t -> Float in
            let s = (t >= 0 && t < sim.count ? sim[t] : -1) - Self.threshold
            return s < 0 ? -1 : s
        }
        let single = score
        for i in 0..<(score.count - 1) { score[i] = single[i] + single[i + 1] }
        var best = 0
        for i in 1..<score.count where score[i] > score[best] { best = i }
        guard score[best] >= 0, best + 1 >= chunkLength else { return nil }
        counter -= best + 1
        pointer += best + 1
        return pending
    }

    /// The final chunk once decoding ended (`y[curr_ptr:]`, nil when nothing is pending).
    func finish(_ generated: [Int]) -> [Int]? {
        pointer < generated.count ? Array(generated[pointer...]) : nil
    }
}

/// Turns the token chunks of one sentence into audio as `TTS.run`'s streaming loop: each call
/// re-decodes the whole token history with SoVITS but keeps only the new tokens plus an overlap,
/// cross-fades the latent with the previous call's, withholds the last `overlap` tokens' samples
/// until the next chunk, and joins chunks with SOLA.
struct StreamingChunkRenderer {
    /// `overlap_length` in tokens.
    let overlapLength: Int
    /// Output samples per semantic token (`2·hop / speed`).
    let samplesPerToken: Double
    /// Samples withheld at the end of each chunk (`⌈overlap_length · samplesPerToken⌉`).
    var overlapSamples: Int { Int((Double(overlapLength) * samplesPerToken).rounded(.up)) }

    private var history: [Int] = []
    private var lastAudio: [Float]?
    private var lastLatent: Tensor?
    private var isFirst = true

    init(overlapLength: Int, samplesPerToken: Double) {
        self.overlapLength = overlapLength
        self.samplesPerToken = samplesPerToken
    }

    /// What one SoVITS call needs besides the history: kept tokens (nil = all) and the previous
    /// latent's tail.
    typealias Decode = (_ history: [Int], _ resultTokens: Int?, _ overlap: Tensor?) throws -> SoVITSStreamingOutput

    /// Renders one chunk (`tokens` nil: decoding ended with nothing pending) and returns the samples
    /// to emit now.
    mutating func render(_ tokens: [Int]?, isFinal: Bool, decode: Decode) throws -> [Float] {
        guard let tokens, !tokens.isEmpty else {
            // The withheld tail of the previous chunk.
            guard let last = lastAudio else { return [] }
            lastAudio = nil
            return Array(last.suffix(overlapSamples))
        }
        history += tokens
        let ov = !isFirst && tokens.count < 10 ? overlapLength + (10 - tokens.count) : overlapLength
        var overlap: Tensor?
        if let latent = lastLatent {
            let frames = latent.shape[1], keep = min(frames, 2 * ov)
            overlap = latent.slice(axis: 1, (frames - keep)..<frames)
        }
        let out = try decode(history, isFirst ? nil : tokens.count + ov, overlap)
        var audio = out.audio.scalars
        if ov > overlapLength {
            let keep = Int(Double(overlapLength + tokens.count) * samplesPerToken)
            if keep > 0 && keep < audio.count { audio = Array(audio.suffix(keep)) }
        }
        let tail = overlapSamples
        var emitted: [Float]
        switch (isFirst, isFinal) {
        case (true, false):
            emitted = Array(audio.dropLast(tail))
        case (true, true), (false, true):
            // The last chunk is emitted whole: its head re-renders the withheld tail.
            emitted = audio
        case (false, false):
            let previous = lastAudio ?? []
            let joined = AudioAssembly.sola([previous, audio], overlap: tail)
            let from = max(0, previous.count - tail), to = max(from, joined.count - tail)
            emitted = Array(joined[from..<to])
        }
        isFirst = false
        lastLatent = out.latent
        lastAudio = isFinal ? nil : audio
        return emitted
    }
}

extension TTSEngine {
    /// Token streaming (`streaming_mode` 2/3): every sentence is decoded by the step-wise GPT and
    /// its audio is emitted chunk by chunk while the GPT is still running; a `fragment_interval`
    /// pause follows each sentence. Sentences are prepared (phones, BERT) one at a time, just before
    /// their decoding, so the first chunk does not wait for the whole text.
    ///
    /// Unlike the official loop, which keeps only the first sentence of every `batch_size` group,
    /// every sentence is spoken (identical for the default `batch_size` 1).
    func streamTokens(pieces: [String], language: TextLanguage, prepared: PreparedVoice, options: SynthesisOptions,
                      seed: UInt64, noise: NoiseSequence, timings: inout SynthesisTimings, start: Date,
                      emit: (SynthesisEvent) -> Void) throws {
        var rng = SeededRNG(seed: seed)
        let rate = bundle.sampleRate
        let hop = bundle.sovits.config.hopLength
        let silence = AudioAssembly.silenceSamples(seconds: options.fragmentInterval, sampleRate: rate)
        let sampling = SamplingParameters(topK: options.topK, topP: options.topP, temperature: options.temperature,
                                          repetitionPenalty: options.repetitionPenalty)
        let decodeOptions = T2SDecodeOptions(sampling: sampling, earlyStopNum: bundle.t2s.config.officialEarlyStopNum,
                                             maxNewTokens: options.maxTokensPerSentence, variant: .streaming)
        let muteSimilarity: [Float]?
        if options.streamingMode == .tokenChunks {
            do { muteSimilarity = try bundle.t2s.tokenSimilarity(to: StreamingTokenChunker.muteToken) } catch {
                throw SynthesisError.stageFailed(stage: "GPT", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        } else {
            muteSimilarity = nil
        }
        let samplesPerToken = Double(2 * hop) / options.speedFactor

        var reports: [FragmentReport] = []
        var spoken = 0
        // With `overlapsSoVITS`, every chunk after the request's first renders on a background
        // queue (in order, one at a time: each continues the previous one's latent) while the GPT
        // decodes on; finished chunks are emitted between GPT steps. The first chunk renders at
        // once, on every core.
        let stream = StreamRenderState(noise: noise)
        let renders = OrderedBackgroundQueue<Void, StreamRenderOutput>(label: "gpt-sovits.stream-render")
        defer { renders.abandon() }
        var queueing = false
        func handle(_: Void, _ out: StreamRenderOutput) {
            for e in out.events { emit(e) }
            timings.sovits += out.seconds
            if let r = out.report {
                reports.append(r)
                spoken += 1
            }
        }
        /// Runs `job` now, or queues it once the first chunk is out; returns the seconds it ran here.
        func run(_ job: @escaping @Sendable () throws -> StreamRenderOutput) throws -> Double {
            if queueing {
                renders.submit(()) { try Parallel.lane(job) }
                try renders.collect(waiting: false, handle)
                return 0
            }
            let out = try job()
            handle((), out)
            queueing = overlapsSoVITS
            return out.seconds
        }

        for (index, piece) in pieces.enumerated() {
            try Task.checkCancellation()
            var t0 = Date()
            let (seq, bert) = try Parallel.lane { try phonesAndBert(piece, language: language) }
            timings.frontend += Date().timeIntervalSince(t0)
            guard !seq.phoneIDs.isEmpty, !seq.normText.isEmpty else { continue }
            let input: T2SInput
            do {
                input = try T2SInput(promptPhoneIDs: prepared.promptPhoneIDs, promptBert: prepared.promptBert,
                                     targetPhoneIDs: seq.phoneIDs, targetBert: bert, promptTokens: prepared.promptTokens)
            } catch {
                throw SynthesisError.stageFailed(stage: "GPT input", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }

            var chunker = StreamingTokenChunker(chunkLength: options.minChunkLength, muteSimilarity: muteSimilarity)
            let sentence = SentenceRenderState(renderer: StreamingChunkRenderer(overlapLength: options.overlapLength,
                                                                                samplesPerToken: samplesPerToken))
            var hereSeconds = 0.0
            let ge = prepared.ge
            func render(_ tokens: [Int]?, isFinal: Bool) throws {
                hereSeconds += try run { [self] in
                    let s0 = Date()
                    let samples = try renderChunk(tokens, isFinal: isFinal, sentence: sentence, stream: stream,
                                                  phones: seq.phoneIDs, ge: ge, options: options)
                    let events: [SynthesisEvent] = samples.isEmpty ? []
                        : [.audio(samples: AudioAssembly.finishFragment(samples, silence: 0), sampleRate: rate)]
                    return StreamRenderOutput(events: events, seconds: Date().timeIntervalSince(s0))
                }
            }

            t0 = Date()
            let result = try gpt {
                try Parallel.lane {
                    let session = try bundle.t2s.startDecoding([input], options: decodeOptions)
                    while try session.step(rng: &rng) {
                        if let chunk = chunker.step(session.generatedTokens(item: 0)) { try render(chunk, isFinal: false) }
                        if queueing { try renders.collect(waiting: false, handle) }
                    }
                    guard let result = try session.finish().first else { throw T2SError.invalidInput("empty batch") }
                    return result
                }
            }
            try render(chunker.finish(result.tokens), isFinal: true)
            timings.gpt += Date().timeIntervalSince(t0) - hereSeconds
            timings.gptTokens += result.tokens.count

            // The pause, progress and report follow the sentence's last chunk.
            _ = try run {
                var events: [SynthesisEvent] = []
                if silence > 0 { events.append(.audio(samples: [Float](repeating: 0, count: silence), sampleRate: rate)) }
                events.append(.progress(done: index + 1, total: pieces.count))
                let report = FragmentReport(normText: seq.normText, phones: seq.phones, phoneIDs: seq.phoneIDs,
                                            semanticTokens: result.tokens, seconds: Double(sentence.samples) / Double(rate))
                return StreamRenderOutput(events: events, seconds: 0, report: report)
            }
        }
        try renders.collect(waiting: true, handle)
        guard spoken > 0 else { throw SynthesisError.nothingToSay(pieces.joined()) }
        timings.total = Date().timeIntervalSince(start)
        emit(.finished(fragments: reports, timings: timings))
    }
}

/// What one queued step of a token stream hands back to the caller: events to emit in order, the
/// SoVITS seconds it took, and the sentence's report once its last chunk is done.
struct StreamRenderOutput: Sendable {
    var events: [SynthesisEvent]
    var seconds: Double
    var report: FragmentReport? = nil
}

/// The request-wide state of token-stream rendering: the SoVITS noise, drawn in call order.
/// Used by one thread at a time: the caller for the first chunk, then the render queue's items in
/// order (the queue orders them after the caller's submission).
final class StreamRenderState: @unchecked Sendable {
    var noise: NoiseSequence
    init(noise: NoiseSequence) { self.noise = noise }
}

/// One sentence's chunk renderer and the samples it has produced; used like ``StreamRenderState``.
final class SentenceRenderState: @unchecked Sendable {
    var renderer: StreamingChunkRenderer
    var samples = 0
    init(renderer: StreamingChunkRenderer) { self.renderer = renderer }
}

extension TTSEngine {
    /// Renders one chunk of a sentence's tokens (see ``StreamingChunkRenderer``) and returns its
    /// samples (empty when nothing is due yet).
    func renderChunk(_ tokens: [Int]?, isFinal: Bool, sentence: SentenceRenderState, stream: StreamRenderState,
                     phones: [Int], ge: Tensor, options: SynthesisOptions) throws -> [Float] {
        let samples = try sentence.renderer.render(tokens, isFinal: isFinal) { history, resultTokens, overlap in
            do {
                return try bundle.sovits.decodeStreaming(codes: history, phones: phones, ge: ge,
                                                         speed: options.speedFactor, noiseScale: options.noiseScale,
                                                         noise: try stream.noise.next(), resultTokens: resultTokens,
                                                         overlap: overlap)
            } catch let e as SynthesisError {
                throw e
            } catch {
                throw SynthesisError.stageFailed(stage: "SoVITS", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        }
        sentence.samples += samples.count
        return samples
    }
}
