// Follows GPT_SoVITS/AR/models/t2s_model.py: T2SBlock, T2SMLP (process_prompt, decode_next_token),
// with the weights of GPT_SoVITS/AR/modules/transformer.py: TransformerEncoderLayer (post-norm,
// `norm_first=False`, packed `self_attn.in_proj_weight` q|k|v, ReLU FFN).

import GSVTensor
import GSVWeights

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-sequence key/value storage for every layer, preallocated for the whole decode
/// (`[layers][capacity][hiddenDim]`, keys and values before the head split, as the official cache).
///
/// Owned by one decode call (DESIGN habit 4); never shared between requests. Rows are written before
/// they are read, so the memory is left uninitialised (large caches cost no page faults up front).
final class T2SSequenceCache {
    let layers: Int
    let dim: Int
    let capacity: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    /// Positions stored (the same for every layer between steps).
    var length = 0

    init(layers: Int, dim: Int, capacity: Int) {
        self.layers = layers
        self.dim = dim
        self.capacity = capacity
        keys = .allocate(capacity: max(1, layers * capacity * dim))
        values = .allocate(capacity: max(1, layers * capacity * dim))
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always) func keyRows(_ layer: Int) -> UnsafeMutablePointer<Float> { keys + layer * capacity * dim }
    @inline(__always) func valueRows(_ layer: Int) -> UnsafeMutablePointer<Float> { values + layer * capacity * dim }
}

/// One post-norm transformer layer of the T2S GPT:
/// `x = LN1(x + out_proj(attn(in_proj(x))))`, `x = LN2(x + linear2(relu(linear1(x))))`.
///
/// Matrices stay in their stored precision (fp16 for every GPT-SoVITS checkpoint, widened inside
/// the kernels; see ``T2SWeightMatrix``); biases and norms are fp32.
public struct T2SBlock: Sendable {
    /// Model width.
    public let dim: Int
    /// Attention heads.
    public let heads: Int
    /// `self_attn.in_proj_weight` `[3d, d]` (q | k | v).
    public let inProj: T2SWeightMatrix
    /// `self_attn.in_proj_bias` `[3d]`.
    public let inProjBias: Tensor
    /// `self_attn.out_proj.weight` `[d, d]`.
    public let outProj: T2SWeightMatrix
    /// `self_attn.out_proj.bias` `[d]`.
    public let outProjBias: Tensor
    /// `linear1.weight` `[4d, d]`.
    public let linear1: T2SWeightMatrix
    /// `linear1.bias` `[4d]`.
    public let linear1Bias: Tensor
    /// `linear2.weight` `[d, 4d]`.
    public let linear2: T2SWeightMatrix
    /// `linear2.bias` `[d]`.
    public let linear2Bias: Tensor
    /// `norm1.weight`, `norm1.bias` `[d]`.
    public let norm1Weight: Tensor, norm1Bias: Tensor
    /// `norm2.weight`, `norm2.bias` `[d]`.
    public let norm2Weight: Tensor, norm2Bias: Tensor
    /// LayerNorm epsilon.
    public let eps: Float

    /// Reads one layer from `r`, scoped at `h.layers.<i>` of the GPT state dict.
    /// - Throws: `WeightsError` for a missing key or a wrong shape.
    public init(reader r: WeightReader, config c: T2SConfig) throws {
        let d = c.hiddenDim, f = c.ffnDim
        dim = d
        heads = c.heads
        eps = c.layerNormEps
        inProj = try T2SWeightMatrix(r, "self_attn.in_proj_weight", rows: 3 * d, cols: d)
        inProjBias = try r.tensor("self_attn.in_proj_bias", shape: [3 * d])
        outProj = try T2SWeightMatrix(r, "self_attn.out_proj.weight", rows: d, cols: d)
        outProjBias = try r.tensor("self_attn.out_proj.bias", shape: [d])
        linear1 = try T2SWeightMatrix(r, "linear1.weight", rows: f, cols: d)
        linear1Bias = try r.tensor("linear1.bias", shape: [f])
        linear2 = try T2SWeightMatrix(r, "linear2.weight", rows: d, cols: f)
        linear2Bias = try r.tensor("linear2.bias", shape: [d])
        norm1Weight = try r.tensor("norm1.weight", shape: [d])
        norm1Bias = try r.tensor("norm1.bias", shape: [d])
        norm2Weight = try r.tensor("norm2.weight", shape: [d])
        norm2Bias = try r.tensor("norm2.bias", shape: [d])
    }

