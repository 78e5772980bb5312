import Foundation

/// Errors raised while reading weight files. Every case names the file or key involved.
public enum WeightsError: Error, LocalizedError, Sendable, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file is not in any supported format.
    case unknownFormat(path: String, reason: String)
    /// The file is structurally broken (truncated, bad offsets, bad headers).
    case corrupt(path: String, reason: String)
    /// A pickle in a checkpoint asked for something the restricted unpickler refuses.
    case forbiddenPickle(path: String, reason: String)
    /// A tensor key the model needs is missing.
    case missingKey(String)
    /// Keys present in the file that the model does not use.
    case unexpectedKeys([String])
    /// A tensor has a shape different from the one the model expects.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// A tensor has a dtype the caller cannot use.
    case unsupportedDType(key: String, dtype: String)
    /// A weight file could not be written (or the value to write is invalid).
    case unwritable(path: String, reason: String)
    /// A tensor stored as an overlapping or broadcast view (more elements than the bytes it reads)
    /// was asked for without a shape declared by the model reading it.
    case undeclaredExpansion(key: String, elements: Int, stored: Int)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unknownFormat(path, reason): return "\(path) is not a supported weight file: \(reason)"
        case let .corrupt(path, reason): return "\(path) is corrupt: \(reason)"
        case let .forbiddenPickle(path, reason): return "refusing to load \(path): \(reason)"
        case let .missingKey(key): return "weight '\(key)' is missing"
        case let .unexpectedKeys(keys):
            return "unexpected weights: \(keys.prefix(10).joined(separator: ", "))\(keys.count > 10 ? " (and \(keys.count - 10) more)" : "")"
        case let .shapeMismatch(key, expected, actual): return "weight '\(key)' has shape \(actual), expected \(expected)"
        case let .unsupportedDType(key, dtype): return "weight '\(key)' has unsupported dtype \(dtype)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .undeclaredExpansion(key, elements, stored):
            return "weight '\(key)' is an overlapping view of \(stored) stored elements expanding to \(elements); "
                + "it is only read for a model that declares its shape"
        }
    }
}
