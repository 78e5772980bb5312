import Foundation
import GSVAudio
import GSVTensor
import Testing

/// A small deterministic generator so test signals are reproducible.
struct TestRNG {
    var state: UInt64
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
    }
    mutating func signal(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}

@Suite("FFT, spectrogram and mel")
struct SpectralTests {
    /// Direct O(n²) DFT in double precision.
    static func naiveDFT(_ x: [Float]) -> (re: [Double], im: [Double]) {
        let n = x.count
        var re = [Double](repeating: 0, count: n / 2 + 1), im = re
        for k in 0...(n / 2) {
            for t in 0..<n {
                let a = -2 * Double.pi * Double((k * t) % n) / Double(n)
                re[k] += Double(x[t]) * cos(a)
                im[k] += Double(x[t]) * sin(a)
            }
        }
        return (re, im)
    }

    @Test("real FFT matches a direct DFT for power-of-two, mixed-radix, prime and tiny lengths",
          arguments: [1, 2, 3, 4, 5, 6, 7, 8, 12, 30, 64, 97, 100, 1280, 2048])
    func fftMatchesDFT(n: Int) throws {
        var rng = TestRNG(state: UInt64(n))
        let x = rng.signal(n)
        let (re, im) = try RealFFT(n: n).forward(x)
        let ref = Self.naiveDFT(x)
        #expect(re.count == n / 2 + 1)
        var scale = 1e-9, err = 0.0
        for k in 0..<re.count {
            scale = max(scale, abs(ref.re[k]), abs(ref.im[k]))
            err = max(err, abs(Double(re[k]) - ref.re[k]), abs(Double(im[k]) - ref.im[k]))
        }
        #expect(err / scale < 2e-6, "n=\(n): relative error \(err / scale)")
    }

    @Test("invalid FFT and STFT settings are rejected")
    func invalidSettings() {
        #expect(throws: AudioError.self) { _ = try RealFFT(n: 0) }
        #expect(throws: AudioError.self) { _ = try Spectrogram(config: STFTConfig(nFFT: 1024, hopSize: 0, winSize: 1024)) }
        #expect(throws: AudioError.self) { _ = try Spectrogram(config: STFTConfig(nFFT: 1024, hopSize: 256, winSize: 2048)) }
        #expect(throws: AudioError.self) { _ = try MelFilterbank(sampleRate: 16000, nFFT: 512, nMels: 0) }
        #expect(throws: AudioError.self) { _ = try MelFilterbank(sampleRate: 16000, nFFT: 512, nMels: 10, fMin: 9000, fMax: 8000) }
    }

    @Test("spectrogram of a bin-centred sine peaks at its bin; frame count follows the padding rule")
    func sinePeak() throws {
        let cfg = STFTConfig(nFFT: 2048, hopSize: 640, winSize: 2048)
        let spec = try Spectrogram(config: cfg)
        let n = 32000
        let bin = 100  // 100 · 32000 / 2048 Hz
        let x = (0..<n).map { Float(0.5 * sin(2 * Double.pi * Double(bin) * Double($0) / 2048)) }
        let s = try spec.magnitude(x)
        let frames = (n + 2 * 704 - 2048) / 640 + 1
        #expect(s.shape == [1025, frames])
        #expect(cfg.frameCount(forSampleCount: n) == frames)
        let f = frames / 2
        var best = 0
        for k in 0..<1025 where s[k, f] > s[best, f] { best = k }
        #expect(best == bin)
        // Periodic Hann has coherent gain 0.5: |X[bin]| = A · N/2 · 0.5.
        #expect(abs(s[bin, f] - 0.5 * 1024 * 0.5) < 0.01)
        // Far bins hold only the 1e-8 floor: sqrt(1e-8) = 1e-4.
        #expect(s[600, f] < 2e-4 && s[600, f] >= 0.9e-4)
        // center=true adds nFFT/2 on both sides.
        let centred = try Spectrogram(config: STFTConfig(nFFT: 2048, hopSize: 640, winSize: 2048, center: true)).magnitude(x)
        #expect(centred.shape == [1025, (n + 2 * 704 + 2048 - 2048) / 640 + 1])
    }

    @Test("a window shorter than nFFT is centred and zero-padded like torch.stft")
    func shortWindow() throws {
        let spec = try Spectrogram(config: STFTConfig(nFFT: 16, hopSize: 4, winSize: 8))
        #expect(spec.window.count == 16)
        #expect(spec.window[0..<4].allSatisfy { $0 == 0 } && spec.window[12..<16].allSatisfy { $0 == 0 })
        #expect(spec.window[4] == 0 && spec.window[8] == 1)  // periodic Hann of 8: 0 at 0, 1 at 4
    }

    @Test("too-short audio is a clear error, not a crash")
    func tooShort() throws {
        let spec = try Spectrogram(config: .sovitsV2)
        #expect(throws: AudioError.self) { _ = try spec.magnitude([Float](repeating: 0.1, count: 500)) }
        #expect(throws: AudioError.self) { _ = try spec.magnitude([]) }
    }

    // Reference numbers below were printed by librosa 0.11 (numpy 2.x):
    //   w = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    //   float(w.astype(np.float64).sum()), np.nonzero(w[r])[0][[0, -1]], w[r, k], float(w[r].sum())
    struct MelCase: Sendable, CustomTestStringConvertible {
        var sr: Int, nFFT: Int, nMels: Int, fMin: Double, fMax: Double?
        var total: Double
        /// (row, first nonzero bin, last nonzero bin, [(bin, value)], row sum)
        var rows: [(Int, Int, Int, [(Int, Double)], Double)]
        var testDescription: String { "sr \(sr) nFFT \(nFFT) nMels \(nMels) fmin \(fMin) fmax \(fMax.map { "\($0)" } ?? "nil")" }
    }

