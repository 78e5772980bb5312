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

extension SynthesisTask {
    /// Token streaming (`streaming_mode` 2/3): every sentence is decoded by the step-wise GPT and
    /// its audio is emitted chunk by chunk while the GPT is still running; a `fragment_interval`
    /// pause follows each sentence. Sentences are prepared (phones, BERT) one at a time, just before
    /// their decoding, so the first chunk does not wait for the whole text.
    ///
    /// Unlike the official loop, which keeps only the first sentence of every `batch_size` group,
    /// every sentence is spoken (identical for the default `batch_size` 1).
    ///
    /// With ``TTSEngine/overlapsSoVITS``, every chunk after the request's first renders on a
    /// background queue (in order, one at a time: each continues the previous one's latent) while
    /// the GPT decodes on; finished chunks are emitted between GPT steps. The first chunk renders
    /// at once, on every core.
    func streamTokens(_ pieces: [String]) throws {
        let muteSimilarity: [Float]?
        if options.streamingMode == .tokenChunks {
            muteSimilarity = try gptStage { try bundle.t2s.tokenSimilarity(to: StreamingTokenChunker.muteToken) }
        } else {
            muteSimilarity = nil
        }
        defer { renders.abandon() }
        for (index, piece) in pieces.enumerated() {
            try Task.checkCancellation()
            var items: [Sentence] = []
            try Parallel.lane {
                if let s = try sentence(piece) { items = [s] }
                try addBertFeatures(to: &items)
            }
            guard let s = items.first else { continue }
            let t0 = Date()
            let stream = try SentenceStream(sentence: s, task: self, muteSimilarity: muteSimilarity)
            let result = try decodeGPT(streaming: stream)
            try render(stream.chunker.finish(result.tokens), isFinal: true, in: stream)
            timings.gpt += Date().timeIntervalSince(t0) - stream.renderSeconds
            timings.gptTokens += result.tokens.count

            // The pause, progress and report follow the sentence's last chunk.
            let rate = bundle.sampleRate, silence = silence, count = pieces.count, state = stream.state
            let report = FragmentReport(normText: s.phones.normText, phones: s.phones.phones, phoneIDs: s.phones.phoneIDs,
                                        semanticTokens: result.tokens, seconds: 0)
            _ = try runRender {
                var events: [SynthesisEvent] = []
                if silence > 0 { events.append(.audio(samples: [Float](repeating: 0, count: silence), sampleRate: rate)) }
                events.append(.progress(done: index + 1, total: count))
                var r = report
                r.seconds = Double(state.samples) / Double(rate)
                return StreamRenderOutput(events: events, seconds: 0, report: r)
            }
        }
        try renders.collect(waiting: true) { _, out in handleRender(out) }
        guard spoken > 0 else { throw SynthesisError.nothingToSay(pieces.joined()) }
        timings.total = Date().timeIntervalSince(started)
        emit(.finished(fragments: streamReports, timings: timings))
    }

    /// One sentence being streamed: its GPT input, chunker and renderer.
    final class SentenceStream {
        let sentence: Sentence
        let input: T2SInput
        var chunker: StreamingTokenChunker
        let state: SentenceRenderState
        /// Seconds spent rendering on the task's thread (taken off the GPT's time).
        var renderSeconds = 0.0

        init(sentence: Sentence, task: SynthesisTask, muteSimilarity: [Float]?) throws {
            self.sentence = sentence
            input = try task.gptInput(for: sentence)
            chunker = StreamingTokenChunker(chunkLength: task.options.minChunkLength, muteSimilarity: muteSimilarity)
            let hop = task.bundle.sovits.config.hopLength
            state = SentenceRenderState(renderer: StreamingChunkRenderer(overlapLength: task.options.overlapLength,
                                                                         samplesPerToken: Double(2 * hop) / task.options.speedFactor))
        }
    }

