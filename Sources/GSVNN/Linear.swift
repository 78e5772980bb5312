import GSVTensor
import GSVWeights

/// A fully connected layer, `y = x · Wᵀ + b`, as `torch.nn.Linear`.
///
/// `weight` is `[out, in]` (PyTorch layout); inputs may have any number of leading dimensions.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or nil for a bias-free layer.
    public let bias: Tensor?

    /// Creates a layer from PyTorch-layout weights.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear weight must be 2-D, got \(weight.shape)")
        if let b = bias { precondition(b.shape == [weight.shape[0]], "Linear bias \(b.shape) does not match weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    /// Declares `<p>.weight` `[out, in]` (Float32) and `<p>.bias` `[out]` through `p`; random
    /// sources draw the weight with fan-in scaling and the bias with `biasInit`.
    /// - Throws: `WeightsError` for missing or misshapen weights.
    public init(_ p: ParameterSource, in fin: Int, out fout: Int, bias: Bool = true,
                biasInit: ParameterInit = .std(0.02)) throws {
        self.init(weight: try p.tensor("weight", shape: [fout, fin]),
                  bias: bias ? try p.tensor("bias", shape: [fout], initial: biasInit) : nil)
    }

    /// Input width.
    public var inFeatures: Int { weight.shape[1] }
    /// Output width.
    public var outFeatures: Int { weight.shape[0] }

    /// Applies the layer over the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias)
    }
}
