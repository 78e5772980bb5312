import Testing
@testable import GSVTensor

/// Convolutions checked against their direct definitions (PyTorch docs for Conv1d/ConvTranspose1d).
@Suite struct ConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var b = 1, cin = 4, cout = 6, t = 11, k = 3, stride = 1, pl = 0, pr = 0, dilation = 1, groups = 1
        var outputPadding = 0
        var testDescription: String {
            "B\(b) Cin\(cin) Cout\(cout) T\(t) K\(k) s\(stride) p(\(pl),\(pr)) d\(dilation) g\(groups) op\(outputPadding)"
        }
    }

    /// y[n, co, j] = bias[co] + Σ_{ci ∈ group(co), k} w[co, ci − g·Cin/G, k] · xpad[n, ci, j·s + k·d]
    func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ c: Case) -> Tensor {
        let cg = c.cin / c.groups, coutG = c.cout / c.groups
        let tOut = (c.t + c.pl + c.pr - c.dilation * (c.k - 1) - 1) / c.stride + 1
        var out = [Float](repeating: 0, count: c.b * c.cout * tOut)
        for n in 0..<c.b { for co in 0..<c.cout { for j in 0..<tOut {
            let g = co / coutG
            var s = Double(bias?.scalars[co] ?? 0)
            for ci in 0..<cg { for kk in 0..<c.k {
                let i = j * c.stride + kk * c.dilation - c.pl
                if i < 0 || i >= c.t { continue }
                s += Double(w.scalars[(co * cg + ci) * c.k + kk]) * Double(x.scalars[(n * c.cin + g * cg + ci) * c.t + i])
            } }
            out[(n * c.cout + co) * tOut + j] = Float(s)
        } } }
        return Tensor(shape: [c.b, c.cout, tOut], scalars: out)
    }

    /// y[n, g·Cout/G + co, i·s + k·d − p] += x[n, ci, i] · w[ci, co, k] for ci in group g.
    func naiveConvTranspose(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ c: Case) -> Tensor {
        let cinG = c.cin / c.groups, coutG = c.cout / c.groups
        let tOut = (c.t - 1) * c.stride - 2 * c.pl + c.dilation * (c.k - 1) + c.outputPadding + 1
        var acc = [Double](repeating: 0, count: c.b * c.cout * tOut)
        for n in 0..<c.b { for ci in 0..<c.cin { for i in 0..<c.t {
            let g = ci / cinG
            for co in 0..<coutG { for kk in 0..<c.k {
                let o = i * c.stride + kk * c.dilation - c.pl
                if o < 0 || o >= tOut { continue }
                acc[(n * c.cout + g * coutG + co) * tOut + o] +=
                    Double(x.scalars[(n * c.cin + ci) * c.t + i]) * Double(w.scalars[(ci * coutG + co) * c.k + kk])
            } }
        } } }
        var out = acc.map { Float($0) }
        if let bias {
            for n in 0..<c.b { for co in 0..<c.cout { for o in 0..<tOut { out[(n * c.cout + co) * tOut + o] += bias.scalars[co] } } }
        }
        return Tensor(shape: [c.b, c.cout, tOut], scalars: out)
    }

    static let convCases: [Case] = [
        Case(),
        Case(b: 2, cin: 3, cout: 5, t: 17, k: 5, stride: 2, pl: 2, pr: 2),
        Case(b: 1, cin: 4, cout: 4, t: 20, k: 3, pl: 2, pr: 2, dilation: 2),
        Case(b: 2, cin: 6, cout: 9, t: 13, k: 3, stride: 3, pl: 1, pr: 0, groups: 3),
        Case(b: 1, cin: 8, cout: 8, t: 33, k: 7, pl: 3, pr: 3, groups: 8),           // depthwise
        Case(b: 2, cin: 4, cout: 8, t: 9, k: 4, stride: 2, pl: 0, pr: 3, dilation: 2, groups: 4),  // depthwise ×2
        Case(b: 1, cin: 5, cout: 3, t: 7, k: 1),                                     // pointwise fast path
        Case(b: 2, cin: 4, cout: 6, t: 8, k: 1, groups: 2),                          // grouped 1×1
        Case(b: 1, cin: 3, cout: 2, t: 3, k: 3),                                     // single output
        Case(b: 1, cin: 2, cout: 2, t: 4, k: 8, pl: 2, pr: 2),                       // kernel > input
        Case(b: 1, cin: 16, cout: 16, t: 40, k: 8, pl: 4, pr: 4, groups: 4),         // HuBERT pos_conv style
        Case(b: 1, cin: 4, cout: 3, t: 6, k: 2, pl: 1, pr: 0),                       // causal-style left pad
    ]

    @Test(arguments: convCases)
    func conv1dMatchesDefinition(_ c: Case) {
        let x = randomTensor([c.b, c.cin, c.t], seed: 11)
        let w = randomTensor([c.cout, c.cin / c.groups, c.k], seed: 12)
        let bias = randomTensor([c.cout], seed: 13)
        for bb in [bias, nil] {
            let got = conv1d(x, weight: w, bias: bb, stride: c.stride, padding: (c.pl, c.pr),
                             dilation: c.dilation, groups: c.groups)
            let want = naiveConv(x, w, bb, c)
            #expect(got.shape == want.shape)
            #expect(maxAbsDiff(got.scalars, want.scalars) < 1e-5, "\(c.testDescription)")
            // A tiny column budget forces the time tiling (several GEMMs per group).
            let tiled = conv1d(x, weight: w, bias: bb, stride: c.stride, padding: (c.pl, c.pr),
                               dilation: c.dilation, groups: c.groups, columnBudget: 3 * c.k * c.cin)
            #expect(maxAbsDiff(tiled.scalars, want.scalars) < 1e-5, "tiled \(c.testDescription)")
            // Both stride-1 algorithms (shifted GEMMs and im2col), whichever `auto` picks.
            for shifted in [true, false] {
                let y = conv1d(x, weight: w, bias: bb, stride: c.stride, padding: (c.pl, c.pr), dilation: c.dilation,
                               groups: c.groups, columnBudget: 2 * c.k * c.cin, directDepthwise: false,
                               shiftedGemm: shifted)
                #expect(maxAbsDiff(y.scalars, want.scalars) < 1e-5, "shifted \(shifted) \(c.testDescription)")
            }
        }
    }

    static let transposeCases: [Case] = [
        Case(),
        Case(b: 2, cin: 4, cout: 3, t: 7, k: 16, stride: 8, pl: 4),                  // HiFi-GAN up ×8
        Case(b: 1, cin: 6, cout: 4, t: 9, k: 4, stride: 2, pl: 1, groups: 2),
        Case(b: 1, cin: 3, cout: 5, t: 5, k: 3, stride: 3, pl: 0, dilation: 2, outputPadding: 1),
        Case(b: 2, cin: 4, cout: 4, t: 6, k: 5, stride: 1, pl: 2, groups: 4),
        Case(b: 1, cin: 2, cout: 2, t: 1, k: 3, stride: 2),                          // single input step
        Case(b: 1, cin: 4, cout: 6, t: 10, k: 2, stride: 2, pl: 0, outputPadding: 1),
    ]

    @Test(arguments: transposeCases)
    func convTranspose1dMatchesDefinition(_ c: Case) {
        let x = randomTensor([c.b, c.cin, c.t], seed: 21)
        let w = randomTensor([c.cin, c.cout / c.groups, c.k], seed: 22)
        let bias = randomTensor([c.cout], seed: 23)
        for bb in [bias, nil] {
            let got = convTranspose1d(x, weight: w, bias: bb, stride: c.stride, padding: c.pl,
                                      outputPadding: c.outputPadding, groups: c.groups, dilation: c.dilation)
            let want = naiveConvTranspose(x, w, bb, c)
            #expect(got.shape == want.shape)
            #expect(maxAbsDiff(got.scalars, want.scalars) < 1e-5, "\(c.testDescription)")
            let tiled = convTranspose1d(x, weight: w, bias: bb, stride: c.stride, padding: c.pl,
                                        outputPadding: c.outputPadding, groups: c.groups, dilation: c.dilation,
                                        columnBudget: 2 * c.k * c.cout)
            #expect(maxAbsDiff(tiled.scalars, want.scalars) < 1e-5, "tiled \(c.testDescription)")
        }
    }

    @Test func randomConvShapes() {
        // Many random configurations, including all paths (depthwise, 1×1, grouped, im2col).
        var rng = SeededRNG(seed: 99)
        for trial in 0..<40 {
            let groups = [1, 1, 2, 3][Int(rng.next() % 4)]
            let cin = groups * (1 + Int(rng.next() % 3)), cout = groups * (1 + Int(rng.next() % 3))
            let k = 1 + Int(rng.next() % 5), d = 1 + Int(rng.next() % 3), s = 1 + Int(rng.next() % 3)
            let pl = Int(rng.next() % 4), pr = Int(rng.next() % 4)
            let t = max(1, d * (k - 1) + 1 - pl - pr) + Int(rng.next() % 12)
            let c = Case(b: 1 + Int(rng.next() % 2), cin: cin, cout: cout, t: t, k: k, stride: s,
                         pl: pl, pr: pr, dilation: d, groups: groups)
            let x = randomTensor([c.b, cin, t], seed: UInt64(100 + trial))
            let w = randomTensor([cout, cin / groups, k], seed: UInt64(200 + trial))
            let got = conv1d(x, weight: w, stride: s, padding: (pl, pr), dilation: d, groups: groups)
            #expect(maxAbsDiff(got.scalars, naiveConv(x, w, nil, c).scalars) < 1e-5, "\(c.testDescription)")

            let op = Int(rng.next() % UInt64(max(s, d)))
            let pt = Int(rng.next() % UInt64(k))
            let ct = Case(b: c.b, cin: cin, cout: cout, t: t, k: k, stride: s, pl: pt, dilation: d, groups: groups,
                          outputPadding: op)
            guard (t - 1) * s - 2 * pt + d * (k - 1) + op + 1 > 0 else { continue }
            let wt = randomTensor([cin, cout / groups, k], seed: UInt64(300 + trial))
            let gt = convTranspose1d(x, weight: wt, stride: s, padding: pt, outputPadding: op, groups: groups, dilation: d)
            #expect(maxAbsDiff(gt.scalars, naiveConvTranspose(x, wt, nil, ct).scalars) < 1e-5, "T \(ct.testDescription)")
        }
    }

    @Test func twoDimensionalInputAndLongSequenceTiling() {
        // Long enough that the column buffer is tiled over time (rows · T > budget is not needed:
        // equality with the batched 3-D call and the definition checks the tiling offsets).
        let c = Case(b: 1, cin: 2, cout: 3, t: 3000, k: 5, stride: 1, pl: 2, pr: 2)
        let x = randomTensor([2, 3000], seed: 5), w = randomTensor([3, 2, 5], seed: 6)
        let y = conv1d(x, weight: w, padding: 2)
        #expect(y.shape == [3, 3000])
        #expect(maxAbsDiff(y.scalars, naiveConv(x.unsqueezed(0), w, nil, c).scalars) < 1e-5)
    }

    @Test func outputLengths() {
        #expect(conv1dOutputLength(inputLength: 10, kernel: 3, stride: 2, padding: (1, 1)) == 5)
        #expect(conv1dOutputLength(inputLength: 2, kernel: 5) == nil)
        #expect(convTranspose1dOutputLength(inputLength: 10, kernel: 16, stride: 8, padding: 4) == 80)
    }
}
