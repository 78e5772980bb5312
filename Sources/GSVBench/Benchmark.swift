// Times the stages of GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.run (reference features, text frontend,
// BERT, GPT prefill/decode, SoVITS decode) and the whole pipeline, through the stage methods of one
// GPTSoVITS.SynthesisTask. The benchmark itself has no official counterpart.
import Foundation
import GPTSoVITS
import GSVAudio
import GSVModels
import GSVTensor
import GSVText

/// Errors of ``PipelineBenchmark``.
public enum BenchmarkError: Error, LocalizedError, Sendable, Equatable {
    /// The settings are unusable; every problem is listed.
    case invalidSettings([String])
    /// A stage failed; names the stage.
    case stageFailed(stage: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidSettings(problems): return "invalid benchmark settings: " + problems.joined(separator: "; ")
        case let .stageFailed(stage, reason): return "benchmark stage \(stage) failed: \(reason)"
        }
    }
}

/// What ``PipelineBenchmark`` measures and how often.
public struct BenchmarkSettings: Sendable, Equatable {
    /// The fixed benchmark text: 100 Chinese characters (punctuation included), 12 clauses.
    public static let defaultText = "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。孩子们在草地上放风筝，老人们坐在长椅上聊天。远处的湖面波光粼粼，几只小船慢慢划过。我们沿着小路一直走，感受温暖阳光和清新的空气，心情格外舒畅。"
    /// The transcript of `examples/reference_zh.wav`.
    public static let defaultReferenceText = "今天天气很好，我们去散步吧。"
    /// `examples/reference_zh.wav`, relative to the working directory.
    public static let defaultReferencePath = "examples/reference_zh.wav"

    /// Target text.
    public var text: String = defaultText
    /// The reference voice.
    public var reference: VoiceReference
    /// The request options of every synthesis the benchmark makes (text language, split method,
    /// seed of GPT sampling and SoVITS noise, sampling…): api_v2 defaults with seed 1. Each
    /// measurement sets `batch_size` and `streaming_mode` itself; the GPT stages and the end-to-end
    /// runs decode exactly ``tokens`` tokens per fragment.
    public var options: SynthesisOptions = BenchmarkSettings.defaultOptions
    /// Semantic tokens decoded per fragment with EOS disabled (25 tokens = 1 s of audio).
    public var tokens: Int = 100
    /// Sequences in the batched GPT measurement.
    public var gptBatch: Int = 4
    /// `batch_size` of the second end-to-end measurement (fragments decoded together, as `TTS.run`
    /// with that batch size); 0 = every fragment in one batch request.
    public var e2eBatchSize: Int = 0
    /// Measured repetitions of each stage; the median is reported.
    public var runs: Int = 3
    /// Unmeasured repetitions before the measured ones.
    public var warmupRuns: Int = 1

    /// The api_v2 defaults with seed 1 (runs are comparable).
    public static var defaultOptions: SynthesisOptions {
        var o = SynthesisOptions()
        o.seed = 1
        return o
    }

    /// Settings with the defaults and `reference`.
    public init(reference: VoiceReference) {
        self.reference = reference
    }

    /// Problems with the values, each naming the setting; empty when valid.
    public func validationErrors() -> [String] {
        var e: [String] = []
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { e.append("text must not be empty") }
        if tokens < 1 || tokens > 1499 { e.append("tokens must be in 1…1499 (got \(tokens))") }
        if gptBatch < 1 || gptBatch > 64 { e.append("GPT batch must be in 1…64 (got \(gptBatch))") }
        if e2eBatchSize < 0 || e2eBatchSize > 200 { e.append("end-to-end batch size must be in 0…200 (got \(e2eBatchSize))") }
        if runs < 1 || runs > 1000 { e.append("runs must be in 1…1000 (got \(runs))") }
        if warmupRuns < 0 || warmupRuns > 100 { e.append("warm-up runs must be in 0…100 (got \(warmupRuns))") }
        e += options.validationErrors()
        return e
    }
}

