import Foundation
import GSVTensor

/// The forms of `attn_mask` that torch attention accepts.
public enum AttentionMask: Sendable {
    /// Boolean mask, `true` = the query may **not** attend to that key (the
    /// `nn.MultiheadAttention` convention; note `F.scaled_dot_product_attention` uses the opposite).
    case blocked(Mask)
    /// Float mask added to the attention scores (0 = keep, `-inf` = block).
    case additive(Tensor)
}

/// Per-request, preallocated key/value storage for incremental (autoregressive) attention.
///
/// Each layer holds `[batch, heads, capacity, headDim]` keys and values; ``append(layer:keys:values:)``
/// writes new positions in place, so decoding never reallocates. All batch entries share one length
/// (padding is expressed with masks, as in the official batched T2S decoder).
/// A value type owned by one synthesis (DESIGN habit 4); pass it `inout`.
public struct KVCache: Sendable {
    /// Number of layers (independent key/value stores).
    public let layerCount: Int
    /// Sequences decoded together.
    public let batch: Int
    /// Attention heads per layer.
    public let heads: Int
    /// Channels per head.
    public let headDim: Int
    /// Maximum positions per layer.
    public let capacity: Int
    /// Positions stored so far, per layer.
    public private(set) var lengths: [Int]
    private var keyStore: [Float]
    private var valueStore: [Float]

    /// Allocates zeroed storage for `layers × batch × heads × capacity × headDim` keys and values.
    /// - Throws: ``NNError/invalidParameter(layer:message:)`` for non-positive sizes.
    public init(layers: Int, batch: Int, heads: Int, headDim: Int, capacity: Int) throws {
        guard layers > 0, batch > 0, heads > 0, headDim > 0, capacity > 0 else {
            throw NNError.invalidParameter(layer: "KVCache", message:
                "layers \(layers), batch \(batch), heads \(heads), headDim \(headDim), capacity \(capacity) must be positive")
        }
        layerCount = layers
        self.batch = batch
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        lengths = Array(repeating: 0, count: layers)
        let n = layers * batch * heads * capacity * headDim
        keyStore = [Float](repeating: 0, count: n)
        valueStore = [Float](repeating: 0, count: n)
    }

    /// Bytes held by the key and value buffers.
    public var byteCount: Int { (keyStore.count + valueStore.count) * MemoryLayout<Float>.stride }

    /// Elements between consecutive (batch, head) blocks.
    var headStride: Int { capacity * headDim }

    func layerOffset(_ layer: Int) -> Int { layer * batch * heads * capacity * headDim }

    /// Forgets all positions (the storage is kept for reuse).
    public mutating func reset() {
        for i in lengths.indices { lengths[i] = 0 }
    }

    /// Appends `n` new positions to `layer`.
    /// - Parameters:
    ///   - keys, values: `[batch, n, heads · headDim]` (the layout a projection produces).
    /// - Throws: ``NNError/cacheFull(layer:length:adding:capacity:)`` when capacity would be
    ///   exceeded, ``NNError/shapeMismatch(layer:tensor:expected:got:)`` on a wrong shape.
    public mutating func append(layer: Int, keys: Tensor, values: Tensor) throws {
        precondition(layer >= 0 && layer < layerCount, "KVCache: layer \(layer) out of 0..<\(layerCount)")
        let e = heads * headDim
        guard keys.rank == 3, keys.shape[0] == batch, keys.shape[2] == e else {
            throw NNError.shapeMismatch(layer: "KVCache", tensor: "keys", expected: "[\(batch), n, \(e)]", got: keys.shape)
        }
        guard values.shape == keys.shape else {
            throw NNError.shapeMismatch(layer: "KVCache", tensor: "values", expected: "\(keys.shape)", got: values.shape)
        }
        let n = keys.shape[1], start = lengths[layer]
        guard start + n <= capacity else {
            throw NNError.cacheFull(layer: layer, length: start, adding: n, capacity: capacity)
        }
        let base = layerOffset(layer)
        let (b, h, d, hs) = (batch, heads, headDim, headStride)
        func scatter(_ src: [Float], into store: inout [Float]) {
            src.withUnsafeBufferPointer { sp in
                store.withUnsafeMutableBufferPointer { dp in
                    for bi in 0..<b { for t in 0..<n { for hi in 0..<h {
                        let s = (bi * n + t) * e + hi * d
                        let o = base + (bi * h + hi) * hs + (start + t) * d
                        for j in 0..<d { dp[o + j] = sp[s + j] }
                    } } }
                }
            }
        }
        scatter(keys.scalars, into: &keyStore)
        scatter(values.scalars, into: &valueStore)
        lengths[layer] = start + n
    }

