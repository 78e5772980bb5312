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

    /// `v2/ref/ref.json`: what the fixture generator recorded about the clip.
    static func referenceFacts() throws -> (sampleRate: Int, samples: Int) {
        let data = try Data(contentsOf: Fixtures.url("v2/ref/ref.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try #require(json["sample_rate"] as? Int), try #require(json["num_samples"] as? Int))
    }

    @Test("ref.wav decodes to the sample count and rate ref.json records")
    func readsReference() throws {
        let ref = try Self.reference()
        let facts = try Self.referenceFacts()
        #expect(ref.sampleRate == facts.sampleRate)
        #expect(ref.samples.count == facts.samples)
        #expect(ref.peak > 0.1 && ref.peak <= 1)
    }

    @Test("torchaudio Resample(rate → 32000) matches resample_32k_torchaudio (max abs ≤ 1e-6)")
    func torchaudioResample() throws {
        let ref = try Self.reference()
        let golden = try SafeTensorsFile(path: Self.golden).tensor("resample_32k_torchaudio").scalars
        let ours = try SincResampler(from: ref.sampleRate, to: 32000)(ref.samples)
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
        // The official input is the 16 kHz signal followed by int(32000 * 0.3) = 9600 zeros.
        try #require(golden.count > 9600, "hubert_input_16k has \(golden.count) values")
        let num16k = golden.count - 9600
        #expect(golden[num16k...].allSatisfy { $0 == 0 })
        let ours = try ReferenceAudio.hubertInput(ref)
        try #require(ours.count == golden.count)
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

    // The official path is `spec_to_mel_torch(spectrogram_torch(audio))`: the log-mel of the
    // golden 32 kHz audio must be the log of mel · refer_spec (clamped at 1e-5), the mel computed in
    // Double from the official spectrogram (the filterbank itself is checked against librosa in
    // SpectralTests). Compared as the spectrogram test is: max |mel ours − mel official| over the
    // largest mel value (the log amplifies the official fp32 spectrogram's own rounding in
    // near-silent bins).
    @Test("log-mel (v2 settings, 128 bands) of the golden audio is the mel of the official spectrogram")
    func logMel() throws {
        let file = try SafeTensorsFile(path: Self.golden)
        let audio = try file.tensor("resample_32k_torchaudio").scalars
        let spec = try file.tensor("refer_spec")
        let mel = try MelFilterbank(sampleRate: 32000, nFFT: 2048, nMels: 128, fMin: 0, fMax: nil)
        let lm = try Spectrogram(config: .sovitsV2).logMel(audio, filterbank: mel)
        let bins = 1025
        try #require(spec.rank == 2 && spec.shape[0] == bins, "refer_spec is \(spec.shape)")
        let frames = spec.shape[1]
        try #require(lm.shape == [128, frames])
        var worst = 0.0, largest = 0.0
        for f in Array(stride(from: 0, to: frames, by: 3)) + [frames - 1] {
            for m in 0..<128 {
                var acc = 0.0
                for k in 0..<bins { acc += Double(mel.weights[m * bins + k]) * Double(spec.scalars[k * frames + f]) }
                let official = max(acc, 1e-5)
                largest = max(largest, official)
                worst = max(worst, abs(Foundation.exp(Double(lm.scalars[m * frames + f])) - official))
            }
        }
        #expect(worst / largest <= 1e-4, "max |mel − mel(refer_spec)| / max = \(worst / largest)")
    }
}
