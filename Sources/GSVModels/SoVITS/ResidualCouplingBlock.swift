// Follows GPT_SoVITS/module/models.py: ResidualCouplingBlock, and GPT_SoVITS/module/modules.py:
// ResidualCouplingLayer (mean_only=True), WN, Flip. Inference runs the flow in reverse only.

import Foundation
import GSVNN
import GSVTensor

/// WaveNet-like stack of gated dilated convolutions conditioned on `g`.
///
/// Follows GPT_SoVITS/module/modules.py: WN (all convolutions weight-normed, folded at load).
struct WN: Sendable {
    let inLayers: [Conv1d]        // in_layers.<i>
    let resSkipLayers: [Conv1d]   // res_skip_layers.<i>
    let condLayer: Conv1d         // cond_layer
    let hidden: Int

    init(_ p: ParameterSource, hidden h: Int, kernelSize k: Int, dilationRate: Int, layers: Int, ginChannels: Int) throws {
        condLayer = try Conv1d(p.scoped("cond_layer"), in: ginChannels, out: 2 * h * layers, kernel: 1, weightNorm: true)
        var ins: [Conv1d] = [], rs: [Conv1d] = []
        var dilation = 1
        for i in 0..<layers {
            let pad = (k * dilation - dilation) / 2
            ins.append(try Conv1d(p.scoped("in_layers.\(i)"), in: h, out: 2 * h, kernel: k, padding: (pad, pad),
                                  dilation: dilation, weightNorm: true))
            rs.append(try Conv1d(p.scoped("res_skip_layers.\(i)"), in: h, out: i < layers - 1 ? 2 * h : h, kernel: 1,
                                 weightNorm: true))
            dilation *= dilationRate
        }
        (inLayers, resSkipLayers, hidden) = (ins, rs, h)
    }

    /// `x` `[H, T]`, `g` `[gin, 1]` → `[H, T]`.
    func callAsFunction(_ input: Tensor, g: Tensor) -> Tensor {
        let h = hidden
        let t = input.shape[1]
        let cond = condLayer(g)  // [2H·L, 1]
        var x = input
        var output = Tensor.zeros([h, t])
        for i in inLayers.indices {
            let xIn = inLayers[i](x)  // [2H, T]
            var acts = [Float](repeating: 0, count: h * t)
            xIn.scalars.withUnsafeBufferPointer { xp in
                cond.scalars.withUnsafeBufferPointer { cp in
                    let off = i * 2 * h
                    for c in 0..<h {
                        let ga = cp[off + c], gb = cp[off + h + c]
                        for j in 0..<t {
                            let a = xp[c * t + j] + ga
                            let b = xp[(h + c) * t + j] + gb
                            acts[c * t + j] = Foundation.tanh(a) * (1 / (1 + Foundation.exp(-b)))
                        }
                    }
                }
            }
            let resSkip = resSkipLayers[i](Tensor(shape: [h, t], scalars: acts))
            if i < inLayers.count - 1 {
                x = x + resSkip.slice(axis: 0, 0..<h)
                output = output + resSkip.slice(axis: 0, h..<(2 * h))
            } else {
                output = output + resSkip
            }
        }
        return output
    }
}

/// Mean-only affine coupling: `x1 ← x1 − post(WN(pre(x0), g))` in reverse.
///
/// Follows GPT_SoVITS/module/modules.py: ResidualCouplingLayer (mean_only=True).
struct ResidualCouplingLayer: Sendable {
    let pre: Conv1d   // pre
    let enc: WN       // enc
    let post: Conv1d  // post
    let half: Int

    init(_ p: ParameterSource, channels: Int, hidden: Int, kernelSize: Int, dilationRate: Int, layers: Int,
         ginChannels: Int) throws {
        half = channels / 2
        pre = try Conv1d(p.scoped("pre"), in: half, out: hidden, kernel: 1)
        enc = try WN(p.scoped("enc"), hidden: hidden, kernelSize: kernelSize, dilationRate: dilationRate,
                     layers: layers, ginChannels: ginChannels)
        post = try Conv1d(p.scoped("post"), in: hidden, out: half, kernel: 1)
    }

    /// The inverse transform on `[channels, T]`.
    func reverse(_ x: Tensor, g: Tensor) -> Tensor {
        let x0 = x.slice(axis: 0, 0..<half)
        let x1 = x.slice(axis: 0, half..<(2 * half))
        let m = post(enc(pre(x0), g: g))
        return Tensor.concat([x0, x1 - m], axis: 0)
    }
}

/// The normalising flow between the prior and the decoder latent: `n_flows` ×
/// (coupling layer, channel flip).
///
/// Follows GPT_SoVITS/module/models.py: ResidualCouplingBlock; keys `flow.flows.{0,2,4,6}.*`
/// (odd indices are the parameter-free `Flip`).
public struct ResidualCouplingBlock: Sendable {
    let flows: [ResidualCouplingLayer]  // flows.<2i>

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        flows = try (0..<c.flowCount).map { i in
            try ResidualCouplingLayer(p.scoped("flows.\(2 * i)"), channels: c.interChannels, hidden: c.hiddenChannels,
                                      kernelSize: c.flowKernelSize, dilationRate: 1, layers: c.flowWNLayers,
                                      ginChannels: c.ginChannels)
        }
    }

    /// `flow(z_p, mask, g, reverse=True)`: modules in reverse order (Flip, coupling⁻¹, …).
    /// - Parameters: z: `[inter, T]`; g: `[gin, 1]`.
    public func reverse(_ z: Tensor, g: Tensor) -> Tensor {
        var x = z
        for layer in flows.reversed() {
            x = flipChannels(x)
            x = layer.reverse(x, g: g)
        }
        return x
    }

    /// `torch.flip(x, [1])` on `[C, T]`: reverses the channel order.
    func flipChannels(_ x: Tensor) -> Tensor {
        let c = x.shape[0]
        return x.indexSelect(Array((0..<c).reversed()), axis: 0)
    }
}
