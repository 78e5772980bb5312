import Testing
@testable import GSVTensor

@Suite struct ReductionTests {
    // ln = np.arange(8).reshape(2, 4) ** 1.5
    let ln = Tensor(shape: [2, 4], generator: { Float(Foundation.pow(Double($0), 1.5)) })

    @Test func sumMeanAlongAxes() {
        let x = Tensor(shape: [2, 3, 2], generator: { Float($0) })
        #expect(x.sum(axis: 1).shape == [2, 2])
        #expect(x.sum(axis: 1).scalars == [6, 9, 24, 27])  // [0+2+4, 1+3+5, 6+8+10, 7+9+11]
        #expect(x.sum(axis: -1, keepDim: true).shape == [2, 3, 1])
        #expect(x.sum(axis: -1, keepDim: true).scalars == [1, 5, 9, 13, 17, 21])
        #expect(x.mean(axis: 0).scalars == [3, 4, 5, 6, 7, 8])
        #expect(x.sum() == 66 && x.mean() == 5.5)
    }

    @Test func varianceMatchesNumpy() {
        // np.var(ln, axis=1, ddof=1) and np.var(ln, axis=0)
        expectClose(ln.variance(axis: 1).scalars, [5.213080406188965, 20.541505813598633], tol: 1e-6)
        expectClose(ln.variance(axis: 0, correction: 0).scalars,
                    [16.0, 25.90983009338379, 35.215389251708984, 44.38295364379883], tol: 1e-6)
        #expect(Tensor([3]).variance(axis: 0).scalars[0].isNaN)
    }

    @Test func maxMinArgmax() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 5, -2, -7, 0])
        #expect(x.max(axis: 1).scalars == [5, 0])
        #expect(x.min(axis: 1, keepDim: true).scalars == [1, -7])
        #expect(x.max(axis: 0).scalars == [1, 5, 5])
        #expect(x.argmax(axis: 1) == [1, 2])  // first of the tied maxima
        #expect(x.argmax(axis: 0) == [0, 0, 0])
        #expect(x.argmax() == 1 && x.max() == 5 && x.min() == -7)
        let n = Tensor([1, .nan, 3])
        #expect(n.max().isNaN && n.argmax() == 1)
    }
}

import Foundation
