import Foundation

/// Errors of dataset preparation. Every case names the file, row or value involved.
public enum PrepareError: Error, LocalizedError, Sendable, Equatable {
    /// An input path does not exist.
    case missingInput(String)
    /// A file has no audio stream (e.g. a video without sound, or not a media file at all).
    case noAudioStream(path: String)
    /// A `.list` line is not `wav_path|speaker|language|text`.
    case malformedListLine(path: String, line: Int, content: String)
    /// A list row names a language the formatter does not support.
    case unsupportedLanguage(String)
    /// A file or folder could not be written.
    case unwritable(path: String, reason: String)
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// An option is out of range or inconsistent.
    case invalidArgument(String)
    /// A speech recogniser failed on one clip.
    case recognizerFailed(clip: String, reason: String)
    /// The list changed on disk (or in another session) since it was loaded; saving would overwrite
    /// someone else's edits.
    case conflict(path: String, expectedRevision: String, actualRevision: String)
    /// A review operation referred to a row that does not exist or is invalid.
    case invalidEdit(String)

    public var errorDescription: String? {
        switch self {
        case let .missingInput(path): return "\(path) does not exist"
        case let .noAudioStream(path): return "\(path) has no audio stream"
        case let .malformedListLine(path, line, content):
            return "\(path):\(line): expected 'wav_path|speaker|language|text', got '\(content.prefix(120))'"
        case let .unsupportedLanguage(lang): return "unsupported language '\(lang)'"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .invalidArgument(message): return message
        case let .recognizerFailed(clip, reason): return "speech recognition failed on \(clip): \(reason)"
        case let .conflict(path, expected, actual):
            return "\(path) changed since it was loaded (revision \(actual), expected \(expected)); reload before saving"
        case let .invalidEdit(message): return message
        }
    }
}
