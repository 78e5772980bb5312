import Foundation

// Follows GPT_SoVITS/TTS_infer_pack/TextPreprocessor.py: get_phones_and_bert (without the BERT part,
// which lives with the models), clean_text_inf; and GPT_SoVITS/text/cleaner.py: clean_text.

/// English G2P as the frontend needs it (official: `english.text_normalize`, then `english.g2p`; the
/// phones are already in the v2 symbol set). The implementation lives in `GSVText/English/`.
public protocol EnglishPhonemizer: Sendable {
    /// `english.text_normalize`.
    func normalize(_ text: String) -> String
    /// `english.g2p` on normalised text.
    func phonemes(forNormalized text: String) -> [String]
}

/// The `text_lang` / `prompt_lang` modes of the official API.
public enum TextLanguage: String, Sendable, CaseIterable, Codable {
    /// Chinese mixed with English (v2 default "中英混合").
    case zh
    /// English only.
    case en
    /// Japanese mixed with English.
    case ja
    /// Korean mixed with English.
    case ko
    /// Cantonese mixed with English.
    case yue
    /// Everything Chinese except fully-English runs ("中文").
    case allZh = "all_zh"
    /// Everything Japanese except fully-English runs.
    case allJa = "all_ja"
    /// Everything Korean except fully-English runs.
    case allKo = "all_ko"
    /// Everything Cantonese except fully-English runs.
    case allYue = "all_yue"
    /// Multilingual, language per run ("多语种混合").
    case auto
    /// Multilingual with Cantonese for Chinese runs.
    case autoYue = "auto_yue"

    /// Parses an API language code (case-insensitive, as api_v2 lower-cases it) or a web-UI label.
    public init(parsing raw: String) throws {
        let key = raw.trimmingCharacters(in: .whitespaces)
        if let v = TextLanguage(rawValue: key.lowercased()) { self = v; return }
        let labels: [String: TextLanguage] = [
            "中文": .allZh, "英文": .en, "日文": .allJa, "粤语": .allYue, "韩文": .allKo, "中英混合": .zh, "粤英混合": .yue,
            "日英混合": .ja, "韩英混合": .ko, "多语种混合": .auto, "多语种混合(粤语)": .autoYue,
        ]
        guard let v = labels[key] else { throw TextError.unsupportedLanguage(raw) }
        self = v
    }

    /// Whether `version` accepts this language (v1: auto, en, zh, ja, all_zh, all_ja).
    public func isSupported(by version: ModelVersion) -> Bool {
        version != .v1 || [.auto, .en, .zh, .ja, .allZh, .allJa].contains(self)
    }
}

/// One language segment after cleaning.
public struct FrontendSegment: Sendable, Equatable, Codable {
    /// Segment text as handed to clean_text.
    public var text: String
    /// Segment language (`zh`, `en`, …; `all_` already stripped when cleaning).
    public var lang: String
    /// Normalised text.
    public var normText: String
    /// Phones (unknown ones mapped to UNK).
    public var phones: [String]
    /// Phone ids in the version's table.
    public var phoneIDs: [Int]
    /// Phones per character of `normText` (nil for English).
    public var word2ph: [Int]?

    /// Whether synthesis computes BERT features for this segment (official get_bert_inf: language `zh`,
    /// `all_` stripped); other segments get zeros `[1024, phones.count]`.
    public var usesBERT: Bool { lang.replacingOccurrences(of: "all_", with: "") == "zh" }

    enum CodingKeys: String, CodingKey {
        case text, lang, phones, word2ph
        case normText = "norm_text"
        case phoneIDs = "phone_ids"
    }
}

/// One call of get_phones_and_bert (the official code retries once with "." prepended).
public struct FrontendAttempt: Sendable, Equatable, Codable {
    /// The text of this attempt.
    public var inputText: String
    /// Its segments.
    public var segments: [FrontendSegment]

    enum CodingKeys: String, CodingKey {
        case segments
        case inputText = "input_text"
    }
}

/// What synthesis feeds the GPT for one text: the official get_phones_and_bert result minus BERT.
public struct PhoneSequence: Sendable, Equatable, Codable {
    /// All phones, segments concatenated.
    public var phones: [String]
    /// All phone ids.
    public var phoneIDs: [Int]
    /// Normalised text, segments concatenated.
    public var normText: String
    /// Every attempt in call order; the last one produced the result.
    public var attempts: [FrontendAttempt]
    /// Segments of the final attempt (BERT features are computed per zh segment from these).
    public var segments: [FrontendSegment] { attempts.last?.segments ?? [] }

    enum CodingKeys: String, CodingKey {
        case phones, attempts
        case phoneIDs = "phone_ids"
        case normText = "norm_text"
    }
}

/// The text frontend: language segmentation, per-language cleaning, phone ids.
public final class TextFrontend: Sendable {
    /// Model version (selects the symbol table).
    public let version: ModelVersion
    /// Phone table of `version`.
    public let symbols: SymbolTable
    /// Language segmentation.
    public let segmenter: LanguageSegmenter
    private let english: (any EnglishPhonemizer)?
    private let chinese: ChineseG2P
    private let polyphonicDictionary: Bool

