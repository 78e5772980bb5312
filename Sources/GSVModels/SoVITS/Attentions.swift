// Follows GPT_SoVITS/module/attentions.py: Encoder, MultiHeadAttention, FFN.
//
// All tensors are channel-first `[C, T]` for one unpadded sequence (batch 1, as `SynthesizerTrn.decode`
// runs), so the official masks are all ones and multiplying by them is the identity.

import Foundation
import GSVNN
import GSVTensor

/// Multi-head attention with 1×1 convolution projections and optional relative-position
/// embeddings shared across heads (window `w`: distances `−w…w`, others contribute 0).
///
/// Follows GPT_SoVITS/module/attentions.py: MultiHeadAttention (heads_share=True, no proximal bias,
/// no block length). The official pad/reshape relative↔absolute trick is computed in closed form:
/// `score[i,j] += (q_i/√d)·emb_rel_k[j−i+w]` and `out_i += Σ_j p[i,j]·emb_rel_v[j−i+w]`.
struct RelativeMultiHeadAttention: Sendable {
    let convQ: SoVITSConv  // conv_q
    let convK: SoVITSConv  // conv_k
    let convV: SoVITSConv  // conv_v
    let convO: SoVITSConv  // conv_o
    /// `emb_rel_k` `[2w+1, d]` (nil without a window).
    let relK: Tensor?
    /// `emb_rel_v` `[2w+1, d]`.
    let relV: Tensor?
    let heads: Int
    let window: Int

    init(_ p: ParameterSource, channels: Int, outChannels: Int, heads: Int, window: Int?) throws {
        convQ = try p.conv1d("conv_q", in: channels, out: channels, kernel: 1)
        convK = try p.conv1d("conv_k", in: channels, out: channels, kernel: 1)
        convV = try p.conv1d("conv_v", in: channels, out: channels, kernel: 1)
        convO = try p.conv1d("conv_o", in: channels, out: outChannels, kernel: 1)
        self.heads = heads
        let d = channels / heads
        if let w = window {
            relK = try p.tensor("emb_rel_k", shape: [1, 2 * w + 1, d], initial: .std(1 / Float(d).squareRoot()))
                .reshaped([2 * w + 1, d])
            relV = try p.tensor("emb_rel_v", shape: [1, 2 * w + 1, d], initial: .std(1 / Float(d).squareRoot()))
                .reshaped([2 * w + 1, d])
            self.window = w
        } else {
            relK = nil
            relV = nil
            self.window = 0
        }
    }

    /// `x` queries `[C, Tq]`, `c` keys/values `[C, Tk]` → `[Cout, Tq]`.
    func callAsFunction(_ x: Tensor, _ c: Tensor) -> Tensor {
        let q = convQ(x), k = convK(c), v = convV(c)
        return convO(attention(q, k, v))
    }

