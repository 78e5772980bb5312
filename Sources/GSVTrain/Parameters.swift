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
    /// When set, parameters missing from ``set`` are drawn at random and recorded here (how
    /// full-size random models for benchmarks get their state dicts: one forward declares them).
    let factory: ParameterFactory?

    /// A view of `set` on `tape`; keys starting with any of `frozen` are constants.
    public init(_ set: ParameterSet, tape: Tape, frozen: [String] = []) {
        self.init(set: set, tape: tape, prefix: "", frozen: frozen, usage: KeyUsage(), factory: nil)
    }

    /// A view that draws every parameter it is asked for from `factory` (values are constants).
    public init(creatingWith factory: ParameterFactory, tape: Tape) {
        self.init(set: ParameterSet([]), tape: tape, prefix: "", frozen: [""], usage: KeyUsage(), factory: factory)
    }

    private init(set: ParameterSet, tape: Tape, prefix: String, frozen: [String], usage: KeyUsage, factory: ParameterFactory?) {
        self.set = set
        self.tape = tape
        self.prefix = prefix
        frozenPrefixes = frozen
        self.usage = usage
        self.factory = factory
    }

    /// The sub-module `name`.
    public func scoped(_ name: String) -> ParameterScope {
        ParameterScope(set: set, tape: tape, prefix: prefix + name + ".", frozen: frozenPrefixes, usage: usage, factory: factory)
    }

    /// The full key of `name`.
    public func key(_ name: String) -> String { prefix + name }

    /// Whether the set holds `name`.
    public func contains(_ name: String) -> Bool { set.index(of: prefix + name) != nil }

    /// The parameter `name`, checked to have `shape`: a trainable leaf, or a constant when frozen.
    /// - Throws: ``TrainingError/invalidCheckpoint(_:)`` naming a missing key or a wrong shape.
    public func callAsFunction(_ name: String, shape: [Int]) throws -> Var {
        let full = prefix + name
        if let factory { return .constant(factory.tensor(full, shape: shape)) }
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
        if let factory { factory.weightNorm(s.key("weight_g"), s.key("weight_v"), shape: shape) }
        return tape.weightNorm(g: try s("weight_g", shape: gShape), v: try s("weight_v", shape: shape))
    }

    /// Keys read so far through this view or any view scoped from the same root.
    var usedKeys: Set<String> { usage.keys }
}

/// Draws the parameters a forward pass asks for (random models with the official shapes):
/// weights N(0, 1/fan-in), weight-norm `g` equal to the norm of its `v` rows, norms' scales 1,
/// biases and shifts N(0, 0.02), positional `alpha` 1, PReLU slopes 0.25, relative embeddings
/// N(0, 1/√d), embedding tables N(0, 1).
public final class ParameterFactory: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Tensor] = [:]
    private var order: [String] = []
    private var rng: SeededRNG

    public init(seed: UInt64) { rng = SeededRNG(seed: seed) }

    /// The tensor `key` (drawn on first request).
    func tensor(_ key: String, shape: [Int]) -> Tensor {
        lock.lock(); defer { lock.unlock() }
        if let t = values[key] { return t }
        let count = shape.reduce(1, *)
        let leaf = key.split(separator: ".").last.map(String.init) ?? key
        let t: Tensor
        if leaf == "gamma" || (shape.count == 1 && leaf == "weight" && key.contains("norm")) {
            t = Tensor(repeating: 1, shape: shape)
        } else if leaf == "alpha" {
            t = Tensor(repeating: 1, shape: shape)
        } else if key.hasSuffix("prelu.weight") {
            t = Tensor(repeating: 0.25, shape: shape)
        } else if shape.count == 1 || leaf.hasSuffix("bias") || leaf == "beta" {
            t = rng.gaussian(shape: shape, std: 0.02)
        } else if leaf.hasPrefix("emb_rel") {
            t = rng.gaussian(shape: shape, std: 1 / Float(shape.last ?? 1).squareRoot())
        } else if key.contains("embedding") {
            t = rng.gaussian(shape: shape, std: 1)
        } else {
            t = rng.gaussian(shape: shape, std: 1 / Float(max(1, count / max(1, shape[0]))).squareRoot())
        }
        values[key] = t
        order.append(key)
        return t
    }

    /// Draws a weight-norm pair: `v` as a weight, `g` the norm of each slice of `v` (so `w = v`).
    func weightNorm(_ gKey: String, _ vKey: String, shape: [Int]) {
        let v = tensor(vKey, shape: shape)
        lock.lock(); defer { lock.unlock() }
        guard values[gKey] == nil else { return }
        let per = v.count / max(1, shape[0])
        var g = [Float](repeating: 0, count: shape[0])
        for i in 0..<shape[0] {
            var s: Float = 0
            for j in 0..<per { s += v.scalars[i * per + j] * v.scalars[i * per + j] }
            g[i] = s.squareRoot()
        }
        var gShape = [Int](repeating: 1, count: shape.count)
        gShape[0] = shape[0]
        values[gKey] = Tensor(shape: gShape, scalars: g)
        order.append(gKey)
    }

    /// Adds a tensor directly (buffers no forward reads, e.g. a frozen codebook).
    public func set(_ key: String, _ t: Tensor) {
        lock.lock(); defer { lock.unlock() }
        if values[key] == nil { order.append(key) }
        values[key] = t
    }

    /// Everything drawn, keys sorted.
    public var parameters: ParameterSet {
        lock.lock(); defer { lock.unlock() }
        return ParameterSet(order.sorted().map { ($0, values[$0]!) })
    }
}
