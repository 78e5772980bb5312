import Foundation
import GSVTensor

// Follows GPT_SoVITS/module/attentions.py: MultiHeadAttention (the VITS attention used by the
// SoVITS text encoder with window_size 4, and without a window by MRTE's cross-attention).

/// Channel-first multi-head attention with optional windowed relative-position embeddings, as the
/// VITS/SoVITS `attentions.MultiHeadAttention` at inference (no dropout, no block/proximal bias —
/// GPT-SoVITS never enables them).
///
/// - Projections are 1×1 convolutions (`conv_q`, `conv_k`, `conv_v`, `conv_o`).
/// - With `windowSize = w`, `emb_rel_k` / `emb_rel_v` (`[1 or heads, 2w+1, channels/heads]`) add a
///   learned term for each key within `w` positions of the query: score(i, j) gains
///   `q_i · emb_rel_k[j − i + w]` and the output gains `Σ_j p(i, j) · emb_rel_v[j − i + w]`
///   (the official pad/skew computes exactly this; positions beyond the window contribute zero).
/// - Masked scores are set to **−10⁴** (not −∞), as the official code does, so a fully masked row
///   becomes a uniform distribution instead of NaN.
public struct RelativePositionAttention: Sendable {
    /// The value masked scores are set to (`masked_fill(mask == 0, -1e4)`).
    public static let maskedScore: Float = -1e4

    /// Number of heads.
    public let numHeads: Int
    /// Relative-position window `w` (SoVITS text encoder: 4), or nil for plain attention.
    public let windowSize: Int?
    /// 1×1 projections (`conv_q`, `conv_k`, `conv_v`: `[C, C, 1]`; `conv_o`: `[Cout, C, 1]`).
    public let convQ: Conv1d, convK: Conv1d, convV: Conv1d, convO: Conv1d
    /// `emb_rel_k` / `emb_rel_v`, `[1 or heads, 2·window + 1, C / heads]`, when a window is used.
    public let embRelK: Tensor?, embRelV: Tensor?

    /// Model width `C`.
    public var channels: Int { convQ.outChannels }
    /// Channels per head.
    public var headDim: Int { channels / numHeads }

    /// - Throws: ``NNError`` if the projections are not 1×1 and consistent, `channels` is not
    ///   divisible by `numHeads`, or the relative embeddings do not match the window.
    public init(convQ: Conv1d, convK: Conv1d, convV: Conv1d, convO: Conv1d, numHeads: Int,
                windowSize: Int? = nil, embRelK: Tensor? = nil, embRelV: Tensor? = nil) throws {
        let c = convQ.outChannels
        for (name, conv) in [("conv_q", convQ), ("conv_k", convK), ("conv_v", convV), ("conv_o", convO)] {
            guard conv.kernelSize == 1, conv.inChannels == c, conv.groups == 1, conv.stride == 1,
                  conv.padding == (0, 0) else {
                throw NNError.shapeMismatch(layer: "RelativePositionAttention", tensor: "\(name).weight",
                                            expected: "[\(name == "conv_o" ? "Cout" : "\(c)"), \(c), 1]",
                                            got: conv.weight.shape)
            }
        }
        guard convK.outChannels == c, convV.outChannels == c else {
            throw NNError.invalidParameter(layer: "RelativePositionAttention", message: "q/k/v projections differ in width")
        }
        guard numHeads >= 1, c % numHeads == 0 else {
            throw NNError.invalidParameter(layer: "RelativePositionAttention", message: "\(c) channels not divisible by \(numHeads) heads")
        }
        if let w = windowSize {
            guard w >= 0 else {
                throw NNError.invalidParameter(layer: "RelativePositionAttention", message: "window \(w) < 0")
            }
            for (name, e) in [("emb_rel_k", embRelK), ("emb_rel_v", embRelV)] {
                guard let e, e.rank == 3, e.shape[0] == 1 || e.shape[0] == numHeads,
                      e.shape[1] == 2 * w + 1, e.shape[2] == c / numHeads else {
                    throw NNError.shapeMismatch(layer: "RelativePositionAttention", tensor: name,
                                                expected: "[1 or \(numHeads), \(2 * w + 1), \(c / numHeads)]",
                                                got: (name == "emb_rel_k" ? embRelK : embRelV)?.shape ?? [])
                }
            }
        }
        self.convQ = convQ
        self.convK = convK
        self.convV = convV
        self.convO = convO
        self.numHeads = numHeads
        self.windowSize = windowSize
        self.embRelK = windowSize == nil ? nil : embRelK
        self.embRelV = windowSize == nil ? nil : embRelV
    }

