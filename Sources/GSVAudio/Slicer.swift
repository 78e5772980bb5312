import Foundation

/// Cuts long recordings at silences into clips for dataset preparation.
///
/// Follows tools/slicer2.py: Slicer (frame RMS, silence runs, cut positions at the quietest frame)
/// and tools/slice_audio.py: slice (per-clip level mix). Times are in milliseconds as in the
/// official tool; rounding of the millisecond → frame conversions is Python's `round`
/// (half to even).
public struct SilenceSlicer: Sendable {
    /// One clip: its samples and where they came from.
    public struct Chunk: Sendable, Equatable {
        /// The clip's samples (`source[startSample ..< min(count, endSample)]`).
        public var samples: [Float]
        /// First sample, as the official tool reports it.
        public var startSample: Int
        /// End sample as the official tool reports it (`frames × hop`; may exceed the input length
        /// by less than one hop for the last clip).
        public var endSample: Int

        /// Creates a chunk.
        public init(samples: [Float], startSample: Int, endSample: Int) {
            self.samples = samples
            self.startSample = startSample
            self.endSample = endSample
        }
    }

    /// Sample rate of the audio to slice.
    public let sampleRate: Int
    /// Linear RMS threshold below which a frame is silent (`10^(dB/20)`).
    public let threshold: Double
    /// Hop between RMS frames, in samples.
    public let hopSize: Int
    /// RMS frame length, in samples.
    public let windowSize: Int
    /// Minimum clip length, in frames.
    public let minLengthFrames: Int
    /// Minimum silence length that may be cut, in frames.
    public let minIntervalFrames: Int
    /// Maximum silence kept around a cut, in frames.
    public let maxSilenceKeptFrames: Int

    /// Creates a slicer. Defaults are the class defaults of slicer2.py (the WebUI uses
    /// threshold −34, minLength 4000, minInterval 300, hopSize 10, maxSilenceKept 500).
    ///
    /// - Throws: `AudioError.invalidArgument` unless `minLength ≥ minInterval ≥ hopSize`,
    ///   `maxSilenceKept ≥ hopSize`, and the rate and hop are positive.
    public init(
        sampleRate: Int, thresholdDB: Double = -40, minLengthMs: Int = 5000, minIntervalMs: Int = 300,
        hopSizeMs: Int = 20, maxSilenceKeptMs: Int = 5000
    ) throws {
        guard sampleRate > 0 else { throw AudioError.invalidArgument("slicer sample rate must be positive, got \(sampleRate)") }
        guard minLengthMs >= minIntervalMs, minIntervalMs >= hopSizeMs else {
            throw AudioError.invalidArgument("slicer needs minLength ≥ minInterval ≥ hopSize (ms), got \(minLengthMs), \(minIntervalMs), \(hopSizeMs)")
        }
        guard maxSilenceKeptMs >= hopSizeMs else {
            throw AudioError.invalidArgument("slicer needs maxSilenceKept ≥ hopSize (ms), got \(maxSilenceKeptMs) < \(hopSizeMs)")
        }
        let sr = Double(sampleRate)
        let hop = Int((sr * Double(hopSizeMs) / 1000).rounded(.toNearestOrEven))
        guard hop >= 1 else { throw AudioError.invalidArgument("slicer hop of \(hopSizeMs) ms is under one sample at \(sampleRate) Hz") }
        let minInterval = sr * Double(minIntervalMs) / 1000
        self.sampleRate = sampleRate
        threshold = pow(10, thresholdDB / 20)
        hopSize = hop
        windowSize = min(Int(minInterval.rounded(.toNearestOrEven)), 4 * hop)
        minLengthFrames = Int((sr * Double(minLengthMs) / 1000 / Double(hop)).rounded(.toNearestOrEven))
        minIntervalFrames = Int((minInterval / Double(hop)).rounded(.toNearestOrEven))
        maxSilenceKeptFrames = Int((sr * Double(maxSilenceKeptMs) / 1000 / Double(hop)).rounded(.toNearestOrEven))
    }

    /// Frame RMS: `sqrt(mean(x²))` over frames of `windowSize` samples every `hopSize`, the signal
    /// zero-padded by `windowSize/2` on both sides (frame `i` centred on sample `i·hop`).
    ///
    /// Computed as the official `get_rms` computes it with NumPy, bit for bit: squares in float32,
    /// each frame summed by NumPy's pairwise float32 summation, divided by the frame length in
    /// float32, then the float32 square root — so frames at the threshold and the quietest frame of
    /// a run (the cut position) come out exactly as in the official slicer.
    public func frameRMS(_ x: [Float]) -> [Float] {
        let pad = windowSize / 2
        let padded = x.count + 2 * pad
        guard padded >= windowSize else { return [] }
        let frames = (padded - windowSize) / hopSize + 1
        var squares = [Float](repeating: 0, count: padded)
        for (i, v) in x.enumerated() { squares[pad + i] = v * v }
        var out = [Float](repeating: 0, count: frames)
        let n = Float(windowSize)
        squares.withUnsafeBufferPointer { sq in
            for f in 0..<frames {
                let sum = Self.pairwiseSum(sq.baseAddress! + f * hopSize, windowSize)
                out[f] = (sum / n).squareRoot()
            }
        }
        return out
    }

