// Where a model's parameters come from: a verifying checkpoint reader or a seeded random
// initialiser, through one path, so that each model is declared once (DESIGN.md habits 2 and 3).
// No official counterpart: the official models are built by their constructors and filled by
// `load_state_dict`; here the declaration reads (or draws) every parameter in one pass.

import Foundation
import GSVTensor
import GSVWeights

/// How a randomly drawn parameter is initialised (ignored when reading a checkpoint).
///
/// Every draw is uniform (so values are bounded), with the standard deviation given here.
public enum ParameterInit: Sendable, Equatable {
    /// Uniform with standard deviation `gain / √fan-in`, fan-in = elements per output row (all
    /// elements for a vector).
    case fanIn(gain: Float = 1)
    /// Uniform with the given standard deviation around `mean` (LayerNorm γ: `.std(0.1, mean: 1)`).
    case std(Float, mean: Float = 0)
    /// Every element equal to the value (LayerNorm γ = 1, β = 0; a positional scale of 1).
    case constant(Float)
}

/// The source of a model's parameters: a verifying checkpoint reader, or a deterministic random
/// initialiser (benchmarks without downloads, shape tests). A model declares each parameter once,
/// under its official state-dict key, and gets it from either source:
///
/// ```swift
/// init(_ p: ParameterSource, config c: Config) throws {
///     proj = try Linear(p.scoped("proj"), in: c.width, out: c.width)
///     scale = try p.tensor("alpha", shape: [1], initial: .constant(1))
/// }
/// let loaded = try Model(ParameterSource(reader: WeightReader(archive)), config: c)
/// let random = try Model(ParameterSource(randomSeed: 7), config: c)
/// ```
///
/// Random values depend only on the seed and the parameter's full key, not on the order of
/// declaration. Reading from a checkpoint checks every shape and records what was consumed, so the
/// loader can reject unexpected keys afterwards (``WeightReader/verifyAllConsumed(ignoring:)``).
public struct ParameterSource: Sendable {
    private enum Backing: Sendable {
        case reader(WeightReader)
        case random(seed: UInt64, prefix: String)
    }

    private let backing: Backing

    /// Reads from a checkpoint through `reader` (shape-checked, consumption recorded).
    public init(reader: WeightReader) { backing = .reader(reader) }

    /// Draws every parameter from a generator seeded by `seed` and the parameter's full key.
    public init(randomSeed seed: UInt64) { backing = .random(seed: seed, prefix: "") }

    private init(backing: Backing) { self.backing = backing }

    /// Whether the parameters are being drawn at random.
    public var isRandom: Bool { if case .random = backing { return true } else { return false } }

    /// The checkpoint reader, or nil for a random source.
    public var reader: WeightReader? { if case .reader(let r) = backing { return r } else { return nil } }

    /// The sub-module `name` (`scoped("enc_p")` reads `enc_p.*`); an empty name is this scope.
    public func scoped(_ name: String) -> ParameterSource {
        guard !name.isEmpty else { return self }
        switch backing {
        case .reader(let r): return ParameterSource(backing: .reader(r.scoped(name)))
        case let .random(seed, prefix):
            return ParameterSource(backing: .random(seed: seed, prefix: prefix + (name.hasSuffix(".") ? name : name + ".")))
        }
    }

    /// The full key of `name` in this scope.
    public func fullKey(_ name: String) -> String {
        switch backing {
        case .reader(let r): return r.fullKey(name)
        case let .random(_, prefix): return prefix + name
        }
    }

    /// Whether the checkpoint stores `name` in this scope (always false for a random source, which
    /// follows the plain naming).
    public func contains(_ name: String) -> Bool { reader?.contains(name) ?? false }

    /// The stored shape of `name`, for parameters whose size the checkpoint decides (a classifier's
    /// label count); nil for a random source or a missing key. Does not mark the key as consumed.
    public func storedShape(_ name: String) -> [Int]? { reader?.tensors[fullKey(name)]?.shape }

    /// The parameter `name` with the given shape, as Float32.
    /// - Throws: `WeightsError` for a missing key or a wrong shape.
    public func tensor(_ name: String, shape: [Int], initial: ParameterInit = .fanIn()) throws -> Tensor {
        switch backing {
        case .reader(let r): return try r.tensor(name, shape: shape)
        case let .random(seed, prefix):
            return Tensor(shape: shape, scalars: Self.randomValues(key: prefix + name, seed: seed, shape: shape, initial: initial))
        }
    }

    /// An optional parameter (present in the checkpoint or not); a random source draws it when
    /// `randomPresent` is true.
    /// - Throws: `WeightsError` for a wrong shape.
    public func optionalTensor(_ name: String, shape: [Int], randomPresent: Bool,
                               initial: ParameterInit = .std(0.02)) throws -> Tensor? {
        switch backing {
        case .reader(let r): return try r.optionalTensor(name, shape: shape)
        case .random: return randomPresent ? try tensor(name, shape: shape, initial: initial) : nil
        }
    }