    /// The stored keys of `layer` as `[batch, heads, length, headDim]` (a copy, for inspection).
    public func keys(layer: Int) -> Tensor { gather(keyStore, layer) }
    /// The stored values of `layer` as `[batch, heads, length, headDim]` (a copy).
    public func values(layer: Int) -> Tensor { gather(valueStore, layer) }

    private func gather(_ store: [Float], _ layer: Int) -> Tensor {
        precondition(layer >= 0 && layer < layerCount, "KVCache: layer \(layer) out of 0..<\(layerCount)")
        let len = lengths[layer]
        var out = [Float](repeating: 0, count: batch * heads * len * headDim)
        for bh in 0..<(batch * heads) {
            let src = layerOffset(layer) + bh * headStride
            for j in 0..<(len * headDim) { out[bh * len * headDim + j] = store[src + j] }
        }
        return Tensor(shape: [batch, heads, len, headDim], scalars: out)
    }

    /// Calls `body` with the key and value buffers of `layer`.
    func withLayer<R>(_ layer: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        let off = layerOffset(layer)
        return keyStore.withUnsafeBufferPointer { kp in
            valueStore.withUnsafeBufferPointer { vp in
                // Non-empty: every size is positive.
                body(kp.baseAddress.unsafelyUnwrapped + off, vp.baseAddress.unsafelyUnwrapped + off)
            }
        }
    }
}

