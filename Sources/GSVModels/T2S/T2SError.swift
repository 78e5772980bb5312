// Errors of the T2S GPT (the official code asserts or raises generic exceptions instead).

import Foundation

/// Errors of the text-to-semantic GPT. Every case names the offending value.
public enum T2SError: Error, LocalizedError, Sendable, Equatable {
    /// The checkpoint's configuration is missing a field or is inconsistent.
    case invalidConfig(String)
    /// A request is malformed (empty phones, wrong BERT shape, token out of range, …).
    case invalidInput(String)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfig(m): return "T2S GPT config: \(m)"
        case let .invalidInput(m): return "T2S GPT input: \(m)"
        }
    }
}
