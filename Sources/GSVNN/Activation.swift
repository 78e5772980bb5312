// Activation functions named as Hugging Face configs name them (transformers' `ACT2FN`), for the
// encoders built from a `config.json` (`hidden_act`, `feat_extract_activation`).

import Foundation
import GSVTensor

/// An element-wise activation, by its config name.
public enum Activation: String, Codable, Sendable, CaseIterable {
    /// Exact-form GELU (`ACT2FN["gelu"]` = `nn.functional.gelu`, erf form): ``GSVTensor/Tensor/gelu()``.
    case gelu
    /// `max(x, 0)`.
    case relu
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    case geluNew = "gelu_new"
    /// Hyperbolic tangent.
    case tanh

    /// The activation a config names, accepting transformers' aliases of the tanh GELU; nil for
    /// names not supported here.
    public init?(configName name: String) {
        switch name {
        case "gelu": self = .gelu
        case "relu": self = .relu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluNew
        case "tanh": self = .tanh
        default: return nil
        }
    }

    /// Applies the activation element-wise.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: return x.gelu()
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
