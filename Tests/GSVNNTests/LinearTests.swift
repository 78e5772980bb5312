import Testing
import GSVTensor
@testable import GSVNN

@Suite struct LinearTests {
    @Test func linearMatchesDefinition() {
        // y[r, o] = Σ_i x[r, i] · W[o, i] + b[o]
        let w = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor([0.5, -1, 2])
        let x = Tensor(shape: [2, 1, 2], scalars: [1, -1, 2, 0.5])
        let y = Linear(weight: w, bias: b)(x)
        #expect(y.shape == [2, 1, 3])
        // Row 1: [1·1 − 2 + 0.5, 3 − 4 − 1, 5 − 6 + 2]; row 2: [2 + 1 + 0.5, 6 + 2 − 1, 10 + 3 + 2].
        let want: [Float] = [-0.5, -2, 1, 3.5, 7, 15]
        #expect(y.scalars == want)
        #expect(Linear(weight: w, bias: nil)(x).scalars == [-1, -1, -1, 3, 8, 13])
    }
}

@Suite struct LinearHalfWeightTests {
    @Test func matchesFloatLinearOnWidenedWeights() throws {
        let w = HalfMatrix(randomTensor([24, 40], seed: 1))
        let b = randomTensor([24], seed: 2)
        let layer = try Linear(weight: .half(w), bias: b)
        let reference = Linear(weight: w.widened(), bias: b)
        for n in [1, 3, 6] {
            let x = randomTensor([n, 40], seed: UInt64(3 + n))
            #expect(maxAbsDiff(layer(x).scalars, reference(x).scalars) < 1e-4, "batch \(n)")
        }
        #expect(layer.inFeatures == 40 && layer.outFeatures == 24)
        #expect(throws: NNError.self) { try Linear(weight: .half(w), bias: randomTensor([40], seed: 1)) }
    }
}
