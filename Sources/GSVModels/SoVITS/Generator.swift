// Follows GPT_SoVITS/module/models.py: Generator (HiFi-GAN), and GPT_SoVITS/module/modules.py: ResBlock1.

import GSVNN
import GSVTensor

/// HiFi-GAN residual block: for each dilation `d`,
/// `x += conv2(lrelu(conv1_d(lrelu(x, 0.1)), 0.1))`.
///
/// Follows GPT_SoVITS/module/modules.py: ResBlock1 (weight-normed convolutions, folded at load).
struct ResBlock1: Sendable {
    let convs1: [SoVITSConv]  // convs1.<k>
    let convs2: [SoVITSConv]  // convs2.<k>

    init(_ p: ParameterSource, channels: Int, kernelSize k: Int, dilations: [Int]) throws {
        convs1 = try dilations.enumerated().map { i, d in
            let pad = (k * d - d) / 2
            return try p.conv1d("convs1.\(i)", in: channels, out: channels, kernel: k, padding: (pad, pad),
                                dilation: d, weightNorm: true)
        }
        convs2 = try dilations.indices.map { i in
            try p.conv1d("convs2.\(i)", in: channels, out: channels, kernel: k, padding: ((k - 1) / 2, (k - 1) / 2),
                         weightNorm: true)
        }
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        for (c1, c2) in zip(convs1, convs2) {
            addInPlace(&x, c2(c1(x, inputSlope: Generator.lreluSlope), inputSlope: Generator.lreluSlope))
        }
        return x
    }
}

/// The waveform decoder: `conv_pre` + `cond(g)`, then per stage leaky-ReLU (0.1) → transposed
/// convolution → mean of the residual blocks; leaky-ReLU (0.01) → `conv_post` (no bias) → tanh.
///
/// Follows GPT_SoVITS/module/models.py: Generator.
public struct Generator: Sendable {
    /// `modules.LRELU_SLOPE`.
    static let lreluSlope: Float = 0.1

    let convPre: SoVITSConv               // dec.conv_pre
    let cond: SoVITSConv                  // dec.cond
    let ups: [ConvTranspose1d]        // dec.ups.<i>
    let resblocks: [ResBlock1]        // dec.resblocks.<i·kernels + j>
    let convPost: SoVITSConv              // dec.conv_post
    let kernelsPerStage: Int

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        let c0 = c.upsampleInitialChannel
        convPre = try p.conv1d("conv_pre", in: c.interChannels, out: c0, kernel: 7, padding: (3, 3))
        cond = try p.conv1d("cond", in: c.ginChannels, out: c0, kernel: 1)
        var ups: [ConvTranspose1d] = []
        var blocks: [ResBlock1] = []
        var ch = c0
        for (i, (u, k)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
            let cin = c0 >> i, cout = c0 >> (i + 1)
            let w = try p.weightNormed("ups.\(i)", shape: [cin, cout, k])
            let b = try p.tensor("ups.\(i).bias", shape: [cout], initial: .std(0.02))
            ups.append(try ConvTranspose1d(weight: w, bias: b, stride: u, padding: (k - u) / 2))
            ch = cout
            for (j, (rk, rd)) in zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated() {
                blocks.append(try ResBlock1(p.scoped("resblocks.\(i * c.resblockKernelSizes.count + j)"),
                                            channels: ch, kernelSize: rk, dilations: rd))
            }
        }
        let postWeight = try p.tensor("conv_post.weight", shape: [1, ch, 7])
        // is_bias=False for v1/v2 SoVITS; a bias is accepted if a file has one.
        let postBias = try p.optionalTensor("conv_post.bias", shape: [1], randomPresent: false)
        convPost = SoVITSConv(weight: postWeight, bias: postBias, padding: (3, 3))
        (self.ups, resblocks, kernelsPerStage) = (ups, blocks, c.resblockKernelSizes.count)
    }

    /// Output samples per input frame (product of the upsampling rates).
    public var hopLength: Int { ups.reduce(1) { $0 * $1.stride } }

    /// `z` `[inter, T]`, `g` `[gin, 1]` → audio `[T · hop]` in (−1, 1).
    public func callAsFunction(_ z: Tensor, g: Tensor) -> Tensor {
        var x = convPre(z) + cond(g)
        for (i, up) in ups.enumerated() {
            x = up(leakyReLU(x, Generator.lreluSlope))
            var xs = resblocks[i * kernelsPerStage](x)
            for j in 1..<kernelsPerStage { addInPlace(&xs, resblocks[i * kernelsPerStage + j](x)) }
            x = xs / Float(kernelsPerStage)
        }
        x = convPost(x, inputSlope: 0.01).tanh()
        return x.reshaped([x.count])
    }
}
