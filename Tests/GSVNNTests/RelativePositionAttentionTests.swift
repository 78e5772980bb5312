import Testing
import GSVTensor
@testable import GSVNN

/// Reference: the official attentions.py algorithm step by step (pad / flatten / skew), written with
/// tensor ops — a different formulation from the layer's direct windowed loops.
@Suite struct RelativePositionAttentionTests {
    let c = 8, heads = 2, window = 4

    func conv(_ seed: UInt64, out: Int? = nil) throws -> Conv1d {
        try Conv1d(weight: randomTensor([out ?? c, c, 1], seed: seed), bias: randomTensor([out ?? c], seed: seed + 1))
    }

    func relativeEmbeddings(_ e: Tensor, length t: Int) -> Tensor {
        let pad = max(t - (window + 1), 0), start = max(window + 1 - t, 0)
        let padded = pad > 0 ? e.padded([0, 0, pad, pad]) : e
        return padded.slice(axis: 1, start..<(start + 2 * t - 1))
    }

    func relativeToAbsolute(_ x: Tensor) -> Tensor {
        let (b, h, l) = (x.shape[0], x.shape[1], x.shape[2])
        let flat = x.padded([0, 1]).reshaped([b, h, l * 2 * l]).padded([0, l - 1])
        return flat.reshaped([b, h, l + 1, 2 * l - 1]).slice(axis: 2, 0..<l).slice(axis: 3, (l - 1)..<(2 * l - 1))
    }

    func absoluteToRelative(_ x: Tensor) -> Tensor {
        let (b, h, l) = (x.shape[0], x.shape[1], x.shape[2])
        let flat = x.padded([0, l - 1]).reshaped([b, h, l * l + l * (l - 1)]).padded([l, 0])
        return flat.reshaped([b, h, l, 2 * l]).slice(axis: 3, 1..<(2 * l))
    }

    func reference(_ a: RelativePositionAttention, _ x: Tensor, _ ctx: Tensor, _ mask: Mask?) -> Tensor {
        let (b, t, s, d) = (x.shape[0], x.shape[2], ctx.shape[2], c / heads)
        let q = a.convQ(x).reshaped([b, heads, d, t]).transposed(2, 3) / Float(Double(d).squareRoot())
        let k = a.convK(ctx).reshaped([b, heads, d, s]).transposed(2, 3)
        let v = a.convV(ctx).reshaped([b, heads, d, s]).transposed(2, 3)
        var scores = matmul(q, k.transposed())
        if let ek = a.embRelK {
            let rel = matmul(q, relativeEmbeddings(ek, length: s).unsqueezed(0).transposed())
            scores = scores + relativeToAbsolute(rel)
        }
        if let mask { scores = scores.maskedFill(mask, -1e4) }
        let p = softmax(scores)
        var out = matmul(p, v)
        if let ev = a.embRelV {
            out = out + matmul(absoluteToRelative(p), relativeEmbeddings(ev, length: s).unsqueezed(0))
        }
        return a.convO(out.transposed(2, 3).reshaped([b, c, t]))
    }

    @Test(arguments: [(3, true), (7, true), (7, false), (5, false)])
    func windowedSelfAttentionMatchesOfficialAlgorithm(_ t: Int, _ sharedHeads: Bool) throws {
        let eh = sharedHeads ? 1 : heads
        let a = try RelativePositionAttention(
            convQ: conv(1), convK: conv(3), convV: conv(5), convO: conv(7, out: 6), numHeads: heads,
            windowSize: window, embRelK: randomTensor([eh, 2 * window + 1, c / heads], seed: 9),
            embRelV: randomTensor([eh, 2 * window + 1, c / heads], seed: 10))
        let x = randomTensor([2, c, t], seed: 11)
        // Batch 1 has length t − 2: mask = !(x_mask[:, None, :, None] * x_mask[:, None, None, :]).
        let valid = [t, t - 2]
        var blocked = [Bool](repeating: false, count: 2 * t * t)
        for b in 0..<2 { for i in 0..<t { for j in 0..<t { blocked[(b * t + i) * t + j] = i >= valid[b] || j >= valid[b] } } }
        let mask = Mask(shape: [2, 1, t, t], values: blocked)
        let got = a(x, context: x, mask: mask)
        let want = reference(a, x, x, mask)
        #expect(got.shape == [2, 6, t])
        #expect(maxAbsDiff(got.scalars, want.scalars) < 1e-5)
        #expect(maxAbsDiff(a(x, context: x).scalars, reference(a, x, x, nil).scalars) < 1e-5)
    }

    @Test func crossAttentionWithoutWindowAndFullyMaskedRows() throws {
        let a = try RelativePositionAttention(convQ: conv(20), convK: conv(22), convV: conv(24), convO: conv(26),
                                              numHeads: heads)
        let x = randomTensor([1, c, 4], seed: 30), ctx = randomTensor([1, c, 6], seed: 31)
        var blocked = [Bool](repeating: false, count: 24)
        for j in 0..<6 { blocked[2 * 6 + j] = true }  // query 2 sees nothing → uniform, not NaN
        let mask = Mask(shape: [1, 1, 4, 6], values: blocked)
        let got = a(x, context: ctx, mask: mask)
        #expect(maxAbsDiff(got.scalars, reference(a, x, ctx, mask).scalars) < 1e-5)
        #expect(got.scalars.allSatisfy { $0.isFinite })
    }

    @Test func rejectsMalformedWeights() throws {
        #expect(throws: NNError.self) {
            try RelativePositionAttention(convQ: conv(1), convK: conv(3), convV: conv(5), convO: conv(7), numHeads: 3)
        }
        #expect(throws: NNError.self) {
            try RelativePositionAttention(convQ: conv(1), convK: conv(3), convV: conv(5), convO: conv(7), numHeads: 2,
                                          windowSize: 4, embRelK: randomTensor([1, 8, 4], seed: 1),
                                          embRelV: randomTensor([1, 9, 4], seed: 2))
        }
        let wide = try Conv1d(weight: randomTensor([8, 8, 3], seed: 1), bias: nil, padding: 1)
        #expect(throws: NNError.self) {
            try RelativePositionAttention(convQ: wide, convK: conv(3), convV: conv(5), convO: conv(7), numHeads: 2)
        }
    }
}
