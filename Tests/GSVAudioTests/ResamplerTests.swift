import Foundation
import GSVAudio
import Testing

@Suite("Resamplers")
struct ResamplerTests {
    static func sine(_ hz: Double, rate: Int, count: Int, amplitude: Double = 0.5) -> [Float] {
        (0..<count).map { Float(amplitude * sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
    }

    /// SNR of `y` against the exact sine, skipping `margin` samples at both ends (edge effects).
    static func snr(_ y: [Float], _ ref: [Float], margin: Int) -> Double {
        var s = 0.0, e = 0.0
        for i in margin..<(min(y.count, ref.count) - margin) {
            s += Double(ref[i]) * Double(ref[i])
            e += (Double(y[i]) - Double(ref[i])) * (Double(y[i]) - Double(ref[i]))
        }
        return 10 * log10(s / max(e, 1e-30))
    }

    @Test("equal rates return the input unchanged; output lengths are ceil(n·to/from)")
    func identityAndLengths() throws {
        let x: [Float] = [0.1, -0.2, 0.3]
        #expect(try KaiserResampler(from: 16000, to: 16000)(x) == x)
        #expect(try SincResampler(from: 32000, to: 32000)(x) == x)
        let k = try KaiserResampler(from: 22050, to: 16000)
        #expect(k.outputCount(forInputCount: 106_549) == 77_315)
        #expect(k([Float](repeating: 0, count: 10)).count == 8)
        #expect(try SincResampler(from: 22050, to: 32000).outputCount(forInputCount: 106_549) == 154_629)
        #expect(k([]).isEmpty)
    }

    @Test("pass-band tones survive with high SNR (down- and up-sampling, both designs)",
          arguments: [(44100, 16000, 1000.0), (48000, 16000, 6000.0), (22050, 16000, 7000.0), (16000, 32000, 3000.0), (24000, 32000, 9000.0)])
    func passBand(from: Int, to: Int, hz: Double) throws {
        let n = from / 2
        let x = Self.sine(hz, rate: from, count: n)
        let expected = Self.sine(hz, rate: to, count: n * to / from)
        let hq = try KaiserResampler(from: from, to: to)(x)
        #expect(Self.snr(hq, expected, margin: 400) > 70, "Kaiser \(from)→\(to) @\(hz)")
        // torchaudio's 6-zero-crossing Hann kernel rolls off early; check it well inside the band.
        if hz < 0.3 * Double(min(from, to)) {
            let ta = try SincResampler(from: from, to: to)(x)
            #expect(Self.snr(ta, expected, margin: 400) > 40, "torchaudio \(from)→\(to) @\(hz)")
        }
    }

    @Test("tones above the new Nyquist frequency are removed (≥ 90 dB down)")
    func stopBand() throws {
        let x = Self.sine(9000, rate: 44100, count: 22050, amplitude: 1)
        let y = try KaiserResampler(from: 44100, to: 16000)(x)
        let core = y[500..<(y.count - 500)]
        let rms = (core.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(core.count)).squareRoot()
        #expect(20 * log10(rms / (1 / 2.0.squareRoot())) < -90, "residual \(rms)")
    }

    @Test("an odd ratio that needs the per-phase path still works")
    func oddRatio() throws {
        // 2101 → 2099 Hz (coprime): the blockwise matrix would hold 2099 × 2281 coefficients,
        // over the BLAS-path limit, so the per-phase dot-product path runs.
        let x = Self.sine(200, rate: 2101, count: 4202)
        let y = try KaiserResampler(from: 2101, to: 2099)(x)
        #expect(y.count == (4202 * 2099 + 2100) / 2101)
        #expect(Self.snr(y, Self.sine(200, rate: 2099, count: y.count), margin: 300) > 70)
    }

    @Test("invalid parameters are rejected with invalidArgument")
    func invalid() {
        #expect(throws: AudioError.self) { _ = try KaiserResampler(from: 0, to: 16000) }
        #expect(throws: AudioError.self) { _ = try KaiserResampler(from: 16000, to: -1) }
        #expect(throws: AudioError.self) { _ = try KaiserResampler(from: 16000, to: 8000, cutoff: 1.5) }
        #expect(throws: AudioError.self) { _ = try SincResampler(from: 16000, to: 8000, rolloff: 0) }
        #expect(throws: AudioError.self) { _ = try SincResampler(from: 7, to: 9_999_991) }  // kernel too large
        #expect(throws: AudioError.self) { _ = try KaiserResampler(from: 9_999_991, to: 7_999_993) }
        #expect(throws: AudioError.self) { _ = try KaiserResampler(from: Int.max, to: 1) }
        #expect(throws: AudioError.self) { _ = try SincResampler(from: Int.max, to: 3) }
        #expect(throws: AudioError.self) { _ = try AudioBuffer(samples: [0], sampleRate: 0).resampled(to: 16000) }
    }

    @Test("level helpers follow the official guards")
    func levels() {
        #expect(AudioLevel.referenceGuard([0.5, -1]) == [0.5, -1])
        #expect(AudioLevel.referenceGuard([1.5, -0.75]) == [1, -0.5])  // divided by min(2, 1.5)
        #expect(AudioLevel.referenceGuard([4, -1]) == [2, -0.5])  // divided by min(2, 4) = 2
        #expect(AudioLevel.peakGuard([2, -1]) == [1, -0.5])
        #expect(AudioLevel.normalizePeak([0.5, -0.25], to: 1) == [1, -0.5])
        let r = AudioLevel.normalizeRMS([0.1, -0.1, 0.1, -0.1], toDBFS: -20)
        #expect(abs(AudioBuffer(samples: r, sampleRate: 1).rms - 0.1) < 1e-6)
    }
}
