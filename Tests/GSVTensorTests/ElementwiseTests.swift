import Testing
@testable import GSVTensor

@Suite struct ElementwiseTests {
    /// Reference broadcasting by explicit index arithmetic.
    func naiveBroadcast(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> [Float] {
        let r = max(a.rank, b.rank)
        let pa = Array(repeating: 1, count: r - a.rank) + a.shape
        let pb = Array(repeating: 1, count: r - b.rank) + b.shape
        let out = (0..<r).map { max(pa[$0], pb[$0]) }
        let n = out.reduce(1, *)
        var res = [Float](repeating: 0, count: n)
        for flat in 0..<n {
            var rem = flat, ia = 0, ib = 0
            var idx = [Int](repeating: 0, count: r)
            for d in stride(from: r - 1, through: 0, by: -1) { idx[d] = rem % out[d]; rem /= out[d] }
            for d in 0..<r {
                ia = ia * pa[d] + (pa[d] == 1 ? 0 : idx[d])
                ib = ib * pb[d] + (pb[d] == 1 ? 0 : idx[d])
            }
            res[flat] = op(a.scalars[ia], b.scalars[ib])
        }
        return res
    }

    @Test(arguments: [
        ([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([2, 3, 4], [3, 1]), ([2, 1, 4], [1, 3, 1]),
        ([1], [5, 2]), ([3, 1, 5, 1], [2, 1, 6]), ([4, 1], [1, 4]), ([2, 3, 4], [2, 1, 1]), ([], [2, 2]),
    ])
    func broadcastMatchesNaive(_ sa: [Int], _ sb: [Int]) {
        let a = randomTensor(sa, seed: 1), b = randomTensor(sb, seed: 2)
        for (op, f) in [({ (x: Tensor, y: Tensor) in x + y }, { (x: Float, y: Float) in x + y }),
                        ({ $0 - $1 }, { $0 - $1 }), ({ $0 * $1 }, { $0 * $1 }), ({ $0 / $1 }, { $0 / $1 })] {
            let got = op(a, b)
            let want = naiveBroadcast(a, b, f)
            #expect(got.scalars == want, "\(sa) ⊕ \(sb)")
            let flipped = op(b, a)
            #expect(flipped.scalars == naiveBroadcast(b, a, f), "\(sb) ⊕ \(sa)")
        }
    }

    @Test func largeBroadcastSplitAcrossThreads() {
        // 192 runs of 1000: the run loop is split over threads; check every element.
        let a = randomTensor([3, 64, 1000], seed: 5), b = randomTensor([64, 1], seed: 6)
        let y = a * b
        var worst: Float = 0
        for i in 0..<3 { for c in 0..<64 { for t in 0..<1000 {
            let idx = (i * 64 + c) * 1000 + t
            worst = max(worst, abs(y.scalars[idx] - a.scalars[idx] * b.scalars[c]))
        } } }
        #expect(worst == 0)
        let p = a.permuted([2, 0, 1])
        #expect(p.shape == [1000, 3, 64] && p[999, 2, 63] == a[2, 63, 999] && p[17, 1, 5] == a[1, 5, 17])
    }

    @Test func broadcastShapes() {
        #expect(Broadcast.shape([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(Broadcast.shape([2, 3], [4]) == nil)
        #expect((Tensor.zeros([2, 1, 4]) + Tensor.zeros([3, 1])).shape == [2, 3, 4])
    }

    @Test func scalarOperators() {
        let a = Tensor(shape: [2, 2], scalars: [1, -2, 3, 4])
        #expect((a + 1).scalars == [2, -1, 4, 5])
        #expect((a - 1).scalars == [0, -3, 2, 3])
        #expect((2 * a).scalars == [2, -4, 6, 8])
        #expect((a / 2).scalars == [0.5, -1, 1.5, 2])
        #expect((1 - a).scalars == [0, 3, -2, -3])
        #expect((-a).scalars == [-1, 2, -3, -4])
        #expect(Tensor.maximum(a, Tensor([0])).scalars == [1, 0, 3, 4])
        #expect(Tensor.minimum(a, Tensor([0])).scalars == [0, -2, 0, 0])
    }

    // Inputs for the activation references below.
    let x = Tensor([-25, -3, -1, -0.5, 0, 0.5, 1, 3, 21])

    @Test func gelu() {
        // numpy/scipy: 0.5*x*(1+scipy.special.erf(x/np.sqrt(2)))
        expectClose(x.gelu().scalars, [-0.0, -0.004049694165587425, -0.15865525603294373, -0.1542687714099884, 0.0,
                                       0.3457312285900116, 0.8413447737693787, 2.995950222015381, 21.0], tol: 2e-7)
    }

    @Test func softplus() {
        // numpy: np.where(x>20, x, np.log1p(np.exp(x)))  (torch beta=1, threshold=20)
        expectClose(x.softplus().scalars, [1.3887943746404563e-11, 0.04858735203742981, 0.3132616877555847,
                                           0.4740769863128662, 0.6931471824645996, 0.9740769863128662,
                                           1.31326162815094, 3.0485873222351074, 21.0], tol: 2e-7)
    }

    @Test func sigmoidTanhExpLog() {
        // numpy: 1/(1+np.exp(-x))
        expectClose(x.sigmoid().scalars, [1.3887943746404563e-11, 0.04742587357759476, 0.2689414322376251,
                                          0.3775406777858734, 0.5, 0.622459352016449, 0.7310585975646973,
                                          0.9525741338729858, 1.0], tol: 2e-7)
        // numpy: np.tanh(x)
        expectClose(x.tanh().scalars, [-1.0, -0.9950547814369202, -0.7615941762924194, -0.46211716532707214, 0.0,
                                       0.46211716532707214, 0.7615941762924194, 0.9950547814369202, 1.0], tol: 2e-7)
        let p = Tensor([0.25, 1, 4])
        expectClose(p.log().exp().scalars, p.scalars, tol: 1e-6)
        #expect(p.sqrt().scalars == [0.5, 1, 2])
        #expect(Tensor([-1.5, 2]).abs().scalars == [1.5, 2])
    }

    @Test func reluFamilyAndClamp() {
        let a = Tensor([-2, -0.5, 0, 1.5])
        #expect(a.relu().scalars == [0, 0, 0, 1.5])
        #expect(a.leakyRelu(0.1).scalars == [-0.2, -0.05, 0, 1.5])
        #expect(a.leakyRelu().scalars == [-0.02, -0.005, 0, 1.5])
        #expect(a.clamp(min: -1, max: 1).scalars == [-1, -0.5, 0, 1])
        #expect(a.clamp(min: 0).scalars == [0, 0, 0, 1.5])
        #expect(Tensor([.nan]).clamp(min: 0, max: 1).scalars[0].isNaN)
    }

    @Test func maskedFillBroadcasts() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let m = Mask(shape: [1, 3], values: [false, true, false])
        #expect(a.maskedFill(m, -9).scalars == [1, -9, 3, 4, -9, 6])
        let c = Mask.causal(rows: 2, cols: 3)
        #expect(c.values == [false, false, true, false, false, false])
        #expect(Mask.causal(rows: 3, cols: 3).values == [false, true, true, false, false, true, false, false, false])
    }
}
