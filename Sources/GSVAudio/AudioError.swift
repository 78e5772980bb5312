import Foundation

/// Errors raised while reading, decoding or processing audio. Every case names the file or value.
public enum AudioError: Error, LocalizedError, Sendable, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The bytes are not a WAV file we can decode.
    case invalidWAV(path: String, reason: String)
    /// A non-WAV file (or a non-WAV output format) needs ffmpeg, which is not installed.
    case ffmpegMissing(path: String)
    /// ffmpeg ran (or could not be started) and failed; `message` is its error output.
    case ffmpegFailed(path: String, status: Int32, message: String)
    /// An argument is out of range (sample rate, channel count, …).
    case invalidArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "cannot read audio \(path): \(reason)"
        case let .invalidWAV(path, reason): return "\(path) is not a valid WAV file: \(reason)"
        case let .ffmpegMissing(path):
            return "\(path) needs ffmpeg (not a WAV file, or a non-WAV output format), and ffmpeg is not installed: install it (e.g. `apt-get install ffmpeg`, or set GSV_FFMPEG to its path) or use WAV"
        case let .ffmpegFailed(path, status, message): return "ffmpeg failed on \(path) (exit \(status)): \(message)"
        case let .invalidArgument(message): return message
        }
    }
}
