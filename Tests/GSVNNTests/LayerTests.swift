import Foundation
import Testing
import GSVTensor
@testable import GSVNN

func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SeededRNG(seed: seed)
    return rng.uniform(shape: shape, lo: -1, hi: 1)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct LayerTests {
    @Test func conv1dLayerMatchesFunctionAndValidates() throws {
        let w = randomTensor([4, 2, 3], seed: 1), b = randomTensor([4], seed: 2)
        let layer = try Conv1d(weight: w, bias: b, stride: 2, padding: 1, dilation: 1, groups: 1)
        let x = randomTensor([1, 2, 9], seed: 3)
        #expect(layer(x) == conv1d(x, weight: w, bias: b, stride: 2, padding: 1))
        #expect(layer.inChannels == 2 && layer.outChannels == 4 && layer.kernelSize == 3)
        #expect(throws: NNError.self) { try Conv1d(weight: randomTensor([4, 3], seed: 1), bias: nil) }
        #expect(throws: NNError.self) { try Conv1d(weight: w, bias: randomTensor([3], seed: 1)) }
        #expect(throws: NNError.self) { try Conv1d(weight: w, bias: nil, groups: 3) }
        #expect(throws: NNError.self) { try Conv1d(weight: w, bias: nil, stride: 0) }
    }

    @Test func convTransposeLayerMatchesFunctionAndValidates() throws {
        let w = randomTensor([4, 3, 4], seed: 4)
        let layer = try ConvTranspose1d(weight: w, bias: nil, stride: 2, padding: 1, groups: 2)
        let x = randomTensor([2, 4, 5], seed: 5)
        #expect(layer(x) == convTranspose1d(x, weight: w, stride: 2, padding: 1, groups: 2))
        #expect(layer.outChannels == 6 && layer(x).shape == [2, 6, 10])
        #expect(throws: NNError.self) { try ConvTranspose1d(weight: w, bias: nil, stride: 2, outputPadding: 2) }
        #expect(throws: NNError.self) { try ConvTranspose1d(weight: w, bias: randomTensor([6], seed: 1)) }  // Cout is 3
    }

    @Test func normsAndEmbedding() throws {
        let x = randomTensor([2, 4, 6], seed: 6)
        let w = randomTensor([6], seed: 7), b = randomTensor([6], seed: 8)
        #expect(try LayerNorm(weight: w, bias: b)(x) == layerNorm(x, weight: w, bias: b))
        let gw = randomTensor([4], seed: 9)
        #expect(try GroupNorm(groups: 2, weight: gw, bias: nil)(x) == groupNorm(x, groups: 2, weight: gw, bias: nil))
        #expect(throws: NNError.self) { try GroupNorm(groups: 3, weight: gw, bias: nil) }
        #expect(throws: NNError.self) { try LayerNorm(weight: w, bias: randomTensor([5], seed: 1)) }
        let e = try Embedding(weight: Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5]))
        #expect(e([1, 1, 0], shape: [1, 3]).shape == [1, 3, 2])
        #expect(e([2, 0]).scalars == [4, 5, 0, 1])
        #expect(throws: NNError.self) { try Embedding(weight: Tensor([1, 2])) }
    }
}

@Suite struct AttentionTests {
    let e = 8, heads = 2

    func makeMHA(seed: UInt64) throws -> MultiHeadAttention {
        try MultiHeadAttention(inProjWeight: randomTensor([3 * e, e], seed: seed),
                               inProjBias: randomTensor([3 * e], seed: seed + 1),
                               outProjWeight: randomTensor([e, e], seed: seed + 2),
                               outProjBias: randomTensor([e], seed: seed + 3), numHeads: heads)
    }

    /// Direct definition, per batch/head/query with explicit loops; `blocked(b, i, j)` excludes a key.
    func naive(_ m: MultiHeadAttention, q xq: Tensor, k xk: Tensor, v xv: Tensor,
               blocked: (Int, Int, Int, Int) -> Bool) -> [Float] {
        let (b, l, s, d) = (xq.shape[0], xq.shape[1], xk.shape[1], e / heads)
        let w = m.inProjWeight.scalars, bias = m.inProjBias?.scalars ?? []
        func proj(_ x: Tensor, _ part: Int) -> [Float] {
            let rows = x.count / e
            var out = [Float](repeating: 0, count: rows * e)
            for r in 0..<rows { for o in 0..<e {
                var acc = Double(bias[part * e + o])
                for i in 0..<e { acc += Double(w[(part * e + o) * e + i]) * Double(x.scalars[r * e + i]) }
                out[r * e + o] = Float(acc)
            } }
            return out
        }
        let q = proj(xq, 0), k = proj(xk, 1), v = proj(xv, 2)
        var merged = [Float](repeating: 0, count: b * l * e)
        for bi in 0..<b { for h in 0..<heads { for i in 0..<l {
            var sc = [Double](repeating: -.infinity, count: s)
            for j in 0..<s where !blocked(bi, h, i, j) {
                var acc = 0.0
                for t in 0..<d { acc += Double(q[(bi * l + i) * e + h * d + t]) * Double(k[(bi * s + j) * e + h * d + t]) }
                sc[j] = acc / Double(d).squareRoot()
            }
            let mx = sc.max() ?? 0
            let ex = sc.map { $0 == -.infinity ? 0 : Foundation.exp($0 - mx) }
            let z = ex.reduce(0, +)
            for t in 0..<d {
                var acc = 0.0
                for j in 0..<s { acc += ex[j] / z * Double(v[(bi * s + j) * e + h * d + t]) }
                merged[(bi * l + i) * e + h * d + t] = Float(acc)
            }
        } } }
        return m.outProj(Tensor(shape: [b, l, e], scalars: merged)).scalars
    }

