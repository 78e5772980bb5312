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
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        try data(name, shape: shape).floatTensor()
    }

    /// The integer tensor `name` as Int64 values (row-major), shape-checked; float tensors are refused.
    public func int64Values(_ name: String, shape: [Int]? = nil) throws -> [Int64] {
        try data(name, shape: shape).int64Values()
    }

    /// The tensor `name` as Float32 when present, else nil (for optional weights such as biases).
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> Tensor? {
        contains(name) ? try tensor(name, shape: shape) : nil
    }

    /// The tensor `name` as IEEE half bit patterns (row-major), shape-checked: fp16 is copied as
    /// stored, other float types are rounded to half. For fp16 kernels that keep weights at 2 bytes.
    public func halfBits(_ name: String, shape: [Int]? = nil) throws -> [UInt16] {
        try data(name, shape: shape).halfBits()
    }

    /// The weight of layer `layer` with weight normalisation folded away, in Float32 (DESIGN.md
    /// habit 3: fix checkpoints once, at load).
    ///
    /// Legacy `torch.nn.utils.weight_norm` stores `<layer>.weight_g` and `<layer>.weight_v`; the
    /// weight is `w = g · v / ‖v‖`, the norm taken over every axis except `dim` (0 for Conv1d and for
    /// ConvTranspose1d, whose dim 0 is C_in; 2 for HuBERT's positional convolution). When the
    /// checkpoint stores a plain `<layer>.weight` instead, that is returned. `shape` checks the result.
    public func weightNormFolded(_ layer: String, dim: Int = 0, shape: [Int]? = nil) throws -> Tensor {
        if !contains(layer + ".weight_v"), contains(layer + ".weight") {
            return try tensor(layer + ".weight", shape: shape)
        }
        let vData = try data(layer + ".weight_v", shape: shape)
        let vShape = vData.shape
        guard dim >= 0, dim < vShape.count else {
            throw WeightsError.shapeMismatch(key: fullKey(layer + ".weight_v"), expected: [dim], actual: vShape)
        }
        var gShape = [Int](repeating: 1, count: vShape.count)
        gShape[dim] = vShape[dim]
        let g = try tensor(layer + ".weight_g", shape: gShape)
        var w = try vData.floatTensor()
        let n = vShape[dim]
        let outer = vShape[..<dim].reduce(1, *)
        let inner = vShape[(dim + 1)...].reduce(1, *)
        var sumSquares = [Double](repeating: 0, count: n)
        w.scalars.withUnsafeBufferPointer { v in
            for o in 0..<outer {
                for j in 0..<n {
                    let base = (o * n + j) * inner
                    var acc = 0.0
                    for i in 0..<inner { let x = Double(v[base + i]); acc += x * x }
                    sumSquares[j] += acc
                }
            }
        }
        let scale = (0..<n).map { Float(Double(g.scalars[$0]) / sumSquares[$0].squareRoot()) }
        w.scalars.withUnsafeMutableBufferPointer { v in
            for o in 0..<outer {
                for j in 0..<n {
                    let base = (o * n + j) * inner
                    for i in 0..<inner { v[base + i] *= scale[j] }
                }
            }
        }
        return w
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
