import Foundation
import GSVTensor

/// The options of Kaldi's `compute-fbank-feats` (`FrameExtractionOptions`, `MelBanksOptions`,
/// `FbankOptions`), named as Kaldi names them (`--frame-length` → ``frameLength``, …), with the
/// defaults of `torchaudio.compliance.kaldi.fbank` (which the official speaker-verification code
/// copies as `eres2net/kaldi.py`). Where torchaudio's defaults differ from Kaldi's binary they are
/// noted: `dither` 0 (Kaldi 1), `energyFloor` 1 (Kaldi 0), `numMelBins` 23.
///
/// Vocal-tract length normalisation (`--vtln-warp` ≠ 1) is not offered.
public struct KaldiFbankOptions: Sendable, Equatable, Codable {
    /// The analysis window.
    public enum WindowType: String, Sendable, Codable, CaseIterable {
        /// `0.5 − 0.5·cos(2πn/(N−1))` (symmetric Hann).
        case hanning
        /// `0.54 − 0.46·cos(2πn/(N−1))`.
        case hamming
        /// The Hann window raised to 0.85 (Kaldi's default; zero at both ends).
        case povey
        /// All ones.
        case rectangular
        /// `c − 0.5·cos(a·n) + (0.5 − c)·cos(2a·n)`, `a = 2π/(N−1)`, `c = blackmanCoeff`.
        case blackman
    }

    /// `--sample-frequency`: the waveform's rate in Hz.
    public var sampleFrequency: Double = 16000
    /// `--frame-length`: window length in milliseconds.
    public var frameLength: Double = 25
    /// `--frame-shift`: hop in milliseconds.
    public var frameShift: Double = 10
    /// `--dither`: standard deviation of Gaussian noise added to every sample (0 = none).
    public var dither: Double = 0
    /// `--preemphasis-coefficient`: `x[i] −= c·x[i−1]` within each frame (`x[0] −= c·x[0]`).
    public var preemphasisCoefficient: Double = 0.97
    /// `--remove-dc-offset`: subtract each frame's mean before pre-emphasis.
    public var removeDcOffset = true
    /// `--window-type`.
    public var windowType: WindowType = .povey
    /// `--blackman-coeff`.
    public var blackmanCoeff: Double = 0.42
    /// `--round-to-power-of-two`: zero-pad each frame to the next power of two for the FFT.
    public var roundToPowerOfTwo = true
    /// `--snip-edges`: only frames that fit entirely (else the signal is reflected at both ends
    /// and the frame count depends on the shift alone).
    public var snipEdges = true
    /// `--num-mel-bins`.
    public var numMelBins = 23
    /// `--low-freq`: lowest mel-bin edge in Hz.
    public var lowFreq: Double = 20
    /// `--high-freq`: highest mel-bin edge in Hz; ≤ 0 counts back from the Nyquist frequency.
    public var highFreq: Double = 0
    /// `--use-energy`: prepend (or, with ``htkCompat``, append) the log frame energy.
    public var useEnergy = false
    /// `--raw-energy`: take the energy before pre-emphasis and windowing.
    public var rawEnergy = true
    /// `--energy-floor`: floor on the energy (absolute, not log); 0 = none.
    public var energyFloor: Double = 1
    /// `--htk-compat`: put the energy last.
    public var htkCompat = false
    /// `--use-log-fbank`: log of the mel energies (floored at `FLT_EPSILON`), else linear.
    public var useLogFbank = true
    /// `--use-power`: power spectrum (else magnitude).
    public var usePower = true
    /// `--subtract-mean`: subtract each feature's mean over the frames.
    public var subtractMean = false
    /// Seed of the dither noise (ours; Kaldi seeds its own generator).
    public var ditherSeed: UInt64 = 0

    /// torchaudio's defaults.
    public init() {}

    /// The features the official speaker-verification model reads:
    /// `fbank(wav, num_mel_bins=80, sample_frequency=16000, dither=0)`, every other option default.
    ///
    /// Follows GPT_SoVITS/sv.py: SV.compute_embedding3.
    public static var eres2net: KaldiFbankOptions {
        var o = KaldiFbankOptions()
        o.numMelBins = 80
        o.sampleFrequency = 16000
        o.dither = 0
        return o
    }

