import Testing
import Foundation
@testable import GSVTensor

/// Opt-in measurements (`GSV_BENCH=1 swift test -c release --filter BenchmarkTests`): they print
/// timings and check nothing but agreement of the compared paths.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH"] == "1"))
struct BenchmarkTests {
    /// Median seconds per call over `reps` calls after one warm-up.
    func time(_ reps: Int, _ body: () -> Void) -> Double {
        body()
        var samples: [Double] = []
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return samples.sorted()[samples.count / 2]
    }

    func fmt(_ s: Double) -> String { String(format: "%8.1f µs", s * 1e6) }

    @Test func halfGemvVersusWidenedSgemv() {
        print("threads: \(Parallel.threadCount)")
        for (rows, cols) in [(512, 2048), (2048, 512)] {
            let w = randomTensor([rows, cols], seed: 1)
            let half = HalfMatrix(w)
            let wide = half.widened()  // widen once at load
            let x = randomTensor([cols], seed: 2).scalars
            var y = [Float](repeating: 0, count: rows)
            let tHalf = time(200) { y = half.gemv(x) }
            var y2 = [Float](repeating: 0, count: rows)
            let tBLAS = time(200) {
                wide.scalars.withUnsafeBufferPointer { wp in x.withUnsafeBufferPointer { xp in
                    y2.withUnsafeMutableBufferPointer { yp in
                        BLAS.sgemv(m: rows, n: cols, a: wp.baseAddress!, lda: cols, x: xp.baseAddress!, y: yp.baseAddress!)
                    }
                } }
            }
            #expect(maxAbsDiff(y, y2) < 1e-3)
            let levels = KernelLevel.allCases.filter(\.isAvailable).map { level in
                "\(level) \(fmt(time(200) { _ = half.gemv(x, bias: nil, level: level) }))"
            }
            print("[\(rows)x\(cols)] batch 1: fp16 gemv \(fmt(tHalf)) (level \(HalfMatrix.kernelLevel); \(levels.joined(separator: ", "))) "
                  + "(\(half.byteCount / 1024) KiB)   fp32 sgemv \(fmt(tBLAS)) (\(wide.count * 4 / 1024) KiB)")
            let x4 = randomTensor([4, cols], seed: 3)
            let t4h = time(100) { _ = half.linear(x4) }
            let t4f = time(100) { _ = linear(x4, weight: wide) }
            let levels4 = KernelLevel.allCases.filter(\.isAvailable).map { level in
                "\(level) \(fmt(time(100) { _ = half.linear(x4, bias: nil, level: level) }))"
            }
            print("[\(rows)x\(cols)] batch 4: fp16 linear \(fmt(t4h)) (\(levels4.joined(separator: ", ")))   fp32 sgemm \(fmt(t4f))")
        }
        // A decoder-sized working set (well beyond L3): 24 layers × (512×2048 + 2048×512).
        let layers = 24
        let ups = (0..<layers).map { HalfMatrix(randomTensor([2048, 512], seed: UInt64(10 + $0))) }
        let downs = (0..<layers).map { HalfMatrix(randomTensor([512, 2048], seed: UInt64(50 + $0))) }
        let upsW = ups.map { $0.widened() }, downsW = downs.map { $0.widened() }
        let x = randomTensor([512], seed: 4).scalars
        let tHalf = time(20) {
            for l in 0..<layers { let h = ups[l].gemv(x); _ = downs[l].gemv(h) }
        }
        func sgemv(_ w: Tensor, _ v: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: w.shape[0])
            w.scalars.withUnsafeBufferPointer { wp in v.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.sgemv(m: w.shape[0], n: w.shape[1], a: wp.baseAddress!, lda: w.shape[1], x: xp.baseAddress!,
                               y: yp.baseAddress!)
                }
            } }
            return y
        }
        let tBLAS = time(20) {
            for l in 0..<layers { _ = sgemv(downsW[l], sgemv(upsW[l], x)) }
        }
        let mbHalf = Double(layers * 2 * 512 * 2048 * 2) / 1_048_576
        let levels = KernelLevel.allCases.filter(\.isAvailable).map { level -> String in
            let t = time(10) {
                for l in 0..<layers { _ = downs[l].gemv(ups[l].gemv(x, bias: nil, level: level), bias: nil, level: level) }
            }
            return String(format: "%@ %@ %.1f GB/s", level.description, fmt(t), mbHalf / 1024 / t)
        }
        print(String(format: "24-layer MLP token: fp16 %@ (%.0f MiB, %.1f GB/s; %@)   fp32 sgemv %@ (%.0f MiB, %.1f GB/s)",
                     fmt(tHalf), mbHalf, mbHalf / 1024 / tHalf, levels.joined(separator: ", "), fmt(tBLAS), 2 * mbHalf,
                     2 * mbHalf / 1024 / tBLAS))
    }

    @Test func depthwiseDirectVersusIm2col() {
        for (c, t, k) in [(512, 2000, 7), (768, 400, 128 / 8)] {
            let x = randomTensor([1, c, t], seed: 5), w = randomTensor([c, 1, k], seed: 6)
            var a = Tensor.zeros([1]), b = a
            let tDirect = time(10) {
                a = conv1d(x, weight: w, bias: nil, stride: 1, padding: (k / 2, k / 2), dilation: 1, groups: c,
                           columnBudget: defaultColumnBudget)
            }
            let tGemm = time(10) {
                b = conv1d(x, weight: w, bias: nil, stride: 1, padding: (k / 2, k / 2), dilation: 1, groups: c,
                           columnBudget: defaultColumnBudget, directDepthwise: false)
            }
            #expect(maxAbsDiff(a.scalars, b.scalars) < 1e-4)
            print("depthwise C\(c) T\(t) K\(k): direct \(fmt(tDirect))   im2col+sgemm \(fmt(tGemm))")
        }
    }

    @Test func convolutionThroughput() {
        // HiFi-GAN-like shapes.
        let cases: [(cin: Int, cout: Int, t: Int, k: Int, d: Int)] = [(512, 512, 400, 7, 1), (128, 128, 6400, 11, 3),
                                                                       (32, 32, 102_400, 3, 5)]
        for c in cases {
            let x = randomTensor([1, c.cin, c.t], seed: 7), w = randomTensor([c.cout, c.cin, c.k], seed: 8)
            let p = c.d * (c.k - 1) / 2
            let gflop = 2.0 * Double(c.cin * c.cout * c.k * c.t) / 1e9
            var a = Tensor.zeros([1]), b = a
            for _ in 0..<2 {  // alternate, to be fair on a shared machine
                let s1 = time(3) {
                    a = conv1d(x, weight: w, bias: nil, stride: 1, padding: (p, p), dilation: c.d, groups: 1,
                               columnBudget: defaultColumnBudget, shiftedGemm: false)
                }
                let s2 = time(3) {
                    b = conv1d(x, weight: w, bias: nil, stride: 1, padding: (p, p), dilation: c.d, groups: 1,
                               columnBudget: defaultColumnBudget, shiftedGemm: true)
                }
                print(String(format: "conv1d Cin%d Cout%d T%d K%d d%d: im2col %@ %.1f GFLOP/s   shifted %@ %.1f GFLOP/s",
                             c.cin, c.cout, c.t, c.k, c.d, fmt(s1), gflop / s1, fmt(s2), gflop / s2))
            }
            #expect(maxAbsDiff(a.scalars, b.scalars) < 1e-3)
        }
        let x = randomTensor([1, 256, 3200], seed: 9), w = randomTensor([256, 128, 16], seed: 10)
        let s = time(5) { _ = convTranspose1d(x, weight: w, stride: 8, padding: 4) }
        let gflop = 2.0 * Double(256 * 128 * 16 * 3200) / 1e9
        print(String(format: "convTranspose1d 256→128 T3200 K16 s8: %@  %.1f GFLOP/s", fmt(s), gflop / s))
    }
}
