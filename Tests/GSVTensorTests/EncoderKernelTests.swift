import Foundation
import Testing
@testable import GSVTensor

/// The vectorised kernels the encoders run (moved here from the HuBERT folder): GELU against the
/// exact erf form, the single-channel convolution against the im2col path, and the per-channel
/// group norm (with its fused GELU) against a Double reference.
@Suite struct EncoderKernelTests {
    @Test func geluMatchesTheExactErfForm() {
        // Over a wide range, including the saturated tails and a ragged length.
        let x = Tensor(shape: [4001], generator: { Float($0 - 2000) / 150 })
        let fast = x.gelu()
        for i in 0..<x.count {
            let d = Double(x.scalars[i])
            let exact = 0.5 * d * (1 + Foundation.erf(d * 0.70710678118654752440))
            #expect(abs(Double(fast.scalars[i]) - exact) <= 1e-6 * max(1, abs(d)), "x = \(x.scalars[i])")
        }
    }

    @Test func singleChannelConvolutionMatchesTheIm2colPath() {
        var rng = SeededRNG(seed: 11)
        let wav = rng.gaussian(shape: [2, 1, 997])
        let w = rng.gaussian(shape: [7, 1, 10])
        let bias = rng.gaussian(shape: [7])
        for b in [nil, bias] {
            let ours = conv1d(wav, weight: w, bias: b, stride: 5)
            let theirs = conv1d(wav, weight: w, bias: b, stride: 5, padding: (0, 0), dilation: 1, groups: 1,
                                columnBudget: defaultColumnBudget, directDepthwise: false)
            #expect(ours.shape == theirs.shape)
            #expect(zip(ours.scalars, theirs.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        }
    }

    @Test func perChannelGroupNormMatchesADoubleReference() {
        var rng = SeededRNG(seed: 12)
        // Signals with a large offset and a ragged length.
        let (b, c, t) = (2, 5, 1003)
        let sig = rng.gaussian(shape: [b, c, t]) + 30
        let g = rng.gaussian(shape: [c], mean: 1, std: 0.1), beta = rng.gaussian(shape: [c], std: 0.1)
        var want = [Float](repeating: 0, count: sig.count)
        for row in 0..<(b * c) {
            let xs = sig.scalars[(row * t)..<((row + 1) * t)].map(Double.init)
            let mean = xs.reduce(0, +) / Double(t)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(t)
            let ch = row % c
            for (j, v) in xs.enumerated() {
                want[row * t + j] = Float((v - mean) / (variance + 1e-5).squareRoot() * Double(g.scalars[ch]) + Double(beta.scalars[ch]))
            }
        }
        let norm = groupNorm(sig, groups: c, weight: g, bias: beta, eps: 1e-5)
        #expect(zip(norm.scalars, want).allSatisfy { abs($0 - $1) <= 2e-5 })
        let fused = groupNorm(sig, groups: c, weight: g, bias: beta, eps: 1e-5, gelu: true)
        #expect(zip(fused.scalars, Tensor(shape: sig.shape, scalars: want).gelu().scalars).allSatisfy { abs($0 - $1) <= 2e-5 })
        // Groups of several channels take the general path; GELU is applied after it.
        let two = groupNorm(sig.slice(axis: 1, 0..<4), groups: 2, weight: nil, bias: nil, gelu: true)
        #expect(two == groupNorm(sig.slice(axis: 1, 0..<4), groups: 2, weight: nil, bias: nil).gelu())
    }
}
