import Testing
import Foundation
@testable import GSVTensor

@Suite struct NormalizationTests {
    @Test func layerNormMatchesNumpy() {
        // ln = np.arange(8).reshape(2,4)**1.5; w = [0.5,1,1.5,2]; b = [0.1,-0.2,0.3,0]
        // (ln - ln.mean(-1,keepdims=True)) / np.sqrt(ln.var(-1,keepdims=True) + 1e-5) * w + b
        let x = Tensor(shape: [2, 4], generator: { Float(pow(Double($0), 1.5)) })
        let y = layerNorm(x, weight: Tensor([0.5, 1, 1.5, 2]), bias: Tensor([0.1, -0.2, 0.3, 0]), eps: 1e-5)
        expectClose(y.scalars, [-0.47050386667251587, -0.8352743983268738, 0.7341333031654358, 2.973719835281372,
                                -0.5495922565460205, -0.6889203786849976, 0.9105200171470642, 2.76218318939209],
                    tol: 1e-6)
    }

    @Test func layerNormWithoutAffineHasZeroMeanUnitVariance() {
        let x = randomTensor([3, 5, 16], seed: 8) * 7 + 3
        let y = layerNorm(x, weight: nil, bias: nil)
        #expect(maxAbsDiff(y.mean(axis: -1).scalars, [Float](repeating: 0, count: 15)) < 1e-5)
        #expect(maxAbsDiff(y.variance(axis: -1, correction: 0).scalars, [Float](repeating: 1, count: 15)) < 1e-3)
    }

    @Test func channelFirstLayerNormEqualsTransposedLastAxis() {
        let x = randomTensor([2, 5, 7], seed: 12)
        let w = randomTensor([5], seed: 13), b = randomTensor([5], seed: 14)
        let want = layerNorm(x.transposed(1, 2), weight: w, bias: b).transposed(1, 2)
        #expect(maxAbsDiff(layerNorm(x, weight: w, bias: b, axis: 1).scalars, want.scalars) < 1e-6)
        #expect(layerNorm(x, weight: nil, bias: nil, axis: -1) == layerNorm(x, weight: nil, bias: nil))
    }

    @Test func groupNormMatchesNumpy() {
        // g = np.arange(12).reshape(1,4,3)**1.3, groups=2, w=[1,-1,0.5,2], b=[0,1,2,3]
        // gg = g.reshape(1,2,6); ((gg-gg.mean(-1,keepdims=True))/np.sqrt(gg.var(-1,keepdims=True)+1e-5))
        //   .reshape(1,4,3) * w[None,:,None] + b[None,:,None]
        let x = Tensor(shape: [1, 4, 3], generator: { Float(pow(Double($0), 1.3)) })
        let y = groupNorm(x, groups: 2, weight: Tensor([1, -1, 0.5, 2]), bias: Tensor([0, 1, 2, 3]), eps: 1e-5)
        expectClose(y.scalars, [-1.2888668775558472, -0.9341264367103577, -0.4153934717178345, 0.8091851472854614,
                                0.13812318444252014, -0.5856950879096985, 1.286199688911438, 1.556857705116272,
                                1.839402675628662, 3.5310750007629395, 4.744385242462158, 5.994699478149414],
                    tol: 1e-6)
    }

    @Test func groupNormPerChannelEqualsLayerNormOverTime() {
        // GroupNorm(C, C) (HuBERT) normalises each channel over time: same as layerNorm on [B·C, T].
        let x = randomTensor([2, 6, 10], seed: 9)
        let w = randomTensor([6], seed: 10), b = randomTensor([6], seed: 11)
        let g = groupNorm(x, groups: 6, weight: w, bias: b)
        let plain = layerNorm(x, weight: nil, bias: nil) * w.reshaped([6, 1]) + b.reshaped([6, 1])
        #expect(maxAbsDiff(g.scalars, plain.scalars) < 1e-5)
    }
}

@Suite struct SoftmaxTests {
    let s = Tensor(shape: [3, 3], scalars: [1, 2, 3, 1, 1, 1, -1, 0, 5])

    @Test func softmaxMatchesNumpy() {
        // e = np.exp(s - s.max(1, keepdims=True)); e / e.sum(1, keepdims=True)
        expectClose(softmax(s).scalars, [0.09003057330846786, 0.2447284758090973, 0.6652409434318542,
                                         0.3333333432674408, 0.3333333432674408, 0.3333333432674408,
                                         0.002456114860251546, 0.006676412653177977, 0.9908674955368042], tol: 1e-6)
        // Same along axis 0.
        expectClose(softmax(s, axis: 0).scalars, [0.46831053495407104, 0.6652409434318542, 0.11731042712926865,
                                                  0.46831053495407104, 0.2447284758090973, 0.01587623916566372,
                                                  0.06337893754243851, 0.09003057330846786, 0.8668133616447449],
                    tol: 1e-6)
        // s - max - log(sum(exp(s - max)))
        expectClose(logSoftmax(s).scalars, [-2.4076058864593506, -1.4076060056686401, -0.40760597586631775,
                                            -1.0986123085021973, -1.0986123085021973, -1.0986123085021973,
                                            -6.009174346923828, -5.009174346923828, -0.009174484759569168],
                    tol: 1e-6)
    }

    @Test func masksExcludeAndFullyMaskedRowIsNaN() {
        // Mask column 2 everywhere and all of row 1.
        var v = [Bool](repeating: false, count: 9)
        v[2] = true; v[5] = true; v[8] = true; v[3] = true; v[4] = true
        let p = softmax(s, mask: Mask(shape: [3, 3], values: v))
        // Row 0: softmax([1, 2]) = [0.26894142, 0.73105858]; row 2: softmax([-1, 0]).
        expectClose(Array(p.scalars[0..<3]), [0.2689414322376251, 0.7310585975646973, 0], tol: 1e-6)
        #expect(p.scalars[3...5].allSatisfy { $0.isNaN })  // torch gives NaN for a fully masked row
        expectClose(Array(p.scalars[6..<9]), [0.2689414322376251, 0.7310585975646973, 0], tol: 1e-6)
        // Additive mask with broadcasting: same as boolean mask on column 2.
        let add = Tensor(shape: [1, 3], scalars: [0, 0, -.infinity])
        let q = softmax(s, additiveMask: add)
        expectClose(Array(q.scalars[0..<3]), [0.2689414322376251, 0.7310585975646973, 0], tol: 1e-6)
        expectClose(Array(q.scalars[3..<6]), [0.5, 0.5, 0], tol: 1e-6)
        let lq = logSoftmax(s, additiveMask: add)
        #expect(lq.scalars[2] == -.infinity)
    }
}
