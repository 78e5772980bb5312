// Follows GPT_SoVITS/module/attentions.py: Encoder, FFN (MultiHeadAttention is GSVNN's
// RelativePositionAttention).
//
// All tensors are channel-first `[C, T]` for one unpadded sequence (batch 1, as `SynthesizerTrn.decode`
// runs), so the official masks are all ones and multiplying by them is the identity.

import Foundation
import GSVNN
import GSVTensor

/// Position-wise feed-forward block: conv (k, "same" padding) → ReLU → conv.
///
/// Follows GPT_SoVITS/module/attentions.py: FFN (non-causal, activation None = ReLU).
struct FFN: Sendable {
    let conv1: Conv1d  // conv_1
    let conv2: Conv1d  // conv_2

    init(_ p: ParameterSource, channels: Int, filterChannels: Int, kernelSize k: Int) throws {
        let pad = ((k - 1) / 2, k / 2)
        conv1 = try Conv1d(p.scoped("conv_1"), in: channels, out: filterChannels, kernel: k, padding: pad)
        conv2 = try Conv1d(p.scoped("conv_2"), in: filterChannels, out: channels, kernel: k, padding: pad)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        conv2(conv1(x).relu())
    }
}

/// Post-norm transformer encoder with relative-position self-attention.
///
/// Follows GPT_SoVITS/module/attentions.py: Encoder (window 4, no flow conditioning).
struct AttentionEncoder: Sendable {
    let attnLayers: [RelativePositionAttention]  // attn_layers.<i>
    let norm1: [LayerNorm]                       // norm_layers_1.<i> (gamma, beta; over channels)
    let ffnLayers: [FFN]                         // ffn_layers.<i>
    let norm2: [LayerNorm]                       // norm_layers_2.<i>

    init(_ p: ParameterSource, channels: Int, filterChannels: Int, heads: Int, layers: Int,
         kernelSize: Int, window: Int) throws {
        var a: [RelativePositionAttention] = [], n1: [LayerNorm] = [], f: [FFN] = [], n2: [LayerNorm] = []
        for i in 0..<layers {
            a.append(try RelativePositionAttention(p.scoped("attn_layers.\(i)"), channels: channels,
                                                   outChannels: channels, heads: heads, window: window))
            n1.append(try LayerNorm(p.scoped("norm_layers_1.\(i)"), dim: channels, names: ("gamma", "beta")))
            f.append(try FFN(p.scoped("ffn_layers.\(i)"), channels: channels, filterChannels: filterChannels,
                             kernelSize: kernelSize))
            n2.append(try LayerNorm(p.scoped("norm_layers_2.\(i)"), dim: channels, names: ("gamma", "beta")))
        }
        (attnLayers, norm1, ffnLayers, norm2) = (a, n1, f, n2)
    }

    /// `[C, T] → [C, T]`.
    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        for i in attnLayers.indices {
            x = norm1[i](x + attnLayers[i](x, x), axis: 0)
            x = norm2[i](x + ffnLayers[i](x), axis: 0)
        }
        return x
    }
}