    /// The weight of `module` with weight normalisation folded away, once, at load (DESIGN.md
    /// habit 3): `w = g · v / ‖v‖`, the norm over every axis but `dim`
    /// (``GSVTensor/foldWeightNorm(g:v:dim:)``). Accepts both namings torch writes — the legacy
    /// `weight_norm` pair `<module>.weight_g` / `<module>.weight_v` and the parametrization pair
    /// `<module>.parametrizations.weight.original0` / `original1` — or a plain `<module>.weight`.
    ///
    /// - Parameters:
    ///   - module: the layer's name in this scope (empty: this scope is the layer).
    ///   - shape: the weight's shape (that of `v`); `g` is 1 on every axis but `dim`.
    ///   - dim: the kept axis: 0 for Conv1d and ConvTranspose1d (whose axis 0 is `C_in`), 2 for
    ///     HuBERT's positional convolution.
    /// - Throws: `WeightsError` for a missing or misshapen key, or a `dim` outside `shape`.
    public func weightNormed(_ module: String, shape: [Int], dim: Int = 0, initial: ParameterInit = .fanIn()) throws -> Tensor {
        guard case .reader(let r) = backing else {
            return try tensor(module.isEmpty ? "weight" : module + ".weight", shape: shape, initial: initial)
        }
        let m = r.scoped(module)
        let pairs = [("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1")]
        guard let (gName, vName) = pairs.first(where: { m.contains($0.0) || m.contains($0.1) }) else {
            return try m.tensor("weight", shape: shape)
        }
        guard shape.indices.contains(dim) else {
            throw WeightsError.shapeMismatch(key: m.fullKey(gName), expected: [dim], actual: shape)
        }
        var gShape = [Int](repeating: 1, count: shape.count)
        gShape[dim] = shape[dim]
        let g = try m.tensor(gName, shape: gShape)
        let v = try m.tensor(vName, shape: shape)
        return foldWeightNorm(g: g, v: v, dim: dim)
    }

    /// Marks `name` as knowingly unused (a buffer the model does not need); nothing for a random source.
    public func skip(_ name: String) { reader?.skip(name) }

    /// Marks every key of this scope starting with `keyPrefix` as knowingly unused.
    public func skipAll(withPrefix keyPrefix: String = "") { reader?.skipAll(withPrefix: keyPrefix) }

    // MARK: - Random values

    /// The generator for `key`: the seed mixed with the FNV-1a hash of the key.
    static func generator(key: String, seed: UInt64) -> SeededRNG {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SeededRNG(seed: seed ^ h)
    }

    /// `(mean, half-width)` of the uniform draw for `initial` over `shape`, or nil for a constant.
    static func uniformRange(shape: [Int], initial: ParameterInit) -> (mean: Float, halfWidth: Float)? {
        let count = shape.reduce(1, *)
        switch initial {
        case .constant: return nil
        case let .std(s, mean): return (mean, s * Float(3).squareRoot())
        case .fanIn(let gain):
            let fanIn = max(1, shape.count > 1 ? count / max(1, shape[0]) : count)
            return (0, gain / Float(fanIn).squareRoot() * Float(3).squareRoot())
        }
    }

    private static func randomValues(key: String, seed: UInt64, shape: [Int], initial: ParameterInit) -> [Float] {
        let count = shape.reduce(1, *)
        guard let (mean, a) = uniformRange(shape: shape, initial: initial) else {
            if case .constant(let c) = initial { return [Float](repeating: c, count: count) }
            return [Float](repeating: 0, count: count)
        }
        var rng = generator(key: key, seed: seed)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = mean + Float(rng.nextUniform() * 2 - 1) * a }
        return values
    }

    /// The random draw of `name` as IEEE half bit patterns, generated without a Float32 copy of the
    /// whole parameter (full-size fp16 matrices); nil for a checkpoint source.
    func randomHalfBits(_ name: String, shape: [Int], initial: ParameterInit) -> [UInt16]? {
        guard case let .random(seed, prefix) = backing else { return nil }
        let count = shape.reduce(1, *)
        guard let (mean, a) = Self.uniformRange(shape: shape, initial: initial) else {
            if case .constant(let c) = initial { return [UInt16](repeating: HalfConversion.half(fromFloat: c), count: count) }
            return [UInt16](repeating: 0, count: count)
        }
        var rng = Self.generator(key: prefix + name, seed: seed)
        var bits = [UInt16](repeating: 0, count: count)
        for i in 0..<count { bits[i] = HalfConversion.half(fromFloat: mean + Float(rng.nextUniform() * 2 - 1) * a) }
        return bits
    }
}
