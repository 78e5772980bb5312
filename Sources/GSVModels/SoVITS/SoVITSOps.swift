// Small helpers shared by the SoVITS sub-networks: convolutions and linear layers declared
// through a ParameterSource, channel-first LayerNorm (module/modules.py: LayerNorm), Mish
// (row softmax lives in GSVTensor). Internal; candidates to move into GSVTensor/GSVNN.

import Foundation
import GSVNN
import GSVTensor
import GSVWeights

extension ParameterSource {
    /// A convolution from `<name>.weight` / `<name>.bias` (`weightNorm`: `<name>.weight_g/_v`).
    func conv1d(_ name: String, in cin: Int, out cout: Int, kernel k: Int, stride: Int = 1,
                padding: (Int, Int) = (0, 0), dilation: Int = 1, bias: Bool = true,
                weightNorm: Bool = false) throws -> SoVITSConv {
        let shape = [cout, cin, k]
        let w = weightNorm ? try weightNormed(name, shape: shape) : try tensor(name + ".weight", shape: shape)
        let b = bias ? try tensor(name + ".bias", shape: [cout], initial: .std(0.02)) : nil
        return SoVITSConv(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation)
    }

    /// A `Linear` from `<name>.weight` / `<name>.bias`.
    func linear(_ name: String, in fin: Int, out fout: Int, bias: Bool = true) throws -> Linear {
        let w = try tensor(name + ".weight", shape: [fout, fin])
        let b = bias ? try tensor(name + ".bias", shape: [fout], initial: .std(0.02)) : nil
        return Linear(weight: w, bias: b)
    }
}

/// LayerNorm over the channel axis of a channel-first `[C, T]` tensor.
///
/// Follows GPT_SoVITS/module/modules.py: LayerNorm (transpose, `F.layer_norm` over channels, eps 1e-5).
struct ChannelLayerNorm: Sendable {
    /// `gamma` `[C]`.
    let gamma: Tensor
    /// `beta` `[C]`.
    let beta: Tensor
    let eps: Float

    init(_ p: ParameterSource, channels: Int, eps: Float = 1e-5) throws {
        gamma = try p.tensor("gamma", shape: [channels], initial: .constant(1))
        beta = try p.tensor("beta", shape: [channels], initial: .constant(0))
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[0] == gamma.count, "ChannelLayerNorm: input \(x.shape)")
        let (c, t) = (x.shape[0], x.shape[1])
        var out = [Float](repeating: 0, count: c * t)
        x.scalars.withUnsafeBufferPointer { xp in
            gamma.scalars.withUnsafeBufferPointer { gp in
                beta.scalars.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        var mean = [Float](repeating: 0, count: t)
                        var varc = [Float](repeating: 0, count: t)
                        for ch in 0..<c { let row = ch * t; for j in 0..<t { mean[j] += xp[row + j] } }
                        for j in 0..<t { mean[j] /= Float(c) }
                        for ch in 0..<c {
                            let row = ch * t
                            for j in 0..<t { let d = xp[row + j] - mean[j]; varc[j] += d * d }
                        }
                        for j in 0..<t { varc[j] = 1 / (varc[j] / Float(c) + eps).squareRoot() }
                        for ch in 0..<c {
                            let row = ch * t
                            let (g, b) = (gp[ch], bp[ch])
                            for j in 0..<t { op[row + j] = (xp[row + j] - mean[j]) * varc[j] * g + b }
                        }
                    }
                }
            }
        }
        return Tensor(shape: x.shape, scalars: out)
    }
}

/// Mish activation `x · tanh(softplus(x))` (module/modules.py: Mish; softplus threshold 20 as torch).
func mish(_ x: Tensor) -> Tensor {
    x.map { v in
        let sp = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
        return v * Foundation.tanh(sp)
    }
}

/// A stride-1 `Conv1d` on one channel-first sequence `[Cin, T]`. Up to
/// ``directMaxOutChannels`` output channels it runs ``GSVTensor/DirectConv1d`` (vector kernels
/// that keep output blocks in registers); wider ones run one sgemm per kernel tap on the shifted
/// (zero-padded) input, `y += W[:, :, k] · x[:, k·d ..< k·d + Tout]`, with the weight repacked once
/// at load to `[K, Cout, Cin]`. Neither needs an im2col buffer, so long HiFi-GAN sequences stay
/// cheap. Other strides use ``GSVTensor/conv1d``.
struct SoVITSConv: Sendable {
    /// PyTorch layout `[Cout, Cin, K]`, kept only for strided convolutions (stride-1 ones hold just
    /// the packed copy, so no weight is held twice).
    let weight: Tensor?
    /// `[K, Cout, Cin]` for stride 1 on the per-tap path, else empty.
    let packed: [Float]
    /// The direct kernel, for narrow stride-1 convolutions (``directMaxOutChannels``) on CPUs
    /// where it runs vector code; nil otherwise.
    let direct: DirectConv1d?
    /// The Winograd path, for wide stride-1 convolutions with long kernels
    /// (``winogradMinChannels``, ``winogradMinKernel``); when set, ``direct`` is nil.
    let winograd: WinogradConv1d?

