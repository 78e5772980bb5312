import Foundation

/// A mono waveform: samples in [-1, 1] (nominally) at one sample rate.
///
/// Every reader in this module returns mono audio (multi-channel input is averaged, like
/// `librosa.load(mono=True)` and the official `TTS._get_ref_spec`, which takes the channel mean).
public struct AudioBuffer: Sendable, Equatable {
    /// The samples, one per frame.
    public var samples: [Float]
    /// Frames per second.
    public var sampleRate: Int

    /// Creates a buffer from samples at `sampleRate` frames per second.
    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// The highest sample rate this module accepts anywhere (10 MHz); it keeps every size
    /// computation far from overflow.
    public static let maximumSampleRate = 10_000_000

    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }

    /// Largest absolute sample value (0 for an empty buffer).
    public var peak: Float { samples.reduce(0) { max($0, abs($1)) } }

    /// Root-mean-square level (0 for an empty buffer).
    public var rms: Float {
        guard !samples.isEmpty else { return 0 }
        var sum = 0.0
        for s in samples { sum += Double(s) * Double(s) }
        return Float((sum / Double(samples.count)).squareRoot())
    }
}

/// Level helpers used around synthesis and reference loading.
public enum AudioLevel {
    /// The reference-audio guard of the official spectrogram path: when `max|x| > 1` the audio is
    /// divided by `min(2, max|x|)`; otherwise it is returned unchanged.
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._get_ref_spec (the `maxx` check).
    public static func referenceGuard(_ samples: [Float]) -> [Float] {
        let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 1 else { return samples }
        let divisor = min(2, peak)
        return samples.map { $0 / divisor }
    }

    /// The output-fragment guard of the official pipeline: when `max|x| > 1` the audio is divided
    /// by its peak; otherwise it is returned unchanged.
    ///
    /// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.audio_postprocess (the `max_audio` check).
    public static func peakGuard(_ samples: [Float]) -> [Float] {
        let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 1 else { return samples }
        return samples.map { $0 / peak }
    }

    /// Scales the audio so that its peak is `target` (e.g. 0.95). Silent audio is returned as is.
    public static func normalizePeak(_ samples: [Float], to target: Float = 0.95) -> [Float] {
        let peak = samples.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0, target > 0 else { return samples }
        let gain = target / peak
        return samples.map { $0 * gain }
    }

    /// Scales the audio so that its RMS level is `targetDBFS` decibels relative to full scale
    /// (e.g. -20), then limits the gain so the peak does not exceed `peakLimit`.
    /// Silent audio is returned as is.
    public static func normalizeRMS(_ samples: [Float], toDBFS targetDBFS: Float = -20, peakLimit: Float = 0.99) -> [Float] {
        let buffer = AudioBuffer(samples: samples, sampleRate: 1)
        let rms = buffer.rms, peak = buffer.peak
        guard rms > 0, peak > 0 else { return samples }
        var gain = powf(10, targetDBFS / 20) / rms
        if peak * gain > peakLimit { gain = peakLimit / peak }
        return samples.map { $0 * gain }
    }
}
