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
/// the kernels; see ``GSVNN/WeightMatrix``); biases and norms are fp32.
public struct T2SBlock: Sendable {
    /// Model width.
    public let dim: Int
    /// Attention heads.
    public let heads: Int
    /// `self_attn.in_proj_weight` `[3d, d]` (q | k | v) and `self_attn.in_proj_bias` `[3d]`.
    public let inProj: Linear
    /// `self_attn.out_proj` `[d, d]` + `[d]`.
    public let outProj: Linear
    /// `linear1` `[4d, d]` + `[4d]`.
    public let linear1: Linear
    /// `linear2` `[d, 4d]` + `[d]`.
    public let linear2: Linear
    /// `norm1` (`weight`, `bias` `[d]`).
    public let norm1: LayerNorm
    /// `norm2`.
    public let norm2: LayerNorm

    /// Declares one layer, scoped at `h.layers.<i>` of the GPT state dict. Random sources draw
    /// the matrices as fp16 with torch's default law (uniform ±1/√fan-in, as the biases), the norms
    /// at 1 / 0.
    /// - Throws: `WeightsError` for a missing key or a wrong shape.
    public init(_ p: ParameterSource, config c: T2SConfig) throws {
        let d = c.hiddenDim, f = c.ffnDim
        dim = d
        heads = c.heads
        // torch's Linear init: U(±1/√fan-in) for weight and bias, i.e. σ = 1/√(3·fan-in).
        let gain = 1 / Float(3).squareRoot()
        func linear(_ weight: String, _ bias: String, out: Int, in fin: Int) throws -> Linear {
            try Linear(weight: WeightMatrix(p, weight, rows: out, cols: fin, initial: .fanIn(gain: gain)),
                       bias: p.tensor(bias, shape: [out], initial: .std(gain / Float(fin).squareRoot())))
        }
        inProj = try linear("self_attn.in_proj_weight", "self_attn.in_proj_bias", out: 3 * d, in: d)
        outProj = try linear("self_attn.out_proj.weight", "self_attn.out_proj.bias", out: d, in: d)
        linear1 = try linear("linear1.weight", "linear1.bias", out: f, in: d)
        linear2 = try linear("linear2.weight", "linear2.bias", out: d, in: f)
        norm1 = try LayerNorm(p.scoped("norm1"), dim: d, eps: c.layerNormEps)
        norm2 = try LayerNorm(p.scoped("norm2"), dim: d, eps: c.layerNormEps)
    }

    /// `T2SBlock.process_prompt` for one sequence `x` `[T, d]` whose first `textLength` rows are text
    /// and the rest the audio prompt: text rows attend to all text; audio rows attend to all text and
    /// to audio positions up to their own (causal). Writes keys/values to positions `0..<T` of `layer`.
    func prefill(_ x: Tensor, textLength: Int, cache: T2SSequenceCache, layer: Int) -> Tensor {
        let t = x.shape[0], d = dim, heads = heads
        let qkv = inProj(x)  // [T, 3d]
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
        inProj.apply(rows: s.x, count: b, into: s.qkv)
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
        outProj.apply(rows: s.attention, count: b, into: s.projected)
        norm1.addNormalizing(rows: s.x, delta: s.projected, count: b)
        linear1.apply(rows: s.x, count: b, into: s.ffn, relu: true)
        linear2.apply(rows: s.ffn, count: b, into: s.projected)
        norm2.addNormalizing(rows: s.x, delta: s.projected, count: b)
    }

    /// out_proj, residual + norm1, FFN, residual + norm2, over every row of `x` `[T, d]`: the
    /// products into reused buffers, bias (and ReLU), residual and norm fused per row and spread
    /// over threads.
    private func finish(_ x: Tensor, attention: Tensor) -> Tensor {
        let t = x.shape[0], d = dim, f = linear1.outFeatures
        var h = x.scalars
        let projected = UnsafeMutablePointer<Float>.allocate(capacity: t * d)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: t * f)
        defer {
            projected.deallocate()
            hidden.deallocate()
        }
        attention.scalars.withUnsafeBufferPointer { ap in
            guard let a0 = ap.baseAddress else { return }
            outProj.apply(rows: a0, count: t, into: projected)
        }
        h.withUnsafeMutableBufferPointer { hp in
            guard let h0 = hp.baseAddress else { return }
            norm1.addNormalizing(rows: h0, delta: projected, count: t)
            linear1.apply(rows: h0, count: t, into: hidden, relu: true)
            linear2.apply(rows: hidden, count: t, into: projected)
            norm2.addNormalizing(rows: h0, delta: projected, count: t)
        }
        return Tensor(shape: [t, d], scalars: h)
    }
}
