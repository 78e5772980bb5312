// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS_Config / TTS.__init__ (which models a pipeline loads).
import Foundation
import GSVAudio
import GSVModels
import GSVText
import GSVWeights
import Logging

/// Errors of the synthesis facade. Every case names the file, value or stage involved.
public enum SynthesisError: Error, LocalizedError, Sendable, Equatable {
    /// A model file or folder is missing.
    case missingModel(role: String, path: String)
    /// A model could not be loaded.
    case loadFailed(role: String, path: String, reason: String)
    /// The reference clip is unusable (missing, unreadable, wrong length).
    case invalidReference(path: String, reason: String)
    /// The request is invalid (options, language, empty text…).
    case invalidRequest(String)
    /// The text produced nothing to say.
    case nothingToSay(String)
    /// A feature this build does not provide yet.
    case unsupported(String)
    /// A model stage failed.
    case stageFailed(stage: String, reason: String)
    /// A v2Pro/v2ProPlus SoVITS model was given without the speaker-verification model it needs
    /// (`path`: where it was looked for, nil when nowhere was named).
    case missingSpeakerModel(sovits: String, version: ModelVersion, path: String?)

    public var errorDescription: String? {
        switch self {
        case let .missingModel(role, path): return "\(role) model not found at \(path)"
        case let .loadFailed(role, path, reason): return "cannot load the \(role) model \(path): \(reason)"
        case let .invalidReference(path, reason): return "reference audio \(path): \(reason)"
        case let .invalidRequest(m): return m
        case let .nothingToSay(t): return "nothing to synthesise in \"\(t.prefix(80))\" (no speakable text after normalisation)"
        case let .unsupported(m): return m
        case let .stageFailed(stage, reason): return "\(stage) failed: \(reason)"
        case let .missingSpeakerModel(sovits, version, path):
            let file = PretrainedCatalog.speakerModel.path
            return "the \(version.rawValue) SoVITS model \(sovits) needs the speaker-verification model \(file)"
                + (path.map { ", not found at \($0)" } ?? "")
                + " (get it with `gpt-sovits models download \(version.rawValue)`, or pass its path with --sv-model)"
        }
    }
}

/// Paths of the networks of a v1/v2/v2Pro/v2ProPlus pipeline (the official `tts_infer.yaml`
/// `t2s_weights_path`, `vits_weights_path`, `cnhuhbert_base_path`, `bert_base_path`, and the
/// speaker-verification model that `GPT_SoVITS/sv.py` loads from `pretrained_models/sv/`).
public struct ModelPaths: Sendable, Equatable, Codable {
    /// GPT `.ckpt`.
    public var gpt: String
    /// SoVITS `.pth`.
    public var sovits: String
    /// CN-HuBERT folder.
    public var hubert: String
    /// Chinese RoBERTa folder.
    public var bert: String
    /// fastText language-identification model for `auto` segmentation (the full `lid.176.bin`);
    /// nil: the lite model bundled with the text frontend.
    public var languageModel: String?
    /// ERes2NetV2 speaker-verification checkpoint (`sv/pretrained_eres2netv2w24s4ep4.ckpt`): loaded
    /// only when the SoVITS model is v2Pro/v2ProPlus (also when one is switched in at run time).
    public var speakerVerification: String?

    /// Explicit paths.
    public init(gpt: String, sovits: String, hubert: String, bert: String, languageModel: String? = nil,
                speakerVerification: String? = nil) {
        self.gpt = gpt
        self.sovits = sovits
        self.hubert = hubert
        self.bert = bert
        self.languageModel = languageModel
        self.speakerVerification = speakerVerification
    }

    /// The files of `version` inside an official `pretrained_models` folder (or our download cache,
    /// which uses the same layout). The speaker model's path is that folder's `sv/` file for every
    /// version, as the official code hard-codes it, so a v2Pro SoVITS switched in later finds it.
    /// - Throws: ``SynthesisError/unsupported(_:)`` for a version whose pipeline is not
    ///   v1/v2/v2Pro/v2ProPlus.
    public init(pretrainedFolder folder: URL, version: ModelVersion = .v2) throws {
        let files = PretrainedCatalog.files(for: version)
        func path(_ role: PretrainedFile.Role) -> String? {
            guard let f = files.first(where: { $0.role == role }) else { return nil }
            if role == .hubert || role == .bert {
                return folder.appendingPathComponent(String(f.path.split(separator: "/")[0])).path
            }
            return folder.appendingPathComponent(f.path).path
        }
        guard let g = path(.gpt), let s = path(.sovits), let h = path(.hubert), let b = path(.bert) else {
            throw SynthesisError.unsupported("version \(version.rawValue) is not a v1/v2/v2Pro/v2ProPlus pipeline")
        }
        let lid = folder.appendingPathComponent(FastTextLanguageDetector.fullModelRelativePath).path
        self.init(gpt: g, sovits: s, hubert: h, bert: b, languageModel: FileManager.default.fileExists(atPath: lid) ? lid : nil,
                  speakerVerification: folder.appendingPathComponent(PretrainedCatalog.speakerModel.path).path)
    }
}