    /// Window length in samples (`int(sample_frequency · frame_length / 1000)`).
    public var windowSize: Int { Int(sampleFrequency * frameLength * 0.001) }
    /// Hop in samples.
    public var windowShift: Int { Int(sampleFrequency * frameShift * 0.001) }
    /// FFT length: the window size, or its next power of two.
    public var paddedWindowSize: Int {
        let w = windowSize
        guard roundToPowerOfTwo, w > 1 else { return w }
        var p = 1
        while p < w { p <<= 1 }
        return p
    }

    /// Number of frames for `sampleCount` samples (0 when the signal is shorter than one window
    /// with ``snipEdges``).
    public func frameCount(forSampleCount n: Int) -> Int {
        let size = windowSize, shift = windowShift
        if snipEdges { return n < size ? 0 : 1 + (n - size) / shift }
        return (n + shift / 2) / shift
    }
}

/// Kaldi-compatible log mel filter-bank features (`compute-fbank-feats`), as
/// `torchaudio.compliance.kaldi.fbank` computes them.
///
/// Per frame: dither, DC removal, (raw energy), pre-emphasis, window, zero padding, power spectrum
/// (`|rFFT|²`), triangular mel filters in Kaldi's mel scale (`1127·ln(1 + f/700)`, triangles in
/// mel space, unnormalised, none on the Nyquist bin), `log(max(E, FLT_EPSILON))`.
/// Arithmetic is Float32 as in torch; the FFT is ours (``RealFFT``).
///
/// Follows GPT_SoVITS/eres2net/kaldi.py: fbank, get_mel_banks, _get_window, _get_strided.
public struct KaldiFbank: Sendable {
    /// The options in use.
    public let options: KaldiFbankOptions
    /// `[numMelBins, paddedWindowSize/2 + 1]` filter weights (last column zero).
    public let melBanks: [Float]
    /// The analysis window of `windowSize` samples.
    public let window: [Float]
    /// For each mel bin, the FFT bins with a non-zero weight.
    private let melRanges: [Range<Int>]
    private let fft: RealFFT

    /// Validates `options` and builds the window, FFT plan and mel filters.
    /// - Throws: `AudioError.invalidArgument` naming the option that is out of range.
    public init(options: KaldiFbankOptions = .eres2net) throws {
        let o = options
        guard o.sampleFrequency > 0, o.sampleFrequency <= Double(AudioBuffer.maximumSampleRate) else {
            throw AudioError.invalidArgument("fbank: sample-frequency must be in (0, \(AudioBuffer.maximumSampleRate)], got \(o.sampleFrequency)")
        }
        guard o.frameLength > 0, o.frameShift > 0, o.windowSize >= 2, o.windowShift > 0, o.windowSize <= 1 << 20 else {
            throw AudioError.invalidArgument("fbank: frame-length \(o.frameLength) ms and frame-shift \(o.frameShift) ms give a window of \(o.windowSize) and a shift of \(o.windowShift) samples (need window in 2…2^20, shift ≥ 1)")
        }
        guard o.paddedWindowSize % 2 == 0 else {
            throw AudioError.invalidArgument("fbank: the padded window (\(o.paddedWindowSize) samples) must be even; use round-to-power-of-two or change frame-length")
        }
        guard o.preemphasisCoefficient >= 0, o.preemphasisCoefficient <= 1 else {
            throw AudioError.invalidArgument("fbank: preemphasis-coefficient must be in [0, 1], got \(o.preemphasisCoefficient)")
        }
        guard o.dither >= 0, o.dither.isFinite, o.energyFloor >= 0, o.energyFloor.isFinite else {
            throw AudioError.invalidArgument("fbank: dither (\(o.dither)) and energy-floor (\(o.energyFloor)) must be finite and ≥ 0")
        }
        guard o.numMelBins > 3, o.numMelBins <= 4096 else {
            throw AudioError.invalidArgument("fbank: num-mel-bins must be in 4…4096, got \(o.numMelBins)")
        }
        let nyquist = 0.5 * o.sampleFrequency
        let high = o.highFreq <= 0 ? o.highFreq + nyquist : o.highFreq
        guard o.lowFreq >= 0, o.lowFreq < nyquist, high > 0, high <= nyquist, o.lowFreq < high else {
            throw AudioError.invalidArgument("fbank: low-freq \(o.lowFreq) and high-freq \(o.highFreq) must satisfy 0 ≤ low < high ≤ Nyquist (\(nyquist) Hz)")
        }
        self.options = o
        let padded = o.paddedWindowSize
        fft = try RealFFT(n: padded)
        window = Self.window(o.windowType, size: o.windowSize, blackmanCoeff: o.blackmanCoeff)
        (melBanks, melRanges) = Self.melBanks(bins: o.numMelBins, paddedWindow: padded, sampleFrequency: o.sampleFrequency,
                                              lowFreq: o.lowFreq, highFreq: high)
    }

