import Foundation
import GSVAudio
import Testing

@Suite("Loudness (BS.1770)")
struct LoudnessTests {
    static func tone(_ hz: Double, _ amplitude: Double, seconds: Double, rate: Int) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { Float(amplitude * sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
    }

    @Test("calibration: a full-scale 997 Hz sine reads −3.01 LUFS (BS.1770-4)", arguments: [48000, 44100, 32000])
    func calibration(rate: Int) throws {
        let x = Self.tone(997, 1, seconds: 3, rate: rate)
        #expect(abs(try Loudness.integrated(x, sampleRate: rate) - -3.01) < 0.02)
    }

    @Test("48 kHz K-weighting coefficients equal those printed in BS.1770-4 (Tables 1 and 2)")
    func standardCoefficients() {
        let c = Loudness.kWeightingCoefficients(sampleRate: 48000)
        let expected: [([Double], [Double])] = [
            ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1, -1.69065929318241, 0.73248077421585]),
            ([1, -2, 1], [1, -1.99004745483398, 0.99007225036621]),
        ]
        for (stage, (b, a)) in zip(c, expected) {
            for (x, y) in zip(stage.b + stage.a, b + a) { #expect(abs(x - y) < 1e-8, "\(x) vs \(y)") }
        }
    }

    // Reference values: pyloudnorm 0.1 `Meter(sr).integrated_loudness` on the same signals. Its
    // K-weighting is an approximation of the standard's filters (it reads 997 Hz about 0.04 dB low),
    // hence the 0.1 LU tolerance; the calibration and coefficient tests pin the standard itself.
    @Test("agrees with pyloudnorm (tones, gating of quiet parts, high and low frequencies)",
          arguments: [48000, 32000])
    func matchesReference(rate: Int) throws {
        let a = Self.tone(997, 0.5, seconds: 3, rate: rate)
        let b = Self.tone(440, 0.5, seconds: 2, rate: rate) + Self.tone(440, 0.005, seconds: 2, rate: rate)
            + [Float](repeating: 0, count: rate)
        let c = Self.tone(100, 0.3, seconds: 2, rate: rate) + Self.tone(5000, 0.2, seconds: 2, rate: rate)
        let expected: [Double] = rate == 48000 ? [-9.0723, -10.0948, -14.4448] : [-9.0772, -10.0952, -14.442]
        for (x, e) in zip([a, b, c], expected) {
            let v = try Loudness.integrated(x, sampleRate: rate)
            #expect(abs(v - e) < 0.1, "\(v) vs \(e)")
        }
    }

    @Test("silence and short input give −∞; normalisation hits the target and respects the peak limit")
    func normalize() throws {
        #expect(try Loudness.integrated([Float](repeating: 0, count: 48000), sampleRate: 48000) == -.infinity)
        #expect(try Loudness.integrated([0.5, 0.5], sampleRate: 48000) == -.infinity)
        #expect(throws: AudioError.self) { _ = try Loudness.integrated([0], sampleRate: 100) }
        let x = Self.tone(440, 0.05, seconds: 2, rate: 32000)
        let y = try Loudness.normalize(x, sampleRate: 32000, targetLUFS: -20)
        #expect(abs(try Loudness.integrated(y, sampleRate: 32000) - -20) < 0.01)
        let capped = try Loudness.normalize(x, sampleRate: 32000, targetLUFS: 0, peakLimit: 0.5)
        #expect(abs(AudioBuffer(samples: capped, sampleRate: 32000).peak - 0.5) < 1e-5)
    }
}