/// The loaded networks of one pipeline. Immutable: one bundle serves concurrent requests.
public struct ModelBundle: Sendable {
    /// The text-to-semantic GPT.
    public let t2s: Text2SemanticDecoder
    /// The SoVITS synthesizer.
    public let sovits: SynthesizerTrn
    /// CN-HuBERT.
    public let hubert: CNHuBERT
    /// Chinese RoBERTa + tokenizer.
    public let bert: ChineseRoBERTa
    /// The ERes2NetV2 speaker-verification model (v2Pro/v2ProPlus SoVITS; nil when not loaded).
    public let speaker: ERes2NetV2?
    /// Where the speaker model is loaded from when a v2Pro/v2ProPlus SoVITS is switched in
    /// (``replacingWeights(gpt:sovits:)``) and ``speaker`` is not loaded yet.
    public let speakerModelPath: String?
    /// The text frontend for the SoVITS version.
    public let frontend: TextFrontend
    /// Model version (decides the symbol table and the languages).
    public let version: ModelVersion
    /// Where the weights came from (for reports; `random-v2` for random weights).
    public let source: String

    /// Assembles a bundle from loaded networks; `languageDetector` labels `auto` text (default: the
    /// lite fastText model bundled with the frontend).
    /// - Throws: ``SynthesisError/missingSpeakerModel(sovits:version:path:)`` when `sovits` is
    ///   v2Pro/v2ProPlus and no `speaker` model is given.
    public init(t2s: Text2SemanticDecoder, sovits: SynthesizerTrn, hubert: CNHuBERT, bert: ChineseRoBERTa,
                speaker: ERes2NetV2? = nil, speakerModelPath: String? = nil, source: String,
                languageDetector: any LanguageDetector = LanguageSegmenter.defaultDetector) throws {
        guard !sovits.needsSpeakerEmbedding || speaker != nil else {
            throw SynthesisError.missingSpeakerModel(sovits: source, version: sovits.config.version, path: speakerModelPath)
        }
        self.t2s = t2s
        self.sovits = sovits
        self.hubert = hubert
        self.bert = bert
        self.speaker = speaker
        self.speakerModelPath = speakerModelPath
        self.source = source
        version = sovits.config.version
        frontend = try TextFrontend.standard(version: version, detector: languageDetector)
    }

    /// The detector of `paths.languageModel`, or the bundled lite one.
    /// - Throws: ``SynthesisError/loadFailed(role:path:reason:)`` naming the file.
    public static func languageDetector(_ path: String?) throws -> any LanguageDetector {
        guard let path else { return LanguageSegmenter.defaultDetector }
        try checkExists("language-ID", path)
        return try loadNetwork("language-ID", path) { try FastTextLanguageDetector.load(contentsOf: URL(fileURLWithPath: path)) }
    }

    /// Loads the networks from files: GPT, SoVITS, CN-HuBERT, BERT, and the speaker model when the
    /// SoVITS file is v2Pro/v2ProPlus.
    /// - Throws: ``SynthesisError`` naming the missing or unloadable file (for a Pro SoVITS without
    ///   its speaker model, ``SynthesisError/missingSpeakerModel(sovits:version:path:)``).
    public static func load(_ paths: ModelPaths) throws -> ModelBundle {
        try checkExists("GPT", paths.gpt)
        try checkExists("SoVITS", paths.sovits)
        try checkExists("CN-HuBERT", paths.hubert)
        try checkExists("BERT", paths.bert)
        // (First: a bad language-ID file is reported before the networks take their time to load.)
        let detector = try languageDetector(paths.languageModel)
        let t2s = try loadNetwork("GPT", paths.gpt) { try Text2SemanticDecoder.load(path: paths.gpt) }
        let sovits = try loadNetwork("SoVITS", paths.sovits) { try SynthesizerTrn.load(path: paths.sovits) }
        // (A Pro SoVITS without its speaker model fails here, before HuBERT and BERT are read.)
        let speaker = try speakerModel(for: sovits, sovitsPath: paths.sovits, loaded: nil, path: paths.speakerVerification)
        let hubert = try loadNetwork("CN-HuBERT", paths.hubert) { try CNHuBERT.load(folder: paths.hubert) }
        let bert = try loadNetwork("BERT", paths.bert) { try ChineseRoBERTa.load(folder: paths.bert) }
        return try ModelBundle(t2s: t2s, sovits: sovits, hubert: hubert, bert: bert, speaker: speaker,
                               speakerModelPath: paths.speakerVerification, source: paths.sovits, languageDetector: detector)
    }

