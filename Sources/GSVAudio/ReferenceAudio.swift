import Foundation
import GSVTensor

/// The audio side of preparing a reference voice: the 16 kHz HuBERT input and the linear
/// spectrogram at the model's rate, exactly as the official inference code computes them.
public enum ReferenceAudio {
    /// Shortest reference accepted, in 16 kHz samples (3 s).
    public static let minimumSamples16k = 48_000
    /// Longest reference accepted, in 16 kHz samples (10 s).
    public static let maximumSamples16k = 160_000

    /// The HuBERT input: the audio (mono) resampled to 16 kHz with `KaiserResampler` (standing in
    /// for librosa's soxr "HQ"), checked to be 3–10 s long, then followed by
    /// `int(modelSampleRate · 0.3)` zeros — 9600 for the 32 kHz v2 models, although the signal is
    /// at 16 kHz (the official code uses the model rate for the pad length).
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._set_prompt_semantic.
    /// - Throws: `AudioError.invalidArgument` when the reference is outside 3–10 s.
    public static func hubertInput(_ audio: AudioBuffer, modelSampleRate: Int = 32000) throws -> [Float] {
        guard modelSampleRate > 0 else { throw AudioError.invalidArgument("model sample rate must be positive, got \(modelSampleRate)") }
        var wav = try audio.resampled(to: 16000).samples
        guard wav.count >= minimumSamples16k, wav.count <= maximumSamples16k else {
            throw AudioError.invalidArgument(String(format: "reference audio is %.2f s long; it must be between 3 and 10 s", Double(wav.count) / 16000))
        }
        wav.append(contentsOf: repeatElement(0, count: Int(Double(modelSampleRate) * 0.3)))
        return wav
    }

    /// The reference spectrogram `[nFFT/2+1, frames]`: the audio (mono) resampled to
    /// `modelSampleRate` with torchaudio's default resampler, divided by `min(2, peak)` when its
    /// peak exceeds 1, then the official linear magnitude spectrogram.
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._get_ref_spec.
    public static func spectrogram(_ audio: AudioBuffer, modelSampleRate: Int = 32000, config: STFTConfig = .sovitsV2) throws -> Tensor {
        try spectrogram(modelRateSamples: modelRateSamples(audio, modelSampleRate: modelSampleRate), config: config)
    }

    /// ``spectrogram(_:modelSampleRate:config:)`` of samples already at the model's rate
    /// (``modelRateSamples(_:modelSampleRate:)``).
    public static func spectrogram(modelRateSamples samples: [Float], config: STFTConfig = .sovitsV2) throws -> Tensor {
        try Spectrogram(config: config).magnitude(samples)
    }

    /// The reference at the model's rate, as the spectrogram and the speaker model see it: the
    /// audio (mono) resampled with torchaudio's default resampler, divided by `min(2, peak)` when
    /// its peak exceeds 1.
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._get_ref_spec.
    public static func modelRateSamples(_ audio: AudioBuffer, modelSampleRate: Int = 32000) throws -> [Float] {
        AudioLevel.referenceGuard(try audio.resampledLikeTorchaudio(to: modelSampleRate).samples)
    }

    /// Sample rate of the speaker-verification model's input.
    public static let speakerSampleRate = 16000

    /// The speaker-verification input (v2Pro/v2ProPlus): ``modelRateSamples(_:modelSampleRate:)``
    /// resampled again to 16 kHz with torchaudio's default resampler, left as floats in [−1, 1].
    /// (HuBERT's 16 kHz input is a different signal, resampled from the original file.)
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._get_ref_spec (the `is_v2pro` branch).
    public static func speakerInput(modelRateSamples samples: [Float], modelSampleRate: Int = 32000) throws -> [Float] {
        try AudioBuffer(samples: samples, sampleRate: modelSampleRate).resampledLikeTorchaudio(to: speakerSampleRate).samples
    }
}
