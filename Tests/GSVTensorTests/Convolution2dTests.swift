import Testing
@testable import GSVTensor

/// 2-D convolution checked against its direct definition (PyTorch docs for Conv2d).
@Suite struct Convolution2dTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var b = 1, cin = 3, cout = 4, h = 7, w = 9, kh = 3, kw = 3
        var stride = (1, 1), padding = (0, 0), dilation = (1, 1), groups = 1, bias = true
        var testDescription: String {
            "B\(b) Cin\(cin) Cout\(cout) \(h)×\(w) K\(kh)×\(kw) s\(stride) p\(padding) d\(dilation) g\(groups)\(bias ? "" : " no bias")"
        }
    }

    /// y[n, co, i, j] = bias[co] + Σ w[co, ci, ky, kx] · xpad[n, g·Cin/G + ci, i·sh + ky·dh − ph, j·sw + kx·dw − pw]
    static func naive(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ c: Case) -> Tensor {
        let cg = c.cin / c.groups, coutG = c.cout / c.groups
        let ho = (c.h + 2 * c.padding.0 - c.dilation.0 * (c.kh - 1) - 1) / c.stride.0 + 1
        let wo = (c.w + 2 * c.padding.1 - c.dilation.1 * (c.kw - 1) - 1) / c.stride.1 + 1
        var out = [Float](repeating: 0, count: c.b * c.cout * ho * wo)
        for n in 0..<c.b { for co in 0..<c.cout { for i in 0..<ho { for j in 0..<wo {
            let g = co / coutG
            var s = Double(bias?.scalars[co] ?? 0)
            for ci in 0..<cg { for ky in 0..<c.kh { for kx in 0..<c.kw {
                let iy = i * c.stride.0 + ky * c.dilation.0 - c.padding.0
                let ix = j * c.stride.1 + kx * c.dilation.1 - c.padding.1
                if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w { continue }
                s += Double(w.scalars[((co * cg + ci) * c.kh + ky) * c.kw + kx])
                    * Double(x.scalars[((n * c.cin + g * cg + ci) * c.h + iy) * c.w + ix])
            } } }
            out[((n * c.cout + co) * ho + i) * wo + j] = Float(s)
        } } } }
        return Tensor(shape: [c.b, c.cout, ho, wo], scalars: out)
    }

    static let cases: [Case] = [
        Case(),
        Case(padding: (1, 1)),                                                    // ERes2Net 3×3
        Case(cin: 8, cout: 5, h: 9, w: 12, kh: 1, kw: 1, bias: false),            // pointwise: one sgemm
        Case(cin: 8, cout: 6, h: 9, w: 11, kh: 1, kw: 1, stride: (2, 2)),         // strided 1×1 (shortcut)
        Case(b: 2, cin: 4, cout: 6, h: 10, w: 13, stride: (2, 2), padding: (1, 1), bias: false), // layer3_ds
        Case(cin: 2, cout: 3, h: 8, w: 8, kh: 2, kw: 4, stride: (1, 3), padding: (0, 2), dilation: (2, 1)),
        Case(cin: 6, cout: 4, h: 6, w: 7, padding: (2, 1), dilation: (2, 2), groups: 2),
        Case(cin: 1, cout: 8, h: 5, w: 40, padding: (1, 1)),                      // stem (one input channel)
        Case(cin: 3, cout: 2, h: 3, w: 3, kh: 5, kw: 5, padding: (1, 1)),         // kernel wider than the input
    ]

    @Test(arguments: cases)
    func matchesTheDefinition(_ c: Case) {
        let x = randomTensor([c.b, c.cin, c.h, c.w], seed: 1)
        let w = randomTensor([c.cout, c.cin / c.groups, c.kh, c.kw], seed: 2)
        let bias = c.bias ? randomTensor([c.cout], seed: 3) : nil
        let y = conv2d(x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let ref = Self.naive(x, w, bias, c)
        #expect(y.shape == ref.shape)
        expectClose(y.scalars, ref.scalars, tol: 1e-5, "\(c.testDescription)")
    }

    @Test func threeDimensionalInputIsOneImage() {
        let x = randomTensor([3, 6, 5], seed: 4)
        let w = randomTensor([2, 3, 3, 3], seed: 5)
        let y = conv2d(x, weight: w, padding: (1, 1))
        #expect(y.shape == [2, 6, 5])
        #expect(y.scalars == conv2d(x.unsqueezed(0), weight: w, padding: (1, 1)).scalars)
    }

    @Test func largeImagesUseSeveralColumnChunks() {
        // rows = 64·9 = 576: a 160×90 output needs more than the 4 M-float column budget.
        let c = Case(cin: 64, cout: 3, h: 160, w: 90, padding: (1, 1))
        let x = randomTensor([1, c.cin, c.h, c.w], seed: 6)
        let w = randomTensor([c.cout, c.cin, 3, 3], seed: 7)
        let y = conv2d(x, weight: w, padding: (1, 1))
        expectClose(y.scalars, Self.naive(x, w, nil, c).scalars, tol: 1e-4)
    }

    @Test func outputLength() {
        #expect(conv2dOutputLength(inputLength: 80, kernel: 1, stride: 2, padding: 0, dilation: 1) == 40)
        #expect(conv2dOutputLength(inputLength: 121, kernel: 3, stride: 2, padding: 1, dilation: 1) == 61)
        #expect(conv2dOutputLength(inputLength: 2, kernel: 5, stride: 1, padding: 1, dilation: 1) == nil)
    }
}
