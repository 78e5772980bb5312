import Foundation
import GSVTensor
import GSVWeights

/// Multi-head attention with `torch.nn.MultiheadAttention` weights and semantics (inference:
/// no dropout), **batch-first**: inputs are `[B, L, E]` (torch's default layout is `[L, B, E]`;
/// transpose with `transposed(0, 1)`).
///
/// Weights: `in_proj_weight [3E, E]` (q, k, v stacked), `in_proj_bias [3E]`,
/// `out_proj.weight [E, E]`, `out_proj.bias [E]`. Scores are `q·kᵀ / √(E / heads)`. The one
/// attention mask the models use is a key-padding mask (padded batch rows of the encoders).
public struct MultiHeadAttention: Sendable {
    /// Model width `E`.
    public let embedDim: Int
    /// Number of heads; `E` is divisible by it.
    public let numHeads: Int
    /// Channels per head, `E / heads`.
    public var headDim: Int { embedDim / numHeads }
    /// Packed q/k/v projection `[3E, E]` in its stored precision.
    public let inProj: WeightMatrix
    /// `[3E]` or nil.
    public let inProjBias: Tensor?
    /// `out_proj.weight [E, E]` in its stored precision.
    public let outProjWeight: WeightMatrix
    /// `out_proj.bias [E]` or nil.
    public let outProjBias: Tensor?
    private let splitBias: [Tensor]?

    /// `in_proj_weight [3E, E]` as Float32 (a widened copy when stored as fp16).
    public var inProjWeight: Tensor { inProj.widened }
    /// `out_proj` as a Float32 `Linear` (a widened copy when stored as fp16).
    public var outProj: Linear { Linear(weight: outProjWeight.widened, bias: outProjBias) }

