// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.run (non-streaming and fragment modes; token
// streaming is in SynthesisTask+Streaming.swift), to_batch and audio_postprocess.
import Foundation
import GSVAudio
import GSVModels
import GSVTensor
import GSVText

/// One synthesis request: its state as properties, its stages as methods, run in pipeline order by
/// ``run()``:
///
/// 1. reference: ``prepareReference()`` (the voice's features, cached by the engine);
/// 2. frontend and BERT: ``splitText()``, ``sentence(_:)``, ``addBertFeatures(to:)``;
/// 3. GPT: ``gptInput(for:)``, ``decodeGPT(_:)`` (the session of ``gptOptions``);
/// 4. SoVITS: ``decodeSoVITS(_:)`` (``decodeSoVITS(tokens:for:)`` for one sentence), overlapping the next batches' GPT with
///    ``TTSEngine/overlapsSoVITS``;
/// 5. assembly: audio fragments joined with `fragment_interval` silence and emitted whole, per
///    sentence group (`streaming_mode` 1), or chunk by chunk while the GPT decodes
///    (`streaming_mode` 2/3).
///
/// A task serves one request on one thread (its SoVITS work may run on a background queue it
/// joins); make one per request with ``init(engine:text:voice:options:noise:emit:)``.
/// ``TTSEngine/synthesize(_:voice:options:noise:)`` runs one on the engine's executor.
public final class SynthesisTask {
    /// The engine (networks, voice cache, overlap setting).
    public let engine: TTSEngine
    /// The text to speak.
    public let text: String
    /// The reference voice.
    public let voice: VoiceReference
    /// The request options.
    public let options: SynthesisOptions
    /// The parsed language of the text.
    public let language: TextLanguage
    /// The driver `TTS.run` settles on for the options.
    public let mode: SynthesisOptions.ResolvedMode
    /// The sampling and noise seed (the request's, or drawn when it is -1).
    public let seed: UInt64
    /// The GPT decode options of every sequence: the request's sampling, the official early stop,
    /// `maxTokensPerSentence` and the driver's result window. Change them before ``run()`` to decode
    /// differently (the benchmark fixes the token count per sentence with
    /// ``T2SDecodeOptions/maxNewTokens`` and ``T2SDecodeOptions/suppressEOS``).
    public var gptOptions: T2SDecodeOptions
    /// Stage times so far.
    public internal(set) var timings = SynthesisTimings()

    var bundle: ModelBundle { engine.bundle }
    let emit: (SynthesisEvent) -> Void
    let started = Date()
    /// GPT sampling draws, in decode order.
    var rng: SeededRNG
    /// SoVITS prior noise, in decode-call order.
    let noise: NoiseSequence
    /// The voice's features, once ``prepareReference()`` ran.
    private(set) var prepared: PreparedVoice?
    /// Samples of `fragment_interval` silence.
    let silence: Int

    // Sentence modes (`streaming_mode` 0/1): the sentences, their audio and reports as SoVITS
    // finishes them, and the SoVITS decodes queued behind the GPT.
    private var sentences: [Sentence] = []
    private var audioBySentence: [[Float]?] = []
    private var reports: [FragmentReport?] = []
    private var sentencesDone = 0
    private var emittedUpTo = 0
    private let decodes = OrderedBackgroundQueue<SoVITSBatchJob, SoVITSBatchOutput>(label: "gpt-sovits.sovits-decode")

    // Token streaming (`streaming_mode` 2/3).
    var streamReports: [FragmentReport] = []
    var spoken = 0
    let renders = OrderedBackgroundQueue<Void, StreamRenderOutput>(label: "gpt-sovits.stream-render")
    var queueingRenders = false

