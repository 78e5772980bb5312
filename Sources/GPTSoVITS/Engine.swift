// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: set_ref_audio / _set_prompt_semantic / _get_ref_spec and
// get_phones_and_bert (TTS.run itself, to_batch and audio_postprocess are SynthesisTask).
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

    /// The reference clip at `path`, loaded (WAV natively, other formats through ffmpeg).
    /// - Throws: ``SynthesisError/invalidReference(path:reason:)`` naming the file.
    public func loadReference(_ path: String) throws -> AudioBuffer {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SynthesisError.invalidReference(path: path, reason: "file not found")
        }
        do { return try AudioLoader.load(path: path) } catch {
            throw SynthesisError.invalidReference(path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// A reference clip as CN-HuBERT takes it (16 kHz with the official padding).
    /// - Throws: ``SynthesisError/invalidReference(path:reason:)`` naming `path` (e.g. a clip
    ///   outside 3–10 s).
    public func hubertInput(_ clip: AudioBuffer, path: String) throws -> [Float] {
        do { return try ReferenceAudio.hubertInput(clip, modelSampleRate: bundle.sampleRate) } catch {
            throw SynthesisError.invalidReference(path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    private func computeVoice(_ voice: VoiceReference) throws -> PreparedVoice {
        let rate = bundle.sampleRate
        let main = try loadReference(voice.audioPath)
        let hubertInput = try hubertInput(main, path: voice.audioPath)
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
                clips.append(try loadReference(aux))
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
                    try SynthesisTask(engine: self, text: text, voice: voice, options: options, noise: noise) {
                        continuation.yield($0)
                    }.run()
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
}

/// The SoVITS prior noise of successive decode calls of one request. Used by one thread at a
/// time: the task's, then (token streaming) the render queue's items in order, which the queue
/// orders after the task's submissions.
final class NoiseSequence: @unchecked Sendable {
    let source: NoiseSource
    let seed: UInt64
    private(set) var call = 0

    init(source: NoiseSource, seed: UInt64) {
        self.source = source
        self.seed = seed
    }

    /// The noise of the next decode call.
    func next() throws -> SoVITSNoise {
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
