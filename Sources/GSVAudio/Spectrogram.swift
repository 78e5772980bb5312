import Foundation
import GSVTensor

/// Short-time Fourier transform settings of the official spectrogram functions.
public struct STFTConfig: Sendable, Equatable, Codable {
    /// FFT length (`filter_length` in the configs).
    public var nFFT: Int
    /// Hop between frames in samples.
    public var hopSize: Int
    /// Window length in samples (≤ nFFT; the window is centred in the FFT frame).
    public var winSize: Int
    /// `torch.stft(center=…)`: pad `nFFT/2` more samples (reflect) on both sides.
    public var center: Bool

    /// Creates a configuration.
    public init(nFFT: Int, hopSize: Int, winSize: Int, center: Bool = false) {
        self.nFFT = nFFT
        self.hopSize = hopSize
        self.winSize = winSize
        self.center = center
    }

    /// The v2 SoVITS reference spectrogram: n_fft 2048, hop 640, win 2048, center false (32 kHz).
    public static let sovitsV2 = STFTConfig(nFFT: 2048, hopSize: 640, winSize: 2048)

    /// Number of frequency bins, `nFFT/2 + 1`.
    public var binCount: Int { nFFT / 2 + 1 }

    /// The reflect padding applied on each side before the STFT: `(nFFT − hop)/2` (the official
    /// explicit pad) plus `nFFT/2` when `center` is set.
    public var padding: Int { (nFFT - hopSize) / 2 + (center ? nFFT / 2 : 0) }

    /// Number of frames for `sampleCount` input samples (0 when the padded input is shorter than `nFFT`).
    public func frameCount(forSampleCount sampleCount: Int) -> Int {
        let padded = sampleCount + 2 * padding
        return padded < nFFT ? 0 : (padded - nFFT) / hopSize + 1
    }

    func validate() throws {
        guard nFFT >= 2, nFFT <= 1 << 20 else { throw AudioError.invalidArgument("nFFT must be in 2…2^20, got \(nFFT)") }
        guard hopSize >= 1 else { throw AudioError.invalidArgument("hopSize must be ≥ 1, got \(hopSize)") }
        guard winSize >= 1, winSize <= nFFT else {
            throw AudioError.invalidArgument("winSize must be in 1…nFFT (\(nFFT)), got \(winSize)")
        }
        guard hopSize <= nFFT else { throw AudioError.invalidArgument("hopSize \(hopSize) exceeds nFFT \(nFFT)") }
    }
}

/// The official linear and mel spectrograms.
///
/// Follows GPT_SoVITS/module/mel_processing.py: spectrogram_torch, spec_to_mel_torch,
/// mel_spectrogram_torch, dynamic_range_compression_torch.
public struct Spectrogram: Sendable {
    /// The STFT settings.
    public let config: STFTConfig
    private let fft: RealFFT
    /// The periodic Hann window of `winSize`, zero-padded (centred) to `nFFT`, as `torch.stft` does.
    public let window: [Float]

