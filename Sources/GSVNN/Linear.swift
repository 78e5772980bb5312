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

/// A fully connected layer whose weight stays in fp16 (`torch.nn.Linear` semantics), for the
/// memory-bound autoregressive decode path: half the weight bytes are read per token and the
/// widening happens inside the kernel (F16C on x86-64, Swift SIMD elsewhere).
public struct HalfLinear: Sendable {
    /// `[out, in]` fp16 weight.
    public let weight: HalfMatrix
    /// `[out]` Float32 bias, or nil.
    public let bias: Tensor?

    /// - Throws: ``NNError/shapeMismatch(layer:tensor:expected:got:)`` if `bias` is not `[out]`.
    public init(weight: HalfMatrix, bias: Tensor?) throws {
        if let b = bias, b.shape != [weight.rows] {
            throw NNError.shapeMismatch(layer: "HalfLinear", tensor: "bias", expected: "[\(weight.rows)]", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
    }

    /// Input width.
    public var inFeatures: Int { weight.cols }
    /// Output width.
    public var outFeatures: Int { weight.rows }

    /// Applies the layer over the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        weight.linear(x, bias: bias)
    }
}