    /// This bundle with its GPT and/or SoVITS loaded from other files. CN-HuBERT and BERT are the
    /// same (already loaded) instances, so a per-voice bundle costs only the networks it replaces.
    /// With neither path given the result is this bundle.
    /// - Throws: ``SynthesisError/missingModel(role:path:)`` or ``SynthesisError/loadFailed(role:path:reason:)``
    ///   naming the file.
    public func replacingWeights(gpt: String? = nil, sovits: String? = nil) throws -> ModelBundle {
        if let gpt { try Self.checkExists("GPT", gpt) }
        if let sovits { try Self.checkExists("SoVITS", sovits) }
        let newT2S = try gpt.map { p in try Self.loadNetwork("GPT", p) { try Text2SemanticDecoder.load(path: p) } } ?? t2s
        let newSoVITS = try sovits.map { p in try Self.loadNetwork("SoVITS", p) { try SynthesizerTrn.load(path: p) } } ?? self.sovits
        let newSpeaker = try Self.speakerModel(for: newSoVITS, sovitsPath: sovits ?? source, loaded: speaker, path: speakerModelPath)
        return try ModelBundle(t2s: newT2S, sovits: newSoVITS, hubert: hubert, bert: bert, speaker: newSpeaker,
                               speakerModelPath: speakerModelPath, source: sovits ?? source,
                               languageDetector: frontend.segmenter.detector)
    }

    /// The speaker model `sovits` needs: `loaded` if there is one, else the file at `path`; nil for
    /// a SoVITS model without the speaker branch (the file is then not read).
    private static func speakerModel(for sovits: SynthesizerTrn, sovitsPath: String, loaded: ERes2NetV2?,
                                     path: String?) throws -> ERes2NetV2? {
        guard sovits.needsSpeakerEmbedding else { return loaded }
        if let loaded { return loaded }
        guard let path, FileManager.default.fileExists(atPath: path) else {
            throw SynthesisError.missingSpeakerModel(sovits: sovitsPath, version: sovits.config.version, path: path)
        }
        return try loadNetwork("speaker-verification", path) { try ERes2NetV2.load(path: path) }
    }

    private static func checkExists(_ role: String, _ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw SynthesisError.missingModel(role: role, path: path) }
    }

    private static func loadNetwork<T>(_ role: String, _ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            throw SynthesisError.loadFailed(role: role, path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// Full-size v2 networks with random weights (official dimensions), built in memory: for
    /// benchmarks and smoke tests without downloads. The audio is noise-like, not speech.
    public static func randomV2(seed: UInt64 = 1234, languageDetector: any LanguageDetector = LanguageSegmenter.defaultDetector) throws -> ModelBundle {
        try random(version: .v2, seed: seed, languageDetector: languageDetector)
    }

    /// The versions ``random(version:seed:languageDetector:)`` builds.
    public static let randomVersions: [ModelVersion] = [.v2, .v2Pro, .v2ProPlus]

    /// Full-size networks of `version` (v2, v2Pro or v2ProPlus: the official configurations, the
    /// v2 GPT the Pro pretrained sets share, and for Pro the ERes2NetV2 speaker model) with seeded
    /// random weights.
    /// - Throws: ``SynthesisError/unsupported(_:)`` for another version.
    public static func random(version: ModelVersion, seed: UInt64 = 1234,
                              languageDetector: any LanguageDetector = LanguageSegmenter.defaultDetector) throws -> ModelBundle {
        let config: SoVITSConfig
        switch version {
        case .v2: config = SoVITSConfig()
        case .v2Pro: config = .v2Pro
        case .v2ProPlus: config = .v2ProPlus
        default:
            throw SynthesisError.unsupported("random weights are built for \(randomVersions.map(\.rawValue).joined(separator: ", ")), not \(version.rawValue)")
        }
        return try ModelBundle(t2s: Text2SemanticDecoder.randomV2(seed: seed), sovits: SynthesizerTrn.random(config: config, seed: seed &+ 2),
                               hubert: CNHuBERT.randomV2(seed: seed &+ 3), bert: ChineseRoBERTa.randomV2(seed: seed &+ 4),
                               speaker: version.usesSpeakerVerification ? ERes2NetV2.random(seed: seed &+ 5) : nil,
                               source: "random-\(version.rawValue)", languageDetector: languageDetector)
    }

    /// Output sample rate (32 kHz for v1/v2/v2Pro/v2ProPlus).
    public var sampleRate: Int { sovits.config.samplingRate }
}
