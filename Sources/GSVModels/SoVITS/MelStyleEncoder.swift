// Follows GPT_SoVITS/module/modules.py: MelStyleEncoder (with LinearNorm, Mish, Conv1dGLU,
// MultiHeadAttention, ScaledDotProductAttention) — the reference encoder `ref_enc`.

import Foundation
import GSVNN
import GSVTensor

/// Gated convolution with a residual: `x + a·σ(b)`, `[a; b] = conv(x)`.
///
/// Follows GPT_SoVITS/module/modules.py: Conv1dGLU (ConvNorm with "same" padding).
struct Conv1dGLU: Sendable {
    let conv: Conv1d  // conv1.conv
    let channels: Int

    init(_ p: ParameterSource, channels: Int, kernelSize k: Int) throws {
        conv = try Conv1d(p.scoped("conv1.conv"), in: channels, out: 2 * channels, kernel: k,
                          padding: ((k - 1) / 2, (k - 1) / 2))
        self.channels = channels
    }

    /// `[C, T] → [C, T]`.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = conv(x)
        let a = y.slice(axis: 0, 0..<channels), b = y.slice(axis: 0, channels..<(2 * channels))
        return x + a * b.sigmoid()
    }
}

/// Self-attention over time with Linear projections, temperature `√d_model`, and a residual.
///
/// Follows GPT_SoVITS/module/modules.py: MultiHeadAttention + ScaledDotProductAttention.
struct StyleSelfAttention: Sendable {
    let wQs: Linear  // w_qs
    let wKs: Linear  // w_ks
    let wVs: Linear  // w_vs
    let fc: Linear   // fc
    let heads: Int
    let temperature: Float

    init(_ p: ParameterSource, model d: Int, heads: Int) throws {
        let dk = d / heads
        wQs = try Linear(p.scoped("w_qs"), in: d, out: heads * dk)
        wKs = try Linear(p.scoped("w_ks"), in: d, out: heads * dk)
        wVs = try Linear(p.scoped("w_vs"), in: d, out: heads * dk)
        fc = try Linear(p.scoped("fc"), in: heads * dk, out: d)
        self.heads = heads
        temperature = Float(d).squareRoot()
    }

    /// `[T, d] → [T, d]`.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let t = x.shape[0]
        let q = wQs(x), k = wKs(x), v = wVs(x)  // [T, H·dk]
        let hd = q.shape[1], dk = hd / heads
        var out = [Float](repeating: 0, count: t * hd)
        var scores = [Float](repeating: 0, count: t * t)
        let alpha = 1 / temperature
        q.scalars.withUnsafeBufferPointer { qp in
        k.scalars.withUnsafeBufferPointer { kp in
        v.scalars.withUnsafeBufferPointer { vp in
        scores.withUnsafeMutableBufferPointer { sp in
        out.withUnsafeMutableBufferPointer { op in
            guard let q0 = qp.baseAddress, let k0 = kp.baseAddress, let v0 = vp.baseAddress,
                  let s0 = sp.baseAddress, let o0 = op.baseAddress else { return }
            for h in 0..<heads {
                BLAS.sgemm(transA: false, transB: true, m: t, n: t, k: dk, alpha: alpha,
                           a: q0 + h * dk, lda: hd, b: k0 + h * dk, ldb: hd, c: s0, ldc: t)
                softmaxRows(s0, rows: t, cols: t)
                BLAS.sgemm(m: t, n: dk, k: t, a: s0, lda: t, b: v0 + h * dk, ldb: hd, c: o0 + h * dk, ldc: hd)
            }
        }}}}}
        return fc(Tensor(shape: [t, hd], scalars: out)) + x
    }
}

/// The reference (timbre) encoder: linear spectrogram frames → one style vector `ge`.
///
/// spectral (Linear → Mish → Linear → Mish) → temporal (2 × Conv1dGLU) → self-attention →
/// fc → average over time. Follows GPT_SoVITS/module/modules.py: MelStyleEncoder (eval: no dropout).
public struct MelStyleEncoder: Sendable {
    let spectral0: Linear               // spectral.0.fc
    let spectral3: Linear               // spectral.3.fc
    let temporal: [Conv1dGLU]           // temporal.{0,1}
    let slfAttn: StyleSelfAttention     // slf_attn
    let fc: Linear                      // fc.fc
    /// Spectrogram bins read (704 for v2, all for v1).
    public let inputBins: Int

    init(_ p: ParameterSource, inputBins: Int, hidden: Int, outDim: Int, kernelSize: Int, heads: Int) throws {
        spectral0 = try Linear(p.scoped("spectral.0.fc"), in: inputBins, out: hidden)
        spectral3 = try Linear(p.scoped("spectral.3.fc"), in: hidden, out: hidden)
        temporal = try (0..<2).map { try Conv1dGLU(p.scoped("temporal.\($0)"), channels: hidden, kernelSize: kernelSize) }
        slfAttn = try StyleSelfAttention(p.scoped("slf_attn"), model: hidden, heads: heads)
        fc = try Linear(p.scoped("fc.fc"), in: hidden, out: outDim)
        self.inputBins = inputBins
    }

    /// `spec` `[bins ≥ inputBins, T]` (only the first `inputBins` rows are read) → `ge` `[outDim]`.
    func callAsFunction(_ spec: Tensor) -> Tensor {
        let s = spec.shape[0] == inputBins ? spec : spec.slice(axis: 0, 0..<inputBins)
        var x = s.transposed()                      // [T, bins]
        x = spectral3(spectral0(x).mish()).mish()   // [T, hidden]
        var c = x.transposed()                      // [hidden, T]
        for glu in temporal { c = glu(c) }
        x = slfAttn(c.transposed())                 // [T, hidden]
        x = fc(x)                                   // [T, out]
        return x.mean(axis: 0)
    }
}
