import Foundation

/// Errors raised when a layer is built from weights of the wrong shape or invalid hyper-parameters.
public enum NNError: Error, LocalizedError, Equatable {
    /// A weight tensor does not have the shape the layer needs.
    case shapeMismatch(layer: String, tensor: String, expected: String, got: [Int])
    /// A hyper-parameter is out of range.
    case invalidParameter(layer: String, message: String)

    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(layer, tensor, expected, got):
            return "\(layer): \(tensor) has shape \(got), expected \(expected)"
        case let .invalidParameter(layer, message):
            return "\(layer): \(message)"
        }
    }
}
