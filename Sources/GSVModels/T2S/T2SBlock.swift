// Follows GPT_SoVITS/AR/models/t2s_model.py: T2SBlock, T2SMLP (process_prompt, decode_next_token),
// with the weights of GPT_SoVITS/AR/modules/transformer.py: TransformerEncoderLayer (post-norm,
// `norm_first=False`, packed `self_attn.in_proj_weight` q|k|v, ReLU FFN).

import Foundation
import GSVKernels
import GSVNN
import GSVTensor
import GSVWeights

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-sequence key/value storage for every layer, preallocated for the whole decode.
///
/// Head-major: every (layer, head) owns one contiguous region, so the fused attention kernel reads
/// each head's keys and values as sequential streams (the official `[positions, hiddenDim]` cache,
/// read head by head, is a strided walk that measured 1.5–1.8× slower). Values are stored by
/// position (`[layers][heads][capacity][headDim]`); keys are stored transposed in blocks of
/// `GSV_KEY_BLOCK` (16) positions (`[layers][heads][capacity/16][headDim][16]`), so the kernel
/// scores 16 positions with one vertical multiply–add per head dimension and a block holds only
/// written positions.
///
/// Owned by one decode call (DESIGN habit 4); never shared between requests. Positions are written
/// before they are read, so the memory is left uninitialised (large caches cost no page faults up
/// front).
final class T2SSequenceCache {
    let layers: Int
    let dim: Int
    let heads: Int
    let headDim: Int
    let capacity: Int
    /// Blocks of `GSV_KEY_BLOCK` positions per layer and head.
    let blocks: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    /// Positions stored (the same for every layer between steps).
    var length = 0

    static let keyBlock = Int(GSV_KEY_BLOCK)

    /// - Precondition: `heads` divides `dim`.
    init(layers: Int, dim: Int, heads: Int, capacity: Int) {
        precondition(heads > 0 && dim % heads == 0, "T2S cache: \(heads) heads do not divide width \(dim)")
        self.layers = layers
        self.dim = dim
        self.heads = heads
        headDim = dim / heads
        self.capacity = capacity
        blocks = (capacity + Self.keyBlock - 1) / Self.keyBlock
        keys = .allocate(capacity: max(1, layers * blocks * Self.keyBlock * dim))
        values = .allocate(capacity: max(1, layers * capacity * dim))
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Floats from one key block of a head to its next (`headDim · 16`).
    var keyBlockStride: Int { headDim * Self.keyBlock }
    @inline(__always) func headKeys(_ layer: Int, _ head: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * heads + head) * blocks * keyBlockStride
    }
    @inline(__always) func headValues(_ layer: Int, _ head: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * heads + head) * capacity * headDim
    }

    /// Stores the key and value rows (`dim` floats each, all heads) of position `pos` in `layer`.
    @inline(__always) func store(layer: Int, position pos: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        precondition(pos < capacity, "T2S KV cache overflow: position \(pos), capacity \(capacity)")
        let hd = headDim, blockOffset = (pos / Self.keyBlock) * keyBlockStride + pos % Self.keyBlock
        for h in 0..<heads {
            let kb = headKeys(layer, h) + blockOffset, k = key + h * hd
            for c in 0..<hd { kb[c * Self.keyBlock] = k[c] }
            (headValues(layer, h) + pos * hd).update(from: value + h * hd, count: hd)
        }
    }

    /// Softmax attention of one query row (`dim` floats, all heads) over positions `0..<len` of
    /// `layer`, heads `range` of the cache's ``heads``, into `out` (`dim` floats). `scores` holds at
    /// least ``scoreStride`` floats.
    @inline(__always) func attend(layer: Int, query q: UnsafePointer<Float>, length len: Int, heads range: Range<Int>,
                                  scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let hd = headDim
        let scale = 1 / Float(hd).squareRoot()
        for h in range {
            gsv_attend_at(T2SSequenceCache.attentionLevel, q + h * hd, hd, headKeys(layer, h), keyBlockStride,
                          headValues(layer, h), hd, len, scale, scores, out + h * hd)
        }
    }

    /// Score floats one ``attend(layer:query:length:heads:scores:out:)`` call needs.
    var scoreStride: Int { blocks * Self.keyBlock }

    /// The attention kernel's code level (``Tuning/attentionLevel``: `GSV_ATTENTION_LEVEL`,
    /// `GSV_CPU_LEVEL`; `portable` forces the plain loops).
    static let attentionLevel = Int32(Tuning.attentionLevel.rawValue)
}