    static let melCases: [MelCase] = [
        MelCase(sr: 32000, nFFT: 2048, nMels: 128, fMin: 0, fMax: nil, total: 8.190639638565926, rows: [
            (0, 1, 3, [(1, 0.01911170966923237), (2, 0.031723689287900925), (3, 0.012611976824700832)], 0.06344737578183413),
            (64, 151, 159, [(151, 0.0011627385392785072), (152, 0.004266048781573772), (153, 0.007369359023869038)], 0.06427314900793135),
            (127, 966, 1023, [(966, 4.864066795562394e-05), (967, 0.00012419266568031162), (968, 0.00019974468159489334)], 0.06399485973452101),
        ]),
        MelCase(sr: 32000, nFFT: 1280, nMels: 100, fMin: 0, fMax: nil, total: 3.997674814930747, rows: [
            (0, 1, 2, [(1, 0.01874488964676857), (2, 0.017275013029575348)], 0.03601990267634392),
            (50, 94, 101, [(94, 0.0007370580569840968), (95, 0.0037680426612496376), (96, 0.006799027323722839)], 0.03971913951681927),
            (99, 594, 639, [(594, 3.3013642678270116e-05), (595, 0.00010863687202800065), (596, 0.00018426010501571)], 0.03999253749861964),
        ]),
        MelCase(sr: 16000, nFFT: 512, nMels: 80, fMin: 55, fMax: 7600, total: 2.5611723067951857, rows: [
            (0, 2, 4, [(2, 0.005804387852549553), (3, 0.02564943954348564), (4, 0.0014644898474216461)], 0.03291831724345684),
            (40, 54, 57, [(54, 0.0062506175599992275), (55, 0.014031907543540001), (56, 0.009677448309957981)], 0.0321393059566617),
            (79, 226, 243, [(226, 7.72311250329949e-05), (227, 0.000509040430188179), (228, 0.0009408497717231512)], 0.031968607640010305),
        ]),
    ]

    @Test("mel filterbank equals librosa.filters.mel (slaney scale and norm)", arguments: melCases)
    func melMatchesLibrosa(c: MelCase) throws {
        let mel = try MelFilterbank(sampleRate: c.sr, nFFT: c.nFFT, nMels: c.nMels, fMin: c.fMin, fMax: c.fMax)
        let bins = c.nFFT / 2 + 1
        #expect(mel.weights.count == c.nMels * bins)
        let total = mel.weights.reduce(0.0) { $0 + Double($1) }
        #expect(abs(total - c.total) < 1e-6 * c.total)
        for (r, first, last, values, sum) in c.rows {
            let row = Array(mel.weights[(r * bins)..<((r + 1) * bins)])
            let nz = row.indices.filter { row[$0] != 0 }
            #expect(nz.first == first && nz.last == last, "row \(r)")
            for (k, v) in values { #expect(abs(Double(row[k]) - v) <= 1e-6 * v, "row \(r) bin \(k): \(row[k]) vs \(v)") }
            #expect(abs(row.reduce(0.0) { $0 + Double($1) } - sum) < 1e-6 * sum)
        }
        // Defining properties: non-negative triangles, each one contiguous.
        #expect(mel.weights.allSatisfy { $0 >= 0 })
        for r in 0..<c.nMels {
            let nz = (0..<bins).filter { mel.weights[r * bins + $0] != 0 }
            if let a = nz.first, let b = nz.last { #expect(nz.count == b - a + 1) }
        }
    }

    @Test("slaney mel scale: linear below 1 kHz, logarithmic above, invertible")
    func melScale() {
        #expect(abs(MelFilterbank.hzToMel(1000) - 15) < 1e-12)
        #expect(abs(MelFilterbank.hzToMel(200) - 3) < 1e-12)
        #expect(abs(MelFilterbank.hzToMel(6400) - (15 + 27)) < 1e-9)  // log step = ln(6.4)/27
        for hz in [0.0, 55, 440, 999, 1000, 4000, 16000] {
            #expect(abs(MelFilterbank.melToHz(MelFilterbank.hzToMel(hz)) - hz) < 1e-9 * max(1, hz))
        }
    }

    @Test("log-mel = log(clamp(mel · spec, 1e-5))")
    func logMel() throws {
        let mel = try MelFilterbank(sampleRate: 16000, nFFT: 16, nMels: 3)
        var spec = Tensor.zeros([9, 2])
        for k in 0..<9 { spec.scalars[k * 2] = Float(k + 1) }  // frame 0 = 1…9, frame 1 = 0
        let lm = try mel.logMel(spec)
        #expect(lm.shape == [3, 2])
        for m in 0..<3 {
            var dot: Float = 0
            for k in 0..<9 { dot += mel.weights[m * 9 + k] * Float(k + 1) }
            #expect(abs(lm[m, 0] - logf(max(dot, 1e-5))) < 1e-5)
            #expect(lm[m, 1] == logf(1e-5))
        }
        #expect(throws: AudioError.self) { _ = try mel.apply(Tensor.zeros([8, 2])) }
        #expect(DynamicRange.decompress(DynamicRange.compress([0.5, 2]))[1] == expf(logf(2)))
    }
}