    /// A layer with random weights (uniform ±1/√fan_in, as torch's default init; norms at 1/0).
    public init(randomWith c: T2SConfig, rng: inout SeededRNG) {
        let d = c.hiddenDim, f = c.ffnDim
        dim = d
        heads = c.heads
        eps = c.layerNormEps
        func matrix(_ rows: Int, _ cols: Int) -> T2SWeightMatrix {
            let a = 1 / Float(cols).squareRoot()
            return .half(HalfMatrix(rng.uniform(shape: [rows, cols], lo: -a, hi: a)))
        }
        func vector(_ n: Int, _ fanIn: Int) -> Tensor {
            let a = 1 / Float(fanIn).squareRoot()
            return rng.uniform(shape: [n], lo: -a, hi: a)
        }
        inProj = matrix(3 * d, d)
        inProjBias = vector(3 * d, d)
        outProj = matrix(d, d)
        outProjBias = vector(d, d)
        linear1 = matrix(f, d)
        linear1Bias = vector(f, d)
        linear2 = matrix(d, f)
        linear2Bias = vector(d, f)
        norm1Weight = Tensor(repeating: 1, shape: [d])
        norm1Bias = Tensor.zeros([d])
        norm2Weight = Tensor(repeating: 1, shape: [d])
        norm2Bias = Tensor.zeros([d])
    }

    /// `T2SBlock.process_prompt` for one sequence `x` `[T, d]` whose first `textLength` rows are text
    /// and the rest the audio prompt: text rows attend to all text; audio rows attend to all text and
    /// to audio positions up to their own (causal). Writes keys/values to rows `0..<T` of `layer`.
    func prefill(_ x: Tensor, textLength: Int, cache: T2SSequenceCache, layer: Int) -> Tensor {
        let t = x.shape[0], d = dim, hd = dim / heads
        let qkv = inProj.linear(x, bias: inProjBias)  // [T, 3d]
        let kRows = cache.keyRows(layer), vRows = cache.valueRows(layer)
        var attn = [Float](repeating: 0, count: t * d)
        var scores = [Float](repeating: 0, count: t * t)
        let scale = 1 / Float(hd).squareRoot()
        qkv.scalars.withUnsafeBufferPointer { qp in
            guard let q0 = qp.baseAddress else { return }
            for r in 0..<t {
                (kRows + r * d).update(from: q0 + r * 3 * d + d, count: d)
                (vRows + r * d).update(from: q0 + r * 3 * d + 2 * d, count: d)
            }
            scores.withUnsafeMutableBufferPointer { sp in
                attn.withUnsafeMutableBufferPointer { ap in
                    guard let s0 = sp.baseAddress, let a0 = ap.baseAddress else { return }
                    for h in 0..<heads {
                        // scores = scale · Q_h K_hᵀ  [T, T]
                        BLAS.sgemm(transB: true, m: t, n: t, k: hd, alpha: scale,
                                   a: q0 + h * hd, lda: 3 * d, b: kRows + h * hd, ldb: d, c: s0, ldc: t)
                        // Row i sees the prefix of length max(textLength, i + 1): exactly the official
                        // mask (text: all text; audio: all text + causal audio).
                        for i in 0..<t {
                            softmaxPrefix(s0 + i * t, visible: max(textLength, i + 1), total: t)
                        }
                        BLAS.sgemm(m: t, n: hd, k: t, a: s0, lda: t, b: vRows + h * hd, ldb: d,
                                   c: a0 + h * hd, ldc: d)
                    }
                }
            }
        }
        cache.length = t
        return finish(x, attention: Tensor(shape: [t, d], scalars: attn))
    }

