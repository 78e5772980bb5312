// Shared pieces of the Hugging Face encoders (CN-HuBERT, Chinese RoBERTa): activation names as
// transformers spells them (`ACT2FN`), reading a config out of a checkpoint, and layer norms that
// may be stored under the old TensorFlow names.
import Foundation
import GSVNN
import GSVTensor
import GSVWeights

/// An activation function named as in a Hugging Face `config.json` (`hidden_act`,
/// `feat_extract_activation`).
public enum EncoderActivation: String, Codable, Sendable, CaseIterable {
    /// Exact GELU (`ACT2FN["gelu"]` = `nn.functional.gelu`, erf form).
    case gelu
    /// `max(x, 0)`.
    case relu
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    case geluNew = "gelu_new"
    /// Hyperbolic tangent.
    case tanh

    /// Parses a config name, accepting transformers' aliases of the tanh GELU.
    /// - Throws: ``EncoderConfigError/unsupported(model:key:value:)`` for any other name.
    public static func parse(_ name: String, model: String, key: String) throws -> EncoderActivation {
        switch name {
        case "gelu": return .gelu
        case "relu": return .relu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluNew
        case "tanh": return .tanh
        default: throw EncoderConfigError.unsupported(model: model, key: key, value: name)
        }
    }

    /// Applies the activation element-wise.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: return x.encoderGELU()
        case .relu: return x.relu()
        case .tanh: return x.tanh()
        case .geluNew:
            return x.map { v in
                let d = Double(v)
                return Float(0.5 * d * (1 + Foundation.tanh(0.7978845608028654 * (d + 0.044715 * d * d * d))))
            }
        }
    }
}

/// Problems with an encoder configuration (`config.json`).
public enum EncoderConfigError: Error, LocalizedError, Equatable {
    /// The checkpoint carries no configuration and none was given.
    case missingConfig(model: String, path: String)
    /// The configuration could not be decoded.
    case invalid(model: String, reason: String)
    /// A setting has a value this implementation does not support.
    case unsupported(model: String, key: String, value: String)

    public var errorDescription: String? {
        switch self {
        case let .missingConfig(model, path):
            return "\(model): no config.json next to the weights at \(path)"
        case let .invalid(model, reason):
            return "\(model): invalid config.json: \(reason)"
        case let .unsupported(model, key, value):
            return "\(model): config \(key) = \(value) is not supported"
        }
    }
}

/// Decodes a `Codable` config struct from a checkpoint's ``ConfigValue``.
func decodeEncoderConfig<C: Decodable>(_ type: C.Type, from value: ConfigValue, model: String) throws -> C {
    do {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(C.self, from: data)
    } catch let e as EncoderConfigError {
        throw e
    } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx),
            let DecodingError.dataCorrupted(ctx) {
        let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        throw EncoderConfigError.invalid(model: model, reason: "\(path): \(ctx.debugDescription)")
    } catch {
        throw EncoderConfigError.invalid(model: model, reason: "\(error)")
    }
}

extension WeightReader {
    /// A `LayerNorm` stored as `<name>.weight`/`<name>.bias`, or under the TensorFlow-converted names
    /// `<name>.gamma`/`<name>.beta` (transformers renames those at load; so do we).
    func encoderLayerNorm(_ name: String, dim: Int, eps: Float) throws -> LayerNorm {
        let s = scoped(name)
        let (wName, bName) = s.contains("gamma") && !s.contains("weight") ? ("gamma", "beta") : ("weight", "bias")
        return try LayerNorm(weight: s.tensor(wName, shape: [dim]), bias: s.tensor(bName, shape: [dim]), eps: eps)
    }

    /// A `Linear` stored as `<name>.weight [out, in]` and `<name>.bias [out]` (bias required).
    func encoderLinear(_ name: String, out: Int, in inF: Int) throws -> Linear {
        let s = scoped(name)
        return Linear(weight: try s.tensor("weight", shape: [out, inF]), bias: try s.tensor("bias", shape: [out]))
    }

    /// A linear layer `<name>.weight [out, in]` + `<name>.bias [out]` (bias required) whose weight
    /// keeps its stored precision (fp16 checkpoints stay fp16, read in place from the mapped file).
    func encoderStoredLinear(_ name: String, out: Int, in inF: Int) throws -> StoredLinear {
        let s = scoped(name)
        return try StoredLinear(weight: try WeightMatrix(s, "weight", rows: out, cols: inF),
                                bias: try s.tensor("bias", shape: [out]))
    }

    /// Self-attention from separate query/key/value projections, packed at load into one
    /// `MultiHeadAttention` (a layout change done once, never in forward). Weights keep their
    /// stored precision.
    func encoderSelfAttention(query: String, key: String, value: String, output: String, dim: Int,
                              heads: Int) throws -> MultiHeadAttention {
        let q = try encoderStoredLinear(query, out: dim, in: dim)
        let k = try encoderStoredLinear(key, out: dim, in: dim)
        let v = try encoderStoredLinear(value, out: dim, in: dim)
        let o = try encoderStoredLinear(output, out: dim, in: dim)
        return try MultiHeadAttention(
            inProj: try WeightMatrix.stacked([q.weight, k.weight, v.weight], layer: "MultiHeadAttention"),
            inProjBias: Tensor.concat([q.bias ?? .zeros([dim]), k.bias ?? .zeros([dim]), v.bias ?? .zeros([dim])], axis: 0),
            outProj: o.weight, outProjBias: o.bias, numHeads: heads)
    }
}

/// Random weights for the in-memory builders (`randomV2`, tiny test configs): σ = 1/√fan_in for
/// projections, γ = 1 + 0.1·N and β = 0.05·N for norms, small biases.
struct EncoderRandomInit {
    var rng: SeededRNG

    init(seed: UInt64) { rng = SeededRNG(seed: seed) }

    mutating func weight(_ shape: [Int], fanIn: Int) -> Tensor {
        rng.gaussian(shape: shape, std: 1 / Float(max(fanIn, 1)).squareRoot())
    }
    mutating func bias(_ n: Int) -> Tensor { rng.gaussian(shape: [n], std: 0.05) }
    mutating func linear(out: Int, in inF: Int) -> Linear {
        Linear(weight: weight([out, inF], fanIn: inF), bias: bias(out))
    }
    mutating func layerNorm(_ d: Int, eps: Float) throws -> LayerNorm {
        try LayerNorm(weight: rng.gaussian(shape: [d], mean: 1, std: 0.1), bias: bias(d), eps: eps)
    }
    /// A linear layer with an fp16 weight (the precision official encoder checkpoints store).
    mutating func storedLinear(out: Int, in inF: Int) throws -> StoredLinear {
        let w = WeightMatrix.randomHalf(rows: out, cols: inF, std: 1 / Float(max(inF, 1)).squareRoot(), rng: &rng)
        return try StoredLinear(weight: w, bias: bias(out))
    }
    /// Self-attention with fp16 projections.
    mutating func attention(dim: Int, heads: Int) throws -> MultiHeadAttention {
        let std = 1 / Float(max(dim, 1)).squareRoot()
        let inProj = WeightMatrix.randomHalf(rows: 3 * dim, cols: dim, std: std, rng: &rng)
        let inBias = bias(3 * dim)
        let outProj = WeightMatrix.randomHalf(rows: dim, cols: dim, std: std, rng: &rng)
        return try MultiHeadAttention(inProj: inProj, inProjBias: inBias, outProj: outProj, outProjBias: bias(dim),
                                      numHeads: heads)
    }
}
