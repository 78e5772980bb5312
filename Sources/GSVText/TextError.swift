import Foundation

/// Errors raised by the text frontend. Every case names the offending input.
public enum TextError: Error, LocalizedError, Sendable, Equatable {
    /// The language code is not one the frontend handles.
    case unsupportedLanguage(String)
    /// The text is empty (after normalisation) where text is required.
    case emptyText
    /// Bundled data (dictionaries, model weights) is missing or corrupt.
    case dataUnavailable(name: String, reason: String)
    /// A phone is not in the symbol table of the requested version.
    case unknownPhone(String)
    /// The text splitting method name is not one of cut0…cut5.
    case unknownSplitMethod(String)
    /// No valid text is left after splitting (official: "请输入有效文本").
    case noValidText
    /// A character has no pinyin and is not punctuation, so no phones can be made for it.
    case noPronunciation(character: String, in: String)
    /// No English phonemizer is configured but the text has English segments.
    case englishUnavailable(String)

    /// A sentence naming the problem and the offending input.
    public var errorDescription: String? {
        switch self {
        case let .unsupportedLanguage(l):
            let names = ["ja": "Japanese", "all_ja": "Japanese", "ko": "Korean", "all_ko": "Korean", "yue": "Cantonese",
                         "all_yue": "Cantonese", "auto_yue": "Cantonese"]
            if let name = names[l] { return "unsupported language '\(l)': \(name) text is not implemented yet (zh, en, all_zh and auto are)" }
            return "unsupported language '\(l)'"
        case .emptyText: return "the text is empty"
        case let .dataUnavailable(name, reason): return "text data '\(name)' is unavailable: \(reason)"
        case let .unknownPhone(p): return "phone '\(p)' is not in the symbol table"
        case let .unknownSplitMethod(m): return "unknown text split method '\(m)' (expected cut0…cut5)"
        case .noValidText: return "no valid text to synthesise (only punctuation or whitespace)"
        case let .noPronunciation(c, t): return "character '\(c)' in '\(t)' has no pronunciation"
        case let .englishUnavailable(t): return "no English phonemizer configured for segment '\(t)'"
        }
    }
}