    /// - Parameters:
    ///   - version: model version (phone table).
    ///   - english: English G2P; without it English segments raise `TextError.englishUnavailable`.
    ///   - detector: language labels for segmentation (default: `LanguageSegmenter.defaultDetector`,
    ///     fastText lid.176 when its bundled model loads, else by script).
    ///   - polyphonicDictionary: apply the official polyphonic dictionary to Chinese readings (off by
    ///     default, as in the official non-g2pW path the fixtures follow).
    public init(version: ModelVersion = .v2, english: (any EnglishPhonemizer)? = nil,
                detector: any LanguageDetector = LanguageSegmenter.defaultDetector, polyphonicDictionary: Bool = false) throws {
        self.version = version
        self.polyphonicDictionary = polyphonicDictionary
        symbols = try SymbolTable.forVersion(version)
        segmenter = LanguageSegmenter(detector: detector)
        self.english = english
        chinese = try ChineseG2P.shared
    }

    /// Language segmentation of get_phones_and_bert: (text, language) pairs.
    public func segments(_ text: String, language: TextLanguage) -> [LanguageSegment] {
        switch language {
        case .allZh: return segmenter.segments(text, defaultLang: "zh")
        case .allYue: return segmenter.segments(text, defaultLang: "zh").map { $0.lang == "zh" ? LanguageSegment(lang: "yue", text: $0.text) : $0 }
        case .allJa: return segmenter.segments(text, defaultLang: "ja")
        case .allKo: return segmenter.segments(text, defaultLang: "ko")
        case .en: return [LanguageSegment(lang: "en", text: text)]
        case .auto: return Self.readingHanAsChinese(segmenter.segments(text))
        case .autoYue:
            return Self.readingHanAsChinese(segmenter.segments(text)).map { $0.lang == "zh" ? LanguageSegment(lang: "yue", text: $0.text) : $0 }
        case .zh, .ja, .ko, .yue:
            var out: [LanguageSegment] = []
            for s in segmenter.segments(text) {
                if let l = out.last, (s.lang == "en") == (l.lang == "en") { out[out.count - 1].text += s.text; continue }
                out.append(LanguageSegment(lang: s.lang == "en" ? "en" : language.rawValue, text: s.text))
            }
            return out
        }
    }

    /// Languages ``clean(_:language:)`` has a G2P for.
    public static let cleanableLanguages: Set<String> = ["zh", "en"]

    /// Automatic segmentation reads segments labelled Japanese that hold no kana (Han-only text) as
    /// Chinese while Japanese has no G2P here: fastText's lite `lid.176` model calls about a third
    /// of short everyday Chinese sentences Japanese ("你好，世界。"), which would otherwise fail as
    /// an unsupported language. Kana keeps a segment Japanese (and so refused). Neighbours that end
    /// up in one language are merged, as LangSegmenter merges them.
    static func readingHanAsChinese(_ segments: [LanguageSegment]) -> [LanguageSegment] {
        guard !cleanableLanguages.contains("ja") else { return segments }
        var out: [LanguageSegment] = []
        for var s in segments {
            if s.lang == "ja" && !s.text.unicodeScalars.contains(where: LanguageSplitter.isKana) { s.lang = "zh" }
            if let last = out.last, last.lang == s.lang { out[out.count - 1].text += s.text } else { out.append(s) }
        }
        return out
    }

    /// clean_text(text, language, version) followed by phone ids.
    public func clean(_ text: String, language lang0: String) throws -> FrontendSegment {
        var lang = lang0.replacingOccurrences(of: "all_", with: "")
        var text = text
        let known: Set<String> = version == .v1 ? ["zh", "ja", "en"] : ["zh", "ja", "en", "ko", "yue"]
        if !known.contains(lang) { lang = "en"; text = " " }
        let cleaned: CleanedText
        switch lang {
        case "zh":
            cleaned = try ChineseFrontend(g2p: chinese, symbols: symbols, version: version, polyphonicDictionary: polyphonicDictionary).process(text)
            if cleaned.word2ph?.isEmpty ?? true {
                // the official code fails here too (BERT features of an empty text)
                throw TextError.noValidText
            }
        case "en":
            guard let english else { throw TextError.englishUnavailable(text) }
            let norm = english.normalize(text)
            var phones = english.phonemes(forNormalized: norm)
            if phones.count < 4 { phones = [","] + phones }
            cleaned = CleanedText(phones: symbols.replacingUnknown(phones), word2ph: nil, normText: norm)
        default:
            throw TextError.unsupportedLanguage(lang)
        }
        return FrontendSegment(text: text, lang: lang0, normText: cleaned.normText, phones: cleaned.phones,
                               phoneIDs: try symbols.ids(for: cleaned.phones), word2ph: cleaned.word2ph)
    }

    private static let multiSpace = Pattern(" {2,}")

    /// get_phones_and_bert without BERT: segments, phones, ids, normalised text; retries once with
    /// "." + text when fewer than 6 phones come out.
    public func phones(for text: String, language: TextLanguage) throws -> PhoneSequence {
        guard language.isSupported(by: version) else { throw TextError.unsupportedLanguage(language.rawValue) }
        var attempts: [FrontendAttempt] = []
        var input = text
        for attempt in 0..<2 {
            let t = Self.multiSpace.sub(input, template: " ")
            let segs = segments(t, language: language)
            if segs.isEmpty { throw text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? TextError.emptyText : TextError.noValidText }
            let cleaned = try segs.map { try clean($0.text, language: $0.lang) }
            attempts.append(FrontendAttempt(inputText: t, segments: cleaned))
            let phones = cleaned.flatMap(\.phones)
            if attempt == 0 && phones.count < 6 { input = "." + t; continue }
            break
        }
        let last = attempts[attempts.count - 1].segments
        return PhoneSequence(phones: last.flatMap(\.phones), phoneIDs: last.flatMap(\.phoneIDs),
                             normText: last.map(\.normText).joined(), attempts: attempts)
    }
}
