// Shared pieces of the Hugging Face encoders (CN-HuBERT, Chinese RoBERTa): config errors, reading
// a config out of a checkpoint, activation names, and how their random weights are drawn. Their
// layers are GSVNN's (LayerNorm accepts the old TensorFlow gamma/beta names).
import Foundation
import GSVNN
import GSVTensor
import GSVWeights

extension Activation {
    /// The activation a config names at `key` (`hidden_act`, `feat_extract_activation`).
    /// - Throws: ``EncoderConfigError/unsupported(model:key:value:)`` for a name not supported here.
    static func parse(_ name: String, model: String, key: String) throws -> Activation {
        guard let a = Activation(configName: name) else {
            throw EncoderConfigError.unsupported(model: model, key: key, value: name)
        }
        return a
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

/// How the encoders' random weights are drawn (benchmarks and shape tests without downloads):
/// projections with fan-in scaling (the ``ParameterSource`` default), norms around γ = 1, small
/// biases.
enum EncoderInit {
    /// LayerNorm / GroupNorm γ.
    static let normWeight = ParameterInit.std(0.1, mean: 1)
    /// Norm β and every bias.
    static let bias = ParameterInit.std(0.05)
}
