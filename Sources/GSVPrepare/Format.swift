import Foundation
import GPTSoVITS
import GSVAudio
import GSVModels
import GSVTensor
import GSVText
import GSVWeights
import Logging

// Follows GPT_SoVITS/prepare_datasets/1-get-text.py (2-name2text.txt, 3-bert/<name>.pt),
// 2-get-hubert-wav32k.py (5-wav32k/<name>, 4-cnhubert/<name>.pt), 3-get-semantic.py
// (6-name2semantic.tsv) and webui.py (how the per-part outputs are merged), run as one process
// (i_part 0 of 1). Feature files are written with TorchSave, which `torch.load` reads.

/// The networks the formatting step needs (no GPT).
public struct FormatModels: Sendable {
    /// The pretrained SoVITS (its `ssl_proj` and quantizer give the semantic tokens).
    public let sovits: SynthesizerTrn
    /// CN-HuBERT.
    public let hubert: CNHuBERT
    /// Chinese RoBERTa.
    public let bert: ChineseRoBERTa
    /// The text frontend of the SoVITS version.
    public let frontend: TextFrontend
    /// Model version.
    public let version: ModelVersion

    /// Assembles the models.
    public init(sovits: SynthesizerTrn, hubert: CNHuBERT, bert: ChineseRoBERTa) throws {
        self.sovits = sovits
        self.hubert = hubert
        self.bert = bert
        version = sovits.config.version
        frontend = try TextFrontend.standard(version: version)
    }

    /// The models of a loaded synthesis bundle.
    public init(bundle: ModelBundle) {
        sovits = bundle.sovits
        hubert = bundle.hubert
        bert = bundle.bert
        frontend = bundle.frontend
        version = bundle.version
    }

    /// Loads the three networks from files (SoVITS `.pth`, CN-HuBERT and RoBERTa folders).
    public static func load(sovits: String, hubert: String, bert: String) throws -> FormatModels {
        for (role, path) in [("SoVITS", sovits), ("CN-HuBERT", hubert), ("BERT", bert)] where !FileManager.default.fileExists(atPath: path) {
            throw SynthesisError.missingModel(role: role, path: path)
        }
        return try FormatModels(sovits: SynthesizerTrn.load(path: sovits), hubert: CNHuBERT.load(folder: hubert),
                                bert: ChineseRoBERTa.load(folder: bert))
    }

    /// Full-size v2 networks with random weights (benchmarks).
    public static func randomV2(seed: UInt64 = 1234) throws -> FormatModels {
        try FormatModels(sovits: SynthesizerTrn.randomV2(seed: seed &+ 2), hubert: CNHuBERT.randomV2(seed: seed &+ 3),
                         bert: ChineseRoBERTa.randomV2(seed: seed &+ 4))
    }
}

/// The official training-folder layout.
public enum TrainingFolder {
    /// `2-name2text.txt`: `name⇥phones⇥word2ph⇥norm_text` per utterance.
    public static let text = "2-name2text.txt"
    /// `3-bert/<name>.pt`: BERT phone features `[1024, phones]` (Chinese rows only).
    public static let bert = "3-bert"
    /// `4-cnhubert/<name>.pt`: CN-HuBERT features `[1, 768, T]`.
    public static let hubert = "4-cnhubert"
    /// `5-wav32k/<name>`: the clip at 32 kHz, 16-bit.
    public static let wav32k = "5-wav32k"
    /// `6-name2semantic.tsv`: `item_name⇥semantic_audio` header, then `name⇥tokens`.
    public static let semantic = "6-name2semantic.tsv"
    /// `7-sv_cn/<name>.pt`: speaker embeddings `[1, 20480]` (v2Pro / v2ProPlus).
    public static let speaker = "7-sv_cn"
}

/// Step 6 — formats a `.list` into the official training folder.
public struct DatasetFormatter: Sendable {
    static let logger = Logger(label: "GSVPrepare.Format")

    /// The networks.
    public let models: FormatModels
    /// The official "audio dir": when set, a row's audio is `<audioFolder>/<file name>`.
    public var audioFolder: String?
    /// Write the feature files in float16, as the official scripts do on a GPU (`is_half`); the
    /// official CPU run writes float32 (the default).
    public var halfPrecision: Bool

    /// Creates the step.
    public init(models: FormatModels, audioFolder: String? = nil, halfPrecision: Bool = false) {
        self.models = models
        self.audioFolder = audioFolder
        self.halfPrecision = halfPrecision
    }