    /// The analysis window, in Float32 as torch computes it (`torch.hann_window(periodic=False)`
    /// and friends).
    static func window(_ type: KaldiFbankOptions.WindowType, size n: Int, blackmanCoeff: Double) -> [Float] {
        let a = Float(2 * Double.pi / Double(n - 1))
        return (0..<n).map { i in
            let x = Float(i) * a
            switch type {
            case .hanning: return 0.5 - 0.5 * cos(x)
            case .hamming: return 0.54 - 0.46 * cos(x)
            case .povey: return pow(0.5 - 0.5 * cos(x), 0.85)
            case .rectangular: return 1
            case .blackman:
                let c = Float(blackmanCoeff)
                return c - 0.5 * cos(x) + (0.5 - c) * cos(2 * x)
            }
        }
    }

    /// Kaldi's mel filters `[bins, paddedWindow/2 + 1]` in Float32 (torchaudio's `get_mel_banks`
    /// evaluates them in float32 tensors), plus each filter's non-zero range.
    static func melBanks(bins: Int, paddedWindow: Int, sampleFrequency: Double, lowFreq: Double,
                         highFreq: Double) -> ([Float], [Range<Int>]) {
        let fftBins = paddedWindow / 2
        let width = Float(sampleFrequency / Double(paddedWindow))
        func melScale(_ f: Double) -> Double { 1127.0 * Foundation.log(1.0 + f / 700.0) }
        let melLow = melScale(lowFreq), melHigh = melScale(highFreq)
        let delta = Float((melHigh - melLow) / Double(bins + 1))
        let low = Float(melLow)
        let mel: [Float] = (0..<fftBins).map { k in 1127 * Foundation.log(1 + width * Float(k) / 700) }
        let columns = fftBins + 1
        var weights = [Float](repeating: 0, count: bins * columns)
        var ranges: [Range<Int>] = []
        for b in 0..<bins {
            let left = low + Float(b) * delta
            let center = low + Float(b + 1) * delta
            let right = low + Float(b + 2) * delta
            var first = fftBins, last = 0
            for k in 0..<fftBins {
                let up = (mel[k] - left) / (center - left)
                let down = (right - mel[k]) / (right - center)
                let w = max(0, min(up, down))
                weights[b * columns + k] = w
                if w > 0 { first = min(first, k); last = k + 1 }
            }
            ranges.append(first < last ? first..<last : 0..<0)
        }
        return (weights, ranges)
    }

