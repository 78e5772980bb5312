import GSVTensor

/// A 2-D convolution layer, as `torch.nn.Conv2d` (zero padding), on channel-first images.
public struct Conv2d: Sendable {
    /// `[Cout, Cin / groups, KH, KW]`.
    public let weight: Tensor
    /// `[Cout]` or nil.
    public let bias: Tensor?
    /// `(height, width)` step between output positions.
    public let stride: (Int, Int)
    /// `(height, width)` zeros added on both sides.
    public let padding: (Int, Int)
    /// `(height, width)` spacing between kernel taps.
    public let dilation: (Int, Int)
    /// Channel groups.
    public let groups: Int

    /// Creates the layer, checking the weight shapes.
    /// - Throws: ``NNError`` if `weight` is not 4-D, `bias` is not `[Cout]`, or a parameter is invalid.
    public init(weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1) throws {
        guard weight.rank == 4 else {
            throw NNError.shapeMismatch(layer: "Conv2d", tensor: "weight", expected: "[Cout, Cin/groups, KH, KW]", got: weight.shape)
        }
        guard stride.0 >= 1, stride.1 >= 1, dilation.0 >= 1, dilation.1 >= 1, padding.0 >= 0, padding.1 >= 0,
              groups >= 1, weight.shape[0] % groups == 0 else {
            throw NNError.invalidParameter(layer: "Conv2d", message:
                "stride \(stride), padding \(padding), dilation \(dilation), groups \(groups), Cout \(weight.shape[0])")
        }
        if let b = bias, b.shape != [weight.shape[0]] {
            throw NNError.shapeMismatch(layer: "Conv2d", tensor: "bias", expected: "[\(weight.shape[0])]", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// The layer declared in `p` (its scope is the layer): `weight` `[Cout, Cin, K, K]` and, with
    /// `bias`, `bias` `[Cout]` (random sources: fan-in weights, biases of std 0.02).
    /// - Throws: `WeightsError` for a missing or misshapen tensor, ``NNError`` for bad parameters.
    public init(_ p: ParameterSource, in cin: Int, out cout: Int, kernel k: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = false) throws {
        let w = try p.tensor("weight", shape: [cout, cin, k, k])
        let b = bias ? try p.tensor("bias", shape: [cout], initial: .std(0.02)) : nil
        try self.init(weight: w, bias: b, stride: (stride, stride), padding: (padding, padding))
    }

    /// Input channels `Cin`.
    public var inChannels: Int { weight.shape[1] * groups }
    /// Output channels `Cout`.
    public var outChannels: Int { weight.shape[0] }
    /// `(KH, KW)`.
    public var kernelSize: (Int, Int) { (weight.shape[2], weight.shape[3]) }

    /// `[B, Cin, H, W] → [B, Cout, Hout, Wout]` (a 3-D `[Cin, H, W]` input gives `[Cout, Hout, Wout]`).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// Output `(Hout, Wout)` for an `h × w` input, or nil when the input is smaller than the kernel.
    public func outputSize(height h: Int, width w: Int) -> (Int, Int)? {
        guard let ho = conv2dOutputLength(inputLength: h, kernel: weight.shape[2], stride: stride.0, padding: padding.0, dilation: dilation.0),
              let wo = conv2dOutputLength(inputLength: w, kernel: weight.shape[3], stride: stride.1, padding: padding.1, dilation: dilation.1)
        else { return nil }
        return (ho, wo)
    }

    /// One image from raw buffers (groups must be 1): `input` `[Cin, h, w]` → `output`
    /// `[Cout, Hout, Wout]`, both contiguous; either may be a channel slice of a larger image.
    public func apply(input: UnsafePointer<Float>, height h: Int, width w: Int, output: UnsafeMutablePointer<Float>) {
        precondition(groups == 1, "Conv2d.apply(input:…) needs groups == 1")
        weight.scalars.withUnsafeBufferPointer { wp in
            let run = { (b: UnsafePointer<Float>?) in
                conv2d(input: input, channels: inChannels, height: h, width: w, weight: wp.baseAddress!,
                       outChannels: outChannels, kernel: kernelSize, bias: b, stride: stride, padding: padding,
                       dilation: dilation, output: output)
            }
            if let bias { bias.scalars.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        }
    }
}

/// Batch normalisation at inference (`torch.nn.BatchNorm1d/2d` in `eval()`): per channel
/// `y = (x − running_mean) / sqrt(running_var + eps) · weight + bias`, channels on axis 1.
///
/// Following a convolution it is exactly an affine map of that convolution's output channels, so
/// ``folded(into:)`` merges it into the convolution's weight and bias once at load (DESIGN.md
/// habit 3); the result differs from convolving then normalising only by float rounding.
public struct BatchNorm: Sendable {
    /// Per-channel multiplier `weight / sqrt(running_var + eps)`.
    public let scale: [Float]
    /// Per-channel offset `bias − running_mean · scale`.
    public let shift: [Float]

    /// Builds the inference affine map from the layer's parameters and running statistics.
    /// `weight`/`bias` nil means `affine=False` (1 and 0).
    /// - Throws: ``NNError`` when the tensors are not matching 1-D vectors or a variance is negative.
    public init(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) throws {
        let c = runningMean.count
        for (name, t) in [("running_mean", runningMean), ("running_var", runningVar), ("weight", weight), ("bias", bias)] {
            guard let t else { continue }
            guard t.rank == 1, t.count == c else {
                throw NNError.shapeMismatch(layer: "BatchNorm", tensor: name, expected: "[\(c)]", got: t.shape)
            }
        }
        guard eps >= 0, runningVar.scalars.allSatisfy({ $0 + eps > 0 }) else {
            throw NNError.invalidParameter(layer: "BatchNorm", message: "running_var + eps must be positive (eps \(eps))")
        }
        var scale = [Float](repeating: 0, count: c), shift = scale
        for i in 0..<c {
            // torch (eval): (x − mean) · rsqrt(var + eps) · weight + bias, in float.
            let s = (weight?.scalars[i] ?? 1) / (runningVar.scalars[i] + eps).squareRoot()
            scale[i] = s
            shift[i] = (bias?.scalars[i] ?? 0) - runningMean.scalars[i] * s
        }
        self.scale = scale
        self.shift = shift
    }

    /// The layer declared in `p` (its scope is the layer): `weight`, `bias`, `running_mean`,
    /// `running_var` `[channels]`; `num_batches_tracked` is skipped. Random sources give the
    /// identity (γ 1, β 0, mean 0, variance 1).
    /// - Throws: `WeightsError` for a missing or misshapen tensor, ``NNError`` for a negative variance.
    public init(_ p: ParameterSource, channels c: Int, eps: Float = 1e-5) throws {
        try self.init(weight: p.tensor("weight", shape: [c], initial: .constant(1)),
                      bias: p.tensor("bias", shape: [c], initial: .constant(0)),
                      runningMean: p.tensor("running_mean", shape: [c], initial: .constant(0)),
                      runningVar: p.tensor("running_var", shape: [c], initial: .constant(1)), eps: eps)
        p.skip("num_batches_tracked")
    }

    /// Number of channels.
    public var channels: Int { scale.count }

    /// Applies the map to `[B, C, …]` (or `[C, …]` when `x.rank == 1 + spatial`, `channelAxis` 0).
    public func callAsFunction(_ x: Tensor, channelAxis: Int = 1) -> Tensor {
        let a = x.axis(channelAxis)
        precondition(x.shape[a] == channels, "BatchNorm: \(channels) channels, input \(x.shape) axis \(a)")
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        var out = x
        out.scalars.withUnsafeMutableBufferPointer { p in
            for o in 0..<outer {
                for c in 0..<channels {
                    let base = (o * channels + c) * inner, s = scale[c], t = shift[c]
                    for j in 0..<inner { p[base + j] = p[base + j] * s + t }
                }
            }
        }
        return out
    }

    /// The convolution followed by this normalisation, as one convolution: output channel `c`'s
    /// weights times `scale[c]`, its bias `bias·scale[c] + shift[c]`.
    /// - Throws: ``NNError`` when the channel counts differ.
    public func folded(into conv: Conv2d) throws -> Conv2d {
        guard conv.outChannels == channels else {
            throw NNError.shapeMismatch(layer: "BatchNorm", tensor: "running_mean", expected: "[\(conv.outChannels)]", got: [channels])
        }
        let per = conv.weight.count / channels
        var w = conv.weight
        var b = [Float](repeating: 0, count: channels)
        w.scalars.withUnsafeMutableBufferPointer { p in
            for c in 0..<channels {
                for j in 0..<per { p[c * per + j] *= scale[c] }
                b[c] = (conv.bias?.scalars[c] ?? 0) * scale[c] + shift[c]
            }
        }
        return try Conv2d(weight: w, bias: Tensor(b), stride: conv.stride, padding: conv.padding,
                          dilation: conv.dilation, groups: conv.groups)
    }
}
