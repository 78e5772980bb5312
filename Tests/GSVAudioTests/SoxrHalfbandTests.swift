import Foundation
import GSVAudio
import Testing

@Suite("2:1 resampler (librosa soxr_hq filter)")
struct SoxrHalfbandTests {
    static func tone(_ f: Double, count: Int, rate: Double = 32000) -> [Float] {
        (0..<count).map { Float(0.5 * sin(2 * Double.pi * f * Double($0) / rate)) }
    }

    static func rms(_ x: ArraySlice<Float>) -> Double {
        (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count))).squareRoot()
    }

    @Test("halving keeps the pass band, removes what folds over, and is what resampled(to:) uses")
    func response() throws {
        let n = 32000
        let pass = SoxrHalfband.shared(Self.tone(7000, count: n))
        #expect(pass.count == n / 2)
        // 7 kHz passes at full level (0.5/√2 RMS) away from the ends.
        #expect(abs(Self.rms(pass[1000..<15000]) - 0.5 / 2.squareRoot()) < 1e-3)
        // 9 kHz lies above the new Nyquist frequency (8 kHz): at least 90 dB down.
        let stop = SoxrHalfband.shared(Self.tone(9000, count: n))
        #expect(20 * log10(Self.rms(stop[1000..<15000]) / (0.5 / 2.squareRoot())) < -90)
        let x = Self.tone(440, count: 101)
        #expect(SoxrHalfband.shared(x).count == 51)
        #expect(try AudioBuffer(samples: x, sampleRate: 32000).resampled(to: 16000).samples == SoxrHalfband.shared(x))
        #expect(SoxrHalfband.shared([]).isEmpty)
    }
}
