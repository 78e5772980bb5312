// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.run (non-streaming and fragment modes),
// set_ref_audio / _set_prompt_semantic / _get_ref_spec, to_batch, audio_postprocess.
import Foundation
import GSVAudio
import GSVModels
import GSVTensor
import GSVText
import Logging

/// A reference voice: the clip, its transcript and language, and optional auxiliary clips whose
/// timbre is averaged in.
public struct VoiceReference: Sendable, Hashable, Codable {
    /// The reference clip (3–10 s; WAV natively, other formats through ffmpeg).
    public var audioPath: String
    /// Its transcript; empty for reference-free decoding.
    public var promptText: String
    /// Language of the transcript (api_v2 `prompt_lang`).
    public var promptLanguage: TextLanguage
    /// Extra clips whose timbre embeddings are averaged with the main one.
    public var auxiliaryAudioPaths: [String]

    /// Creates a reference.
    public init(audioPath: String, promptText: String, promptLanguage: TextLanguage, auxiliaryAudioPaths: [String] = []) {
        self.audioPath = audioPath
        self.promptText = promptText
        self.promptLanguage = promptLanguage
        self.auxiliaryAudioPaths = auxiliaryAudioPaths
    }
}

/// Everything computed once per voice: prompt tokens, timbre, prompt phones and BERT.
public struct PreparedVoice: Sendable {
    /// The reference it was made from.
    public let reference: VoiceReference
    /// Prompt semantic tokens (25 Hz).
    public let promptTokens: [Int]
    /// Timbre embedding `ge` (mean over main and auxiliary references).
    public let ge: Tensor
    /// Prompt phone ids (empty for reference-free decoding).
    public let promptPhoneIDs: [Int]
    /// Prompt BERT features `[1024, promptPhoneIDs.count]`.
    public let promptBert: Tensor
    /// Normalised prompt text.
    public let promptNormText: String
}

/// One GPT sequence of a synthesis, for `--report` and debugging.
public struct FragmentReport: Sendable, Codable, Equatable {
    /// Normalised text.
    public var normText: String
    /// Phone strings.
    public var phones: [String]
    /// Phone ids fed to the GPT (target only, without the prompt).
    public var phoneIDs: [Int]
    /// Generated semantic tokens.
    public var semanticTokens: [Int]
    /// Duration of this fragment's audio (without the trailing pause).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case normText = "norm_text", phones, phoneIDs = "phone_ids", semanticTokens = "semantic_tokens", seconds
    }
}

/// Wall-clock seconds per stage of one synthesis. With ``TTSEngine/overlapsSoVITS`` the GPT and
/// SoVITS stages run at the same time (each on its share of the cores), so `gpt + sovits` may
/// exceed `total`.
public struct SynthesisTimings: Sendable, Codable, Equatable {
    /// Reference features of the voice (zero when the voice was cached).
    public var reference: Double = 0
    /// Text splitting, phones and BERT features.
    public var frontend: Double = 0
    /// GPT prompt passes and decoding.
    public var gpt: Double = 0
    /// SoVITS decoding.
    public var sovits: Double = 0
    /// The whole request.
    public var total: Double = 0
    /// Semantic tokens generated.
    public var gptTokens: Int = 0

    /// All zero.
    public init() {}
}

/// What a synthesis stream yields.
public enum SynthesisEvent: Sendable {
    /// A piece of output audio (mono, at `sampleRate`), in order.
    case audio(samples: [Float], sampleRate: Int)
    /// Progress: sentences done / total.
    case progress(done: Int, total: Int)
    /// The end: per-fragment reports in output order and stage timings.
    case finished(fragments: [FragmentReport], timings: SynthesisTimings)
}

/// The whole result of a synthesis.
public struct SynthesisResult: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public var fragments: [FragmentReport]
    public var timings: SynthesisTimings
}

/// Where SoVITS's prior noise comes from, per decode call.
public enum NoiseSource: Sendable {
    /// Seeded from the request seed and the call index.
    case seeded
    /// Given tensors, one per decode call in call order (reproduces recorded official runs).
    case injected([Tensor])
}