    /// A row that was left out, and why.
    public struct SkippedRow: Sendable, Equatable, Codable {
        /// 1-based row number in the list (problem lines count as rows).
        public var row: Int
        /// The utterance name (or the raw line for an unreadable line).
        public var name: String
        /// Why it was skipped.
        public var reason: String
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        /// Rows read from the list.
        public var rows: Int
        /// Utterances written to the training folder.
        public var utterances: [String]
        /// Rows left out.
        public var skipped: [SkippedRow]
        /// Feature files kept from an earlier run (BERT, HuBERT).
        public var reusedFiles: Int
        /// Seconds spent per phase (`text`, `audio`, `semantic`).
        public var seconds: [String: Double]
    }

    /// One row that passed validation.
    struct Row {
        var index: Int
        var entry: DatasetEntry
        var name: String
        var audio: String
        var language: DatasetLanguage
        var phones: [String] = []
        var word2ph: [Int]?
        var normText = ""
        var tokens: [Int] = []
    }

    /// What each feature file was computed from, so a resumed run recomputes the files of rows
    /// whose text or audio changed since (e.g. after a review) and keeps the others. Files with no
    /// record (an interrupted first run, or a folder written by the official tools) are kept, as the
    /// official scripts keep every existing file.
    struct Sources: Codable {
        /// name → digest of (language, text) behind `3-bert/<name>.pt`.
        var text: [String: String] = [:]
        /// name → size and modification time of the audio behind `4-cnhubert` and `5-wav32k`.
        var audio: [String: String] = [:]

        static let file = ".gsv-format-sources.json"

        static func load(_ folder: URL) -> Sources {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path),
                  let s = try? JSONDecoder().decode(Sources.self, from: data) else { return Sources() }
            return s
        }