    /// A task for one request. Nothing runs until ``run()`` (or a stage method) is called.
    /// - Parameter emit: receives the events in order, on the thread that runs the task.
    /// - Throws: ``SynthesisError/invalidRequest(_:)`` for bad options, an unsupported language or
    ///   an empty text.
    public init(engine: TTSEngine, text: String, voice: VoiceReference, options: SynthesisOptions,
                noise: NoiseSource = .seeded, emit: @escaping (SynthesisEvent) -> Void) throws {
        if let problem = options.validationErrors().first { throw SynthesisError.invalidRequest(problem) }
        language = try TTSEngine.language(options.textLanguage, version: engine.bundle.version)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SynthesisError.invalidRequest("text is required") }
        self.engine = engine
        self.text = text
        self.voice = voice
        self.options = options
        self.emit = emit
        mode = options.resolvedMode
        seed = options.seed < 0 ? UInt64.random(in: 0...UInt64(UInt32.max)) : UInt64(options.seed)
        rng = SeededRNG(seed: seed)
        self.noise = NoiseSequence(source: noise, seed: seed)
        silence = AudioAssembly.silenceSamples(seconds: options.fragmentInterval, sampleRate: engine.bundle.sampleRate)
        let sampling = SamplingParameters(topK: options.topK, topP: options.topP, temperature: options.temperature,
                                          repetitionPenalty: options.repetitionPenalty)
        gptOptions = T2SDecodeOptions(sampling: sampling, earlyStopNum: engine.bundle.t2s.config.officialEarlyStopNum,
                                      maxNewTokens: options.maxTokensPerSentence,
                                      variant: mode.tokenStreaming ? .streaming : mode.batchedGPT ? .batched : .naive)
    }

    /// Runs every stage and emits the audio, progress and the final report.
    /// - Throws: ``SynthesisError`` naming the stage; `CancellationError` when the task is cancelled
    ///   (checked every GPT step and between sentences).
    public func run() throws {
        try prepareReference()
        try Task.checkCancellation()
        let pieces = try splitText()
        if mode.tokenStreaming {
            try streamTokens(pieces)
        } else {
            try synthesizeSentences(pieces)
        }
    }

    // MARK: - Reference

    /// The voice's features (computed once per voice by the engine, then cached).
    @discardableResult
    public func prepareReference() throws -> PreparedVoice {
        if let prepared { return prepared }
        let t0 = Date()
        let v = try engine.prepare(voice)
        timings.reference += Date().timeIntervalSince(t0)
        prepared = v
        return v
    }

    // MARK: - Frontend and BERT

    /// One sentence after the frontend.
    public struct Sentence: Sendable {
        /// Normalised text, phones and their ids.
        public var phones: PhoneSequence
        /// BERT features `[1024, phones]`; nil until ``SynthesisTask/addBertFeatures(to:)`` (fragment
        /// mode computes them per batch, as the official `return_fragment` path does, so the first
        /// chunk does not wait for the whole text).
        public var bert: Tensor?
    }

    /// The text cut into GPT sentences: `TTS.run`'s segmentation, or its pre-segmentation (cut
    /// only, no merging of short pieces) when the sentences go out one group at a time.
    public func splitText() throws -> [String] {
        let t0 = Date()
        defer { timings.frontend += Date().timeIntervalSince(t0) }
        do {
            return mode.fragments || mode.tokenStreaming
                ? try TextSplitter.preSegment(text, language: language, method: options.textSplitMethod)
                : try TextSplitter.segment(text, language: language, method: options.textSplitMethod)
        } catch {
            throw SynthesisError.invalidRequest((error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// The frontend of one piece of text: normalised text and phones; nil when nothing in it is
    /// speakable.
    public func sentence(_ piece: String) throws -> Sentence? {
        let t0 = Date()
        defer { timings.frontend += Date().timeIntervalSince(t0) }
        let seq = try engine.phones(piece, language: language)
        if seq.phoneIDs.isEmpty || seq.normText.isEmpty { return nil }
        return Sentence(phones: seq, bert: nil)
    }

    /// Fills in the BERT features of the sentences that lack them, through the encoder together.
    public func addBertFeatures(to sentences: inout [Sentence]) throws {
        let t0 = Date()
        defer { timings.frontend += Date().timeIntervalSince(t0) }
        let missing = sentences.indices.filter { sentences[$0].bert == nil }
        guard !missing.isEmpty else { return }
        for (i, bert) in zip(missing, try engine.bertFeatures(missing.map { sentences[$0].phones })) { sentences[i].bert = bert }
    }

    // MARK: - GPT

    /// The GPT input of a sentence: the voice's prompt phones and BERT, then the sentence's
    /// (`TTS.run`'s `all_phones`, `all_bert`), and the voice's prompt tokens.
    public func gptInput(for sentence: Sentence) throws -> T2SInput {
        let voice = try prepareReference()
        let bert = try sentence.bert ?? engine.bertFeatures(sentence.phones)
        do {
            return try T2SInput(promptPhoneIDs: voice.promptPhoneIDs, promptBert: voice.promptBert,
                                targetPhoneIDs: sentence.phones.phoneIDs, targetBert: bert, promptTokens: voice.promptTokens)
        } catch {
            throw SynthesisError.stageFailed(stage: "GPT input", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// Decodes `inputs` together with ``gptOptions``. Between GPT steps, SoVITS audio finished in
    /// the background meanwhile is handed on (fragment mode emits it there, so a chunk never waits
    /// for the next batch's whole GPT).
    public func decodeGPT(_ inputs: [T2SInput]) throws -> [T2SResult] {
        try gptStage {
            try Parallel.lane {
                let session = try bundle.t2s.startDecoding(inputs, options: gptOptions)
                while try session.step(rng: &rng) { try collectDecodedAudio(waiting: false) }
                return try session.finish()
            }
        }
    }

    /// Runs `body`, naming the GPT as the failed stage for errors that do not name one.
    func gptStage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CancellationError { throw e } catch let e as SynthesisError { throw e } catch {
            throw SynthesisError.stageFailed(stage: "GPT", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    // MARK: - SoVITS

    /// The SoVITS decode of one GPT batch: everything it needs, fixed before it starts.
    public struct SoVITSBatchJob: Sendable {
        /// Sentence indices of the batch.
        public var batch: [Int]
        /// Semantic tokens per item.
        public var tokens: [[Int]]
        /// Phone ids per item.
        public var phones: [[Int]]
        /// One noise for the merged decode (speed 1), else one per item.
        public var noises: [SoVITSNoise]
    }

    /// A decoded batch: audio per item, and the seconds the decode took.
    public typealias SoVITSBatchOutput = (perItem: [[Float]], seconds: Double)

    /// The SoVITS job of a decoded GPT batch. The noise of each decode call is drawn here, in call
    /// order, so running the decode concurrently with the next batch's GPT cannot change the result.
    func soVITSJob(batch: [Int], results: [T2SResult]) throws -> SoVITSBatchJob {
        SoVITSBatchJob(batch: batch, tokens: results.map(\.tokens), phones: batch.map { sentences[$0].phones.phoneIDs },
                       noises: try (0..<(options.speedFactor == 1 ? 1 : batch.count)).map { _ in try noise.next() })
    }

    /// Decodes `job` now, on the calling thread.
    public func decodeSoVITS(_ job: SoVITSBatchJob) throws -> SoVITSBatchOutput {
        try soVITS().decode(job)
    }

    /// The audio of one sentence's semantic tokens at the request's speed and noise scale, with the
    /// request's next prior noise (one SoVITS decode call, as `TTS.run` makes per item when the
    /// speed is not 1).
    public func decodeSoVITS(tokens: [Int], for sentence: Sentence) throws -> [Float] {
        try soVITS().decode(codes: tokens, phones: sentence.phones.phoneIDs, speed: options.speedFactor, noise: try noise.next())
    }

    /// The SoVITS stage's immutable inputs, for work on a background queue.
    func soVITS() throws -> SoVITSStage {
        SoVITSStage(sovits: bundle.sovits, ge: try prepareReference().ge, options: options)
    }

    // MARK: - Sentence modes

    /// `streaming_mode` 0 and 1: sentences batched (bucketed in normal mode; consecutive groups in
    /// fragment mode), each batch through the GPT and then SoVITS; the audio is emitted whole at
    /// the end, or per sentence group.
    func synthesizeSentences(_ pieces: [String]) throws {
        sentences = try pieces.compactMap { try sentence($0) }
        guard !sentences.isEmpty else { throw SynthesisError.nothingToSay(text) }
        if !mode.fragments { try addBertFeatures(to: &sentences) }
        let lengths = sentences.map { $0.phones.normText.unicodeScalars.count }
        let batches = SentenceBatcher.batches(lengths: lengths, batchSize: options.batchSize,
                                              threshold: options.batchThreshold, splitBucket: mode.splitBucket)
        audioBySentence = [[Float]?](repeating: nil, count: sentences.count)
        reports = [FragmentReport?](repeating: nil, count: sentences.count)
        // Background SoVITS decodes of earlier batches are always joined; on an error the ones not
        // started are skipped.
        defer { decodes.abandon() }
        for (batchNumber, batch) in batches.enumerated() {
            try Task.checkCancellation()
            var items = batch.map { sentences[$0] }
            try Parallel.lane { try addBertFeatures(to: &items) }
            for (i, s) in zip(batch, items) { sentences[i] = s }
            let t0 = Date()
            let inputs = try items.map { try gptInput(for: $0) }
            let results = mode.batchedGPT ? try decodeGPT(inputs) : try inputs.flatMap { try decodeGPT([$0]) }
            timings.gpt += Date().timeIntervalSince(t0)
            timings.gptTokens += results.reduce(0) { $0 + $1.tokens.count }
            try Task.checkCancellation()

            // SoVITS: one decode over the whole batch at speed 1 (official parallel decode), else
            // per item. With `overlapsSoVITS` the decodes queue up on a background thread and
            // overlap the next batches' GPT, each stage a lane with its share of the cores (the GPT
            // never waits for SoVITS; once the last batch's GPT is done the remaining decodes get
            // the whole machine). Fragment mode decodes its first batch at once, on every core, for
            // the first chunk.
            let job = try soVITSJob(batch: batch, results: results)
            if !engine.overlapsSoVITS || (mode.fragments && batchNumber == 0) {
                try collect(job, try decodeSoVITS(job))
            } else {
                let stage = try soVITS()
                decodes.submit(job) { try Parallel.lane { try stage.decode(job) } }
                try collectDecodedAudio(waiting: false)
            }
        }
        try collectDecodedAudio(waiting: true)
        if !mode.fragments {
            var all: [Float] = []
            for a in audioBySentence { all += AudioAssembly.finishFragment(a ?? [], silence: silence) }
            emit(.audio(samples: all, sampleRate: bundle.sampleRate))
        }
        timings.total = Date().timeIntervalSince(started)
        emit(.finished(fragments: reports.compactMap { $0 }, timings: timings))
    }

    /// Hands the background decodes that finished (every one with `waiting`) to ``collect(_:_:)``.
    func collectDecodedAudio(waiting: Bool) throws {
        try decodes.collect(waiting: waiting) { job, output in try collect(job, output) }
    }

    /// Assembly of a decoded batch: its audio and reports are kept, progress is emitted, and in
    /// fragment mode every sentence now final is emitted (batches are consecutive there).
    private func collect(_ job: SoVITSBatchJob, _ audio: SoVITSBatchOutput) throws {
        let rate = bundle.sampleRate
        timings.sovits += audio.seconds
        for (k, i) in job.batch.enumerated() {
            audioBySentence[i] = audio.perItem[k]
            let s = sentences[i].phones
            reports[i] = FragmentReport(normText: s.normText, phones: s.phones, phoneIDs: s.phoneIDs, semanticTokens: job.tokens[k],
                                        seconds: Double(audio.perItem[k].count) / Double(rate))
        }
        sentencesDone += job.batch.count
        emit(.progress(done: sentencesDone, total: sentences.count))
        guard mode.fragments else { return }
        var chunk: [Float] = []
        while emittedUpTo < sentences.count, let a = audioBySentence[emittedUpTo] {
            chunk += AudioAssembly.finishFragment(a, silence: silence)
            emittedUpTo += 1
        }
        if !chunk.isEmpty { emit(.audio(samples: chunk, sampleRate: rate)) }
    }
}

/// The SoVITS stage's immutable inputs (the network, the voice's timbre, the request), so its
/// work can run on a background queue while the task's thread goes on with the GPT.
struct SoVITSStage: Sendable {
    let sovits: SynthesizerTrn
    let ge: Tensor
    let options: SynthesisOptions

    /// Audio per item of `job` and the seconds the decode took.
    func decode(_ job: SynthesisTask.SoVITSBatchJob) throws -> SynthesisTask.SoVITSBatchOutput {
        let t0 = Date()
        var perItem: [[Float]] = []
        if options.speedFactor == 1 {
            let hop = sovits.config.hopLength
            let audio = try decode(codes: job.tokens.flatMap { $0 }, phones: job.phones.flatMap { $0 }, speed: 1, noise: job.noises[0])
            var startSample = 0
            for t in job.tokens {
                let end = min(audio.count, startSample + t.count * 2 * hop)
                perItem.append(Array(audio[startSample..<end]))
                startSample = end
            }
        } else {
            for k in job.batch.indices {
                perItem.append(try decode(codes: job.tokens[k], phones: job.phones[k], speed: options.speedFactor, noise: job.noises[k]))
            }
        }
        return (perItem, Date().timeIntervalSince(t0))
    }

    func decode(codes: [Int], phones: [Int], speed: Double, noise: SoVITSNoise) throws -> [Float] {
        try named {
            try sovits.decode(codes: codes, phones: phones, ge: ge, speed: speed, noiseScale: options.noiseScale, noise: noise).scalars
        }
    }

    /// Runs `body`, naming SoVITS as the failed stage for errors that do not name one.
    func named<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SynthesisError { throw e } catch {
            throw SynthesisError.stageFailed(stage: "SoVITS", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }
}