/// The GPT-SoVITS pipeline over one model bundle. Safe for concurrent requests: the bundle is
/// immutable and every request owns its RNG, caches and buffers; prepared voices are cached.
public final class TTSEngine: @unchecked Sendable {
    /// The loaded networks.
    public let bundle: ModelBundle
    private let logger = Logger(label: "gpt-sovits.engine")
    private let lock = NSLock()
    private var voiceCache: [VoiceReference: PreparedVoice] = [:]
    private var voiceOrder: [VoiceReference] = []
    /// Prepared voices kept (least recently prepared dropped first).
    public let voiceCacheLimit: Int

    /// Whether, outside streaming, each batch's SoVITS decode runs on a background thread while the
    /// next batches' GPT decodes (the output is identical either way). The two stages run as
    /// ``Parallel/lane(_:)``s and split the cores: the GPT at batch 1 is bound by memory bandwidth
    /// and loses less on one core than the compute-bound SoVITS gains from having the other.
    /// On by default with two or more threads; `GSV_OVERLAP_SOVITS=0` turns it off for engines made
    /// with the default, `GSV_OVERLAP_SOVITS=1` on.
    public let overlapsSoVITS: Bool

    /// The default of ``overlapsSoVITS``: `GSV_OVERLAP_SOVITS` (`0` or `1`) in the environment,
    /// else on where the tensor kernels use two or more threads.
    public static let overlapsSoVITSByDefault: Bool = Tuning.overlapSoVITS ?? (Parallel.threadCount >= 2)

    /// An engine over `bundle`.
    public init(bundle: ModelBundle, voiceCacheLimit: Int = 32, overlapsSoVITS: Bool = TTSEngine.overlapsSoVITSByDefault) {
        self.bundle = bundle
        self.voiceCacheLimit = max(1, voiceCacheLimit)
        self.overlapsSoVITS = overlapsSoVITS
    }

    // MARK: - Voice

    /// Computes (or returns the cached) reference-side features of `voice`.
    public func prepare(_ voice: VoiceReference) throws -> PreparedVoice {
        lock.lock()
        if let v = voiceCache[voice] { lock.unlock(); return v }
        lock.unlock()
        let v = try computeVoice(voice)
        remember(v)
        return v
    }

    /// Caches `v` as the prepared form of its reference unless one is cached already (tests feed
    /// recorded reference features through it).
    func remember(_ v: PreparedVoice) {
        lock.lock()
        if voiceCache[v.reference] == nil {
            voiceCache[v.reference] = v
            voiceOrder.append(v.reference)
            while voiceOrder.count > voiceCacheLimit { voiceCache[voiceOrder.removeFirst()] = nil }
        }
        lock.unlock()
    }