        func save(_ folder: URL) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.file).path)
        }

        static func textKey(_ r: Row) -> String {
            var d = SHA256Digest()
            d.update(Array("\(r.language.rawValue)\u{1}\(r.entry.text)".utf8))
            return d.hexDigest()
        }

        static func audioKey(_ path: String) -> String {
            let a = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (a?[.size] as? NSNumber)?.intValue ?? -1
            let time = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(size)-\(time)"
        }
    }

    /// The languages whose text this port can turn into phones.
    static let supportedLanguages: Set<DatasetLanguage> = [.zh, .en]

    /// Formats `listPath` into `outputFolder` (created if needed). Bad rows (missing audio, empty
    /// text, unsupported language, text without phones, unreadable or too loud audio) are reported and
    /// skipped; the rest is written. Feature files already present (from an interrupted run) are kept.
    /// - Throws: only when the list cannot be read or the folder cannot be written.
    public func run(listPath: String, outputFolder: String, progress: StepProgress? = nil) throws -> Report {
        let parsed = try DatasetList.read(path: listPath)
        let (list, problems, lineNumbers) = (parsed.list, parsed.problems, parsed.lineNumbers)
        var skipped = problems.map { SkippedRow(row: $0.line, name: $0.content, reason: "not 'wav_path|speaker|language|text'") }
        let out = URL(fileURLWithPath: outputFolder)
        for sub in [TrainingFolder.bert, TrainingFolder.hubert, TrainingFolder.wav32k] {
            try PrepareFiles.makeFolder(out.appendingPathComponent(sub).path)
        }
        var rows: [Row] = []
        var names: Set<String> = []
        for (i, e) in list.entries.enumerated() {
            let row = lineNumbers[i]
            let name = e.name
            guard let lang = DatasetLanguage(code: e.language) else {
                skipped.append(SkippedRow(row: row, name: name, reason: "unsupported language '\(e.language)' (zh, ja, en, ko, yue)")); continue
            }
            guard Self.supportedLanguages.contains(lang) else {
                skipped.append(SkippedRow(row: row, name: name, reason: "language '\(e.language)' has no text frontend here yet (zh and en are supported)")); continue
            }
            guard !e.text.trimmingCharacters(in: .whitespaces).isEmpty else {
                skipped.append(SkippedRow(row: row, name: name, reason: "empty text")); continue
            }
            let audio = DatasetList.audioPath(of: e, listPath: listPath, audioFolder: audioFolder)
            guard FileManager.default.fileExists(atPath: audio) else {
                skipped.append(SkippedRow(row: row, name: name, reason: "audio file \(audio) does not exist")); continue
            }
            guard !names.contains(name) else {
                skipped.append(SkippedRow(row: row, name: name, reason: "another row already uses the file name \(name)")); continue
            }
            names.insert(name)
            rows.append(Row(index: row, entry: e, name: name, audio: audio, language: lang))
        }
        var seconds: [String: Double] = [:]
        var reused = 0
        var sources = Sources.load(out)

        // 1a — text: phones, word2ph, norm_text; BERT features for Chinese rows.
        var start = Date()
        progress?.begin(step: "format: text", total: rows.count, unit: "rows")
        var textOK: [Row] = []
        for var r in rows {
            try Task.checkCancellation()
            defer { progress?.advance(by: 1, detail: r.name) }
            do {
                let text = r.entry.text.replacingOccurrences(of: "%", with: "-").replacingOccurrences(of: "￥", with: ",")
                let seg = try models.frontend.clean(text, language: r.language.rawValue)
                r.phones = seg.phones
                r.word2ph = seg.word2ph
                r.normText = seg.normText
                guard !r.phones.isEmpty else { throw TextError.noValidText }
                if r.language == .zh {
                    let path = out.appendingPathComponent(TrainingFolder.bert).appendingPathComponent(r.name + ".pt").path
                    let key = Sources.textKey(r)
                    if FileManager.default.fileExists(atPath: path) && (sources.text[r.name] ?? key) == key {
                        reused += 1
                    } else {
                        guard let w2p = r.word2ph else { throw TextError.noValidText }
                        let feature = try models.bert.phoneFeatures(normText: r.normText, word2ph: w2p)
                        guard feature.shape == [models.bert.featureSize, r.phones.count] else {
                            throw PrepareError.invalidEdit("BERT features have \(feature.shape.last ?? 0) columns for \(r.phones.count) phones")
                        }
                        try TorchSave.write(.tensor(try TorchSaveTensor(float: feature.scalars, shape: feature.shape, half: halfPrecision)), to: path)
                    }
                    sources.text[r.name] = key
                }
                textOK.append(r)
            } catch let e as CancellationError {
                throw e
            } catch {
                skipped.append(SkippedRow(row: r.index, name: r.name, reason: "text: \(PrepareFiles.describe(error))"))
            }
        }
        progress?.end()
        try sources.save(out)
        seconds["text"] = Date().timeIntervalSince(start)

        // 1b + 1c — 32 kHz WAV, CN-HuBERT features, semantic tokens.
        start = Date()
        progress?.begin(step: "format: audio", total: textOK.count, unit: "rows")
        var done: [Row] = []
        var semanticSeconds = 0.0
        for var r in textOK {
            try Task.checkCancellation()
            defer { progress?.advance(by: 1, detail: r.name) }
            do {
                let hubertPath = out.appendingPathComponent(TrainingFolder.hubert).appendingPathComponent(r.name + ".pt").path
                let wavPath = out.appendingPathComponent(TrainingFolder.wav32k).appendingPathComponent(r.name).path
                let ssl: Tensor
                let key = Sources.audioKey(r.audio)
                if FileManager.default.fileExists(atPath: hubertPath) && FileManager.default.fileExists(atPath: wavPath)
                    && (sources.audio[r.name] ?? key) == key {
                    ssl = try Self.readFeatures(hubertPath)
                    reused += 1
                } else {
                    ssl = try audioFeatures(audio: r.audio, wavPath: wavPath, hubertPath: hubertPath)
                }
                sources.audio[r.name] = key
                let t0 = Date()
                r.tokens = try models.sovits.extractLatent(ssl: ssl)[0]
                semanticSeconds += Date().timeIntervalSince(t0)
                done.append(r)
            } catch let e as CancellationError {
                throw e
            } catch {
                skipped.append(SkippedRow(row: r.index, name: r.name, reason: "audio: \(PrepareFiles.describe(error))"))
            }
        }
        progress?.end()
        try sources.save(out)
        seconds["audio"] = Date().timeIntervalSince(start) - semanticSeconds
        seconds["semantic"] = semanticSeconds

        // The merged files, as the web UI writes them.
        let textLines = done.map { r in
            "\(r.name)\t\(r.phones.joined(separator: " "))\t\(Self.pythonRepr(r.word2ph))\t\(r.normText)"
        }
        try AtomicFile.write(textLines.joined(separator: "\n") + "\n", to: out.appendingPathComponent(TrainingFolder.text).path)
        let semanticLines = ["item_name\tsemantic_audio"] + (done.isEmpty ? [""] : done.map { r in
            "\(r.name)\t\(r.tokens.map(String.init).joined(separator: " "))"
        })
        try AtomicFile.write(semanticLines.joined(separator: "\n") + "\n", to: out.appendingPathComponent(TrainingFolder.semantic).path)
        skipped.sort { $0.row < $1.row }
        for s in skipped { Self.logger.warning("skipped row", metadata: ["row": "\(s.row)", "name": "\(s.name)", "reason": "\(s.reason)"]) }
        return Report(rows: list.entries.count + problems.count, utterances: done.map(\.name), skipped: skipped,
                      reusedFiles: reused, seconds: seconds)
    }

    /// Python's `repr` of the word2ph list (`[1, 2, 2]`) or `None`.
    static func pythonRepr(_ w: [Int]?) -> String {
        guard let w else { return "None" }
        return "[" + w.map(String.init).joined(separator: ", ") + "]"
    }

    /// The official level constants (`maxx = 0.95`, `alpha = 0.5`).
    static let maxx = 0.95, alpha = 0.5

    /// 2-get-hubert-wav32k.py: name2go for one clip; returns the SSL features `[768, T]`.
    func audioFeatures(audio: String, wavPath: String, hubertPath: String) throws -> Tensor {
        let x = try AudioExtractor(sampleRate: 32000).decode(audio).samples
        let peak = x.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { throw PrepareError.invalidEdit("the clip is silent") }
        // The official code compares the float32 peak with 2.2 in double precision (NumPy 1).
        guard Double(peak) <= 2.2 else { throw PrepareError.invalidEdit("the clip is too loud (peak \(peak) > 2.2), filtered as the official tool does") }
        let pcm = Self.scaled(x, peak: peak, full: 32768).map(Self.numpyInt16)
        let input16 = Self.scaled(x, peak: peak, full: 1145.14)
        let x16 = try AudioBuffer(samples: input16, sampleRate: 32000).resampled(to: 16000).samples
        let ssl = try models.hubert.sslContent(audio16k: x16)  // [768, T]
        if let bad = ssl.scalars.firstIndex(where: { !$0.isFinite }) {
            throw PrepareError.invalidEdit("CN-HuBERT produced a non-finite value at \(bad)")
        }
        try AtomicFile.write(try PCM16File.encode(pcm, sampleRate: 32000), to: wavPath)
        let stored = halfPrecision ? ssl.scalars.map { HalfConversion.float(fromHalf: HalfConversion.half(fromFloat: $0)) } : ssl.scalars
        try TorchSave.write(.tensor(try TorchSaveTensor(float: ssl.scalars, shape: [1] + ssl.shape, half: halfPrecision)), to: hubertPath)
        return Tensor(shape: ssl.shape, scalars: stored)
    }

    /// `x / peak · (maxx·alpha·full) + ((1 − alpha)·full) · x` in float32, constants rounded from
    /// double as NumPy does.
    static func scaled(_ x: [Float], peak: Float, full: Double) -> [Float] {
        let a = Float(maxx * alpha * full), b = Float((1 - alpha) * full)
        return x.map { $0 / peak * a + b * $0 }
    }

    /// `np.float32 → np.int16` as NumPy casts on x86-64: truncated toward zero to 32 bits, low 16 bits kept.
    static func numpyInt16(_ v: Float) -> Int16 {
        guard v.isFinite, v >= -2_147_483_648, v < 2_147_483_648 else { return 0 }
        return Int16(truncatingIfNeeded: Int32(v.rounded(.towardZero)))
    }

    /// Reads a feature file (`torch.save` of one tensor), written by us or by the official scripts,
    /// as float32 in its stored shape.
    /// - Throws: ``PrepareError/unreadable(path:reason:)`` when the file holds something else.
    public static func readTensor(_ path: String) throws -> Tensor {
        let ckpt: TorchCheckpoint
        do { ckpt = try TorchCheckpoint(path: path) } catch {
            throw PrepareError.unreadable(path: path, reason: PrepareFiles.describe(error))
        }
        guard case let .tensor(ref) = ckpt.object else {
            throw PrepareError.unreadable(path: path, reason: "not a single tensor")
        }
        return try ckpt.tensorData(ref, name: path).floatTensor()
    }

    /// Reads a `[1, 768, T]` (or `[768, T]`) feature file as `[768, T]`.
    static func readFeatures(_ path: String) throws -> Tensor {
        let t = try readTensor(path)
        if t.rank == 3, t.shape[0] == 1 { return t.squeezed(0) }
        guard t.rank == 2 else { throw PrepareError.unreadable(path: path, reason: "features have shape \(t.shape), expected [1, 768, T]") }
        return t
    }
}
