// 1-D convolution layers (`torch.nn.Conv1d`, `torch.nn.ConvTranspose1d`). The layer owns the
// choice of kernel (Winograd, direct, per tap, general); the kernels themselves are GSVTensor's.

import Foundation
import GSVTensor
import GSVWeights

/// A 1-D convolution layer, as `torch.nn.Conv1d` (zero padding), that owns its kernel choice.
///
/// Chosen once, at load, from the shape (measured on the v2 networks, see the thresholds):
/// - **Winograd** F(4,4) (``GSVTensor/WinogradConv1d``) for stride-1 convolutions with at least
///   ``winogradMinChannels`` input and output channels and ``winogradMinKernel`` taps;
/// - **direct** vector kernels (``GSVTensor/DirectConv1d``) for other stride-1 convolutions of at
///   most ``directMaxOutChannels`` outputs, on CPUs where they run vector code;
/// - **per tap**: other stride-1 convolutions, one sgemm per kernel tap on the shifted (padded)
///   input with the weight repacked once at load to `[K, Cout, Cin]` (no im2col buffer);
/// - **general** (``GSVTensor/conv1d(_:weight:bias:stride:padding:dilation:groups:)``) for strided
///   and grouped convolutions.
/// Only the general kernel keeps the PyTorch-layout weight, so no weight is held twice.
///
/// Weight-normed checkpoints are folded once at load (``ParameterSource/weightNormed(_:shape:dim:initial:)``).
public struct Conv1d: Sendable {
    /// The computation chosen for this layer.
    public enum Kernel: Sendable {
        /// Winograd F(4, 4).
        case winograd(WinogradConv1d)
        /// Direct vector kernels.
        case direct(DirectConv1d)
        /// One sgemm per tap; the weight packed `[K, Cout, Cin]`.
        case perTap([Float])
        /// ``GSVTensor/conv1d``; the PyTorch-layout weight `[Cout, Cin / groups, K]`.
        case general(Tensor)
    }

    /// The kernel in use.
    public let kernel: Kernel
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
    /// Input channels `Cin`.
    public let inChannels: Int
    /// Output channels `Cout`.
    public let outChannels: Int
    /// Kernel taps `K`.
    public let kernelSize: Int

    /// Stride-1 convolutions with at least this many input and output channels and
    /// ``winogradMinKernel`` taps use ``GSVTensor/WinogradConv1d``; `GSV_CONV_WINOGRAD_MIN_CHANNELS`
    /// overrides (0 = never). Measured on one core of a 2-core AMD EPYC (Zen 4), direct vs Winograd:
    /// 128 channels, 11 taps 52.5 → 33.3 ms; 7 taps at dilation 3 32.9 → 24.3 ms; 256 channels,
    /// 11 taps 25.8 → 15.2 ms; 64 channels, 7 taps 18.9 → 14.2 ms; but 3 taps at 64 channels
    /// 11.4 → 13.8 ms (slower), hence the kernel minimum.
    public static let winogradMinChannels: Int = Tuning.convWinogradMinChannels ?? 64

    /// Fewest taps for the Winograd path (a 3-tap kernel is padded to four, and loses).
    public static let winogradMinKernel = 7

    /// Stride-1 convolutions with at most this many output channels use ``GSVTensor/DirectConv1d``
    /// (where it runs vector code); `GSV_CONV_DIRECT_MAX_COUT` overrides (0 = never), for measurements.
    /// Measured (bench, 2-core AVX-512 machine): every HiFi-GAN residual stage (16–256 channels)
    /// runs faster direct than as one sgemm per tap.
    public static let directMaxOutChannels: Int = Tuning.convDirectMaxOutChannels ?? 256