/// Multi-head attention with `torch.nn.MultiheadAttention` weights and semantics (inference:
/// no dropout), **batch-first**: inputs are `[B, L, E]` (torch's default layout is `[L, B, E]`;
/// transpose with `transposed(0, 1)`).
///
/// Weights: `in_proj_weight [3E, E]` (q, k, v stacked), `in_proj_bias [3E]`,
/// `out_proj.weight [E, E]`, `out_proj.bias [E]`. Scores are `q·kᵀ / √(E / heads)`.
/// A query whose keys are all masked gets NaN outputs, as in torch, unless `zeroMaskedWeights` is
/// set (the official T2S helper's behaviour: masked weights are zeroed after the softmax).
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

    /// Bytes of projection weights held.
    public var weightByteCount: Int { inProj.byteCount + outProjWeight.byteCount }

    /// Attention of `query [B, L, E]` over `key`/`value [B, S, E]`; returns `[B, L, E]`.
    /// - Parameters:
    ///   - keyPaddingMask: `[B, S]`, `true` = padding (ignored key).
    ///   - attnMask: `[L, S]` or `[B·heads, L, S]` (or anything broadcasting to `[B, heads, L, S]`).
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Mask? = nil,
                               attnMask: AttentionMask? = nil, zeroMaskedWeights: Bool = false) -> Tensor {
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
                       rowStride: embedDim, length: s, batch: b, keyPaddingMask: keyPaddingMask, attnMask: attnMask,
                       zeroMaskedWeights: zeroMaskedWeights)
            }
        }
    }

    /// Self-attention (`query = key = value = x`), with one packed projection.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Mask? = nil, attnMask: AttentionMask? = nil,
                               zeroMaskedWeights: Bool = false) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == embedDim, "MHA input must be [B, L, \(embedDim)], got \(x.shape)")
        let parts = inProj.linear(x, bias: inProjBias).split(sizes: [embedDim, embedDim, embedDim], axis: 2)
        let (b, l) = (x.shape[0], x.shape[1])
        return parts[1].scalars.withUnsafeBufferPointer { kp in
            parts[2].scalars.withUnsafeBufferPointer { vp in
                attend(parts[0], keys: kp.baseAddress, values: vp.baseAddress, batchStride: l * embedDim,
                       headStride: headDim, rowStride: embedDim, length: l, batch: b,
                       keyPaddingMask: keyPaddingMask, attnMask: attnMask, zeroMaskedWeights: zeroMaskedWeights)
            }
        }
    }

    /// Incremental self-attention: projects `x [B, n, E]`, appends its keys/values to `cache` at
    /// `layer`, and attends the `n` new queries over every cached position.
    ///
    /// With no `attnMask` every new query sees all cached positions (right for one-token decode
    /// steps); a prefill of several positions passes e.g. `.blocked(Mask.causal(rows: n, cols: S))`.
    /// - Parameters:
    ///   - keyPaddingMask: `[B, S]` over all `S` cached positions after the append.
    ///   - attnMask: `[n, S]`, `[B·heads, n, S]`, or broadcasting to `[B, heads, n, S]`.
    /// - Throws: ``NNError`` when the cache is full or was built for other dimensions.
    public func callAsFunction(_ x: Tensor, cache: inout KVCache, layer: Int, keyPaddingMask: Mask? = nil,
                               attnMask: AttentionMask? = nil, zeroMaskedWeights: Bool = false) throws -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == embedDim, "MHA input must be [B, n, \(embedDim)], got \(x.shape)")
        guard cache.heads == numHeads, cache.headDim == headDim, cache.batch == x.shape[0] else {
            throw NNError.invalidParameter(layer: "MultiHeadAttention", message:
                "cache [batch \(cache.batch), heads \(cache.heads), headDim \(cache.headDim)] does not fit input \(x.shape) with \(numHeads) heads")
        }
        let parts = inProj.linear(x, bias: inProjBias).split(sizes: [embedDim, embedDim, embedDim], axis: 2)
        try cache.append(layer: layer, keys: parts[1], values: parts[2])
        let s = cache.lengths[layer], hs = cache.headStride
        return cache.withLayer(layer) { kp, vp in
            attend(parts[0], keys: kp, values: vp, batchStride: numHeads * hs, headStride: hs, rowStride: headDim,
                   length: s, batch: x.shape[0], keyPaddingMask: keyPaddingMask, attnMask: attnMask,
                   zeroMaskedWeights: zeroMaskedWeights)
        }
    }

    /// Scaled dot-product attention of projected queries `q [B, L, E]` over keys/values read from
    /// strided storage: head `h` of batch `b` starts at `b·batchStride + h·headStride`, rows are
    /// `rowStride` apart. Returns `out_proj` of the merged heads, `[B, L, E]`.
    private func attend(_ q: Tensor, keys: UnsafePointer<Float>?, values: UnsafePointer<Float>?, batchStride: Int,
                        headStride: Int, rowStride: Int, length s: Int, batch b: Int,
                        keyPaddingMask: Mask?, attnMask: AttentionMask?, zeroMaskedWeights: Bool) -> Tensor {
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
        switch attnMask {
        case .blocked(let m)?:
            logits = logits.maskedFill(m.rank == 3 && m.shape[0] == b * h ? m.reshaped([b, h, l, s]) : m, -.infinity)
        case .additive(let t)?:
            logits = logits + (t.rank == 3 && t.shape[0] == b * h ? t.reshaped([b, h, l, s]) : t)
        case nil:
            break
        }
        if let kpm = keyPaddingMask {
            precondition(kpm.shape == [b, s], "key padding mask must be [\(b), \(s)], got \(kpm.shape)")
            logits = logits.maskedFill(kpm.reshaped([b, 1, 1, s]), -.infinity)
        }
        var probs = softmax(logits, axis: -1)
        if zeroMaskedWeights {
            // Official T2S helper: masked weights → 0, so fully masked (padding) queries give zeros.
            logits.scalars.withUnsafeBufferPointer { lp in
                probs.scalars.withUnsafeMutableBufferPointer { pp in
                    for i in 0..<pp.count where lp[i] == -.infinity { pp[i] = 0 }
                }
            }
        }
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
