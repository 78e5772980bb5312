import Testing
@testable import GSVTensor

/// References: numpy restatements of ATen's rules, noted per case.
/// nearest: src = min(floor(i * step), in-1) with step = float32(1/scale) (scale_factor) or
/// float32(in)/float32(out) (size); linear (align_corners=False):
/// real = max(step*(i+0.5)-0.5, 0); lo = floor(real); λ = real-lo; hi = min(lo+1, in-1).
@Suite struct InterpolationTests {
    let ramp = Tensor(shape: [1, 1, 9], generator: { Float($0) })

    @Test func nearestScaleFactorUsesInverseScale() {
        // in=9, scale_factor=1.875 → out 16 (the v3 rule); the size=16 rule would differ.
        let y = interpolateNearest(ramp, .scaleFactor(1.875))
        #expect(y.shape == [1, 1, 16])
        #expect(y.scalars == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8])
        let z = interpolateNearest(ramp, .size(16))
        #expect(z.scalars == [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8])
    }

    @Test func nearestSpecialCasesAndDownsampling() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(interpolateNearest(x, .scaleFactor(2)).scalars == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6])
        #expect(interpolateNearest(x, .size(3)) == x)
        // in=11, scale 0.6 → out 6: [0 1 3 5 6 8]; size 6: [0 1 3 5 7 9]
        let r = Tensor(shape: [11], generator: { Float($0) })
        #expect(interpolateNearest(r, .scaleFactor(0.6)).scalars == [0, 1, 3, 5, 6, 8])
        #expect(interpolateNearest(r, .size(6)).scalars == [0, 1, 3, 5, 7, 9])
    }

    @Test func linearMatchesATenRule() {
        let x = Tensor(shape: [1, 1, 4], scalars: [1, -2, 4, 0.5])
        expectClose(interpolateLinear(x, .size(8)).scalars, [1.0, 0.25, -1.25, -0.5, 2.5, 3.125, 1.375, 0.5], tol: 1e-6)
        // scale_factor 2.3 → out 9 with step 1/2.3; differs from size=9 (step 4/9).
        expectClose(interpolateLinear(x, .scaleFactor(2.3)).scalars,
                    [1.0, 0.5434783697128296, -0.7608695030212402, -1.8695652484893799, 0.7391297817230225,
                     3.347825527191162, 2.858696460723877, 1.3369567394256592, 0.5], tol: 1e-6)
        expectClose(interpolateLinear(x, .size(9)).scalars,
                    [1.0, 0.4999999403953552, -0.8333334922790527, -1.6666665077209473, 1.0, 3.6666665077209473,
                     2.6388890743255615, 1.0833336114883423, 0.5], tol: 1e-6)
        expectClose(interpolateLinear(x, .size(3)).scalars, [0.4999999403953552, 1.0, 1.0833327770233154], tol: 1e-6)
        // Known torch result: F.interpolate(torch.arange(4.)[None,None], size=8, mode="linear")
        let a = Tensor(shape: [1, 1, 4], scalars: [0, 1, 2, 3])
        #expect(interpolateLinear(a, .size(8)).scalars == [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    }
}

@Suite struct WeightNormTests {
    let v = Tensor(shape: [2, 3, 2], generator: { i in Float(i + 1) * (i % 2 == 0 ? 1 : -1) })

    @Test func dimZero() {
        // v = np.arange(1,13).reshape(2,3,2)*[1,-1]; g = [[[2]],[[-0.5]]]
        // g * v / np.sqrt((v**2).sum(axis=(1,2), keepdims=True))
        let w = foldWeightNorm(g: Tensor(shape: [2, 1, 1], scalars: [2, -0.5]), v: v)
        expectClose(w.scalars, [0.2096569687128067, -0.4193139374256134, 0.6289709210395813, -0.8386278748512268,
                                1.048284888267517, -1.2579418420791626, -0.1480342298746109, 0.1691819727420807,
                                -0.19032971560955048, 0.21147747337818146, -0.23262521624565125,
                                0.2537729740142822], tol: 1e-6)
    }

    @Test func dimTwoAsHuBERTPosConv() {
        // g = [0.3, 3] shaped [1,1,2]; norm over axes (0, 1)
        let w = foldWeightNorm(g: Tensor(shape: [1, 1, 2], scalars: [0.3, 3]), v: v, dim: 2)
        expectClose(w.scalars, [0.017739372327923775, -0.31448546051979065, 0.053218115121126175,
                                -0.6289709210395813, 0.08869685977697372, -0.9434563517570496,
                                0.12417560070753098, -1.2579418420791626, 0.15965434908866882,
                                -1.5724272727966309, 0.19513309001922607, -1.8869127035140991], tol: 1e-6)
        #expect(foldWeightNorm(g: Tensor(shape: [1, 1, 2], scalars: [0.3, 3]), v: v, dim: -1) == w)
    }
}

@Suite struct RandomTests {
    @Test func reproducibleAndDistinctStreams() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let sa = (0..<8).map { _ in a.next() }, sb = (0..<8).map { _ in b.next() }, sc = (0..<8).map { _ in c.next() }
        #expect(sa == sb && sa != sc)
    }

    @Test func xoshiroReferenceStream() {
        // xoshiro256** from state (1, 2, 3, 4) — first outputs of the reference C code
        // (prng.di.unimi.it): 11520, 0, 1509978240, 1215971899390074240.
        var r = SeededRNG(state: (1, 2, 3, 4))
        #expect([r.next(), r.next(), r.next(), r.next()] == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    @Test func gaussianMoments() {
        var r = SeededRNG(seed: 7)
        let g = r.gaussian(shape: [20000])
        #expect(abs(g.mean()) < 0.03)
        #expect(abs(g.variance(axis: 0).scalars[0] - 1) < 0.04)
        let u = r.uniform(shape: [20000], lo: -1, hi: 3)
        #expect(u.min() >= -1 && u.max() < 3 && abs(u.mean() - 1) < 0.05)
    }
}