    /// The features of `waveform` (samples at ``KaldiFbankOptions/sampleFrequency``), shape
    /// `[frames, numMelBins]` (one more column with ``KaldiFbankOptions/useEnergy``).
    /// - Throws: `AudioError.invalidArgument` when the signal is shorter than one window.
    public func callAsFunction(_ waveform: [Float]) throws -> Tensor {
        let o = options
        let size = o.windowSize, shift = o.windowShift, padded = o.paddedWindowSize
        guard waveform.count >= size else {
            throw AudioError.invalidArgument("fbank: \(waveform.count) samples are shorter than one \(o.frameLength) ms window (\(size) samples)")
        }
        let frames = o.frameCount(forSampleCount: waveform.count)
        let signal = o.snipEdges ? waveform : Self.reflected(waveform, size: size, shift: shift)
        let mels = o.numMelBins
        let energyColumn = o.useEnergy ? 1 : 0
        let columns = mels + energyColumn
        let melOffset = o.useEnergy && !o.htkCompat ? 1 : 0
        let bins = padded / 2 + 1
        // Dither noise is drawn for the frames in order (serially), as one [frames, size] block.
        var noise: [Float] = []
        if o.dither > 0 {
            var rng = SeededRNG(seed: o.ditherSeed)
            noise = (0..<(frames * size)).map { _ in Float(rng.nextGaussian() * o.dither) }
        }
        let coefficient = Float(o.preemphasisCoefficient)
        let epsilon = Float.ulpOfOne
        let energyFloor = o.energyFloor > 0 ? Float(Foundation.log(o.energyFloor)) : -Float.infinity
        var out = [Float](repeating: 0, count: frames * columns)
        signal.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                let outBase = op.baseAddress!
                Parallel.forRanges(frames, grain: 16) { range in
                    var frame = [Float](repeating: 0, count: padded)
                    var re = [Float](repeating: 0, count: bins), im = re, power = re
                    for f in range {
                        let start = f * shift
                        for i in 0..<size { frame[i] = xp[start + i] }
                        if !noise.isEmpty { for i in 0..<size { frame[i] += noise[f * size + i] } }
                        if o.removeDcOffset {
                            var sum: Float = 0
                            for i in 0..<size { sum += frame[i] }
                            let mean = sum / Float(size)
                            for i in 0..<size { frame[i] -= mean }
                        }
                        var energy: Float = 0
                        if o.useEnergy && o.rawEnergy { energy = Self.logEnergy(frame, count: size, epsilon: epsilon, floor: energyFloor) }
                        if coefficient != 0 {
                            for i in stride(from: size - 1, through: 1, by: -1) { frame[i] -= coefficient * frame[i - 1] }
                            frame[0] -= coefficient * frame[0]
                        }
                        for i in 0..<size { frame[i] *= window[i] }
                        for i in size..<padded { frame[i] = 0 }
                        if o.useEnergy && !o.rawEnergy { energy = Self.logEnergy(frame, count: padded, epsilon: epsilon, floor: energyFloor) }
                        frame.withUnsafeBufferPointer { fp in
                            re.withUnsafeMutableBufferPointer { rp in
                                im.withUnsafeMutableBufferPointer { ip in fft.forward(fp, re: rp, im: ip) }
                            }
                        }
                        for k in 0..<bins {
                            let m = (re[k] * re[k] + im[k] * im[k]).squareRoot()
                            power[k] = o.usePower ? m * m : m
                        }
                        let row = outBase + f * columns
                        for b in 0..<mels {
                            var e: Float = 0
                            for k in melRanges[b] { e += power[k] * melBanks[b * bins + k] }
                            row[melOffset + b] = o.useLogFbank ? Foundation.log(max(e, epsilon)) : e
                        }
                        if o.useEnergy { row[o.htkCompat ? mels : 0] = energy }
                    }
                }
            }
        }
        if o.subtractMean && frames > 0 {
            for c in 0..<columns {
                var sum: Float = 0
                for f in 0..<frames { sum += out[f * columns + c] }
                let mean = sum / Float(frames)
                for f in 0..<frames { out[f * columns + c] -= mean }
            }
        }
        return Tensor(shape: [frames, columns], scalars: out)
    }

    /// `log(max(Σx², ε))`, then floored at `log(energyFloor)`.
    private static func logEnergy(_ x: [Float], count: Int, epsilon: Float, floor: Float) -> Float {
        var s: Float = 0
        for i in 0..<count { s += x[i] * x[i] }
        return max(Foundation.log(max(s, epsilon)), floor)
    }

    /// The signal with the reflected ends torchaudio adds when `snip_edges` is false: the frame
    /// `f` then starts at `f·shift` of the result.
    static func reflected(_ x: [Float], size: Int, shift: Int) -> [Float] {
        let pad = size / 2 - shift / 2
        let reversed = Array(x.reversed())
        if pad > 0 {
            return Array(reversed.suffix(pad)) + x + reversed
        }
        return Array(x[(-pad)...]) + reversed
    }
}