    /// Attends `x [B, C, T]` (queries) over `context [B, C, S]` (keys/values); returns `[B, Cout, T]`.
    /// - Parameter mask: `true` = blocked, broadcasting to `[B, heads, T, S]` (the official
    ///   `attn_mask == 0`; e.g. `[B, 1, T, S]` built from the sequence masks).
    /// - Precondition: with a window, `S == T` (relative attention is self-attention only).
    public func callAsFunction(_ x: Tensor, context: Tensor, mask: Mask? = nil) -> Tensor {
        precondition(x.rank == 3 && context.rank == 3 && x.shape[0] == context.shape[0]
                     && x.shape[1] == channels && context.shape[1] == channels,
                     "RelativePositionAttention: x \(x.shape) / context \(context.shape) must be [B, \(channels), T]")
        let (b, h, d, t, s) = (x.shape[0], numHeads, headDim, x.shape[2], context.shape[2])
        if windowSize != nil { precondition(s == t, "relative attention needs S == T, got \(s) vs \(t)") }
        let scale = Float(Double(d).squareRoot())
        let q = (convQ(x) / scale).reshaped([b, h, d, t]).transposed(2, 3)      // [B, H, T, d]
        let k = convK(context).reshaped([b, h, d, s])                            // [B, H, d, S] = kᵀ
        let v = convV(context).reshaped([b, h, d, s]).transposed(2, 3)           // [B, H, S, d]
        var scores = matmul(q, k)                                                // [B, H, T, S]
        if let w = windowSize, let ek = embRelK {
            addRelativeKeys(&scores, q: q, emb: ek, window: w, b: b, h: h, t: t, d: d)
        }
        if let m = mask { scores = scores.maskedFill(m, RelativePositionAttention.maskedScore) }
        let p = softmax(scores, axis: -1)
        var out = matmul(p, v)                                                   // [B, H, T, d]
        if let w = windowSize, let ev = embRelV {
            addRelativeValues(&out, p: p, emb: ev, window: w, b: b, h: h, t: t, d: d)
        }
        return convO(out.transposed(2, 3).reshaped([b, h * d, t]))
    }

    /// scores[b, h, i, j] += q[b, h, i, :] · emb[h′, j − i + w, :] for |j − i| ≤ w.
    private func addRelativeKeys(_ scores: inout Tensor, q: Tensor, emb: Tensor, window w: Int,
                                 b: Int, h: Int, t: Int, d: Int) {
        let shared = emb.shape[0] == 1
        q.scalars.withUnsafeBufferPointer { qp in
            emb.scalars.withUnsafeBufferPointer { ep in
                scores.scalars.withUnsafeMutableBufferPointer { sp in
                    for bh in 0..<(b * h) {
                        let he = shared ? 0 : bh % h
                        for i in 0..<t {
                            let qrow = (bh * t + i) * d
                            for rel in -w...w {
                                let j = i + rel
                                guard j >= 0 && j < t else { continue }
                                let erow = (he * (2 * w + 1) + rel + w) * d
                                var acc: Float = 0
                                for c in 0..<d { acc += qp[qrow + c] * ep[erow + c] }
                                sp[(bh * t + i) * t + j] += acc
                            }
                        }
                    }
                }
            }
        }
    }

    /// out[b, h, i, :] += Σ_{|j − i| ≤ w} p[b, h, i, j] · emb[h′, j − i + w, :].
    private func addRelativeValues(_ out: inout Tensor, p: Tensor, emb: Tensor, window w: Int,
                                   b: Int, h: Int, t: Int, d: Int) {
        let shared = emb.shape[0] == 1
        p.scalars.withUnsafeBufferPointer { pp in
            emb.scalars.withUnsafeBufferPointer { ep in
                out.scalars.withUnsafeMutableBufferPointer { op in
                    for bh in 0..<(b * h) {
                        let he = shared ? 0 : bh % h
                        for i in 0..<t {
                            let orow = (bh * t + i) * d
                            for rel in -w...w {
                                let j = i + rel
                                guard j >= 0 && j < t else { continue }
                                let weight = pp[(bh * t + i) * t + j]
                                let erow = (he * (2 * w + 1) + rel + w) * d
                                for c in 0..<d { op[orow + c] += weight * ep[erow + c] }
                            }
                        }
                    }
                }
            }
        }
    }
}