    @Test func crossAttentionWithKeyPaddingMatchesDefinition() throws {
        let m = try makeMHA(seed: 10)
        let q = randomTensor([2, 3, e], seed: 20), k = randomTensor([2, 5, e], seed: 21), v = randomTensor([2, 5, e], seed: 22)
        #expect(maxAbsDiff(m(query: q, key: k, value: v).scalars, naive(m, q: q, k: k, v: v) { _, _, _, _ in false }) < 1e-5)
        // key padding: batch 1 ignores its last two keys.
        let kpm = Mask(shape: [2, 5], values: [false, false, false, false, false, false, false, false, true, true])
        let got = m(query: q, key: k, value: v, keyPaddingMask: kpm)
        let want = naive(m, q: q, k: k, v: v) { b, _, _, j in b == 1 && j >= 3 }
        #expect(maxAbsDiff(got.scalars, want) < 1e-5)
    }

    @Test func selfAttentionPackedProjection() throws {
        let m = try makeMHA(seed: 30)
        let x = randomTensor([2, 4, e], seed: 31)
        let kpm = Mask(shape: [2, 4], values: [false, false, false, false, false, false, false, true])
        let got = m(x, keyPaddingMask: kpm)
        #expect(maxAbsDiff(got.scalars, naive(m, q: x, k: x, v: x) { b, _, _, j in b == 1 && j == 3 }) < 1e-5)
        #expect(maxAbsDiff(m(x).scalars, m(query: x, key: x, value: x).scalars) < 1e-6)
    }
}

/// Conv2d and inference BatchNorm (and folding one into the other).
@Suite struct Conv2dBatchNormTests {
    @Test func batchNormMatchesTheDefinitionAndFoldsIntoTheConvolution() throws {
        let c = 5
        let gamma = randomTensor([c], seed: 1) + 1.5, beta = randomTensor([c], seed: 2)
        let mean = randomTensor([c], seed: 3), variance = randomTensor([c], seed: 4).abs() + 0.1
        let bn = try BatchNorm(weight: gamma, bias: beta, runningMean: mean, runningVar: variance)
        let x = randomTensor([2, c, 3, 4], seed: 5)
        let y = bn(x)
        for n in 0..<2 { for ch in 0..<c { for i in 0..<12 {
            let v = x.scalars[(n * c + ch) * 12 + i]
            let expected = (v - mean.scalars[ch]) / (variance.scalars[ch] + 1e-5).squareRoot() * gamma.scalars[ch] + beta.scalars[ch]
            #expect(abs(y.scalars[(n * c + ch) * 12 + i] - expected) <= 1e-5)
        } } }
        let conv = try Conv2d(weight: randomTensor([c, 3, 3, 3], seed: 6), bias: randomTensor([c], seed: 7), padding: (1, 1))
        let input = randomTensor([1, 3, 6, 7], seed: 8)
        let folded = try bn.folded(into: conv)
        let a = folded(input).scalars, b = bn(conv(input)).scalars
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        // Without affine parameters: the plain standardisation.
        let plain = try BatchNorm(weight: nil, bias: nil, runningMean: Tensor([1, 2]), runningVar: Tensor([4, 9]), eps: 0)
        #expect(plain(Tensor(shape: [1, 2, 1], scalars: [3, 8])).scalars == [1, 2])
    }

    @Test func malformedParametersAreRefused() throws {
        #expect(throws: NNError.self) { try Conv2d(weight: Tensor.zeros([2, 3, 3]), bias: nil) }
        #expect(throws: NNError.self) { try Conv2d(weight: Tensor.zeros([2, 3, 3, 3]), bias: Tensor.zeros([3])) }
        #expect(throws: NNError.self) { try Conv2d(weight: Tensor.zeros([2, 3, 3, 3]), bias: nil, stride: (0, 1)) }
        #expect(throws: NNError.self) {
            try BatchNorm(weight: Tensor.zeros([3]), bias: nil, runningMean: Tensor.zeros([2]), runningVar: Tensor([1, 1]))
        }
        #expect(throws: NNError.self) {
            try BatchNorm(weight: nil, bias: nil, runningMean: Tensor.zeros([2]), runningVar: Tensor([1, -2]))
        }
        let bn = try BatchNorm(weight: nil, bias: nil, runningMean: Tensor.zeros([2]), runningVar: Tensor([1, 1]))
        #expect(throws: NNError.self) { try bn.folded(into: Conv2d(weight: Tensor.zeros([3, 1, 1, 1]), bias: nil)) }
    }
}