    /// NumPy's pairwise summation of float32 values (`pairwise_sum` in its loops: plain loop under
    /// 8 values, eight interleaved accumulators up to 128, halves otherwise), in float32.
    static func pairwiseSum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        if n < 8 {
            var res: Float = 0
            for i in 0..<n { res += a[i] }
            return res
        }
        if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            let limit = n - n % 8
            while i < limit {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n { res += a[i]; i += 1 }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2)
    }

    /// Slices mono audio at silences.
    ///
    /// Audio with no more samples than `minLengthFrames` (the official code compares the sample
    /// count with a frame count) is returned whole as one chunk.
    public func slice(_ x: [Float]) -> [Chunk] {
        if x.count <= minLengthFrames { return [Chunk(samples: x, startSample: 0, endSample: x.count)] }
        let rms = frameRMS(x)
        let tags = silenceTags(rms)
        let total = rms.count
        func chunk(_ a: Int, _ b: Int) -> Chunk {
            let lo = min(x.count, a * hopSize), hi = min(x.count, b * hopSize)
            return Chunk(samples: Array(x[lo..<max(lo, hi)]), startSample: a * hopSize, endSample: b * hopSize)
        }
        guard let first = tags.first, let last = tags.last else { return [chunk(0, total)] }
        var chunks: [Chunk] = []
        if first.0 > 0 { chunks.append(chunk(0, first.0)) }
        for k in 0..<(tags.count - 1) { chunks.append(chunk(tags[k].1, tags[k + 1].0)) }
        if last.1 < total { chunks.append(chunk(last.1, total)) }
        return chunks
    }

    /// The silent frame ranges to remove, `(from, to)` in frames.
    func silenceTags(_ rms: [Float]) -> [(Int, Int)] {
        /// First index of the minimum of rms[lo...hi] (inclusive, clipped to the array).
        func argmin(_ lo: Int, _ hi: Int) -> Int {
            let end = min(hi, rms.count - 1)
            var best = lo
            if lo <= end { for i in lo...end where rms[i] < rms[best] { best = i } }
            return best
        }
        let keep = maxSilenceKeptFrames
        var tags: [(Int, Int)] = []
        var silenceStart: Int?
        var clipStart = 0
        for (i, level) in rms.enumerated() {
            // NumPy 1 (the official requirement) compares the float32 level with the Python float
            // threshold in float64.
            if Double(level) < threshold {
                if silenceStart == nil { silenceStart = i }
                continue
            }
            guard let s = silenceStart else { continue }
            let leading = s == 0 && i > keep
            let middle = i - s >= minIntervalFrames && i - clipStart >= minLengthFrames
            if !leading && !middle {
                silenceStart = nil
                continue
            }
            if i - s <= keep {
                let pos = argmin(s, i)
                tags.append(s == 0 ? (0, pos) : (pos, pos))
                clipStart = pos
            } else if i - s <= keep * 2 {
                let pos = argmin(i - keep, s + keep)
                let posL = argmin(s, s + keep)
                let posR = argmin(i - keep, i)
                if s == 0 {
                    tags.append((0, posR))
                    clipStart = posR
                } else {
                    tags.append((min(posL, pos), max(posR, pos)))
                    clipStart = max(posR, pos)
                }
            } else {
                let posL = argmin(s, s + keep)
                let posR = argmin(i - keep, i)
                tags.append(s == 0 ? (0, posR) : (posL, posR))
                clipStart = posR
            }
            silenceStart = nil
        }
        let total = rms.count
        if let s = silenceStart, total - s >= minIntervalFrames {
            let silenceEnd = min(total, s + keep)
            tags.append((argmin(s, silenceEnd), total + 1))
        }
        return tags
    }

    /// The per-clip level mix of the official slicing tool: when `max|c| > 1` the clip is first
    /// divided by that peak; then `c ← c / peak · (maxLevel · alpha) + (1 − alpha) · c`, with `peak`
    /// the clip's original peak (as the official code does). Silent clips are returned unchanged.
    ///
    /// Follows tools/slice_audio.py: slice (`_max`, `alpha`; WebUI defaults 0.9 and 0.25).
    /// The float32 arithmetic is NumPy's: the constants `maxLevel·alpha` and `1 − alpha` are formed
    /// in double precision and rounded to float32, every operation is float32.
    public static func mixLevel(_ clip: [Float], maxLevel: Double = 0.9, alpha: Double = 0.25) -> [Float] {
        let peak = clip.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { return clip }
        let scale = Float(maxLevel * alpha), keep = Float(1 - alpha)
        let c = peak > 1 ? clip.map { $0 / peak } : clip
        return c.map { $0 / peak * scale + keep * $0 }
    }
}
