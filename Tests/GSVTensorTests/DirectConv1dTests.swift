import Testing
@testable import GSVTensor

/// The direct convolution kernels (each code level as its own test, skipped where the CPU lacks it)
/// against the definition
/// y[o, t] = y0[o, t] + Σ_c Σ_q w[o, c, q] · x[c, t + q·d], computed in Double.
@Suite struct DirectConv1dTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cin: Int, cout: Int, k: Int, dilation: Int, tOut: Int
        var testDescription: String { "Cin\(cin) Cout\(cout) K\(k) d\(dilation) T\(tOut)" }
    }

    // Output channels not a multiple of the block (1, 6, 17), lengths that leave every kind of tail
    // (below one vector, between the vector widths, several full tiles plus a remainder), wide taps.
    static let cases: [Case] = [
        Case(cin: 3, cout: 1, k: 7, dilation: 1, tOut: 5),
        Case(cin: 5, cout: 6, k: 3, dilation: 5, tOut: 23),
        Case(cin: 16, cout: 16, k: 11, dilation: 3, tOut: 200),
        Case(cin: 8, cout: 17, k: 1, dilation: 1, tOut: 129),
        Case(cin: 32, cout: 8, k: 7, dilation: 1, tOut: 1000),
        // One full block of eight channels plus a partial one, and column counts that end on each
        // of the 1–3-vector paths with and without a masked last vector.
        Case(cin: 4, cout: 12, k: 3, dilation: 2, tOut: 47),
        Case(cin: 4, cout: 12, k: 3, dilation: 2, tOut: 96),
        Case(cin: 6, cout: 9, k: 5, dilation: 1, tOut: 80),
        Case(cin: 6, cout: 9, k: 5, dilation: 1, tOut: 113),
    ]

    func matchesTheDefinition(_ c: Case, level: KernelLevel) {
        let w = randomTensor([c.cout, c.cin, c.k], seed: 11)
        let xStride = c.tOut + (c.k - 1) * c.dilation + 3  // longer rows than needed are allowed
        let x = randomTensor([c.cin, xStride], seed: 12)
        let yStride = c.tOut + 2
        let y0 = randomTensor([c.cout, yStride], seed: 13)  // accumulated into, as a bias preset
        var expected = y0.scalars
        for o in 0..<c.cout { for t in 0..<c.tOut {
            var s = Double(y0.scalars[o * yStride + t])
            for ch in 0..<c.cin { for q in 0..<c.k {
                s += Double(w.scalars[(o * c.cin + ch) * c.k + q]) * Double(x.scalars[ch * xStride + t + q * c.dilation])
            } }
            expected[o * yStride + t] = Float(s)
        } }
        let conv = DirectConv1d(weight: w)
        var y = y0.scalars
        x.scalars.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                conv.accumulate(x: xp.baseAddress!, xStride: xStride, dilation: c.dilation, into: yp.baseAddress!,
                                yStride: yStride, outLength: c.tOut, level: level)
            }
        }
        let err = maxAbsDiff(y, expected)
        #expect(err < 1e-4, "level \(level): max error \(err)")
        // Columns past the output length are left alone.
        for o in 0..<c.cout { for t in c.tOut..<yStride { #expect(y[o * yStride + t] == y0.scalars[o * yStride + t]) } }
    }

    @Test(arguments: cases) func portableLevel(_ c: Case) { matchesTheDefinition(c, level: .portable) }
    @Test(levelTrait(.simd), arguments: cases) func simdLevel(_ c: Case) { matchesTheDefinition(c, level: .simd) }
    @Test(levelTrait(.wide), arguments: cases) func wideLevel(_ c: Case) { matchesTheDefinition(c, level: .wide) }

    @Test func vectorCodeOnX86() {
        #if arch(x86_64)
        #expect(KernelLevel.best >= .simd, "x86-64 machines running this project have AVX2 + FMA + F16C")
        #expect(DirectConv1d.isFast || Tuning.convLevel == .portable)
        #endif
    }
}