    /// `T2SBlock.decode_next_token` for one new row per sequence: `x` `[B, d]`, row `b` belonging to
    /// `caches[b]`, written at position `caches[b].length` of `layer` and attending to every cached
    /// position (including itself).
    func decodeStep(_ x: Tensor, caches: [T2SSequenceCache], layer: Int) -> Tensor {
        let b = x.shape[0], d = dim, hd = dim / heads
        let qkv = inProj.linear(x, bias: inProjBias)  // [B, 3d]
        var attn = [Float](repeating: 0, count: b * d)
        let maxLen = caches.map { $0.length + 1 }.max() ?? 1
        // One score row per head, so the heads can run on different threads.
        var scores = [Float](repeating: 0, count: heads * maxLen)
        let scale = 1 / Float(hd).squareRoot()
        let heads = heads
        qkv.scalars.withUnsafeBufferPointer { qp in
            guard let q0 = qp.baseAddress else { return }
            scores.withUnsafeMutableBufferPointer { sp in
                attn.withUnsafeMutableBufferPointer { ap in
                    guard let s0 = sp.baseAddress, let a0 = ap.baseAddress else { return }
                    for (row, cache) in caches.enumerated() {
                        let pos = cache.length
                        precondition(pos < cache.capacity, "T2S KV cache overflow: position \(pos), capacity \(cache.capacity)")
                        let kRows = cache.keyRows(layer), vRows = cache.valueRows(layer)
                        let q = q0 + row * 3 * d
                        (kRows + pos * d).update(from: q + d, count: d)
                        (vRows + pos * d).update(from: q + 2 * d, count: d)
                        let len = pos + 1
                        // Row blocks small enough that OpenBLAS runs each sgemv on the calling
                        // thread (it threads gemv from m·n ≥ 9216): waking its threads for a
                        // 32-wide head costs more than the product and fights the weight kernels.
                        let block = max(1, 8192 / max(hd, 1))
                        // Heads in parallel once the cache is long enough to be worth it.
                        Parallel.forRanges(heads, grain: max(1, 16_384 / max(len * hd, 1))) { hr in
                            for h in hr {
                                let sh = s0 + h * maxLen
                                var j0 = 0
                                while j0 < len {
                                    let m = min(block, len - j0)
                                    BLAS.sgemv(m: m, n: hd, alpha: scale, a: kRows + j0 * d + h * hd, lda: d,
                                               x: q + h * hd, y: sh + j0)
                                    j0 += m
                                }
                                softmaxPrefix(sh, visible: len, total: len)
                                j0 = 0
                                while j0 < len {
                                    let m = min(block, len - j0)
                                    BLAS.sgemv(trans: true, m: m, n: hd, a: vRows + j0 * d + h * hd, lda: d, x: sh + j0,
                                               beta: j0 == 0 ? 0 : 1, y: a0 + row * d + h * hd)
                                    j0 += m
                                }
                            }
                        }
                    }
                }
            }
        }
        return finish(x, attention: Tensor(shape: [b, d], scalars: attn))
    }

    /// out_proj, residual + norm1, FFN, residual + norm2.
    private func finish(_ x: Tensor, attention: Tensor) -> Tensor {
        let a = outProj.linear(attention, bias: outProjBias)
        let h = layerNorm(x + a, weight: norm1Weight, bias: norm1Bias, eps: eps)
        let ff = linear2.linear(linear1.linear(h, bias: linear1Bias).relu(), bias: linear2Bias)
        return layerNorm(h + ff, weight: norm2Weight, bias: norm2Bias, eps: eps)
    }
}

/// In-place softmax over the first `visible` entries of a row of `total`; the rest become 0
/// (masked keys, as `F.scaled_dot_product_attention` with a boolean mask).
@inline(__always)
func softmaxPrefix(_ row: UnsafeMutablePointer<Float>, visible: Int, total: Int) {
    var m = -Float.infinity
    for j in 0..<visible where row[j] > m { m = row[j] }
    var s: Float = 0
    for j in 0..<visible {
        let e = expf(row[j] - m)
        row[j] = e
        s += e
    }
    let inv = 1 / s
    for j in 0..<visible { row[j] *= inv }
    for j in visible..<total { row[j] = 0 }
}