    private func loadAudio(_ path: String) throws -> AudioBuffer {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SynthesisError.invalidReference(path: path, reason: "file not found")
        }
        do { return try AudioLoader.load(path: path) } catch {
            throw SynthesisError.invalidReference(path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    private func computeVoice(_ voice: VoiceReference) throws -> PreparedVoice {
        let rate = bundle.sampleRate
        let main = try loadAudio(voice.audioPath)
        let hubertInput: [Float]
        do { hubertInput = try ReferenceAudio.hubertInput(main, modelSampleRate: rate) } catch {
            throw SynthesisError.invalidReference(path: voice.audioPath, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let tokens: [Int]
        let ge: Tensor
        do {
            let ssl = try bundle.hubert.sslContent(audio16k: hubertInput)
            tokens = try bundle.sovits.promptTokens(ssl: ssl)
            var clips = [main]
            for aux in voice.auxiliaryAudioPaths {
                // Official: missing auxiliary references are skipped with a message.
                guard FileManager.default.fileExists(atPath: aux) else {
                    logger.warning("auxiliary reference \(aux) not found; skipped")
                    continue
                }
                clips.append(try loadAudio(aux))
            }
            ge = try bundle.referenceTimbre(clips)
        } catch let e as SynthesisError {
            throw e
        } catch {
            throw SynthesisError.stageFailed(stage: "reference features", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        var promptIDs: [Int] = []
        var promptBert = Tensor.zeros([bundle.bert.featureSize, 0])
        var promptNorm = ""
        var text = voice.promptText.trimmingCharacters(in: CharacterSet(charactersIn: "\n"))
        if !text.isEmpty {
            let lang = try Self.language(voice.promptLanguage, version: bundle.version)
            if let last = text.unicodeScalars.last, !TextSplitter.splits.contains(last) {
                text += lang == .en ? "." : "。"
            }
            let (seq, bert) = try phonesAndBert(text, language: lang)
            promptIDs = seq.phoneIDs
            promptBert = bert
            promptNorm = seq.normText
        }
        return PreparedVoice(reference: voice, promptTokens: tokens, ge: ge, promptPhoneIDs: promptIDs,
                             promptBert: promptBert, promptNormText: promptNorm)
    }

    static func language(_ lang: TextLanguage, version: ModelVersion) throws -> TextLanguage {
        guard lang.isSupported(by: version) else {
            throw SynthesisError.invalidRequest("language '\(lang.rawValue)' is not supported by model version \(version.rawValue)")
        }
        return lang
    }

    /// `get_phones_and_bert`: phones of `text` and their BERT features.
    func phonesAndBert(_ text: String, language: TextLanguage) throws -> (PhoneSequence, Tensor) {
        let seq = try phones(text, language: language)
        return (seq, try bertFeatures(seq))
    }

    /// The frontend half of `get_phones_and_bert`: normalised text and phones.
    func phones(_ text: String, language: TextLanguage) throws -> PhoneSequence {
        do { return try bundle.frontend.phones(for: text, language: language) } catch {
            throw SynthesisError.invalidRequest((error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// The BERT half of `get_phones_and_bert`: features `[1024, phones]` of a frontend result.
    func bertFeatures(_ seq: PhoneSequence) throws -> Tensor {
        try bertFeatures([seq])[0]
    }

    /// ``bertFeatures(_:)`` of several sentences, through the encoder together (its weights are
    /// read once per batch rather than once per sentence).
    func bertFeatures(_ seqs: [PhoneSequence]) throws -> [Tensor] {
        do {
            return try bundle.bert.features(batch: seqs.map(\.bertSegments))
        } catch {
            throw SynthesisError.stageFailed(stage: "BERT", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    // MARK: - Synthesis

    /// Synthesises `text` with `voice`, streaming events: audio chunks (one per sentence group in
    /// fragment mode, else one at the end), progress, and a final report.
    /// Cancelling the consuming task (or dropping the stream) stops the work at the next GPT step;
    /// until then it goes on in the background. A program that abandons streams should await
    /// ``waitUntilIdle()`` before it exits.
    public func synthesize(_ text: String, voice: VoiceReference, options: SynthesisOptions,
                           noise: NoiseSource = .seeded) -> AsyncThrowingStream<SynthesisEvent, Error> {
        AsyncThrowingStream { continuation in
            // The pipeline is long synchronous work: it runs on threads of its own, not on the
            // shared cooperative pool (which it would otherwise block for seconds at a time).
            let task = BlockingWorkExecutor.shared.start { [self] in
                do {
                    try self.run(text, voice: voice, options: options, noise: noise) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Returns once no synthesis of any engine is running in the background, including cancelled
    /// work that is still unwinding (it stops at its next GPT step). Await it before exiting a
    /// program that abandoned streams: exiting while a synthesis thread is inside a BLAS call
    /// crashes the process.
    public static func waitUntilIdle() async {
        await BlockingWorkExecutor.shared.waitUntilIdle()
    }

    /// Synthesises `text` and returns the whole audio.
    public func synthesizeAll(_ text: String, voice: VoiceReference, options: SynthesisOptions,
                              noise: NoiseSource = .seeded) async throws -> SynthesisResult {
        var samples: [Float] = []
        var rate = bundle.sampleRate
        var fragments: [FragmentReport] = []
        var timings = SynthesisTimings()
        for try await e in synthesize(text, voice: voice, options: options, noise: noise) {
            switch e {
            case let .audio(s, r): samples += s; rate = r
            case .progress: break
            case let .finished(f, t): fragments = f; timings = t
            }
        }
        return SynthesisResult(samples: samples, sampleRate: rate, fragments: fragments, timings: timings)
    }

    /// One sentence after the frontend.
    struct Sentence {
        var seq: PhoneSequence
        /// BERT features; nil until needed (fragment mode computes them per batch, as the official
        /// `return_fragment` path does, so the first chunk does not wait for the whole text).
        var bert: Tensor?
    }

    /// The synchronous pipeline behind ``synthesize(_:voice:options:noise:)``.
    /// - Parameter adjustDecode: a hook that may change the GPT decode options derived from
    ///   `options` before any decode (the benchmark suppresses EOS for fixed token counts).
    func run(_ text: String, voice: VoiceReference, options: SynthesisOptions, noise: NoiseSource,
             adjustDecode: ((inout T2SDecodeOptions) -> Void)? = nil,
             emit: (SynthesisEvent) -> Void) throws {
        let start = Date()
        var timings = SynthesisTimings()
        if let problem = options.validationErrors().first { throw SynthesisError.invalidRequest(problem) }
        let lang = try Self.language(options.textLanguage, version: bundle.version)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SynthesisError.invalidRequest("text is required") }

        var t0 = Date()
        let prepared = try prepare(voice)
        timings.reference = Date().timeIntervalSince(t0)
        try Task.checkCancellation()

        // Text: split into sentences, phones + BERT per sentence.
        t0 = Date()
        let mode = options.resolvedMode
        let pieces: [String]
        do {
            pieces = mode.fragments || mode.tokenStreaming
                ? try TextSplitter.preSegment(text, language: lang, method: options.textSplitMethod)
                : try TextSplitter.segment(text, language: lang, method: options.textSplitMethod)
        } catch {
            throw SynthesisError.invalidRequest((error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let seed: UInt64 = options.seed < 0 ? UInt64.random(in: 0...UInt64(UInt32.max)) : UInt64(options.seed)
        if mode.tokenStreaming {
            try streamTokens(pieces: pieces, language: lang, prepared: prepared, options: options, seed: seed,
                             noise: NoiseSequence(source: noise, seed: seed), timings: &timings, start: start, emit: emit)
            return
        }
        var sentences: [Sentence] = []
        for p in pieces {
            let seq = try phones(p, language: lang)
            if seq.phoneIDs.isEmpty || seq.normText.isEmpty { continue }
            sentences.append(Sentence(seq: seq, bert: nil))
        }
        guard !sentences.isEmpty else { throw SynthesisError.nothingToSay(text) }
        if !mode.fragments {
            for (i, bert) in try bertFeatures(sentences.map(\.seq)).enumerated() { sentences[i].bert = bert }
        }
        timings.frontend = Date().timeIntervalSince(t0)

        // Batches (bucketed in normal mode; consecutive groups in fragment mode).
        let lengths = sentences.map { $0.seq.normText.unicodeScalars.count }
        let batches = SentenceBatcher.batches(lengths: lengths, batchSize: options.batchSize,
                                              threshold: options.batchThreshold, splitBucket: mode.splitBucket)
        var rng = SeededRNG(seed: seed)
        let sampling = SamplingParameters(topK: options.topK, topP: options.topP, temperature: options.temperature,
                                          repetitionPenalty: options.repetitionPenalty)
        var decodeOptions = T2SDecodeOptions(sampling: sampling, earlyStopNum: bundle.t2s.config.officialEarlyStopNum,
                                             maxNewTokens: options.maxTokensPerSentence,
                                             variant: mode.batchedGPT ? .batched : .naive)
        adjustDecode?(&decodeOptions)
        let rate = bundle.sampleRate
        let silence = AudioAssembly.silenceSamples(seconds: options.fragmentInterval, sampleRate: rate)
        var audioBySentence = [[Float]?](repeating: nil, count: sentences.count)
        var reports = [FragmentReport?](repeating: nil, count: sentences.count)
        var noiseSequence = NoiseSequence(source: noise, seed: seed)
        var done = 0
        var emittedUpTo = 0

        // Background SoVITS decodes of earlier batches (with `overlapsSoVITS`), always joined; on an
        // error the ones not started are skipped.
        let decodes = OrderedBackgroundQueue<SoVITSBatchJob, SoVITSBatchOutput>(label: "gpt-sovits.sovits-decode")
        defer { decodes.abandon() }
        func finish(_ job: SoVITSBatchJob, audio: SoVITSBatchOutput) throws {
            timings.sovits += audio.seconds
            for (k, i) in job.batch.enumerated() {
                audioBySentence[i] = audio.perItem[k]
                let s = sentences[i]
                reports[i] = FragmentReport(normText: s.seq.normText, phones: s.seq.phones, phoneIDs: s.seq.phoneIDs,
                                            semanticTokens: job.tokens[k],
                                            seconds: Double(audio.perItem[k].count) / Double(rate))
            }
            done += job.batch.count
            emit(.progress(done: done, total: sentences.count))
            if mode.fragments {
                // Fragment mode: batches are consecutive, so everything up to here is final.
                var chunk: [Float] = []
                while emittedUpTo < sentences.count, let a = audioBySentence[emittedUpTo] {
                    chunk += AudioAssembly.finishFragment(a, silence: silence)
                    emittedUpTo += 1
                }
                if !chunk.isEmpty { emit(.audio(samples: chunk, sampleRate: rate)) }
            }
        }

        for (batchNumber, batch) in batches.enumerated() {
            try Task.checkCancellation()
            t0 = Date()
            let missing = batch.filter { sentences[$0].bert == nil }
            let missingBert = try Parallel.lane { try bertFeatures(missing.map { sentences[$0].seq }) }
            for (i, bert) in zip(missing, missingBert) { sentences[i].bert = bert }
            timings.frontend += Date().timeIntervalSince(t0)
            t0 = Date()
            let inputs = try batch.map { i -> T2SInput in
                let bert = try sentences[i].bert ?? bertFeatures(sentences[i].seq)
                do {
                    return try T2SInput(promptPhoneIDs: prepared.promptPhoneIDs, promptBert: prepared.promptBert,
                                        targetPhoneIDs: sentences[i].seq.phoneIDs, targetBert: bert,
                                        promptTokens: prepared.promptTokens)
                } catch {
                    throw SynthesisError.stageFailed(stage: "GPT input", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
                }
            }
            // Between GPT steps, audio decoded in the background meanwhile is handed on (fragment mode
            // emits it there, so a chunk never waits for the next batch's whole GPT).
            func decodeGPT(_ items: [T2SInput]) throws -> [T2SResult] {
                try gpt {
                    try Parallel.lane {
                        let session = try bundle.t2s.startDecoding(items, options: decodeOptions)
                        while try session.step(rng: &rng) { try decodes.collect(waiting: false, finish) }
                        return try session.finish()
                    }
                }
            }
            let results = mode.batchedGPT ? try decodeGPT(inputs) : try inputs.flatMap { try decodeGPT([$0]) }
            timings.gpt += Date().timeIntervalSince(t0)
            timings.gptTokens += results.reduce(0) { $0 + $1.tokens.count }
            try Task.checkCancellation()

            // SoVITS: one decode over the whole batch at speed 1 (official parallel decode), else per
            // item. The noise of each decode call is fixed here, in call order, so running the
            // decode concurrently with the next batch's GPT cannot change the result.
            func nextNoise() throws -> SoVITSNoise { try noiseSequence.next() }
            let job = SoVITSBatchJob(batch: batch, tokens: results.map(\.tokens),
                                     phones: batch.map { sentences[$0].seq.phoneIDs },
                                     noises: try (0..<(options.speedFactor == 1 ? 1 : batch.count)).map { _ in try nextNoise() })
            // With `overlapsSoVITS` the decodes queue up on a background thread and overlap the next
            // batches' GPT, each stage a lane with its share of the cores (the GPT never waits for
            // SoVITS; once the last batch's GPT is done the remaining decodes get the whole machine).
            // Fragment mode decodes its first batch at once, on every core, for the first chunk.
            if !overlapsSoVITS || (mode.fragments && batchNumber == 0) {
                try finish(job, audio: decodeBatch(job, ge: prepared.ge, options: options))
            } else {
                decodes.submit(job) { [self] in try Parallel.lane { try decodeBatch(job, ge: prepared.ge, options: options) } }
                try decodes.collect(waiting: false, finish)
            }
        }
        try decodes.collect(waiting: true, finish)
        if !mode.fragments {
            var all: [Float] = []
            for a in audioBySentence { all += AudioAssembly.finishFragment(a ?? [], silence: silence) }
            emit(.audio(samples: all, sampleRate: rate))
        }
        timings.total = Date().timeIntervalSince(start)
        emit(.finished(fragments: reports.compactMap { $0 }, timings: timings))
    }

    /// A decoded batch: audio per item, and the seconds the decode took.
    typealias SoVITSBatchOutput = (perItem: [[Float]], seconds: Double)

    /// The SoVITS decode of one GPT batch: everything it needs, fixed before it starts.
    struct SoVITSBatchJob: Sendable {
        /// Sentence indices of the batch.
        var batch: [Int]
        /// Semantic tokens per item.
        var tokens: [[Int]]
        /// Phone ids per item.
        var phones: [[Int]]
        /// One noise for the merged decode (speed 1), else one per item.
        var noises: [SoVITSNoise]
    }

    /// Audio per item of `job` and the seconds the decode took.
    private func decodeBatch(_ job: SoVITSBatchJob, ge: Tensor, options: SynthesisOptions) throws -> SoVITSBatchOutput {
        let t0 = Date()
        var perItem: [[Float]] = []
        if options.speedFactor == 1 {
            let hop = bundle.sovits.config.hopLength
            let audio = try sovitsDecode(codes: job.tokens.flatMap { $0 }, phones: job.phones.flatMap { $0 }, ge: ge, speed: 1,
                                         noiseScale: options.noiseScale, noise: job.noises[0])
            var startSample = 0
            for t in job.tokens {
                let end = min(audio.count, startSample + t.count * 2 * hop)
                perItem.append(Array(audio[startSample..<end]))
                startSample = end
            }
        } else {
            for k in job.batch.indices {
                perItem.append(try sovitsDecode(codes: job.tokens[k], phones: job.phones[k], ge: ge, speed: options.speedFactor,
                                                noiseScale: options.noiseScale, noise: job.noises[k]))
            }
        }
        return (perItem, Date().timeIntervalSince(t0))
    }

    func gpt<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CancellationError { throw e } catch let e as SynthesisError { throw e } catch {
            throw SynthesisError.stageFailed(stage: "GPT", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    func sovitsDecode(codes: [Int], phones: [Int], ge: Tensor, speed: Double, noiseScale: Float,
                              noise: SoVITSNoise) throws -> [Float] {
        do {
            return try bundle.sovits.decode(codes: codes, phones: phones, ge: ge, speed: speed, noiseScale: noiseScale, noise: noise).scalars
        } catch {
            throw SynthesisError.stageFailed(stage: "SoVITS", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }
}

/// The SoVITS prior noise of successive decode calls of one request.
struct NoiseSequence {
    let source: NoiseSource
    let seed: UInt64
    private(set) var call = 0

    init(source: NoiseSource, seed: UInt64) {
        self.source = source
        self.seed = seed
    }

    /// The noise of the next decode call.
    mutating func next() throws -> SoVITSNoise {
        defer { call += 1 }
        switch source {
        case .seeded: return .seeded(seed &+ UInt64(call) &* 0x9E37_79B9)
        case let .injected(list):
            guard call < list.count else {
                throw SynthesisError.invalidRequest("injected noise has \(list.count) tensors; decode call \(call) needs one more")
            }
            return .injected(list[call])
        }
    }
}

extension PhoneSequence {
    /// The segments as the BERT stage takes them (`get_phones_and_bert`'s per-language parts).
    var bertSegments: [BertTextSegment] {
        segments.map {
            BertTextSegment(language: $0.lang, normText: $0.normText, word2ph: $0.word2ph, phoneCount: $0.phoneIDs.count)
        }
    }
}