/// The numbers of one benchmark: medians over the measured runs unless noted.
public struct BenchmarkReport: Sendable, Codable, Equatable {
    /// Where the weights came from (`random-v2` for random weights).
    public var modelSource: String
    /// Characters of the target text.
    public var textCharacters: Int
    /// GPT fragments the text was split into.
    public var fragments: Int
    /// Semantic tokens per fragment (EOS disabled).
    public var tokensPerFragment: Int
    /// Measured runs per stage (after ``warmupRuns``).
    public var runs: Int
    /// Unmeasured warm-up runs per stage.
    public var warmupRuns: Int
    /// Model load time, measured once by the caller: reading the files for real models, building
    /// the networks in memory for `random-v2` (no files are read then).
    public var loadSeconds: Double
    /// Text frontend (normalisation, G2P, phone ids) throughput over the whole text.
    public var frontendCharsPerSecond: Double
    /// Chinese RoBERTa features for every fragment of the text.
    public var bertMs: Double
    /// CN-HuBERT `ssl_content` of the reference clip.
    public var hubertMs: Double
    /// Duration of the reference clip.
    public var referenceAudioSeconds: Double
    /// The speaker branch of v2Pro/v2ProPlus for the reference clip (16 kHz resampling, Kaldi fbank,
    /// ERes2NetV2 `forward3`): paid once per voice, then cached with it. 0 for other versions.
    public var speakerMs: Double = 0
    /// GPT prompt pass (`process_prompt`) of the first fragment, batch 1.
    public var gptPrefillMs: Double
    /// GPT step-loop throughput at batch 1 (tokens / step-loop seconds).
    public var gptTokensPerSecond: Double
    /// Sequences in the batched GPT measurement.
    public var gptBatch: Int
    /// GPT step-loop throughput at ``gptBatch`` (all sequences' tokens / step-loop seconds).
    public var gptTokensPerSecondBatch: Double
    /// SoVITS decode time divided by the audio it produced (first fragment's tokens).
    public var sovitsRTF: Double
    /// Audio of that SoVITS decode.
    public var sovitsAudioSeconds: Double
    /// End-to-end wall time: reference features (uncached), frontend, BERT, GPT and SoVITS for
    /// every fragment, with fragment pauses (api_v2 defaults, batch 1, EOS disabled).
    public var medianWallSeconds: Double
    /// Audio produced end to end.
    public var audioSeconds: Double
    /// End-to-end real-time factor (`medianWallSeconds / audioSeconds`; < 1 is faster than real time).
    public var rtf: Double
    /// `batch_size` of the batched end-to-end run (the request's fragments decoded together, split
    /// into buckets as `TTS.run` does with `split_bucket`).
    public var e2eBatchSize: Int = 0
    /// Wall time of that run (same text, tokens and options otherwise).
    public var medianWallBatchSeconds: Double = 0
    /// Its real-time factor (`medianWallBatchSeconds / audioSeconds`).
    public var rtfBatch: Double = 0
    /// Peak resident set size before the batched end-to-end run: every other stage, `batch_size` 1
    /// (the batched run adds one KV cache per fragment and one long SoVITS decode).
    public var peakRSSBeforeBatchMB: Double = 0
    /// The BLAS kernels in use (e.g. `OpenBLAS SkylakeX (chosen for AVX-512; …)`).
    public var blas: String = ""
    /// The level of every hand-written kernel family and the tuning variables set
    /// (``KernelInfo/description``).
    public var kernels: String = ""
    /// The CPU model, the vector features found, its best kernel level and the threads used
    /// (``KernelInfo/cpu``).
    public var cpu: String = ""
    /// Median process CPU time (user + system, every thread) of one measured run of each stage,
    /// by stage name (`GPT batch 1`, `SoVITS`, `end to end`, …): with one thread (`GSV_THREADS=1`)
    /// it is the stage's time on an otherwise idle core, whatever else the machine runs.
    public var cpuSeconds: [String: Double] = [:]
    /// Whether the end-to-end runs overlapped SoVITS with the next fragments' GPT
    /// (``TTSEngine/overlapsSoVITS``, `GSV_OVERLAP_SOVITS`).
    public var sovitsOverlap: Bool = false
    /// Time from the request to the first `.audio` event of ``TTSEngine/synthesize(_:voice:options:noise:)``
    /// in streaming_mode 1 with an uncached voice (cold: the reference features are computed in the
    /// request), each sentence capped at ``tokensPerFragment`` tokens.
    public var firstChunkMs: Double
    /// The same with the voice already prepared by an earlier request (warm voice cache).
    public var firstChunkWarmMs: Double
    /// Time to the first `.audio` event in streaming_mode 2 (token chunks), voice cached.
    public var firstChunkTokenStreamMs: Double
    /// Duration of that chunk. With random weights the silence-aligned rule rarely finds a cut
    /// (no token is mute-like), so this chunk is often the whole sentence.
    public var firstChunkTokenStreamAudioSeconds: Double
    /// Time to the first `.audio` event in streaming_mode 3 (fixed chunks of `min_chunk_length`
    /// tokens), voice cached.
    public var firstChunkFixedStreamMs: Double = 0
    /// Duration of that chunk.
    public var firstChunkFixedStreamAudioSeconds: Double = 0
    /// Duration of that first chunk.
    public var firstChunkAudioSeconds: Double
    /// Peak resident set size of the process at the end (VmHWM / ru_maxrss).
    public var peakRSSMB: Double
    /// 1-minute load average before and after the benchmark (nil where unavailable).
    public var loadAverageBefore: Double?
    public var loadAverageAfter: Double?
    /// Processors the process may use.
    public var cpuCores: Int

