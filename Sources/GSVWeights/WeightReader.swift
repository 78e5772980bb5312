import Foundation
import GSVTensor

/// A scoped, verifying view of a state dict (DESIGN.md habit 2).
///
/// Models declare every weight they read with its expected shape; the reader checks shapes, fails
/// with the full key on anything missing, and records what was consumed so that, after loading,
/// ``verifyAllConsumed(ignoring:)`` can fail on keys the model did not use.
///
/// ```swift
/// let r = WeightReader(archive, prefix: "model.")
/// let layer = r.scoped("h.layers.0")
/// let w1 = try layer.tensor("linear1.weight", shape: [4 * d, d])
/// ...
/// try r.verifyAllConsumed()
/// ```
///
/// Scoped readers share one usage record, so a reader may be handed to several threads.
public struct WeightReader: Sendable {
    /// Shared record of consumed keys.
    final class Usage: @unchecked Sendable {
        // A lock guards the set; NSLock keeps this usable on macOS 14 (Mutex needs 15).
        private let lock = NSLock()
        private var used = Set<String>()
        func mark(_ key: String) { lock.lock(); used.insert(key); lock.unlock() }
        func contains(_ key: String) -> Bool { lock.lock(); defer { lock.unlock() }; return used.contains(key) }
    }

    /// Every tensor of the archive, by full key.
    public let tensors: [String: TensorData]
    /// The key prefix of this scope (ends with `.` unless empty).
    public let prefix: String
    private let usage: Usage

    /// A reader over `archive`'s tensors, restricted to keys starting with `prefix`.
    public init(_ archive: WeightArchive, prefix: String = "") {
        self.init(tensors: archive.tensors, prefix: prefix)
    }

    /// A reader over `tensors`, restricted to keys starting with `prefix`.
    public init(tensors: [String: TensorData], prefix: String = "") {
        self.tensors = tensors
        self.prefix = prefix
        self.usage = Usage()
    }

    private init(tensors: [String: TensorData], prefix: String, usage: Usage) {
        self.tensors = tensors
        self.prefix = prefix
        self.usage = usage
    }

    /// A reader for the sub-module `name` (`scoped("h.layers.0")` reads `<prefix>h.layers.0.*`).
    public func scoped(_ name: String) -> WeightReader {
        let p = name.isEmpty ? prefix : prefix + (name.hasSuffix(".") ? name : name + ".")
        return WeightReader(tensors: tensors, prefix: p, usage: usage)
    }

    /// The full key of `name` in this scope.
    public func fullKey(_ name: String) -> String { prefix + name }

    /// Whether `name` exists in this scope.
    public func contains(_ name: String) -> Bool { tensors[prefix + name] != nil }

    /// The keys in this scope (relative to the prefix), sorted.
    public var keys: [String] {
        tensors.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    /// The stored tensor `name`, marked as consumed, with its shape checked when `shape` is given.
    public func data(_ name: String, shape: [Int]? = nil) throws -> TensorData {
        let key = prefix + name
        guard let t = tensors[key] else { throw WeightsError.missingKey(key) }
        if let shape, shape != t.shape {
            throw WeightsError.shapeMismatch(key: key, expected: shape, actual: t.shape)
        }
        usage.mark(key)
        return t
    }

    /// The tensor `name` as Float32 (fp16/bf16/fp64/integers/bool are converted), shape-checked.
    /// An overlapping or broadcast view is read only when `shape` is given (the model's declaration
    /// bounds what it allocates).
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        try data(name, shape: shape).floatTensor(declaredShape: shape)
    }

    /// The integer tensor `name` as Int64 values (row-major), shape-checked; float tensors are refused.
    public func int64Values(_ name: String, shape: [Int]? = nil) throws -> [Int64] {
        try data(name, shape: shape).int64Values(declaredShape: shape)
    }

    /// The tensor `name` as Float32 when present, else nil (for optional weights such as biases).
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> Tensor? {
        contains(name) ? try tensor(name, shape: shape) : nil
    }

    /// The tensor `name` as IEEE half bit patterns (row-major), shape-checked: fp16 is copied as
    /// stored, other float types are rounded to half. For fp16 kernels that keep weights at 2 bytes.
    public func halfBits(_ name: String, shape: [Int]? = nil) throws -> [UInt16] {
        try data(name, shape: shape).halfBits(declaredShape: shape)
    }

    /// Marks `name` as consumed without reading it (weights a model knowingly ignores).
    public func skip(_ name: String) { if tensors[prefix + name] != nil { usage.mark(prefix + name) } }

    /// Marks every key of this scope starting with `keyPrefix` as consumed.
    public func skipAll(withPrefix keyPrefix: String = "") {
        for k in tensors.keys where k.hasPrefix(prefix + keyPrefix) { usage.mark(k) }
    }

    /// Keys of this scope that have not been consumed, sorted (full keys).
    public var unconsumedKeys: [String] {
        tensors.keys.filter { $0.hasPrefix(prefix) && !usage.contains($0) }.sorted()
    }

    /// Throws ``WeightsError/unexpectedKeys(_:)`` listing every key of this scope not consumed,
    /// except those starting with one of `ignoring` (relative to the scope).
    public func verifyAllConsumed(ignoring: [String] = []) throws {
        let left = unconsumedKeys.filter { k in
            let rel = k.dropFirst(prefix.count)
            return !ignoring.contains { rel.hasPrefix($0) }
        }
        if !left.isEmpty { throw WeightsError.unexpectedKeys(left) }
    }
}