/// Buffers of one decode call's step loop, reused by every layer and step (no allocation per step).
final class T2SDecodeScratch {
    let rows: Int
    let dim: Int
    let heads: Int
    /// Current hidden rows `[rows, dim]`, updated in place layer by layer.
    let x: UnsafeMutablePointer<Float>
    let qkv: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
    let projected: UnsafeMutablePointer<Float>
    let ffn: UnsafeMutablePointer<Float>
    /// One score row per (row, head) task.
    let scores: UnsafeMutablePointer<Float>
    let scoreStride: Int

    init(rows: Int, dim: Int, ffnDim: Int, heads: Int, scoreStride: Int) {
        self.rows = rows
        self.dim = dim
        self.heads = heads
        self.scoreStride = scoreStride
        x = .allocate(capacity: rows * dim)
        qkv = .allocate(capacity: rows * 3 * dim)
        attention = .allocate(capacity: rows * dim)
        projected = .allocate(capacity: rows * dim)
        ffn = .allocate(capacity: rows * ffnDim)
        scores = .allocate(capacity: rows * heads * scoreStride)
    }

    deinit {
        for p in [x, qkv, attention, projected, ffn, scores] { p.deallocate() }
    }
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
    /// to audio positions up to their own (causal). Writes keys/values to positions `0..<T` of `layer`.
    func prefill(_ x: Tensor, textLength: Int, cache: T2SSequenceCache, layer: Int) -> Tensor {
        let t = x.shape[0], d = dim, heads = heads
        let qkv = inProj.linear(x, bias: inProjBias)  // [T, 3d]
        var attn = [Float](repeating: 0, count: t * d)
        qkv.scalars.withUnsafeBufferPointer { qp in
            guard let q0 = qp.baseAddress else { return }
            for r in 0..<t {
                cache.store(layer: layer, position: r, key: q0 + r * 3 * d + d, value: q0 + r * 3 * d + 2 * d)
            }
            attn.withUnsafeMutableBufferPointer { ap in
                guard let a0 = ap.baseAddress else { return }
                nonisolated(unsafe) let out = a0
                // Row i sees the prefix of length max(textLength, i + 1): exactly the official mask
                // (text: all text; audio: all text + causal audio). Tasks are (row, head) pairs.
                let stride = cache.scoreStride
                Parallel.forRanges(t * heads, grain: max(1, 65_536 / max(t * d / heads, 1))) { r in
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: stride)
                    defer { scores.deallocate() }
                    var task = r.lowerBound
                    while task < r.upperBound {
                        let row = task / heads, h0 = task % heads, h1 = min(heads, h0 + (r.upperBound - task))
                        cache.attend(layer: layer, query: q0 + row * 3 * d, length: max(textLength, row + 1), heads: h0..<h1,
                                     scores: scores, out: out + row * d)
                        task += h1 - h0
                    }
                }
            }
        }
        cache.length = t
        return finish(x, attention: Tensor(shape: [t, d], scalars: attn))
    }

    /// `T2SBlock.decode_next_token` for one new row per sequence, in place: rows `0..<caches.count`
    /// of `s.x` (`[B, d]`), row `b` belonging to `caches[b]`, written at position `caches[b].length`
    /// of `layer` and attending to every cached position (including itself). Allocates nothing.
    func decodeStep(_ s: T2SDecodeScratch, caches: [T2SSequenceCache], layer: Int) {
        let b = caches.count, d = dim, heads = heads
        precondition(b <= s.rows, "T2S decode scratch holds \(s.rows) rows, \(b) requested")
        inProj.multiply(s.x, rows: b, into: s.qkv, bias: inProjBias)
        var longest = 0
        for (row, cache) in caches.enumerated() {
            let q = s.qkv + row * 3 * d
            cache.store(layer: layer, position: cache.length, key: q + d, value: q + 2 * d)
            longest = max(longest, cache.length + 1)
        }
        nonisolated(unsafe) let (qkv, attention, scores) = (s.qkv, s.attention, s.scores)
        let stride = s.scoreStride, hd = d / heads
        // Heads of all rows in parallel once the caches are long enough to be worth it.
        Parallel.forRanges(b * heads, grain: max(1, 16_384 / max(longest * hd, 1))) { r in
            for task in r {
                let row = task / heads, h = task % heads
                caches[row].attend(layer: layer, query: qkv + row * 3 * d, length: caches[row].length + 1, heads: h..<(h + 1),
                                   scores: scores + task * stride, out: attention + row * d)
            }
        }
        outProj.multiply(s.attention, rows: b, into: s.projected)
        addBiasAndNormalize(s.x, s.projected, bias: outProjBias, weight: norm1Weight, normBias: norm1Bias, rows: b)
        linear1.multiply(s.x, rows: b, into: s.ffn)
        addBiasAndReLU(s.ffn, rows: b)
        linear2.multiply(s.ffn, rows: b, into: s.projected)
        addBiasAndNormalize(s.x, s.projected, bias: linear2Bias, weight: norm2Weight, normBias: norm2Bias, rows: b)
    }

    /// out_proj, residual + norm1, FFN, residual + norm2, over every row of `x` `[T, d]`: the
    /// products into reused buffers, bias, ReLU, residual and norms fused per row and spread over
    /// threads.
    private func finish(_ x: Tensor, attention: Tensor) -> Tensor {
        let t = x.shape[0], d = dim, f = linear1.rows
        var h = x.scalars
        let projected = UnsafeMutablePointer<Float>.allocate(capacity: t * d)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: t * f)
        defer {
            projected.deallocate()
            hidden.deallocate()
        }
        attention.scalars.withUnsafeBufferPointer { ap in
            guard let a0 = ap.baseAddress else { return }
            outProj.multiply(a0, rows: t, into: projected)
        }
        h.withUnsafeMutableBufferPointer { hp in
            guard let h0 = hp.baseAddress else { return }
            addBiasAndNormalize(h0, projected, bias: outProjBias, weight: norm1Weight, normBias: norm1Bias, rows: t)
            linear1.multiply(h0, rows: t, into: hidden)
            addBiasAndReLU(hidden, rows: t)
            linear2.multiply(hidden, rows: t, into: projected)
            addBiasAndNormalize(h0, projected, bias: linear2Bias, weight: norm2Weight, normBias: norm2Bias, rows: t)
        }
        return Tensor(shape: [t, d], scalars: h)
    }

    /// Row by row: `h = relu(h + linear1.bias)` over `rows` rows of the FFN width.
    private func addBiasAndReLU(_ h: UnsafeMutablePointer<Float>, rows: Int) {
        let f = linear1.rows
        linear1Bias.scalars.withUnsafeBufferPointer { bp in
            guard let b0 = bp.baseAddress else { return }
            nonisolated(unsafe) let (hid, bias) = (h, b0)
            Parallel.forRanges(rows, grain: max(1, 65_536 / max(f, 1))) { r in
                for row in r {
                    let p = hid + row * f
                    for j in 0..<f { let v = p[j] + bias[j]; p[j] = v > 0 ? v : 0 }
                }
            }
        }
    }

    /// Row by row: `x = LayerNorm(x + (delta + bias))` (the official order: the projection's bias is
    /// added to the projection before the residual).
    private func addBiasAndNormalize(_ x: UnsafeMutablePointer<Float>, _ delta: UnsafeMutablePointer<Float>, bias: Tensor,
                                     weight: Tensor, normBias: Tensor, rows: Int) {
        let d = dim, eps = eps
        bias.scalars.withUnsafeBufferPointer { bp in
            weight.scalars.withUnsafeBufferPointer { wp in
                normBias.scalars.withUnsafeBufferPointer { np in
                    guard let b0 = bp.baseAddress, let w0 = wp.baseAddress, let n0 = np.baseAddress else { return }
                    nonisolated(unsafe) let (xs, ds, b, w, nb) = (x, delta, b0, w0, n0)
                    Parallel.forRanges(rows, grain: max(1, 16_384 / max(d, 1))) { r in
                        for row in r {
                            let dr = ds + row * d
                            for j in 0..<d { dr[j] += b[j] }
                            gsv_add_layer_norm(xs + row * d, dr, w, nb, d, eps)
                        }
                    }
                }
            }
        }
    }
}
