import Foundation
import GSVKernels
import GSVTensor
import Testing
@testable import GSVModels

/// The fused decode attention over the blocked, transposed key cache (`T2SSequenceCache`), against
/// a Double reference, at each kernel level (its own test, skipped where the CPU lacks it).
@Suite struct T2SAttentionKernelTests {
    /// softmax(scale · q·kⱼ) · V per head, in Double.
    static func reference(q: [Float], keys: [[Float]], values: [[Float]], heads: Int) -> [Float] {
        let d = q.count, hd = d / heads
        var out = [Float](repeating: 0, count: d)
        for h in 0..<heads {
            let lo = h * hd
            var s = keys.map { k -> Double in
                var dot = 0.0
                for i in lo..<(lo + hd) { dot += Double(q[i]) * Double(k[i]) }
                return dot / Double(hd).squareRoot()
            }
            let m = s.max() ?? 0
            s = s.map { Foundation.exp($0 - m) }
            let total = s.reduce(0, +)
            for i in lo..<(lo + hd) {
                var acc = 0.0
                for (j, v) in values.enumerated() { acc += s[j] / total * Double(v[i]) }
                out[i] = Float(acc)
            }
        }
        return out
    }

    // Head widths 32 (v2), 24 (the fixture GPT: 96 / 4), 40 and 8; lengths inside one key block,
    // across blocks, and over several blocks.
    static let shapes = [(512, 16), (96, 4), (80, 2), (16, 2)]

    @Test(arguments: shapes) func portableLevel(dim: Int, heads: Int) { cachedAttention(dim: dim, heads: heads, level: .portable) }
    @Test(.enabled(if: KernelLevel.simd.isAvailable, Comment(rawValue: KernelLevel.simd.unavailableReason)), arguments: shapes)
    func simdLevel(dim: Int, heads: Int) { cachedAttention(dim: dim, heads: heads, level: .simd) }
    @Test(.enabled(if: KernelLevel.wide.isAvailable, Comment(rawValue: KernelLevel.wide.unavailableReason)), arguments: shapes)
    func wideLevel(dim: Int, heads: Int) { cachedAttention(dim: dim, heads: heads, level: .wide) }

    func cachedAttention(dim: Int, heads: Int, level: KernelLevel) {
        var rng = SeededRNG(seed: UInt64(dim * 31 + heads))
        let capacity = 150
        let cache = T2SSequenceCache(layers: 2, dim: dim, heads: heads, capacity: capacity)
        var keys: [[Float]] = [], values: [[Float]] = []
        for pos in 0..<capacity {
            let k = rng.uniform(shape: [dim], lo: -2, hi: 2).scalars, v = rng.uniform(shape: [dim], lo: -1, hi: 1).scalars
            keys.append(k)
            values.append(v)
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    cache.store(layer: 1, position: pos, key: kp.baseAddress!, value: vp.baseAddress!)
                }
            }
        }
        let q = rng.uniform(shape: [dim], lo: -2, hi: 2).scalars
        var scores = [Float](repeating: 0, count: cache.scoreStride)
        for len in [1, 2, 15, 16, 17, 63, 64, 65, 130, capacity] {
            let want = Self.reference(q: q, keys: Array(keys[0..<len]), values: Array(values[0..<len]), heads: heads)
            do {
                var out = [Float](repeating: .nan, count: dim)
                q.withUnsafeBufferPointer { qp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        out.withUnsafeMutableBufferPointer { op in
                            let hd = dim / heads
                            for h in 0..<heads {
                                gsv_attend_at(Int32(level.rawValue), qp.baseAddress! + h * hd, hd,
                                              cache.headKeys(1, h), cache.keyBlockStride,
                                              cache.headValues(1, h), hd, len, 1 / Float(hd).squareRoot(),
                                              sp.baseAddress!, op.baseAddress! + h * hd)
                            }
                        }
                    }
                }
                let err = zip(out, want).map { abs($0 - $1) }.max() ?? .infinity
                #expect(err < 2e-6, "dim \(dim) heads \(heads) len \(len) level \(level): max error \(err)")
            }
            // The cache's own entry point (all heads at the best level) agrees as well.
            var out = [Float](repeating: .nan, count: dim)
            q.withUnsafeBufferPointer { qp in
                scores.withUnsafeMutableBufferPointer { sp in
                    out.withUnsafeMutableBufferPointer { op in
                        cache.attend(layer: 1, query: qp.baseAddress!, length: len, heads: 0..<heads,
                                     scores: sp.baseAddress!, out: op.baseAddress!)
                    }
                }
            }
            #expect((zip(out, want).map { abs($0 - $1) }.max() ?? .infinity) < 2e-6, "attend, len \(len)")
        }
    }

    @Test func addLayerNormMatchesTensorLayerNorm() {
        var rng = SeededRNG(seed: 5)
        for n in [1, 7, 512, 1000] {
            let x = rng.uniform(shape: [n], lo: -3, hi: 5), delta = rng.uniform(shape: [n], lo: -1, hi: 1)
            let w = rng.uniform(shape: [n], lo: 0.5, hi: 1.5), b = rng.uniform(shape: [n], lo: -0.2, hi: 0.2)
            let want = layerNorm(x + delta, weight: w, bias: b, eps: 1e-5).scalars
            var got = x.scalars
            got.withUnsafeMutableBufferPointer { gp in
                gsv_add_layer_norm(gp.baseAddress!, delta.scalars, w.scalars, b.scalars, n, 1e-5)
            }
            #expect((zip(got, want).map { abs($0 - $1) }.max() ?? .infinity) < 1e-5, "n \(n)")
        }
    }
}