    private func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
        let (ch, tq, tk) = (q.shape[0], q.shape[1], k.shape[1])
        let d = ch / heads
        let scale = 1 / Float(d).squareRoot()
        let qs = q * scale
        let w = window
        let nRel = 2 * w + 1
        if relK != nil { precondition(tq == tk, "relative attention needs self-attention") }
        var out = [Float](repeating: 0, count: ch * tq)
        var scores = [Float](repeating: 0, count: tq * tk)
        var relLogits = [Float](repeating: 0, count: relK == nil ? 0 : tq * nRel)
        qs.scalars.withUnsafeBufferPointer { qp in
        k.scalars.withUnsafeBufferPointer { kp in
        v.scalars.withUnsafeBufferPointer { vp in
        out.withUnsafeMutableBufferPointer { op in
        scores.withUnsafeMutableBufferPointer { sp in
        relLogits.withUnsafeMutableBufferPointer { rp in
            guard let q0 = qp.baseAddress, let k0 = kp.baseAddress, let v0 = vp.baseAddress,
                  let o0 = op.baseAddress, let s0 = sp.baseAddress else { return }
            for h in 0..<heads {
                let qh = q0 + h * d * tq
                let kh = k0 + h * d * tk
                let vh = v0 + h * d * tk
                let oh = o0 + h * d * tq
                // scores[i, j] = Σ_c q[c, i] · k[c, j]
                BLAS.sgemm(transA: true, transB: false, m: tq, n: tk, k: d,
                           a: qh, lda: tq, b: kh, ldb: tk, c: s0, ldc: tk)
                if let relK, let r0 = rp.baseAddress {
                    relK.scalars.withUnsafeBufferPointer { ekp in
                        guard let e0 = ekp.baseAddress else { return }
                        // relLogits[i, r] = Σ_c q[c, i] · emb_rel_k[r, c]
                        BLAS.sgemm(transA: true, transB: true, m: tq, n: nRel, k: d,
                                   a: qh, lda: tq, b: e0, ldb: d, c: r0, ldc: nRel)
                    }
                    for i in 0..<tq {
                        for r in 0..<nRel {
                            let j = i + r - w
                            if j >= 0 && j < tk { sp[i * tk + j] += rp[i * nRel + r] }
                        }
                    }
                }
                softmaxRows(s0, rows: tq, cols: tk)
                // out[c, i] = Σ_j v[c, j] · p[i, j]
                BLAS.sgemm(transA: false, transB: true, m: d, n: tq, k: tk,
                           a: vh, lda: tk, b: s0, ldb: tk, c: oh, ldc: tq)
                if let relV {
                    relV.scalars.withUnsafeBufferPointer { evp in
                        guard let ev0 = evp.baseAddress else { return }
                        for i in 0..<tq {
                            for r in 0..<nRel {
                                let j = i + r - w
                                guard j >= 0 && j < tk else { continue }
                                let pij = sp[i * tk + j]
                                let e = ev0 + r * d
                                for cc in 0..<d { oh[cc * tq + i] += pij * e[cc] }
                            }
                        }
                    }
                }
            }
        }}}}}}
        return Tensor(shape: [ch, tq], scalars: out)
    }
}

/// Position-wise feed-forward block: conv (k, "same" padding) → ReLU → conv.
///
/// Follows GPT_SoVITS/module/attentions.py: FFN (non-causal, activation None = ReLU).
struct FFN: Sendable {
    let conv1: SoVITSConv  // conv_1
    let conv2: SoVITSConv  // conv_2

    init(_ p: ParameterSource, channels: Int, filterChannels: Int, kernelSize k: Int) throws {
        let pad = ((k - 1) / 2, k / 2)
        conv1 = try p.conv1d("conv_1", in: channels, out: filterChannels, kernel: k, padding: pad)
        conv2 = try p.conv1d("conv_2", in: filterChannels, out: channels, kernel: k, padding: pad)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        conv2(conv1(x).relu())
    }
}

/// Post-norm transformer encoder with relative-position self-attention.
///
/// Follows GPT_SoVITS/module/attentions.py: Encoder (window 4, no flow conditioning).
struct AttentionEncoder: Sendable {
    let attnLayers: [RelativeMultiHeadAttention]  // attn_layers.<i>
    let norm1: [ChannelLayerNorm]                 // norm_layers_1.<i>
    let ffnLayers: [FFN]                          // ffn_layers.<i>
    let norm2: [ChannelLayerNorm]                 // norm_layers_2.<i>

    init(_ p: ParameterSource, channels: Int, filterChannels: Int, heads: Int, layers: Int,
         kernelSize: Int, window: Int) throws {
        var a: [RelativeMultiHeadAttention] = [], n1: [ChannelLayerNorm] = [], f: [FFN] = [], n2: [ChannelLayerNorm] = []
        for i in 0..<layers {
            a.append(try RelativeMultiHeadAttention(p.scoped("attn_layers.\(i)"), channels: channels,
                                                    outChannels: channels, heads: heads, window: window))
            n1.append(try ChannelLayerNorm(p.scoped("norm_layers_1.\(i)"), channels: channels))
            f.append(try FFN(p.scoped("ffn_layers.\(i)"), channels: channels, filterChannels: filterChannels,
                             kernelSize: kernelSize))
            n2.append(try ChannelLayerNorm(p.scoped("norm_layers_2.\(i)"), channels: channels))
        }
        (attnLayers, norm1, ffnLayers, norm2) = (a, n1, f, n2)
    }

    /// `[C, T] → [C, T]`.
    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        for i in attnLayers.indices {
            x = norm1[i](x + attnLayers[i](x, x))
            x = norm2[i](x + ffnLayers[i](x))
        }
        return x
    }
}
