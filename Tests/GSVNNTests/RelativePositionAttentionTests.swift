import Testing
import GSVTensor
import GSVWeights
@testable import GSVNN

/// Reference: the official attentions.py algorithm step by step (pad / flatten / skew), written with
/// tensor ops — a different formulation from the layer's closed-form windowed loops.
@Suite struct RelativePositionAttentionTests {
    let c = 8, heads = 2, window = 4

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

    /// The official forward on one sequence (`[C, T]` queries, `[C, S]` keys/values), heads sharing
    /// the relative embeddings (`[1, 2w+1, d]`).
    func reference(_ a: RelativePositionAttention, _ x: Tensor, _ ctx: Tensor) -> Tensor {
        let (t, s, d) = (x.shape[1], ctx.shape[1], c / heads)
        let q = a.convQ(x).reshaped([1, heads, d, t]).transposed(2, 3) / Float(Double(d).squareRoot())
        let k = a.convK(ctx).reshaped([1, heads, d, s]).transposed(2, 3)
        let v = a.convV(ctx).reshaped([1, heads, d, s]).transposed(2, 3)
        var scores = matmul(q, k.transposed())
        if let ek = a.relK {
            let rel = matmul(q, relativeEmbeddings(ek.unsqueezed(0), length: s).unsqueezed(0).transposed())
            scores = scores + relativeToAbsolute(rel)
        }
        let p = softmax(scores)
        var out = matmul(p, v)
        if let ev = a.relV {
            out = out + matmul(absoluteToRelative(p), relativeEmbeddings(ev.unsqueezed(0), length: s).unsqueezed(0))
        }
        return a.convO(out.transposed(2, 3).reshaped([c, t]))
    }

    @Test(arguments: [3, 5, 7, 12])
    func windowedSelfAttentionMatchesOfficialAlgorithm(_ t: Int) throws {
        let a = try RelativePositionAttention(ParameterSource(randomSeed: UInt64(t)), channels: c, outChannels: 6,
                                              heads: heads, window: window)
        #expect(a.relK?.shape == [2 * window + 1, c / heads] && a.window == window)
        let x = randomTensor([c, t], seed: 11)
        let got = a(x, x)
        #expect(got.shape == [6, t])
        #expect(maxAbsDiff(got.scalars, reference(a, x, x).scalars) < 1e-5)
    }

    @Test func crossAttentionWithoutWindowMatchesDefinition() throws {
        let a = try RelativePositionAttention(ParameterSource(randomSeed: 2), channels: c, outChannels: c, heads: heads,
                                              window: nil)
        #expect(a.relK == nil && a.relV == nil)
        let x = randomTensor([c, 4], seed: 12), ctx = randomTensor([c, 9], seed: 13)
        #expect(maxAbsDiff(a(x, ctx).scalars, reference(a, x, ctx).scalars) < 1e-5)
    }

    @Test func rejectsBadParameters() {
        #expect(throws: NNError.self) {
            try RelativePositionAttention(ParameterSource(randomSeed: 1), channels: c, outChannels: c, heads: 3, window: 4)
        }
        #expect(throws: NNError.self) {
            try RelativePositionAttention(ParameterSource(randomSeed: 1), channels: c, outChannels: c, heads: 2, window: -1)
        }
    }
}