    /// The step-wise GPT of one streamed sentence: after every step that did not end decoding, a
    /// chunk is cut when one is due and rendered, and chunks rendered in the background meanwhile
    /// are emitted.
    func decodeGPT(streaming stream: SentenceStream) throws -> T2SResult {
        try gptStage {
            try Parallel.lane {
                let session = try bundle.t2s.startDecoding([stream.input], options: gptOptions)
                while try session.step(rng: &rng) {
                    if let chunk = stream.chunker.step(session.generatedTokens(item: 0)) {
                        try render(chunk, isFinal: false, in: stream)
                    }
                    if queueingRenders { try renders.collect(waiting: false) { _, out in handleRender(out) } }
                }
                guard let result = try session.finish().first else { throw T2SError.invalidInput("empty batch") }
                return result
            }
        }
    }

    /// Renders one chunk of `stream` (nil: decoding ended with nothing pending) and emits its audio,
    /// now or from the background queue.
    func render(_ tokens: [Int]?, isFinal: Bool, in stream: SentenceStream) throws {
        let stage = try soVITS(), noise = noise, state = stream.state, phones = stream.sentence.phones.phoneIDs
        let rate = bundle.sampleRate
        stream.renderSeconds += try runRender {
            let t0 = Date()
            let samples = try stage.renderChunk(tokens, isFinal: isFinal, sentence: state, noise: noise, phones: phones)
            let events: [SynthesisEvent] = samples.isEmpty ? []
                : [.audio(samples: AudioAssembly.finishFragment(samples, silence: 0), sampleRate: rate)]
            return StreamRenderOutput(events: events, seconds: Date().timeIntervalSince(t0))
        }
    }

    /// Runs `job` now, or queues it once the first chunk is out; returns the seconds it ran here.
    func runRender(_ job: @escaping @Sendable () throws -> StreamRenderOutput) throws -> Double {
        if queueingRenders {
            renders.submit(()) { try Parallel.lane(job) }
            try renders.collect(waiting: false) { _, out in handleRender(out) }
            return 0
        }
        let out = try job()
        handleRender(out)
        queueingRenders = engine.overlapsSoVITS
        return out.seconds
    }

    /// Emits a rendered step's events and keeps its time and report.
    func handleRender(_ out: StreamRenderOutput) {
        for e in out.events { emit(e) }
        timings.sovits += out.seconds
        if let r = out.report {
            streamReports.append(r)
            spoken += 1
        }
    }
}

/// What one queued step of a token stream hands back to the task: events to emit in order, the
/// SoVITS seconds it took, and the sentence's report once its last chunk is done.
struct StreamRenderOutput: Sendable {
    var events: [SynthesisEvent]
    var seconds: Double
    var report: FragmentReport? = nil
}

/// One sentence's chunk renderer and the samples it has produced. Used by one thread at a time:
/// the task's for the first chunk, then the render queue's items in order (the queue orders them
/// after the task's submission).
final class SentenceRenderState: @unchecked Sendable {
    var renderer: StreamingChunkRenderer
    var samples = 0
    init(renderer: StreamingChunkRenderer) { self.renderer = renderer }
}

extension SoVITSStage {
    /// Renders one chunk of a sentence's tokens (see ``StreamingChunkRenderer``) and returns its
    /// samples (empty when nothing is due yet).
    func renderChunk(_ tokens: [Int]?, isFinal: Bool, sentence: SentenceRenderState, noise: NoiseSequence,
                     phones: [Int]) throws -> [Float] {
        let samples = try sentence.renderer.render(tokens, isFinal: isFinal) { history, resultTokens, overlap in
            try named {
                try sovits.decodeStreaming(codes: history, phones: phones, ge: ge, speed: options.speedFactor,
                                           noiseScale: options.noiseScale, noise: try noise.next(), resultTokens: resultTokens,
                                           overlap: overlap)
            }
        }
        sentence.samples += samples.count
        return samples
    }
}
