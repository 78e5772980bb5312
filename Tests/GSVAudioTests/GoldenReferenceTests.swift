import Foundation
import GSVAudio
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing

/// Parity with the official reference-audio path (`TTS.set_ref_audio` on `v2/ref/ref.wav`).
@Suite("Golden reference audio")
struct GoldenReferenceTests {
    static let golden = Fixtures.url("v2/golden/reference.safetensors").path
    static let refWAV = Fixtures.url("v2/ref/ref.wav").path

    /// Loads ref.wav the way torchaudio.load does (int16 / 32768).
    static func reference() throws -> AudioBuffer {
        let wav = try WAV.read(path: refWAV)
        #expect(wav.format == .pcm(bits: 16))
        #expect(wav.channels == 1)
        return wav.mono
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("ref.wav decodes to the documented 106549 samples at 22050 Hz")
    func readsReference() throws {
        let ref = try Self.reference()
        #expect(ref.sampleRate == 22050)
        #expect(ref.samples.count == 106_549)
        #expect(ref.peak > 0.1 && ref.peak <= 1)
    }

    @Test("torchaudio Resample(22050 → 32000) matches resample_32k_torchaudio (max abs ≤ 1e-6)")
    func torchaudioResample() throws {
        let ref = try Self.reference()
        let golden = try SafeTensorsFile(path: Self.golden).tensor("resample_32k_torchaudio").scalars
        let ours = try SincResampler(from: 22050, to: 32000)(ref.samples)
        try #require(ours.count == golden.count)
        let err = Self.maxAbs(ours, golden)
        print("GSVAudio: torchaudio resample max abs error = \(err)")
        #expect(err <= 1e-6, "max abs error \(err)")
    }

    @Test("spectrogram_torch of the golden 32 kHz audio matches refer_spec (max rel ≤ 1e-4)")
    func referenceSpectrogram() throws {
        let file = try SafeTensorsFile(path: Self.golden)
        let audio = try file.tensor("resample_32k_torchaudio").scalars
        let golden = try file.tensor("refer_spec")
        let spec = try Spectrogram(config: .sovitsV2).magnitude(AudioLevel.referenceGuard(audio))
        try #require(spec.shape == golden.shape)
        let scale = golden.scalars.reduce(0) { max($0, abs($1)) }
        let rel = Self.maxAbs(spec.scalars, golden.scalars) / scale
        print("GSVAudio: refer_spec from golden audio, max relative error = \(rel)")
        #expect(rel <= 1e-4, "max relative error \(rel)")
    }

    @Test("our full 32 kHz path (wav → resample → spectrogram) matches refer_spec (max rel ≤ 1e-4)")
    func endToEndSpectrogram() throws {
        let ref = try Self.reference()
        let golden = try SafeTensorsFile(path: Self.golden).tensor("refer_spec")
        let spec = try ReferenceAudio.spectrogram(ref)
        try #require(spec.shape == golden.shape)
        let scale = golden.scalars.reduce(0) { max($0, abs($1)) }
        let rel = Self.maxAbs(spec.scalars, golden.scalars) / scale
        print("GSVAudio: refer_spec from ref.wav end to end, max relative error = \(rel)")
        #expect(rel <= 1e-4, "max relative error \(rel)")
    }

    @Test("high-quality 16 kHz resample vs librosa soxr_hq (hubert_input_16k): SNR ≥ 40 dB")
    func hubertInput() throws {
        let ref = try Self.reference()
        let golden = try SafeTensorsFile(path: Self.golden).tensor("hubert_input_16k").scalars
        let num16k = 77_315  // reference.json: hubert_input_16k.num_16k
        let ours = try ReferenceAudio.hubertInput(ref)
        // The official input continues with int(32000 * 0.3) = 9600 zeros.
        #expect(golden.count == num16k + 9600)
        #expect(ours.count == golden.count)
        #expect(ours[num16k...].allSatisfy { $0 == 0 })
        var signal = 0.0, noise = 0.0
        for i in 0..<num16k {
            let g = Double(golden[i]), d = Double(ours[i]) - g
            signal += g * g
            noise += d * d
        }
        let snr = 10 * log10(signal / noise)
        print("GSVAudio: 16 kHz resample SNR vs soxr_hq golden = \(String(format: "%.2f", snr)) dB")
        #expect(snr >= 40, "SNR \(snr) dB")
    }

    @Test("references outside 3–10 s are rejected with a clear error")
    func referenceLength() throws {
        let short = AudioBuffer(samples: [Float](repeating: 0.1, count: 22050 * 2), sampleRate: 22050)
        #expect(throws: AudioError.self) { _ = try ReferenceAudio.hubertInput(short) }
        let long = AudioBuffer(samples: [Float](repeating: 0.1, count: 16000 * 11), sampleRate: 16000)
        #expect(throws: AudioError.self) { _ = try ReferenceAudio.hubertInput(long) }
        let ok = AudioBuffer(samples: [Float](repeating: 0.1, count: 16000 * 4), sampleRate: 16000)
        #expect(try ReferenceAudio.hubertInput(ok, modelSampleRate: 24000).count == 64000 + 7200)
    }

    // Reference numbers: numpy float64 re-implementation of mel_spectrogram_torch on the golden
    // 32 kHz audio (reflect pad 704, periodic Hann, |rfft|² + 1e-8 → sqrt, librosa.filters.mel(
    // sr=32000, n_fft=2048, n_mels=128) · spec, log(clamp(·, 1e-5))); the same numpy spectrogram
    // agrees with refer_spec to 9e-8 relative.
    @Test("log-mel (v2 settings, 128 bands) of the golden audio matches a numpy computation")
    func logMel() throws {
        let audio = try SafeTensorsFile(path: Self.golden).tensor("resample_32k_torchaudio").scalars
        let mel = try MelFilterbank(sampleRate: 32000, nFFT: 2048, nMels: 128, fMin: 0, fMax: nil)
        let lm = try Spectrogram(config: .sovitsV2).logMel(audio, filterbank: mel)
        #expect(lm.shape == [128, 241])
        let mean = lm.scalars.reduce(0.0) { $0 + Double($1) } / Double(lm.count)
        #expect(abs(mean - -5.125353717887426) < 1e-4, "mean \(mean)")
        let points: [(Int, Int, Double)] = [(0, 0, -3.7009571459188297), (10, 50, -0.9478198468678685),
                                            (64, 100, -3.6742798613849095), (127, 240, -11.512925464970229),
                                            (100, 120, -4.268656109214937)]
        for (m, f, v) in points { #expect(abs(Double(lm[m, f]) - v) < 1e-4, "mel[\(m), \(f)] = \(lm[m, f]) vs \(v)") }
    }
}