    enum CodingKeys: String, CodingKey {
        case modelSource = "model_source", textCharacters = "text_chars", fragments, tokensPerFragment = "tokens_per_fragment"
        case runs, warmupRuns = "warmup_runs", loadSeconds = "load_s", frontendCharsPerSecond = "frontend_chars_per_s"
        case bertMs = "bert_ms", hubertMs = "hubert_ms", referenceAudioSeconds = "reference_audio_s", speakerMs = "speaker_ms"
        case gptPrefillMs = "gpt_prefill_ms", gptTokensPerSecond = "gpt_tokens_per_s", gptBatch = "gpt_batch"
        case gptTokensPerSecondBatch = "gpt_tokens_per_s_batch", sovitsRTF = "sovits_rtf", sovitsAudioSeconds = "sovits_audio_s"
        case medianWallSeconds = "median_wall_s", audioSeconds = "audio_s", rtf
        case e2eBatchSize = "e2e_batch_size", medianWallBatchSeconds = "median_wall_batch_s", rtfBatch = "rtf_batch"
        case blas, kernels, cpu, cpuSeconds = "cpu_seconds", sovitsOverlap = "sovits_overlap", peakRSSBeforeBatchMB = "peak_rss_before_batch_mb"
        case firstChunkMs = "first_chunk_ms", firstChunkWarmMs = "first_chunk_warm_ms"
        case firstChunkTokenStreamMs = "first_chunk_stream2_ms", firstChunkTokenStreamAudioSeconds = "first_chunk_stream2_audio_s"
        case firstChunkFixedStreamMs = "first_chunk_stream3_ms", firstChunkFixedStreamAudioSeconds = "first_chunk_stream3_audio_s"
        case firstChunkAudioSeconds = "first_chunk_audio_s", peakRSSMB = "peak_rss_mb"
        case loadAverageBefore = "load_average_before", loadAverageAfter = "load_average_after", cpuCores = "cpu_cores"
    }
}

/// Small statistics helpers of the benchmark.
public enum BenchmarkStatistics {
    /// The median (mean of the middle two for an even count); nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// Seconds of a `Duration`.
    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// Runs every measurement of `gpt-sovits bench` over one model bundle.
public struct PipelineBenchmark: Sendable {
    /// The networks measured.
    public let bundle: ModelBundle
    /// What is measured.
    public let settings: BenchmarkSettings

    /// A benchmark of `bundle`.
    /// - Throws: ``BenchmarkError/invalidSettings(_:)`` listing every bad setting.
    public init(bundle: ModelBundle, settings: BenchmarkSettings) throws {
        let problems = settings.validationErrors()
        guard problems.isEmpty else { throw BenchmarkError.invalidSettings(problems) }
        self.bundle = bundle
        self.settings = settings
    }

