import Foundation

/// Errors raised by the text frontend. Every case names the offending input.
public enum TextError: Error, LocalizedError, Sendable, Equatable {
    /// The language code is not one the frontend handles.
    case unsupportedLanguage(String)
    /// The text is empty (after normalisation) where text is required.
    case emptyText
    /// Bundled data (dictionaries, model weights) is missing or corrupt.
    case dataUnavailable(name: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupportedLanguage(l): return "unsupported language '\(l)'"
        case .emptyText: return "the text is empty"
        case let .dataUnavailable(name, reason): return "text data '\(name)' is unavailable: \(reason)"
        }
    }
}
