import Testing
import GSVTensor
import GSVWeights
@testable import GSVNN

/// The layer's kernel choice (Winograd, direct, per tap, general) against the functional
/// `conv1d`, the fused input leaky ReLU, batched inputs, and the windowed call of the tiled stages.
@Suite struct ConvolutionLayerTests {
    func kind(_ c: Conv1d) -> String {
        switch c.kernel {
        case .winograd: return "winograd"
        case .direct: return "direct"
        case .perTap: return "perTap"
        case .general: return "general"
        }
    }

    /// (Cout, Cin, K, dilation, padding, Winograd threshold): one layer per kernel.
    static let shapes: [(Int, Int, Int, Int, Int, Int)] = [
        (16, 16, 7, 3, 9, 8),       // Winograd (forced on from 8 channels)
        (12, 5, 3, 2, 2, 0),        // direct where the CPU has it, else per tap
        (300, 6, 3, 1, 1, 0),       // per tap (more outputs than the direct kernel takes)
    ]

    @Test(arguments: shapes.indices)
    func kernelsMatchTheFunctionalConvolution(_ i: Int) throws {
        let (cout, cin, k, d, pad, wino) = Self.shapes[i]
        let w = randomTensor([cout, cin, k], seed: UInt64(10 + i)), b = randomTensor([cout], seed: UInt64(20 + i))
        let layer = try Conv1d(weight: w, bias: b, padding: (pad, pad), dilation: d, winogradMinChannels: wino)
        let expected = i == 0 ? "winograd" : i == 2 ? "perTap" : (DirectConv1d.isFast ? "direct" : "perTap")
        #expect(kind(layer) == expected)
        #expect(layer.weight == nil && layer.inChannels == cin && layer.outChannels == cout && layer.kernelSize == k)
        let x = randomTensor([cin, 37], seed: UInt64(30 + i))
        let want = conv1d(x, weight: w, bias: b, padding: (pad, pad), dilation: d)
        let got = layer(x)
        #expect(got.shape == want.shape)
        #expect(maxAbsDiff(got.scalars, want.scalars) < 1e-4)
        // The fused input leaky ReLU.
        let fused = layer(x, inputSlope: 0.1)
        let plain = conv1d(x.leakyRelu(0.1), weight: w, bias: b, padding: (pad, pad), dilation: d)
        #expect(maxAbsDiff(fused.scalars, plain.scalars) < 1e-4)
        // A batch runs item by item.
        let xb = randomTensor([2, cin, 19], seed: UInt64(40 + i))
        let yb = layer(xb)
        #expect(yb.shape == [2, cout, 19 + 2 * pad - d * (k - 1)])
        for item in 0..<2 {
            let one = layer(xb.slice(axis: 0, item..<(item + 1)).squeezed(0))
            #expect(yb.slice(axis: 0, item..<(item + 1)).squeezed(0) == one)
        }
    }

    /// A window that carries its own padding gives the untiled layer's output columns.
    @Test func windowedWinogradCallEqualsTheFullCall() throws { try windowedCallEqualsTheFullCall(0) }
    @Test(.enabled(if: DirectConv1d.isFast, "the direct kernel needs AVX2 + FMA or NEON (and GSV_CONV_LEVEL above portable)"))
    func windowedDirectCallEqualsTheFullCall() throws { try windowedCallEqualsTheFullCall(1) }

    /// Shape `i` run through a window that carries its own padding.
    func windowedCallEqualsTheFullCall(_ i: Int) throws {
        let (cout, cin, k, d, pad, wino) = Self.shapes[i]
        let layer = try Conv1d(weight: randomTensor([cout, cin, k], seed: 50), bias: randomTensor([cout], seed: 51),
                               padding: (pad, pad), dilation: d, winogradMinChannels: wino)
        try #require(layer.runsOnWindows, "shape \(i) should run on windows")
        let t = 41
        let x = randomTensor([cin, t], seed: 52)
        let full = layer(x)
        let width = t + 2 * pad
        var window = [Float](repeating: 0, count: cin * width)
        for c in 0..<cin { for j in 0..<t { window[c * width + pad + j] = x.scalars[c * t + j] } }
        var out = [Float](repeating: .nan, count: cout * t)
        var scratch = [Float](repeating: 0, count: max(1, layer.windowScratchCount(outLength: t)))
        window.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    layer.applyWindow(wp.baseAddress!, xStride: width, into: op.baseAddress!, yStride: t, outLength: t,
                                      scratch: sp.baseAddress!)
                }
            }
        }
        #expect(maxAbsDiff(out, full.scalars) < 1e-4)
    }

    @Test func stridedAndGroupedLayersKeepTheirWeight() throws {
        let w = randomTensor([4, 2, 3], seed: 60)
        let strided = try Conv1d(weight: w, bias: nil, stride: 2)
        #expect(kind(strided) == "general" && strided.weight == w && !strided.runsOnWindows)
        let grouped = try Conv1d(weight: w, bias: nil, groups: 2)
        #expect(kind(grouped) == "general" && grouped.inChannels == 4)
    }

    /// Declared through a ParameterSource: plain and weight-normed keys, the same random draw.
    @Test func declaredThroughAParameterSource() throws {
        let p = ParameterSource(randomSeed: 3)
        let a = try Conv1d(p.scoped("convs.0"), in: 4, out: 6, kernel: 3, padding: (1, 1), weightNorm: true)
        let b = try Conv1d(p.scoped("convs.0"), in: 4, out: 6, kernel: 3, padding: (1, 1))
        let x = randomTensor([4, 10], seed: 4)
        #expect(a(x) == b(x))
        #expect(throws: NNError.self) { try Conv1d(p.scoped("bad"), in: 4, out: 6, kernel: 3, groups: 4) }
    }
}