    /// Stride-1 convolutions with at least this many input and output channels and
    /// ``winogradMinKernel`` taps use ``GSVTensor/WinogradConv1d``; `GSV_CONV_WINOGRAD_MIN_CHANNELS`
    /// overrides (0 = never). Measured on one core of a 2-core AMD EPYC (Zen 4), direct vs Winograd:
    /// 128 channels, 11 taps 52.5 → 33.3 ms; 7 taps at dilation 3 32.9 → 24.3 ms; 256 channels,
    /// 11 taps 25.8 → 15.2 ms; 64 channels, 7 taps 18.9 → 14.2 ms; but 3 taps at 64 channels
    /// 11.4 → 13.8 ms (slower), hence the kernel minimum.
    static let winogradMinChannels: Int = Tuning.convWinogradMinChannels ?? 64

    /// Fewest taps for the Winograd path (a 3-tap kernel is padded to four, and loses).
    static let winogradMinKernel = 7

    /// Stride-1 convolutions with at most this many output channels use ``GSVTensor/DirectConv1d``
    /// (where it is fast); `GSV_CONV_DIRECT_MAX_COUT` overrides (0 = never), for measurements.
    static let directMaxOutChannels: Int = {
        if let n = Tuning.convDirectMaxOutChannels { return n }
        // Measured (bench, 2-core AVX-512 machine): every HiFi-GAN residual stage (16–256
        // channels) runs faster direct than as one sgemm per tap.
        return 256
    }()
    let bias: Tensor?
    let stride: Int
    let padding: (left: Int, right: Int)
    let dilation: Int
    let inChannels: Int
    let outChannels: Int
    let kernelSize: Int

    /// - Parameter winogradMinChannels: overrides ``winogradMinChannels`` (tests).
    init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: (Int, Int) = (0, 0), dilation: Int = 1,
         winogradMinChannels: Int? = nil) {
        precondition(weight.rank == 3, "conv weight \(weight.shape)")
        let (cout, cin, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        (outChannels, inChannels, kernelSize) = (cout, cin, k)
        let minWinograd = winogradMinChannels ?? Self.winogradMinChannels
        if stride == 1 && minWinograd > 0 && min(cin, cout) >= minWinograd && k >= Self.winogradMinKernel {
            self.weight = nil
            packed = []
            direct = nil
            winograd = WinogradConv1d(weight: weight)
        } else if stride == 1 && cout <= Self.directMaxOutChannels && DirectConv1d.isFast {
            self.weight = nil
            packed = []
            direct = DirectConv1d(weight: weight)
            winograd = nil
        } else if stride == 1 {
            direct = nil
            winograd = nil
            var p = [Float](repeating: 0, count: weight.count)
            weight.scalars.withUnsafeBufferPointer { src in
                p.withUnsafeMutableBufferPointer { dst in
                    for o in 0..<cout { for c in 0..<cin { for kk in 0..<k {
                        dst[(kk * cout + o) * cin + c] = src[(o * cin + c) * k + kk]
                    } } }
                }
            }
            self.weight = nil
            packed = p
        } else {
            self.weight = weight
            packed = []
            direct = nil
            winograd = nil
        }
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// `[Cin, T] → [Cout, Tout]`; with `inputSlope`, `leaky_relu(x, inputSlope)` is applied to the
    /// input first (fused into the padding copy).
    func callAsFunction(_ x: Tensor, inputSlope: Float? = nil) -> Tensor {
        if let weight {
            let input = inputSlope.map { leakyReLU(x, $0) } ?? x
            return conv1d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
        }
        precondition(x.rank == 2 && x.shape[0] == inChannels,
                     "conv input \(x.shape), weight [\(outChannels), \(inChannels), \(kernelSize)]")
        let (cin, cout, k, t) = (inChannels, outChannels, kernelSize, x.shape[1])
        let tPad = t + padding.left + padding.right
        let tOut = tPad - dilation * (k - 1)
        precondition(tOut > 0, "conv input length \(t) shorter than the kernel span")
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
                packed.withUnsafeBufferPointer { wp in
                    guard let o = op.baseAddress, let xb = xp.baseAddress, let w = wp.baseAddress else { return }
                    if let bias {
                        bias.scalars.withUnsafeBufferPointer { bp in
                            for r in 0..<cout { (o + r * tOut).update(repeating: bp[r], count: tOut) }
                        }
                    }
                    if let direct {
                        direct.accumulate(x: xb, xStride: tPad, dilation: dilation, into: o, yStride: tOut, outLength: tOut)
                        return
                    }
                    if let winograd {
                        winograd.accumulate(x: xb, xStride: tPad, dilation: dilation, into: o, yStride: tOut, outLength: tOut)
                        return
                    }
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
            }
        }
        return Tensor(shape: [cout, tOut], scalars: out)
    }
}

/// `leaky_relu(x, slope)` without a per-element closure.
func leakyReLU(_ x: Tensor, _ slope: Float) -> Tensor {
    var out = x.scalars
    out.withUnsafeMutableBufferPointer { p in
        guard let b = p.baseAddress else { return }
        for i in 0..<p.count { let v = b[i]; b[i] = max(v, 0) + slope * min(v, 0) }
    }
    return Tensor(shape: x.shape, scalars: out)
}

/// `a += b` for equally shaped tensors, in place.
func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "addInPlace \(a.shape) vs \(b.shape)")
    b.scalars.withUnsafeBufferPointer { bp in
        a.scalars.withUnsafeMutableBufferPointer { ap in
            guard let ab = ap.baseAddress, let bb = bp.baseAddress else { return }
            for i in 0..<ap.count { ab[i] += bb[i] }
        }
    }
}