    /// Creates the layer from a PyTorch-layout weight `[Cout, Cin / groups, K]` and chooses its kernel.
    /// - Parameter winogradMinChannels: overrides ``winogradMinChannels`` (tests that choose the kernel).
    /// - Throws: ``NNError`` if `weight` is not 3-D, `bias` is not `[Cout]`, or a parameter is invalid.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: (left: Int, right: Int) = (0, 0),
                dilation: Int = 1, groups: Int = 1, winogradMinChannels: Int? = nil) throws {
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
        let (cout, cin, k) = (weight.shape[0], weight.shape[1] * groups, weight.shape[2])
        (outChannels, inChannels, kernelSize) = (cout, cin, k)
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        let minWinograd = winogradMinChannels ?? Self.winogradMinChannels
        if stride != 1 || groups != 1 {
            kernel = .general(weight)
        } else if minWinograd > 0 && min(cin, cout) >= minWinograd && k >= Self.winogradMinKernel {
            kernel = .winograd(WinogradConv1d(weight: weight))
        } else if cout <= Self.directMaxOutChannels && DirectConv1d.isFast {
            kernel = .direct(DirectConv1d(weight: weight))
        } else {
            var p = [Float](repeating: 0, count: weight.count)
            weight.scalars.withUnsafeBufferPointer { src in
                p.withUnsafeMutableBufferPointer { dst in
                    for o in 0..<cout { for c in 0..<cin { for kk in 0..<k {
                        dst[(kk * cout + o) * cin + c] = src[(o * cin + c) * k + kk]
                    } } }
                }
            }
            kernel = .perTap(p)
        }
    }

    /// Symmetric padding convenience (`nn.Conv1d(..., padding=p)`).
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int, dilation: Int = 1,
                groups: Int = 1) throws {
        try self.init(weight: weight, bias: bias, stride: stride, padding: (padding, padding),
                      dilation: dilation, groups: groups)
    }

    /// Declares `<p>.weight` `[out, in / groups, kernel]` and `<p>.bias` (when `bias`) through `p`;
    /// with `weightNorm` the weight is folded from its weight-norm pair (dim 0).
    /// Random sources draw the weight with fan-in scaling and the bias with σ = 0.02 unless given.
    /// - Throws: `WeightsError` for missing or misshapen weights.
    public init(_ p: ParameterSource, in cin: Int, out cout: Int, kernel k: Int, stride: Int = 1,
                padding: (left: Int, right: Int) = (0, 0), dilation: Int = 1, groups: Int = 1, bias: Bool = true,
                weightNorm: Bool = false, biasInit: ParameterInit = .std(0.02)) throws {
        let shape = [cout, cin / groups, k]
        let w = weightNorm ? try p.weightNormed("", shape: shape) : try p.tensor("weight", shape: shape)
        let b = bias ? try p.tensor("bias", shape: [cout], initial: biasInit) : nil
        try self.init(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// The PyTorch-layout weight, for the general kernel (the others keep only their packed form).
    public var weight: Tensor? { if case .general(let w) = kernel { return w } else { return nil } }

    /// `[Cin, T] → [Cout, Tout]`, or `[B, Cin, T] → [B, Cout, Tout]`; with `inputSlope`,
    /// `leaky_relu(x, inputSlope)` is applied to the input first (fused into the padding copy on the
    /// stride-1 kernels).
    public func callAsFunction(_ x: Tensor, inputSlope: Float? = nil) -> Tensor {
        if case .general(let w) = kernel {
            let input = inputSlope.map { x.leakyRelu($0) } ?? x
            return conv1d(input, weight: w, bias: bias, stride: stride, padding: padding, dilation: dilation,
                          groups: groups)
        }
        if x.rank == 3 {
            precondition(x.shape[1] == inChannels, "Conv1d input \(x.shape), expected [B, \(inChannels), T]")
            let items = (0..<x.shape[0]).map { self(x.slice(axis: 0, $0..<($0 + 1)).squeezed(0), inputSlope: inputSlope) }
            return Tensor.concat(items.map { $0.unsqueezed(0) }, axis: 0)
        }
        precondition(x.rank == 2 && x.shape[0] == inChannels,
                     "Conv1d input \(x.shape), expected [\(inChannels), T] for weight [\(outChannels), \(inChannels), \(kernelSize)]")
        let (cin, cout, k, t) = (inChannels, outChannels, kernelSize, x.shape[1])
        let tPad = t + padding.left + padding.right
        let tOut = tPad - dilation * (k - 1)
        precondition(tOut > 0, "Conv1d input length \(t) shorter than the kernel span")
        var out = [Float](repeating: 0, count: cout * tOut)
        let padded: [Float]
        if padding.left == 0 && padding.right == 0 && inputSlope == nil {
            padded = x.scalars
        } else {
            var buf = [Float](repeating: 0, count: cin * tPad)
            x.scalars.withUnsafeBufferPointer { src in
                buf.withUnsafeMutableBufferPointer { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    if let slope = inputSlope {
                        for c in 0..<cin {
                            let (from, to) = (s + c * t, d + c * tPad + padding.left)
                            for j in 0..<t { let v = from[j]; to[j] = max(v, 0) + slope * min(v, 0) }
                        }
                    } else {
                        for c in 0..<cin { (d + c * tPad + padding.left).update(from: s + c * t, count: t) }
                    }
                }
            }
            padded = buf
        }
        out.withUnsafeMutableBufferPointer { op in
            padded.withUnsafeBufferPointer { xp in
                guard let o = op.baseAddress, let xb = xp.baseAddress else { return }
                if let bias {
                    bias.scalars.withUnsafeBufferPointer { bp in
                        for r in 0..<cout { (o + r * tOut).update(repeating: bp[r], count: tOut) }
                    }
                }
                switch kernel {
                case .direct(let direct):
                    direct.accumulate(x: xb, xStride: tPad, dilation: dilation, into: o, yStride: tOut, outLength: tOut)
                case .winograd(let winograd):
                    winograd.accumulate(x: xb, xStride: tPad, dilation: dilation, into: o, yStride: tOut, outLength: tOut)
                case .perTap(let packed):
                    packed.withUnsafeBufferPointer { wp in
                        guard let w = wp.baseAddress else { return }
                        // Column tiles keep the output block in cache while every tap accumulates into it.
                        let chunk = min(tOut, max(512, 131_072 / max(cout, 1)))
                        var t0 = 0
                        while t0 < tOut {
                            let n = min(chunk, tOut - t0)
                            for kk in 0..<k {
                                BLAS.sgemm(m: cout, n: n, k: cin, a: w + kk * cout * cin, lda: cin,
                                           b: xb + kk * dilation + t0, ldb: tPad, beta: bias == nil && kk == 0 ? 0 : 1,
                                           c: o + t0, ldc: tOut)
                            }
                            t0 += n
                        }
                    }
                case .general:
                    preconditionFailure("unreachable: the general kernel returned above")
                }
            }
        }
        return Tensor(shape: [cout, tOut], scalars: out)
    }

    // MARK: - Windows

    /// Whether ``applyWindow(_:xStride:into:yStride:outLength:scratch:)`` is available: a direct or
    /// Winograd kernel with symmetric padding (what ``padding`` would add, the caller's window holds).
    public var runsOnWindows: Bool {
        guard padding.left == padding.right else { return false }
        switch kernel {
        case .direct, .winograd: return true
        case .perTap, .general: return false
        }
    }

    /// Scratch floats ``applyWindow(_:xStride:into:yStride:outLength:scratch:)`` needs for
    /// `outLength` output columns.
    public func windowScratchCount(outLength: Int) -> Int {
        if case .winograd(let w) = kernel { return w.scratchCount(outLength: outLength, dilation: dilation) }
        return 0
    }

    /// The convolution of a window held by the caller, on the calling thread (for callers that
    /// already run one tile per thread): `x` holds `Cin` rows of `xStride` columns that include the
    /// padding (at least `outLength + (K−1)·dilation`); `y` gets `Cout` rows of `outLength` columns
    /// (`yStride` apart), bias included. `scratch` holds ``windowScratchCount(outLength:)`` floats.
    /// - Precondition: ``runsOnWindows``.
    public func applyWindow(_ x: UnsafePointer<Float>, xStride: Int, into y: UnsafeMutablePointer<Float>, yStride: Int,
                            outLength: Int, scratch: UnsafeMutablePointer<Float>) {
        for ch in 0..<outChannels {
            (y + ch * yStride).update(repeating: bias?.scalars[ch] ?? 0, count: outLength)
        }
        switch kernel {
        case .winograd(let w):
            w.accumulateSerial(x: x, xStride: xStride, dilation: dilation, into: y, yStride: yStride, outLength: outLength,
                               scratch: scratch)
        case .direct(let d):
            d.accumulateSerial(x: x, xStride: xStride, dilation: dilation, into: y, yStride: yStride, outLength: outLength)
        case .perTap, .general:
            preconditionFailure("Conv1d.applyWindow needs a direct or Winograd kernel")
        }
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

    /// Declares `<p>.weight` `[in, out / groups, kernel]` (folded from its weight-norm pair over
    /// axis 0 when `weightNorm`) and `<p>.bias` through `p`.
    /// - Throws: `WeightsError` for missing or misshapen weights, ``NNError`` for invalid parameters.
    public init(_ p: ParameterSource, in cin: Int, out cout: Int, kernel k: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, dilation: Int = 1, bias: Bool = true,
                weightNorm: Bool = false) throws {
        let shape = [cin, cout / groups, k]
        let w = weightNorm ? try p.weightNormed("", shape: shape) : try p.tensor("weight", shape: shape)
        let b = bias ? try p.tensor("bias", shape: [cout], initial: .std(0.02)) : nil
        try self.init(weight: w, bias: b, stride: stride, padding: padding, outputPadding: outputPadding, groups: groups,
                      dilation: dilation)
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
