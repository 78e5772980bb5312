// Typed errors of the training module.

import Foundation

/// Errors of the training code; every case names what was wrong.
public enum TrainingError: Error, LocalizedError, Sendable, Equatable, CustomStringConvertible {
    /// An input tensor or batch is malformed.
    case invalidInput(String)
    /// A dataset folder or file is missing or malformed.
    case invalidDataset(String)
    /// A checkpoint or training state cannot be used.
    case invalidCheckpoint(String)
    /// A configuration value is out of range.
    case invalidConfig(String)

    public var description: String {
        switch self {
        case let .invalidInput(m): return "invalid training input: \(m)"
        case let .invalidDataset(m): return "invalid dataset: \(m)"
        case let .invalidCheckpoint(m): return "unusable checkpoint: \(m)"
        case let .invalidConfig(m): return "invalid training configuration: \(m)"
        }
    }

    public var errorDescription: String? { description }
}
