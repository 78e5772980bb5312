import Foundation
import GSVKernels
import Testing
@testable import GSVTensor

@Suite struct LinalgTests {
    /// Direct definition: out[batch, i, j] = Σ_k a[batch_a, i, k] · b[batch_b, k, j] with broadcasting.
    func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let ba = Array(a.shape.dropLast(2)), bb = Array(b.shape.dropLast(2))
        let batch = Broadcast.shape(ba, bb) ?? []
        let count = batch.reduce(1, *)
        var out = [Float](repeating: 0, count: count * m * n)
        for t in 0..<count {
            var idx = [Int](repeating: 0, count: batch.count), rem = t
            for d in stride(from: batch.count - 1, through: 0, by: -1) { idx[d] = rem % batch[d]; rem /= batch[d] }
            func off(_ s: [Int]) -> Int {
                var o = 0
                for (d, size) in s.enumerated() { o = o * size + (size == 1 ? 0 : idx[batch.count - s.count + d]) }
                return o
            }
            let oa = off(ba) * m * k, ob = off(bb) * k * n
            for i in 0..<m { for j in 0..<n {
                var s: Double = 0
                for q in 0..<k { s += Double(a.scalars[oa + i * k + q]) * Double(b.scalars[ob + q * n + j]) }
                out[(t * m + i) * n + j] = Float(s)
            } }
        }
        return Tensor(shape: batch + [m, n], scalars: out)
    }

    @Test(arguments: [
        ([3, 4], [4, 5]), ([2, 3, 4], [4, 5]), ([2, 3, 4], [2, 4, 5]), ([2, 1, 3, 4], [5, 4, 2]),
        ([1, 7], [7, 1]), ([4, 2, 3, 6], [1, 6, 3]), ([5, 1, 9], [9, 2]),
    ])
    func batchedMatmulMatchesDefinition(_ sa: [Int], _ sb: [Int]) {
        let a = randomTensor(sa, seed: 3), b = randomTensor(sb, seed: 4)
        let got = matmul(a, b), want = naiveMatmul(a, b)
        #expect(got.shape == want.shape)
        #expect(maxAbsDiff(got.scalars, want.scalars) < 1e-5)
    }

    @Test func oneDimensionalOperands() {
        let m = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let v = Tensor([1, 0, -1])
        #expect(matmul(m, v).shape == [2] && matmul(m, v).scalars == [-2, -2])
        let w = Tensor([1, 1])
        #expect(matmul(w, m).shape == [3] && matmul(w, m).scalars == [5, 7, 9])
        #expect(matmul(v, v).shape == [] && matmul(v, v).scalars == [2])
        let batched = Tensor(shape: [2, 2, 3], generator: { Float($0) })
        #expect(matmul(batched, v).shape == [2, 2] && matmul(batched, v).scalars == [-2, -2, -2, -2])
    }

    @Test func linearMatchesMatmulWithTransposedWeight() {
        let x = randomTensor([2, 3, 8], seed: 5), w = randomTensor([6, 8], seed: 6), b = randomTensor([6], seed: 7)
        let want = matmul(x, w.transposed()) + b
        #expect(maxAbsDiff(linear(x, weight: w, bias: b).scalars, want.scalars) < 1e-5)
    }
}

@Suite struct BLASKernelSelectionTests {
    /// The first BLAS use picks OpenBLAS's kernels from the CPU's features: on an AVX-512 CPU an
    /// AVX-512 kernel family (whatever OpenBLAS itself detected), and products stay correct after
    /// the switch.
    @Test func kernelFamilyFollowsTheCPU() {
        let a = randomTensor([37, 53], seed: 1), b = randomTensor([53, 29], seed: 2)
        let c = matmul(a, b)
        var want = [Float](repeating: 0, count: 37 * 29)
        for i in 0..<37 { for j in 0..<29 {
            var s = 0.0
            for k in 0..<53 { s += Double(a.scalars[i * 53 + k]) * Double(b.scalars[k * 29 + j]) }
            want[i * 29 + j] = Float(s)
        } }
        #expect(maxAbsDiff(c.scalars, want) < 1e-4)
        #expect(!BLAS.kernelDescription.isEmpty)
    }

    /// Whether this run can check OpenBLAS's AVX-512 kernel choice (an AVX-512 CPU, kernels not
    /// forced by OPENBLAS_CORETYPE, OpenBLAS rather than Accelerate).
    static var openBLASOnAVX512: Bool {
        #if canImport(Accelerate)
        return false
        #else
        return ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil && Tuning.cpuLevel == .wide
        #endif
    }

    @Test(.enabled(if: openBLASOnAVX512, "needs OpenBLAS on an AVX-512 CPU (GSV_CPU_LEVEL not below avx512, no OPENBLAS_CORETYPE)"))
    func openBLASPicksAnAVX512FamilyOnAVX512() {
        _ = matmul(randomTensor([4, 4], seed: 1), randomTensor([4, 4], seed: 2))
        let description = BLAS.kernelDescription
        let avx512 = ["SkylakeX", "Cooperlake", "SapphireRapids"]
        #expect(avx512.contains { description.lowercased().hasPrefix("openblas \($0.lowercased())") }, "\(description)")
    }
}
