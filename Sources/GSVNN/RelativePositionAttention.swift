// Follows GPT_SoVITS/module/attentions.py: MultiHeadAttention (the VITS attention used by the
// SoVITS text encoder with window_size 4, and without a window by MRTE's cross-attention).

import Foundation
import GSVTensor

/// Channel-first multi-head attention with 1×1 convolution projections and optional windowed
/// relative-position embeddings shared across heads, as the VITS/SoVITS `attentions.MultiHeadAttention`
/// at inference (no dropout; `heads_share=True`, no proximal bias, no block length — GPT-SoVITS
/// never enables them), on one unpadded sequence (batch 1, as `SynthesizerTrn.decode` runs).
///
/// - Projections are 1×1 convolutions (`conv_q`, `conv_k`, `conv_v`, `conv_o`).
/// - With a window `w`, `emb_rel_k` / `emb_rel_v` (`[1, 2w+1, channels/heads]`) add a learned term
///   for each key within `w` positions of the query: `score[i,j] += (q_i/√d)·emb_rel_k[j−i+w]` and
///   `out_i += Σ_j p[i,j]·emb_rel_v[j−i+w]` — the official pad/reshape relative↔absolute trick in
///   closed form; positions beyond the window contribute zero.
public struct RelativePositionAttention: Sendable {
    /// `conv_q`, `conv_k`, `conv_v` (`[C, C, 1]`) and `conv_o` (`[Cout, C, 1]`).
    public let convQ: Conv1d, convK: Conv1d, convV: Conv1d, convO: Conv1d
    /// `emb_rel_k` as `[2w+1, d]` (nil without a window).
    public let relK: Tensor?
    /// `emb_rel_v` as `[2w+1, d]` (nil without a window).
    public let relV: Tensor?
    /// Number of heads.
    public let heads: Int
    /// Relative-position window `w` (0 without relative embeddings).
    public let window: Int

    /// Declares `conv_q`/`conv_k`/`conv_v` (`channels → channels`), `conv_o` (`channels → outChannels`)
    /// and, with a window, `emb_rel_k`/`emb_rel_v` `[1, 2w+1, channels/heads]` (random: σ = d^−½).
    /// - Throws: `WeightsError` for missing or misshapen weights, ``NNError`` when `channels` is not
    ///   divisible by `heads` or the window is negative.
    public init(_ p: ParameterSource, channels: Int, outChannels: Int, heads: Int, window: Int?) throws {
        guard heads >= 1, channels % heads == 0 else {
            throw NNError.invalidParameter(layer: "RelativePositionAttention", message: "\(channels) channels not divisible by \(heads) heads")
        }
        if let w = window, w < 0 {
            throw NNError.invalidParameter(layer: "RelativePositionAttention", message: "window \(w) < 0")
        }
        convQ = try Conv1d(p.scoped("conv_q"), in: channels, out: channels, kernel: 1)
        convK = try Conv1d(p.scoped("conv_k"), in: channels, out: channels, kernel: 1)
        convV = try Conv1d(p.scoped("conv_v"), in: channels, out: channels, kernel: 1)
        convO = try Conv1d(p.scoped("conv_o"), in: channels, out: outChannels, kernel: 1)
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

    /// Model width `C`.
    public var channels: Int { convQ.outChannels }

    /// Queries from `x` `[C, Tq]`, keys and values from `c` `[C, Tk]` → `[Cout, Tq]`.
    /// - Precondition: with relative embeddings, `Tq == Tk` (self-attention).
    public func callAsFunction(_ x: Tensor, _ c: Tensor) -> Tensor {
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
        if relK != nil { precondition(tq == tk, "relative attention needs self-attention, got \(tq) vs \(tk) positions") }
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