    /// Prepares the FFT plan and the window for `config`.
    public init(config: STFTConfig) throws {
        try config.validate()
        self.config = config
        fft = try RealFFT(n: config.nFFT)
        var w = [Float](repeating: 0, count: config.nFFT)
        let offset = (config.nFFT - config.winSize) / 2
        for i in 0..<config.winSize {
            // torch.hann_window(periodic=True): 0.5 − 0.5·cos(2πi/N), computed in double, stored float.
            w[offset + i] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(config.winSize)))
        }
        window = w
    }

    /// The linear magnitude spectrogram `sqrt(re² + im² + 1e-8)`, shape `[nFFT/2+1, frames]`.
    ///
    /// The input is reflect-padded by `(nFFT − hop)/2` on both sides (plus `nFFT/2` more when
    /// `center` is set) and framed without further padding.
    /// Follows GPT_SoVITS/module/mel_processing.py: spectrogram_torch.
    public func magnitude(_ samples: [Float]) throws -> Tensor {
        let bins = config.binCount
        let (frames, padded) = try framesAndPadded(samples)
        var out = [Float](repeating: 0, count: bins * frames)
        let nFFT = config.nFFT, hop = config.hopSize
        padded.withUnsafeBufferPointer { xp in
            window.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    let outBase = op.baseAddress!
                    Parallel.forRanges(frames, grain: 32) { range in
                        var frame = [Float](repeating: 0, count: nFFT)
                        var re = [Float](repeating: 0, count: bins), im = re
                        frame.withUnsafeMutableBufferPointer { fp in
                            re.withUnsafeMutableBufferPointer { rp in
                                im.withUnsafeMutableBufferPointer { ip in
                                    for f in range {
                                        let start = f * hop
                                        for i in 0..<nFFT { fp[i] = xp[start + i] * wp[i] }
                                        fft.forward(UnsafeBufferPointer(fp), re: rp, im: ip)
                                        for k in 0..<bins {
                                            outBase[k * frames + f] = (rp[k] * rp[k] + ip[k] * ip[k] + 1e-8).squareRoot()
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [bins, frames], scalars: out)
    }

    /// The log-mel spectrogram `log(max(mel · magnitude, 1e-5))`, shape `[nMels, frames]`.
    ///
    /// Follows GPT_SoVITS/module/mel_processing.py: mel_spectrogram_torch.
    public func logMel(_ samples: [Float], filterbank: MelFilterbank) throws -> Tensor {
        try filterbank.logMel(magnitude(samples))
    }

    private func framesAndPadded(_ samples: [Float]) throws -> (Int, [Float]) {
        let pad = config.padding
        let n = samples.count
        // torch's reflect pad needs pad < length (applied in one or two stages; the stricter bound is the total).
        let explicitPad = (config.nFFT - config.hopSize) / 2
        guard n > explicitPad, !config.center || n + 2 * explicitPad > config.nFFT / 2 else {
            throw AudioError.invalidArgument("audio too short for the spectrogram: \(n) samples, reflect padding needs more than \(config.center ? max(explicitPad, config.nFFT / 2 - 2 * explicitPad) : explicitPad)")
        }
        let frames = config.frameCount(forSampleCount: n)
        guard frames > 0 else {
            throw AudioError.invalidArgument("audio too short for the spectrogram: \(n) samples give no frame of \(config.nFFT)")
        }
        var padded = reflectPad(samples, explicitPad)
        if config.center { padded = reflectPad(padded, config.nFFT / 2) }
        precondition(padded.count == n + 2 * pad)
        return (frames, padded)
    }
}

/// Reflect padding without repeating the edge sample (`torch.nn.functional.pad(mode="reflect")`).
/// Requires `pad < x.count`.
func reflectPad(_ x: [Float], _ pad: Int) -> [Float] {
    guard pad > 0 else { return x }
    let n = x.count
    precondition(pad < n, "reflect pad \(pad) needs more than \(pad) samples")
    var out = [Float](repeating: 0, count: n + 2 * pad)
    for i in 0..<pad {
        out[i] = x[pad - i]
        out[pad + n + i] = x[n - 2 - i]
    }
    for i in 0..<n { out[pad + i] = x[i] }
    return out
}

/// A mel filterbank identical to `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)` with its
/// defaults (`htk=False`: the Slaney mel scale, linear below 1 kHz and logarithmic above;
/// `norm="slaney"`: each triangle divided by its width in Hz / 2), computed in double precision and
/// stored as float32 like librosa's default `dtype`.
public struct MelFilterbank: Sendable {
    /// Sample rate in Hz.
    public let sampleRate: Int
    /// FFT length.
    public let nFFT: Int
    /// Number of mel bands.
    public let nMels: Int
    /// Lowest frequency in Hz.
    public let fMin: Double
    /// Highest frequency in Hz (`sampleRate/2` when created with `nil`).
    public let fMax: Double
    /// Weights, row-major `[nMels, nFFT/2+1]`.
    public let weights: [Float]

    /// Builds the filterbank.
    public init(sampleRate: Int, nFFT: Int, nMels: Int, fMin: Double = 0, fMax: Double? = nil) throws {
        guard sampleRate > 0, sampleRate <= AudioBuffer.maximumSampleRate else {
            throw AudioError.invalidArgument("mel sampleRate must be in 1…\(AudioBuffer.maximumSampleRate), got \(sampleRate)")
        }
        guard nFFT >= 2, nFFT <= 1 << 20 else { throw AudioError.invalidArgument("mel nFFT must be in 2…2^20, got \(nFFT)") }
        guard nMels >= 1, nMels <= 4096 else { throw AudioError.invalidArgument("nMels must be in 1…4096, got \(nMels)") }
        let top = fMax ?? Double(sampleRate) / 2
        guard fMin >= 0, top > fMin else { throw AudioError.invalidArgument("mel range must satisfy 0 ≤ fMin < fMax, got \(fMin)…\(top)") }
        self.sampleRate = sampleRate
        self.nFFT = nFFT
        self.nMels = nMels
        self.fMin = fMin
        self.fMax = top
        let bins = nFFT / 2 + 1
        // librosa.fft_frequencies = numpy.fft.rfftfreq(n_fft, 1/sr): k · 1/(n_fft · (1/sr)).
        let binWidth = 1.0 / (Double(nFFT) * (1.0 / Double(sampleRate)))
        let fftFreqs = (0..<bins).map { Double($0) * binWidth }
        // librosa.mel_frequencies(n_mels + 2, fmin, fmax): evenly spaced in mel (linspace).
        let lo = MelFilterbank.hzToMel(fMin), hi = MelFilterbank.hzToMel(top)
        let count = nMels + 2
        let melF = (0..<count).map { i -> Double in
            // numpy.linspace: start + i·step, with the last point exactly `stop`.
            let mel = i == count - 1 ? hi : lo + Double(i) * ((hi - lo) / Double(count - 1))
            return MelFilterbank.melToHz(mel)
        }
        var w = [Float](repeating: 0, count: nMels * bins)
        for m in 0..<nMels {
            let fdiffLower = melF[m + 1] - melF[m], fdiffUpper = melF[m + 2] - melF[m + 1]
            let enorm = 2.0 / (melF[m + 2] - melF[m])
            for k in 0..<bins {
                let lower = -(melF[m] - fftFreqs[k]) / fdiffLower
                let upper = (melF[m + 2] - fftFreqs[k]) / fdiffUpper
                // librosa stores the triangle in float32, then scales it in place (float64 product, cast back).
                let v = Float(max(0, min(lower, upper)))
                w[m * bins + k] = Float(Double(v) * enorm)
            }
        }
        weights = w
    }

    /// Hz → mel on the Slaney scale (librosa `hz_to_mel(htk=False)`).
    public static func hzToMel(_ hz: Double) -> Double {
        let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp
        let logStep = log(6.4) / 27
        return hz >= minLogHz ? minLogMel + log(hz / minLogHz) / logStep : hz / fSp
    }

    /// Mel → Hz on the Slaney scale (librosa `mel_to_hz(htk=False)`).
    public static func melToHz(_ mel: Double) -> Double {
        let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp
        let logStep = log(6.4) / 27
        return mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : fSp * mel
    }

    /// `weights · spec` for a `[nFFT/2+1, frames]` magnitude spectrogram → `[nMels, frames]`.
    public func apply(_ spec: Tensor) throws -> Tensor {
        let bins = nFFT / 2 + 1
        guard spec.rank == 2, spec.shape[0] == bins else {
            throw AudioError.invalidArgument("mel filterbank expects a [\(bins), frames] spectrogram, got \(spec.shape)")
        }
        let frames = spec.shape[1]
        var out = [Float](repeating: 0, count: nMels * frames)
        weights.withUnsafeBufferPointer { wp in
            spec.scalars.withUnsafeBufferPointer { sp in
                out.withUnsafeMutableBufferPointer { op in
                    for m in 0..<nMels {
                        let row = wp.baseAddress! + m * bins
                        let dst = op.baseAddress! + m * frames
                        for k in 0..<bins where row[k] != 0 {
                            let wk = row[k]
                            let src = sp.baseAddress! + k * frames
                            for f in 0..<frames { dst[f] += wk * src[f] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [nMels, frames], scalars: out)
    }

    /// `log(max(weights · spec, 1e-5))`.
    ///
    /// Follows GPT_SoVITS/module/mel_processing.py: spec_to_mel_torch.
    public func logMel(_ spec: Tensor) throws -> Tensor {
        var mel = try apply(spec)
        mel.scalars = DynamicRange.compress(mel.scalars)
        return mel
    }
}

/// The official log compression of magnitudes.
///
/// Follows GPT_SoVITS/module/mel_processing.py: dynamic_range_compression_torch,
/// dynamic_range_decompression_torch.
public enum DynamicRange {
    /// `log(max(x, clipValue) · c)`.
    public static func compress(_ x: [Float], c: Float = 1, clipValue: Float = 1e-5) -> [Float] {
        x.map { logf(max($0, clipValue) * c) }
    }

    /// `exp(x) / c`.
    public static func decompress(_ x: [Float], c: Float = 1) -> [Float] {
        x.map { expf($0) / c }
    }
}