    /// Process CPU seconds of each stage's measured runs (``BenchmarkReport/cpuSeconds``).
    private final class StageCPUTimes {
        var seconds: [String: [Double]] = [:]
    }

    /// Repeats `body` warm-up + measured times and returns the measured results; the process CPU
    /// time of each measured run goes to `cpu` under `stage`.
    private func repeated<T>(_ stage: String, cpu: StageCPUTimes, progress: (String) -> Void,
                             _ body: () throws -> T) throws -> [T] {
        var out: [T] = []
        let total = settings.warmupRuns + settings.runs
        for i in 0..<total {
            let warm = i < settings.warmupRuns
            progress(warm ? "\(stage): warm-up \(i + 1)/\(settings.warmupRuns)"
                          : "\(stage): run \(i - settings.warmupRuns + 1)/\(settings.runs)")
            let value: T
            let cpu0 = ProcessMetrics.cpuSeconds()
            do { value = try body() } catch let e as BenchmarkError { throw e } catch let e as CancellationError { throw e } catch {
                throw BenchmarkError.stageFailed(stage: stage, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
            if !warm {
                out.append(value)
                cpu.seconds[stage, default: []].append(ProcessMetrics.cpuSeconds() - cpu0)
            }
        }
        return out
    }

    private static func median(_ values: [Double], _ stage: String) throws -> Double {
        guard let m = BenchmarkStatistics.median(values) else {
            throw BenchmarkError.stageFailed(stage: stage, reason: "no measured runs")
        }
        return m
    }

    /// `base` (a task's GPT options) changed to decode exactly ``BenchmarkSettings/tokens`` tokens
    /// per sequence: EOS suppressed, stopped by the token cap.
    public func fixedTokenOptions(_ base: T2SDecodeOptions) -> T2SDecodeOptions {
        var o = base
        o.maxNewTokens = settings.tokens
        o.suppressEOS = true
        return o
    }

    /// The request options of one measurement: the settings' options with `batchSize` and
    /// `streaming`.
    private func requestOptions(batchSize: Int = 1, streaming: StreamingMode = .off) -> SynthesisOptions {
        var o = settings.options
        o.batchSize = batchSize
        o.streamingMode = streaming
        return o
    }

    /// A synthesis task of the settings' text on a fresh engine (so the voice is not cached).
    private func task(batchSize: Int = 1, emit: @escaping (SynthesisEvent) -> Void = { _ in }) throws -> SynthesisTask {
        try SynthesisTask(engine: TTSEngine(bundle: bundle), text: settings.text, voice: settings.reference,
                          options: requestOptions(batchSize: batchSize), noise: .seeded, emit: emit)
    }

    /// Runs every measurement, reporting progress lines through `progress`.
    /// - Parameter loadSeconds: the model load time measured by the caller (reported as is).
    public func run(loadSeconds: Double, progress: (String) -> Void) async throws -> BenchmarkReport {
        let loadBefore = ProcessMetrics.loadAverage()
        let clock = ContinuousClock()
        let cpuTimes = StageCPUTimes()
        // The stages of one synthesis task (batch_size 1, streaming off), timed one by one.
        let stages = try task()
        let pieces: [String]
        do { pieces = try stages.splitText() } catch {
            throw BenchmarkError.stageFailed(stage: "text split", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }

        // Frontend: every piece through normalisation, G2P and phone ids.
        var sentences: [SynthesisTask.Sentence] = []
        let frontendSeconds = try repeated("frontend", cpu: cpuTimes, progress: progress) { () -> Double in
            let t0 = clock.now
            let s = try pieces.compactMap { try stages.sentence($0) }
            let dt = BenchmarkStatistics.seconds(clock.now - t0)
            sentences = s
            return dt
        }
        guard !sentences.isEmpty else { throw SynthesisError.nothingToSay(settings.text) }
        let characters = settings.text.count
        let frontendMedian = try Self.median(frontendSeconds, "frontend")
        let frontendCPS = Double(characters) / max(frontendMedian, 1e-9)

        // BERT features of every fragment, batched as the task computes them (streaming off).
        let withoutBert = sentences
        let bertSeconds = try repeated("RoBERTa", cpu: cpuTimes, progress: progress) { () -> Double in
            var s = withoutBert
            let t0 = clock.now
            try stages.addBertFeatures(to: &s)
            let dt = BenchmarkStatistics.seconds(clock.now - t0)
            sentences = s
            return dt
        }

        // HuBERT over the reference clip (loaded and resampled as the engine does).
        let refAudio = try stages.engine.loadReference(settings.reference.audioPath)
        let hubertInput = try stages.engine.hubertInput(refAudio, path: settings.reference.audioPath)
        let hubertSeconds = try repeated("CN-HuBERT", cpu: cpuTimes, progress: progress) { () -> Double in
            let t0 = clock.now
            _ = try bundle.hubert.sslContent(audio16k: hubertInput)
            return BenchmarkStatistics.seconds(clock.now - t0)
        }
        // The speaker branch (v2Pro/v2ProPlus), from the model-rate samples the voice also uses.
        var speakerSeconds: [Double] = []
        if bundle.speaker != nil {
            let samples = try ReferenceAudio.modelRateSamples(refAudio, modelSampleRate: bundle.sampleRate)
            speakerSeconds = try repeated("speaker model", cpu: cpuTimes, progress: progress) { () -> Double in
                let t0 = clock.now
                _ = try bundle.speakerEmbedding(modelRateSamples: samples)
                return BenchmarkStatistics.seconds(clock.now - t0)
            }
        }

        // GPT at batch 1 and batch N, exactly `tokens` tokens per sequence.
        progress("preparing the reference voice")
        try stages.prepareReference()
        let inputs = try sentences.map { try stages.gptInput(for: $0) }
        var batchedOptions = stages.gptOptions
        batchedOptions.variant = .batched
        let options = fixedTokenOptions(batchedOptions)
        var firstTokens: [Int] = []
        let gpt1 = try repeated("GPT batch 1", cpu: cpuTimes, progress: progress) { () -> (prefill: Double, tps: Double) in
            let (r, timings) = try Self.decode([inputs[0]], bundle: bundle, options: options, seed: stages.seed)
            try Self.checkTokenCount(r, expected: settings.tokens)
            firstTokens = r[0].tokens
            return (BenchmarkStatistics.seconds(timings.prefill),
                    Double(settings.tokens) / max(BenchmarkStatistics.seconds(timings.decode), 1e-9))
        }
        let batchInputs = (0..<settings.gptBatch).map { inputs[$0 % inputs.count] }
        let gptN = try repeated("GPT batch \(settings.gptBatch)", cpu: cpuTimes, progress: progress) { () -> Double in
            let (r, timings) = try Self.decode(batchInputs, bundle: bundle, options: options, seed: stages.seed)
            try Self.checkTokenCount(r, expected: settings.tokens)
            return Double(settings.tokens * batchInputs.count) / max(BenchmarkStatistics.seconds(timings.decode), 1e-9)
        }

        // SoVITS over the first fragment's tokens.
        let rate = bundle.sampleRate
        var sovitsAudio = 0.0
        let sovitsRTFs = try repeated("SoVITS", cpu: cpuTimes, progress: progress) { () -> Double in
            let t0 = clock.now
            let audio = try stages.decodeSoVITS(tokens: firstTokens, for: sentences[0])
            let dt = BenchmarkStatistics.seconds(clock.now - t0)
            sovitsAudio = Double(audio.count) / Double(rate)
            guard sovitsAudio > 0 else { throw BenchmarkError.stageFailed(stage: "SoVITS", reason: "decode produced no audio") }
            return dt / sovitsAudio
        }

        // End to end, EOS disabled, uncached voice.
        var e2eAudio = 0.0
        let e2eSeconds = try repeated("end to end", cpu: cpuTimes, progress: progress) { () -> Double in
            let t0 = clock.now
            let samples = try endToEnd()
            let dt = BenchmarkStatistics.seconds(clock.now - t0)
            e2eAudio = Double(samples) / Double(rate)
            return dt
        }
        let wall = try Self.median(e2eSeconds, "end to end")
        guard e2eAudio > 0 else { throw BenchmarkError.stageFailed(stage: "end to end", reason: "no audio produced") }

        // End to end again with the fragments decoded in batches.
        let rssBeforeBatch = Double(ProcessMetrics.peakResidentBytes() ?? 0) / 1_048_576
        let batchSize = settings.e2eBatchSize > 0 ? settings.e2eBatchSize : sentences.count
        var batchAudio = 0.0
        let batchSeconds = try repeated("end to end (batch_size \(batchSize))", cpu: cpuTimes, progress: progress) { () -> Double in
            let t0 = clock.now
            let samples = try endToEnd(batchSize: batchSize)
            let dt = BenchmarkStatistics.seconds(clock.now - t0)
            batchAudio = Double(samples) / Double(rate)
            return dt
        }
        let wallBatch = try Self.median(batchSeconds, "end to end (batched)")

        // Time to the first chunk through the engine (streaming_mode 1).
        // Cold: a fresh engine per run, so the voice is prepared inside the request. Warm: one engine
        // whose voice cache already holds the reference.
        var firstChunk: [(seconds: Double, audio: Double)] = []
        var firstChunkWarm: [Double] = []
        var firstChunkTokens: [(seconds: Double, audio: Double)] = []
        var firstChunkFixed: [(seconds: Double, audio: Double)] = []
        let warmEngine = TTSEngine(bundle: bundle)
        _ = try warmEngine.prepare(settings.reference)
        let total = settings.warmupRuns + settings.runs
        for i in 0..<total {
            let warm = i < settings.warmupRuns
            progress(warm ? "first chunk: warm-up \(i + 1)/\(settings.warmupRuns)"
                          : "first chunk: run \(i - settings.warmupRuns + 1)/\(settings.runs)")
            let cold = try await firstChunkLatency(engine: TTSEngine(bundle: bundle))
            let cached = try await firstChunkLatency(engine: warmEngine)
            let tokenStream = try await firstChunkLatency(engine: warmEngine, mode: .tokenChunks)
            let fixedStream = try await firstChunkLatency(engine: warmEngine, mode: .fixedTokenChunks)
            if !warm {
                firstChunk.append(cold)
                firstChunkWarm.append(cached.seconds)
                firstChunkTokens.append(tokenStream)
                firstChunkFixed.append(fixedStream)
            }
        }

        let g1 = gpt1
        var report = BenchmarkReport(
            modelSource: bundle.source, textCharacters: characters, fragments: sentences.count,
            tokensPerFragment: settings.tokens, runs: settings.runs, warmupRuns: settings.warmupRuns,
            loadSeconds: loadSeconds, frontendCharsPerSecond: frontendCPS,
            bertMs: try Self.median(bertSeconds, "RoBERTa") * 1000,
            hubertMs: try Self.median(hubertSeconds, "CN-HuBERT") * 1000,
            referenceAudioSeconds: Double(refAudio.samples.count) / Double(refAudio.sampleRate),
            gptPrefillMs: try Self.median(g1.map { $0.prefill }, "GPT batch 1") * 1000,
            gptTokensPerSecond: try Self.median(g1.map { $0.tps }, "GPT batch 1"),
            gptBatch: settings.gptBatch,
            gptTokensPerSecondBatch: try Self.median(gptN, "GPT batch \(settings.gptBatch)"),
            sovitsRTF: try Self.median(sovitsRTFs, "SoVITS"), sovitsAudioSeconds: sovitsAudio,
            medianWallSeconds: wall, audioSeconds: e2eAudio, rtf: wall / e2eAudio,
            firstChunkMs: try Self.median(firstChunk.map { $0.seconds }, "first chunk") * 1000,
            firstChunkWarmMs: try Self.median(firstChunkWarm, "first chunk (warm voice)") * 1000,
            firstChunkTokenStreamMs: try Self.median(firstChunkTokens.map { $0.seconds }, "first chunk (streaming 2)") * 1000,
            firstChunkTokenStreamAudioSeconds: BenchmarkStatistics.median(firstChunkTokens.map { $0.audio }) ?? 0,
            firstChunkAudioSeconds: BenchmarkStatistics.median(firstChunk.map { $0.audio }) ?? 0,
            peakRSSMB: Double(ProcessMetrics.peakResidentBytes() ?? 0) / 1_048_576,
            loadAverageBefore: loadBefore, loadAverageAfter: ProcessMetrics.loadAverage(),
            cpuCores: CPUInfo.availableCores ?? ProcessInfo.processInfo.activeProcessorCount)
        report.firstChunkFixedStreamMs = try Self.median(firstChunkFixed.map { $0.seconds }, "first chunk (streaming 3)") * 1000
        report.e2eBatchSize = batchSize
        report.speakerMs = (BenchmarkStatistics.median(speakerSeconds) ?? 0) * 1000
        report.peakRSSBeforeBatchMB = rssBeforeBatch
        report.medianWallBatchSeconds = wallBatch
        report.rtfBatch = wallBatch / max(batchAudio, 1e-9)
        report.blas = BLAS.kernelDescription
        report.kernels = KernelInfo.description
        report.cpu = KernelInfo.cpu
        report.cpuSeconds = cpuTimes.seconds.compactMapValues { BenchmarkStatistics.median($0) }
        report.sovitsOverlap = TTSEngine.overlapsSoVITSByDefault
        report.firstChunkFixedStreamAudioSeconds = BenchmarkStatistics.median(firstChunkFixed.map { $0.audio }) ?? 0
        return report
    }

    /// Decodes `inputs` together to the end; the results and the session's timings.
    private static func decode(_ inputs: [T2SInput], bundle: ModelBundle, options: T2SDecodeOptions,
                               seed: UInt64) throws -> ([T2SResult], T2STimings) {
        var rng = SeededRNG(seed: seed)
        let session = try bundle.t2s.startDecoding(inputs, options: options)
        while try session.step(rng: &rng) {}
        return (try session.finish(), session.timings)
    }

    private static func checkTokenCount(_ results: [T2SResult], expected: Int) throws {
        for (i, r) in results.enumerated() where r.tokens.count != expected {
            throw BenchmarkError.stageFailed(stage: "GPT", reason: "item \(i) produced \(r.tokens.count) tokens, expected \(expected)")
        }
    }

    /// One synthesis task of the text with the settings' options and streaming off (batch 1 unless
    /// `batchSize` says otherwise, fragment pauses), except that every fragment decodes exactly
    /// `tokens` tokens (``fixedTokenOptions(_:)`` on the task's GPT options). A fresh engine, so the
    /// reference features are computed too.
    /// - Returns: the number of output samples.
    private func endToEnd(batchSize: Int = 1) throws -> Int {
        var samples = 0
        let task = try task(batchSize: batchSize) { event in
            if case let .audio(chunk, _) = event { samples += chunk.count }
        }
        task.gptOptions = fixedTokenOptions(task.gptOptions)
        try task.run()
        return samples
    }

    /// Seconds from the request to the first `.audio` event of the engine in streaming_mode 1, and
    /// that chunk's duration in seconds. The rest of the stream is cancelled.
    private func firstChunkLatency(engine: TTSEngine, mode: StreamingMode = .fragments) async throws -> (seconds: Double, audio: Double) {
        var options = requestOptions(streaming: mode)
        // The same per-fragment token budget as the other stages (random weights never predict EOS;
        // with real weights EOS may end a fragment earlier).
        options.maxTokensPerSentence = settings.tokens
        let clock = ContinuousClock()
        let t0 = clock.now
        var first: (seconds: Double, audio: Double)?
        for try await event in engine.synthesize(settings.text, voice: settings.reference, options: options) {
            if case let .audio(samples, rate) = event {
                first = (BenchmarkStatistics.seconds(clock.now - t0), Double(samples.count) / Double(max(rate, 1)))
                break
            }
        }
        // The abandoned rest of the stream stops at its next GPT step; let it, so it neither
        // overlaps the next measurement nor outlives the program.
        await TTSEngine.waitUntilIdle()
        guard let first else {
            throw BenchmarkError.stageFailed(stage: "first chunk", reason: "the stream ended without audio")
        }
        return first
    }
}
