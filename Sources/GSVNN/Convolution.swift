import GSVTensor

/// A 1-D convolution layer, as `torch.nn.Conv1d` (zero padding).
///
/// Weight-normed checkpoints (`weight_g`, `weight_v`) are folded once at load with
/// ``GSVTensor/foldWeightNorm(g:v:dim:)`` and passed here as a plain weight.
public struct Conv1d: Sendable {
    /// `[Cout, Cin / groups, K]`.
    public let weight: Tensor
    /// `[Cout]` or nil.
    public let bias: Tensor?
    /// Step between output positions.
    public let stride: Int
    /// Zeros added before and after the sequence.
    public let padding: (left: Int, right: Int)
    /// Spacing between kernel taps.
    public let dilation: Int
    /// Channel groups (each output group sees only its input group).
    public let groups: Int

    /// Creates the layer, checking the weight shapes.
    /// - Throws: ``NNError`` if `weight` is not 3-D, `bias` is not `[Cout]`, or a parameter is invalid.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: (left: Int, right: Int) = (0, 0),
                dilation: Int = 1, groups: Int = 1) throws {
        guard weight.rank == 3 else {
            throw NNError.shapeMismatch(layer: "Conv1d", tensor: "weight", expected: "[Cout, Cin/groups, K]", got: weight.shape)
        }
        guard stride >= 1, dilation >= 1, groups >= 1, padding.left >= 0, padding.right >= 0,
              weight.shape[0] % groups == 0 else {
            throw NNError.invalidParameter(layer: "Conv1d", message:
                "stride \(stride), dilation \(dilation), groups \(groups), padding \(padding), Cout \(weight.shape[0])")
        }
        if let b = bias, b.shape != [weight.shape[0]] {
            throw NNError.shapeMismatch(layer: "Conv1d", tensor: "bias", expected: "[\(weight.shape[0])]", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Symmetric padding convenience (`nn.Conv1d(..., padding=p)`).
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int, dilation: Int = 1,
                groups: Int = 1) throws {
        try self.init(weight: weight, bias: bias, stride: stride, padding: (padding, padding),
                      dilation: dilation, groups: groups)
    }

    /// Input channels `Cin`.
    public var inChannels: Int { weight.shape[1] * groups }
    /// Output channels `Cout`.
    public var outChannels: Int { weight.shape[0] }
    /// Kernel taps `K`.
    public var kernelSize: Int { weight.shape[2] }

    /// `[B, Cin, T] → [B, Cout, Tout]` (a 2-D `[Cin, T]` input gives `[Cout, Tout]`).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv1d(x, weight: weight, bias: bias, stride: stride, padding: (padding.left, padding.right),
               dilation: dilation, groups: groups)
    }
}

/// A transposed 1-D convolution layer, as `torch.nn.ConvTranspose1d`.
public struct ConvTranspose1d: Sendable {
    /// `[Cin, Cout / groups, K]` (PyTorch layout).
    public let weight: Tensor
    /// `[Cout]` or nil.
    public let bias: Tensor?
    /// Upsampling factor.
    public let stride: Int
    /// Positions cropped from each end of the full output (torch `padding`).
    public let padding: Int
    /// Extra positions added at the end (torch `output_padding`).
    public let outputPadding: Int
    /// Channel groups.
    public let groups: Int
    /// Spacing between kernel taps.
    public let dilation: Int

    /// Creates the layer, checking the weight shapes.
    /// - Throws: ``NNError`` on a malformed weight/bias or invalid parameters.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
                groups: Int = 1, dilation: Int = 1) throws {
        guard weight.rank == 3 else {
            throw NNError.shapeMismatch(layer: "ConvTranspose1d", tensor: "weight",
                                        expected: "[Cin, Cout/groups, K]", got: weight.shape)
        }
        guard stride >= 1, dilation >= 1, groups >= 1, padding >= 0, weight.shape[0] % groups == 0,
              outputPadding >= 0, outputPadding < max(stride, dilation) else {
            throw NNError.invalidParameter(layer: "ConvTranspose1d", message:
                "stride \(stride), dilation \(dilation), groups \(groups), padding \(padding), outputPadding \(outputPadding), Cin \(weight.shape[0])")
        }
        let cout = weight.shape[1] * groups
        if let b = bias, b.shape != [cout] {
            throw NNError.shapeMismatch(layer: "ConvTranspose1d", tensor: "bias", expected: "[\(cout)]", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.groups = groups
        self.dilation = dilation
    }

    /// Input channels `Cin`.
    public var inChannels: Int { weight.shape[0] }
    /// Output channels `Cout`.
    public var outChannels: Int { weight.shape[1] * groups }

    /// `[B, Cin, T] → [B, Cout, (T−1)·stride − 2·padding + dilation·(K−1) + outputPadding + 1]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose1d(x, weight: weight, bias: bias, stride: stride, padding: padding,
                        outputPadding: outputPadding, groups: groups, dilation: dilation)
    }
}
