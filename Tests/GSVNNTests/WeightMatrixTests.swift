import Testing
import GSVTensor
@testable import GSVNN

/// fp16-stored weights (``WeightMatrix/half(_:)``) against the same values held as Float32: widening
/// is exact, so only the summation order of the kernels may differ.
@Suite struct WeightMatrixTests {
    /// A random matrix whose values are exactly representable in fp16, as both storages.
    func pair(rows: Int, cols: Int, seed: UInt64) -> (half: WeightMatrix, float: WeightMatrix) {
        let h = HalfMatrix(randomTensor([rows, cols], seed: seed))
        return (.half(h), .float(h.widened()))
    }

    @Test func linearAgreesAcrossStoragesForEveryBatchPath() throws {
        let (h, f) = pair(rows: 40, cols: 24, seed: 11)
        let bias = randomTensor([40], seed: 12)
        for n in [1, 3, 9, 70] {  // gemv, small batch, tiled sgemm
            let x = randomTensor([n, 24], seed: UInt64(13 + n))
            let a = h.linear(x, bias: bias), b = f.linear(x, bias: bias)
            #expect(a.shape == [n, 40] && b.shape == [n, 40])
            #expect(maxAbsDiff(a.scalars, b.scalars) < 1e-4, "n = \(n)")
        }
        #expect(h.byteCount == 40 * 24 * 2 && f.byteCount == 40 * 24 * 4)
        #expect(h.widened == f.widened)
    }

    @Test func rowSlicesAndStackingKeepValues() throws {
        let (h, f) = pair(rows: 12, cols: 5, seed: 21)
        #expect(h.rows(4..<9).widened == f.widened.slice(axis: 0, 4..<9))
        #expect(f.rows(4..<9).widened == f.widened.slice(axis: 0, 4..<9))
        let (h2, f2) = pair(rows: 3, cols: 5, seed: 22)
        let stacked = try WeightMatrix.stacked([h, h2], layer: "test")
        guard case .half = stacked else { Issue.record("two fp16 parts should stack to fp16"); return }
        #expect(stacked.widened == Tensor.concat([f.widened, f2.widened], axis: 0))
        let mixed = try WeightMatrix.stacked([h, f2], layer: "test")
        guard case .float = mixed else { Issue.record("mixed parts should stack to Float32"); return }
        #expect(mixed.widened == stacked.widened)
        #expect(throws: NNError.self) { try WeightMatrix.stacked([h, .float(randomTensor([2, 4], seed: 1))], layer: "test") }
        #expect(throws: NNError.self) { try WeightMatrix.stacked([], layer: "test") }
    }

    @Test func storedLinearValidatesBias() throws {
        let (h, _) = pair(rows: 6, cols: 4, seed: 31)
        #expect(throws: NNError.self) { try Linear(weight: h, bias: randomTensor([5], seed: 1)) }
        let l = try Linear(weight: h, bias: nil)
        #expect(l.inFeatures == 4 && l.outFeatures == 6)
        let x = randomTensor([2, 3, 4], seed: 32)
        #expect(l(x).shape == [2, 3, 6])
    }

    @Test func attentionWithHalfWeightsMatchesFloatWeights() throws {
        let e = 8, heads = 2
        let (inH, inF) = pair(rows: 3 * e, cols: e, seed: 41)
        let (outH, outF) = pair(rows: e, cols: e, seed: 42)
        let ib = randomTensor([3 * e], seed: 43), ob = randomTensor([e], seed: 44)
        let half = try MultiHeadAttention(inProj: inH, inProjBias: ib, outProj: outH, outProjBias: ob, numHeads: heads)
        let float = try MultiHeadAttention(inProjWeight: inF.widened, inProjBias: ib, outProjWeight: outF.widened,
                                           outProjBias: ob, numHeads: heads)
        #expect(half.weightByteCount * 2 == float.weightByteCount)
        let x = randomTensor([2, 7, e], seed: 45), y = randomTensor([2, 5, e], seed: 46)
        #expect(maxAbsDiff(half(x).scalars, float(x).scalars) < 1e-4)
        let cross = half(query: x, key: y, value: y), crossF = float(query: x, key: y, value: y)
        #expect(cross.shape == [2, 7, e] && maxAbsDiff(cross.scalars, crossF.scalars) < 1e-4)
        #expect(throws: NNError.self) {
            try MultiHeadAttention(inProj: outH, inProjBias: nil, outProj: outH, outProjBias: nil, numHeads: heads)
        }
    }
}
