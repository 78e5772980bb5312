import GSVKernels
import Testing
@testable import GSVTensor

/// The Winograd F(4, 4) convolution against the definition
/// y[o, t] = y0[o, t] + Σ_c Σ_q w[o, c, q] · x[c, t + q·d], computed in Double.
@Suite struct WinogradConv1dTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cin: Int, cout: Int, k: Int, dilation: Int, tOut: Int
        var testDescription: String { "Cin\(cin) Cout\(cout) K\(k) d\(dilation) T\(tOut)" }
    }

    // Kernels of one to three segments (3, 4, 7, 8, 11 taps), dilations that split the columns into
    // phases of unequal length, lengths below one tile, between tiles and over several chunks
    // (a chunk holds about 2048 columns), channel counts that differ in and out.
    static let cases: [Case] = [
        Case(cin: 3, cout: 2, k: 7, dilation: 1, tOut: 1),
        Case(cin: 3, cout: 2, k: 3, dilation: 1, tOut: 3),
        Case(cin: 5, cout: 6, k: 4, dilation: 1, tOut: 9),
        Case(cin: 8, cout: 4, k: 11, dilation: 3, tOut: 50),
        Case(cin: 4, cout: 7, k: 8, dilation: 5, tOut: 101),
        Case(cin: 6, cout: 6, k: 7, dilation: 3, tOut: 2500),
        Case(cin: 16, cout: 12, k: 11, dilation: 1, tOut: 4500),
        Case(cin: 2, cout: 3, k: 11, dilation: 5, tOut: 3001),
    ]

    @Test(arguments: cases)
    func matchesTheDefinition(_ c: Case) throws {
        let w = randomTensor([c.cout, c.cin, c.k], seed: 21)
        let needed = c.tOut + (c.k - 1) * c.dilation
        let xStride = needed + 13
        var x = randomTensor([c.cin, xStride], seed: 22).scalars
        // Past the readable columns: NaN, which must not reach any output.
        for ch in 0..<c.cin { for t in needed..<xStride { x[ch * xStride + t] = .nan } }
        let yStride = c.tOut + 2
        let y0 = randomTensor([c.cout, yStride], seed: 23)
        var expected = y0.scalars
        var scale = 0.0
        for o in 0..<c.cout { for t in 0..<c.tOut {
            var s = Double(y0.scalars[o * yStride + t])
            for ch in 0..<c.cin { for q in 0..<c.k {
                s += Double(w.scalars[(o * c.cin + ch) * c.k + q]) * Double(x[ch * xStride + t + q * c.dilation])
            } }
            expected[o * yStride + t] = Float(s)
            scale = max(scale, abs(s))
        } }
        let conv = WinogradConv1d(weight: w)
        let tolerance = Float(max(scale, 1)) * 2e-5
        var parallel = y0.scalars, serial = y0.scalars
        var scratch = [Float](repeating: .nan, count: conv.scratchCount(outLength: c.tOut, dilation: c.dilation))
        x.withUnsafeBufferPointer { xp in
            parallel.withUnsafeMutableBufferPointer { yp in
                conv.accumulate(x: xp.baseAddress!, xStride: xStride, dilation: c.dilation, into: yp.baseAddress!,
                                yStride: yStride, outLength: c.tOut)
            }
            serial.withUnsafeMutableBufferPointer { yp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    conv.accumulateSerial(x: xp.baseAddress!, xStride: xStride, dilation: c.dilation, into: yp.baseAddress!,
                                          yStride: yStride, outLength: c.tOut, scratch: sp.baseAddress!)
                }
            }
        }
        for (name, y) in [("parallel", parallel), ("serial", serial)] {
            let err = maxAbsDiff(y, expected)
            #expect(err < tolerance, "\(name): max error \(err), outputs up to \(scale)")
            // Columns past the output length are left alone.
            for o in 0..<c.cout { for t in c.tOut..<yStride { #expect(y[o * yStride + t] == y0.scalars[o * yStride + t]) } }
        }
    }

    /// The transformed weights hold seven points per four-tap segment.
    @Test func transformedWeightSize() {
        let conv = WinogradConv1d(weight: randomTensor([5, 3, 11], seed: 1))
        #expect(conv.segments == 3)
        #expect(conv.transformed.count == 7 * 3 * 5 * 3)
    }

    /// The vector transforms (contiguous permutes at dilation 1, gathers otherwise) equal the plain
    /// loops bit for bit, including phases that end in partial blocks and reads past `limit`.
    func vectorTransformsEqualThePlainLoops(level: KernelLevel) {
        let lvl = Int32(level.rawValue)
        for (cin, dilation, width, tile0, limitCut) in [(3, 1, 40, 0, 0), (2, 1, 37, 5, 9), (4, 3, 33, 2, 0), (1, 5, 70, 0, 40),
                                                        (2, 1, 16, 0, 70), (3, 2, 48, 1, 3)] {
            let xStride = dilation * 4 * (tile0 + width) + 7 * dilation + 8
            let limit = xStride - limitCut
            let x = randomTensor([cin, xStride], seed: UInt64(width)).scalars
            let count = 7 * cin * dilation * width
            var plain = [Float](repeating: .nan, count: count), vector = plain
            gsv_wino_input_at(0, x, xStride, limit, cin, dilation, tile0, width, &plain)
            gsv_wino_input_at(lvl, x, xStride, limit, cin, dilation, tile0, width, &vector)
            #expect(plain.map(\.bitPattern) == vector.map(\.bitPattern), "input d\(dilation) width \(width) limit \(limit)")

            let cout = cin + 1, tiles = width - 2
            let m = randomTensor([7 * cout * dilation * width], seed: UInt64(cout * 31 + width)).scalars
            let outLen = max(1, dilation * 4 * (tile0 + tiles) - limitCut)
            let y0 = randomTensor([cout, xStride], seed: 5).scalars
            var yPlain = y0, yVector = y0
            gsv_wino_output_at(0, m, cout, dilation, tile0, tiles, width, &yPlain, xStride, outLen)
            gsv_wino_output_at(lvl, m, cout, dilation, tile0, tiles, width, &yVector, xStride, outLen)
            #expect(yPlain.map(\.bitPattern) == yVector.map(\.bitPattern), "output d\(dilation) tiles \(tiles) outLen \(outLen)")
        }
    }

    @Test(levelTrait(.simd)) func simdTransformsEqualThePlainLoops() { vectorTransformsEqualThePlainLoops(level: .simd) }
    @Test(levelTrait(.wide)) func wideTransformsEqualThePlainLoops() { vectorTransformsEqualThePlainLoops(level: .wide) }
}
