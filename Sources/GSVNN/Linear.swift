import GSVTensor
import GSVWeights

/// A fully connected layer, `y = x · Wᵀ + b`, as `torch.nn.Linear`, whose weight is a
/// ``WeightMatrix``: fp16 checkpoints may stay fp16 in memory (widened inside the kernels), other
/// weights are Float32.
///
/// `weight` is `[out, in]` (PyTorch layout); inputs may have any number of leading dimensions.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`.
    public let weight: WeightMatrix
    /// `[outFeatures]`, or nil for a bias-free layer.
    public let bias: Tensor?

    /// Creates a layer from PyTorch-layout Float32 weights.
    /// - Precondition: `weight` is 2-D and `bias`, when given, is `[out]` (programmer error otherwise).
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear weight must be 2-D, got \(weight.shape)")
        if let b = bias { precondition(b.shape == [weight.shape[0]], "Linear bias \(b.shape) does not match weight \(weight.shape)") }
        self.weight = .float(weight)
        self.bias = bias
    }

    /// Creates a layer over a weight kept in its stored precision.
    /// - Throws: ``NNError/shapeMismatch(layer:tensor:expected:got:)`` if `bias` is not `[out]`.
    public init(weight: WeightMatrix, bias: Tensor?) throws {
        if let b = bias, b.shape != [weight.rows] {
            throw NNError.shapeMismatch(layer: "Linear", tensor: "bias", expected: "[\(weight.rows)]", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
    }

    /// Declares `<p>.weight` `[out, in]` and `<p>.bias` `[out]` through `p`. With `stored`, the
    /// weight keeps its stored precision (fp16 stays fp16; a random source draws fp16), else it is
    /// read as Float32. Random sources draw the weight with fan-in scaling and the bias with `biasInit`.
    /// - Throws: `WeightsError` for missing or misshapen weights.
    public init(_ p: ParameterSource, in fin: Int, out fout: Int, bias: Bool = true, stored: Bool = false,
                biasInit: ParameterInit = .std(0.02)) throws {
        let w: WeightMatrix = stored ? try WeightMatrix(p, "weight", rows: fout, cols: fin)
            : .float(try p.tensor("weight", shape: [fout, fin]))
        try self.init(weight: w, bias: bias ? try p.tensor("bias", shape: [fout], initial: biasInit) : nil)
    }

    /// Input width.
    public var inFeatures: Int { weight.cols }
    /// Output width.
    public var outFeatures: Int { weight.rows }

    /// Applies the layer over the last dimension of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        weight.linear(x, bias: bias)
    }

    /// `y = x · Wᵀ + b` (then `max(·, 0)` with `relu`) for `n` rows of `x` (`[n, in]`) into `y`
    /// (`[n, out]`, fully written), without allocating: the decoder's form. Bias and ReLU are one
    /// pass over the rows, in parallel.
    public func apply(rows x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>, relu: Bool = false) {
        weight.multiply(x, rows: n, into: y)
        let f = outFeatures
        nonisolated(unsafe) let out = y
        guard let bias else {
            if relu {
                Parallel.forRanges(n, grain: max(1, 65_536 / max(f, 1))) { r in
                    for row in r { let p = out + row * f; for j in 0..<f { p[j] = p[j] > 0 ? p[j] : 0 } }
                }
            }
            return
        }
        bias.scalars.withUnsafeBufferPointer { bp in
            guard let b0 = bp.baseAddress else { return }
            nonisolated(unsafe) let b = b0
            Parallel.forRanges(n, grain: max(1, 65_536 / max(f, 1))) { r in
                for row in r {
                    let p = out + row * f
                    if relu {
                        for j in 0..<f { let v = p[j] + b[j]; p[j] = v > 0 ? v : 0 }
                    } else {
                        for j in 0..<f { p[j] += b[j] }
                    }
                }
            }
        }
    }
}
