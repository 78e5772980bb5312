import Foundation

/// Errors raised when a layer is built from weights of the wrong shape, or when per-request state
/// (the KV cache) runs out of room.
public enum NNError: Error, LocalizedError, Equatable {
    /// A weight tensor does not have the shape the layer needs.
    case shapeMismatch(layer: String, tensor: String, expected: String, got: [Int])
    /// A hyper-parameter is out of range.
    case invalidParameter(layer: String, message: String)
    /// Appending to the KV cache would exceed its capacity.
    case cacheFull(layer: Int, length: Int, adding: Int, capacity: Int)

    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(layer, tensor, expected, got):
            return "\(layer): \(tensor) has shape \(got), expected \(expected)"
        case let .invalidParameter(layer, message):
            return "\(layer): \(message)"
        case let .cacheFull(layer, length, adding, capacity):
            return "KV cache layer \(layer): \(length) + \(adding) positions exceed capacity \(capacity)"
        }
    }
}