    /// - Throws: ``NNError`` when shapes disagree or `E` is not divisible by `numHeads`.
    public init(inProjWeight: Tensor, inProjBias: Tensor?, outProjWeight: Tensor, outProjBias: Tensor?,
                numHeads: Int) throws {
        guard inProjWeight.rank == 2 else {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "in_proj_weight", expected: "[3E, E]",
                                        got: inProjWeight.shape)
        }
        let e = inProjWeight.shape[1]
        guard outProjWeight.rank == 2 else {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "out_proj.weight", expected: "[\(e), \(e)]",
                                        got: outProjWeight.shape)
        }
        try self.init(inProj: .float(inProjWeight), inProjBias: inProjBias, outProj: .float(outProjWeight),
                      outProjBias: outProjBias, numHeads: numHeads)
    }

    /// Attention over weights kept in their stored precision (fp16 stays fp16 in memory).
    /// - Throws: ``NNError`` when shapes disagree or `E` is not divisible by `numHeads`.
    public init(inProj: WeightMatrix, inProjBias: Tensor?, outProj: WeightMatrix, outProjBias: Tensor?,
                numHeads: Int) throws {
        guard inProj.rows == 3 * inProj.cols else {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "in_proj_weight", expected: "[3E, E]",
                                        got: [inProj.rows, inProj.cols])
        }
        let e = inProj.cols
        guard numHeads >= 1, e % numHeads == 0 else {
            throw NNError.invalidParameter(layer: "MultiHeadAttention", message: "embed dim \(e) not divisible by \(numHeads) heads")
        }
        if let b = inProjBias, b.shape != [3 * e] {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "in_proj_bias", expected: "[\(3 * e)]", got: b.shape)
        }
        guard outProj.rows == e, outProj.cols == e else {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "out_proj.weight", expected: "[\(e), \(e)]",
                                        got: [outProj.rows, outProj.cols])
        }
        if let b = outProjBias, b.shape != [e] {
            throw NNError.shapeMismatch(layer: "MultiHeadAttention", tensor: "out_proj.bias", expected: "[\(e)]", got: b.shape)
        }
        embedDim = e
        self.numHeads = numHeads
        self.inProj = inProj
        self.inProjBias = inProjBias
        outProjWeight = outProj
        self.outProjBias = outProjBias
        splitBias = inProjBias?.split(sizes: [e, e, e], axis: 0)
    }

    /// Declares self-attention stored as separate projections — `<query>`, `<key>`, `<value>`,
    /// `<output>`, each `.weight [dim, dim]` + `.bias [dim]` (the Hugging Face encoders' layout) —
    /// and packs q, k, v at load into one projection (a layout change made once, never in forward).
    /// Weights keep their stored precision (random sources draw fp16).
    /// - Throws: `WeightsError` for missing or misshapen weights, ``NNError`` when `dim` is not
    ///   divisible by `heads`.
    public init(_ p: ParameterSource, query: String, key: String, value: String, output: String, dim: Int, heads: Int,
                biasInit: ParameterInit = .std(0.02)) throws {
        let q = try Linear(p.scoped(query), in: dim, out: dim, stored: true, biasInit: biasInit)
        let k = try Linear(p.scoped(key), in: dim, out: dim, stored: true, biasInit: biasInit)
        let v = try Linear(p.scoped(value), in: dim, out: dim, stored: true, biasInit: biasInit)
        let o = try Linear(p.scoped(output), in: dim, out: dim, stored: true, biasInit: biasInit)
        try self.init(inProj: try WeightMatrix.stacked([q.weight, k.weight, v.weight], layer: "MultiHeadAttention"),
                      inProjBias: Tensor.concat([q.bias, k.bias, v.bias].compactMap { $0 }, axis: 0),
                      outProj: o.weight, outProjBias: o.bias, numHeads: heads)
    }

    /// Bytes of projection weights held.
    public var weightByteCount: Int { inProj.byteCount + outProjWeight.byteCount }

    /// Attention of `query [B, L, E]` over `key`/`value [B, S, E]`; returns `[B, L, E]`.
    /// - Parameter keyPaddingMask: `[B, S]`, `true` = padding (ignored key).
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Mask? = nil) -> Tensor {
        precondition(query.rank == 3 && query.shape[2] == embedDim, "MHA query must be [B, L, \(embedDim)], got \(query.shape)")
        precondition(key.rank == 3 && key.shape == value.shape && key.shape[0] == query.shape[0] && key.shape[2] == embedDim,
                     "MHA key/value must be [B, S, \(embedDim)] matching the query batch, got \(key.shape) / \(value.shape)")
        let e = embedDim
        let q = inProj.rows(0..<e).linear(query, bias: splitBias?[0])
        let k = inProj.rows(e..<(2 * e)).linear(key, bias: splitBias?[1])
        let v = inProj.rows((2 * e)..<(3 * e)).linear(value, bias: splitBias?[2])
        let (b, s) = (key.shape[0], key.shape[1])
        return k.scalars.withUnsafeBufferPointer { kp in
            v.scalars.withUnsafeBufferPointer { vp in
                attend(q, keys: kp.baseAddress, values: vp.baseAddress, batchStride: s * embedDim, headStride: headDim,
                       rowStride: embedDim, length: s, batch: b, keyPaddingMask: keyPaddingMask)
            }
        }
    }

    /// Self-attention (`query = key = value = x`), with one packed projection.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Mask? = nil) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == embedDim, "MHA input must be [B, L, \(embedDim)], got \(x.shape)")
        let parts = inProj.linear(x, bias: inProjBias).split(sizes: [embedDim, embedDim, embedDim], axis: 2)
        let (b, l) = (x.shape[0], x.shape[1])
        return parts[1].scalars.withUnsafeBufferPointer { kp in
            parts[2].scalars.withUnsafeBufferPointer { vp in
                attend(parts[0], keys: kp.baseAddress, values: vp.baseAddress, batchStride: l * embedDim,
                       headStride: headDim, rowStride: embedDim, length: l, batch: b, keyPaddingMask: keyPaddingMask)
            }
        }
    }

    /// Scaled dot-product attention of projected queries `q [B, L, E]` over keys/values read from
    /// strided storage: head `h` of batch `b` starts at `b·batchStride + h·headStride`, rows are
    /// `rowStride` apart. Returns `out_proj` of the merged heads, `[B, L, E]`.
    private func attend(_ q: Tensor, keys: UnsafePointer<Float>?, values: UnsafePointer<Float>?, batchStride: Int,
                        headStride: Int, rowStride: Int, length s: Int, batch b: Int, keyPaddingMask: Mask?) -> Tensor {
        let (l, h, d, e) = (q.shape[1], numHeads, headDim, embedDim)
        var scores = [Float](repeating: 0, count: b * h * l * s)
        let scale = 1 / Float(d).squareRoot()
        q.scalars.withUnsafeBufferPointer { qp in
            scores.withUnsafeMutableBufferPointer { sp in
                guard let q0 = qp.baseAddress, let s0 = sp.baseAddress, let k0 = keys else { return }
                for bi in 0..<b { for hi in 0..<h {
                    BLAS.sgemm(transB: true, m: l, n: s, k: d, alpha: scale,
                               a: q0 + bi * l * e + hi * d, lda: e,
                               b: k0 + bi * batchStride + hi * headStride, ldb: rowStride,
                               c: s0 + (bi * h + hi) * l * s, ldc: s)
                } }
            }
        }
        var logits = Tensor(shape: [b, h, l, s], scalars: scores)
        if let kpm = keyPaddingMask {
            precondition(kpm.shape == [b, s], "key padding mask must be [\(b), \(s)], got \(kpm.shape)")
            logits = logits.maskedFill(kpm.reshaped([b, 1, 1, s]), -.infinity)
        }
        let probs = softmax(logits, axis: -1)
        var merged = [Float](repeating: 0, count: b * l * e)
        probs.scalars.withUnsafeBufferPointer { pp in
            merged.withUnsafeMutableBufferPointer { mp in
                guard let p0 = pp.baseAddress, let m0 = mp.baseAddress, let v0 = values else { return }
                for bi in 0..<b { for hi in 0..<h {
                    BLAS.sgemm(m: l, n: d, k: s, a: p0 + (bi * h + hi) * l * s, lda: s,
                               b: v0 + bi * batchStride + hi * headStride, ldb: rowStride,
                               c: m0 + bi * l * e + hi * d, ldc: e)
                } }
            }
        }
        return outProjWeight.linear(Tensor(shape: [b, l, e], scalars: merged), bias: outProjBias)
    }
}
