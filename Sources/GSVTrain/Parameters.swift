// A model's trainable state for training: every tensor of the official state dict by its
// official key, held in fp32 (what `load_state_dict` into fp32 modules gives), and the scoped,
// shape-checking view the differentiable forwards read their parameters through. No official
// counterpart (torch.nn.Module.named_parameters / state_dict).

import Foundation
import GSVTensor
import GSVWeights

/// The tensors of one model (parameters and buffers) by official state-dict key, in fp32.
public struct ParameterSet: Sendable {
    /// Keys in a stable order (sorted at creation, or as given).
    public private(set) var names: [String]
    /// Values, parallel to ``names``.
    public var values: [Tensor]
    private var positions: [String: Int]

    /// A set from named tensors (order kept).
    public init(_ entries: [(String, Tensor)]) {
        names = entries.map(\.0)
        values = entries.map(\.1)
        positions = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    }

    /// Every float tensor of a checkpoint's state dict whose key passes `include`, widened to fp32
    /// (fp16 → fp32 is exact), keys sorted. Integer buffers (e.g. BatchNorm counters) are skipped.
    /// - Throws: `WeightsError` for unreadable tensors.
    public init(archive: WeightArchive, include: (String) -> Bool = { _ in true }) throws {
        var entries: [(String, Tensor)] = []
        for key in archive.tensors.keys.sorted() where include(key) {
            guard let data = archive.tensors[key], data.dtype.isFloatingPoint else { continue }
            entries.append((key, try data.floatTensor()))
        }
        self.init(entries)
    }

    /// The index of `name`, or nil.
    public func index(of name: String) -> Int? { positions[name] }

    /// The value of `name`, or nil.
    public subscript(name: String) -> Tensor? { positions[name].map { values[$0] } }

    /// Number of tensors.
    public var count: Int { names.count }

    /// Total number of elements.
    public var elementCount: Int { values.reduce(0) { $0 + $1.count } }

    /// Adds (or replaces) a tensor.
    public mutating func set(_ name: String, _ value: Tensor) {
        if let i = positions[name] {
            values[i] = value
        } else {
            positions[name] = names.count
            names.append(name)
            values.append(value)
        }
    }

    /// The tensors as `(key, value)` pairs.
    public var entries: [(String, Tensor)] { Array(zip(names, values)) }
}

/// Records which keys a forward pass read (to reject checkpoints with keys the model does not use).
final class KeyUsage: @unchecked Sendable {
    private let lock = NSLock()
    private var used = Set<String>()
    func mark(_ key: String) { lock.lock(); used.insert(key); lock.unlock() }
    var keys: Set<String> { lock.lock(); defer { lock.unlock() }; return used }
}

/// Gradients by parameter index, accumulated over backward passes (gradient accumulation).
public struct GradientBuffer: Sendable {
    /// One entry per parameter of the set; nil where no gradient arrived (the parameter did not
    /// take part, or is frozen), which optimizers skip as torch does for `grad is None`.
    public var values: [Tensor?]

    /// An empty buffer for `count` parameters.
    public init(count: Int) { values = Array(repeating: nil, count: count) }

    /// Adds `g` to parameter `index`'s gradient.
    public mutating func add(_ index: Int, _ g: Tensor) {
        if values[index] == nil {
            values[index] = g
        } else {
            values[index]!.scalars.withUnsafeMutableBufferPointer { d in
                g.scalars.withUnsafeBufferPointer { s in addInto(d.baseAddress!, s.baseAddress!, count: d.count) }
            }
        }
    }

    /// Drops every gradient (`zero_grad(set_to_none=True)`).
    public mutating func clear() {
        for i in values.indices { values[i] = nil }
    }

    /// `sqrt(Σ g²)` over every present gradient, in Double (`clip_grad_value_(…, None)`'s norm).
    public var norm: Double {
        var s = 0.0
        for g in values { if let g { for v in g.scalars { s += Double(v) * Double(v) } } }
        return s.squareRoot()
    }
}

/// A scoped, shape-checking view of a ``ParameterSet`` bound to a tape: what a differentiable
/// forward reads its parameters through (`scoped("enc_p.encoder_text")`, then `"attn_layers.0.conv_q.weight"`).
public struct ParameterScope {
    let set: ParameterSet
    let tape: Tape
    let prefix: String
    /// Parameters under these key prefixes come out as constants (frozen, or a network used
    /// without parameter gradients, e.g. the discriminator inside the generator step).
    let frozenPrefixes: [String]
    let usage: KeyUsage

    /// A view of `set` on `tape`; keys starting with any of `frozen` are constants.
    public init(_ set: ParameterSet, tape: Tape, frozen: [String] = []) {
        self.set = set
        self.tape = tape
        prefix = ""
        frozenPrefixes = frozen
        usage = KeyUsage()
    }

    private init(set: ParameterSet, tape: Tape, prefix: String, frozen: [String], usage: KeyUsage) {
        self.set = set
        self.tape = tape
        self.prefix = prefix
        frozenPrefixes = frozen
        self.usage = usage
    }

    /// The sub-module `name`.
    public func scoped(_ name: String) -> ParameterScope {
        ParameterScope(set: set, tape: tape, prefix: prefix + name + ".", frozen: frozenPrefixes, usage: usage)
    }

    /// The full key of `name`.
    public func key(_ name: String) -> String { prefix + name }

    /// Whether the set holds `name`.
    public func contains(_ name: String) -> Bool { set.index(of: prefix + name) != nil }

    /// The parameter `name`, checked to have `shape`: a trainable leaf, or a constant when frozen.
    /// - Throws: ``TrainingError/invalidCheckpoint(_:)`` naming a missing key or a wrong shape.
    public func callAsFunction(_ name: String, shape: [Int]) throws -> Var {
        let full = prefix + name
        guard let i = set.index(of: full) else { throw TrainingError.invalidCheckpoint("missing parameter '\(full)'") }
        let v = set.values[i]
        guard v.shape == shape else {
            throw TrainingError.invalidCheckpoint("parameter '\(full)' has shape \(v.shape), expected \(shape)")
        }
        usage.mark(full)
        if frozenPrefixes.contains(where: { full.hasPrefix($0) }) { return .constant(v) }
        return tape.parameter(i, value: v)
    }

    /// A weight with legacy weight norm (`<module>.weight_g` `[C0, 1, …]`, `<module>.weight_v`
    /// `shape`), combined on the tape so that gradients reach `g` and `v`.
    public func weightNormed(_ module: String, shape: [Int]) throws -> Var {
        var gShape = [Int](repeating: 1, count: shape.count)
        gShape[0] = shape[0]
        let s = scoped(module)
        return tape.weightNorm(g: try s("weight_g", shape: gShape), v: try s("weight_v", shape: shape))
    }

    /// Keys read so far through this view or any view scoped from the same root.
    var usedKeys: Set<String> { usage.keys }
}
