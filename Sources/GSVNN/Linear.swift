import GSVTensor

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

    /// Input width.
    public var inFeatures: Int { weight.shape[1] }
    /// Output width.
    public var outFeatures: Int { weight.shape[0] }

    /// Applies the layer over the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias)
    }
}
