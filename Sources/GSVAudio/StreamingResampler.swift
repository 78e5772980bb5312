// Chunked resampling for streamed output (no official counterpart: the official server sends the
// model rate; OpenAI-compatible `pcm` must be 24 kHz).

/// Resamples audio that arrives in pieces with ``KaiserResampler``, giving the same samples as
/// resampling the whole signal at once (up to float rounding): each call returns every output
/// sample whose filter window is already covered by the input seen so far, and ``finish()``
/// returns the rest (the tail, whose window reaches past the end and is zero-padded, as the
/// one-shot resampler pads it).
///
/// Output sample `j` lies at input time `j·from/to`, and `push` + `finish` together return
/// `ceil(n·to/from)` samples for `n` input samples, like ``KaiserResampler``.
public struct StreamingResampler: Sendable {
    /// The filter.
    public let resampler: KaiserResampler
    private let up: Int
    private let down: Int
    /// Input samples on each side of an output time that its filter window can reach (with margin).
    private let context: Int
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var inputCount = 0
    private var produced = 0
    private var finished = false

    /// A resampler from `sourceRate` to `targetRate` Hz.
    /// - Throws: `AudioError.invalidArgument` for rates ``KaiserResampler`` rejects.
    public init(from sourceRate: Int, to targetRate: Int) throws {
        resampler = try KaiserResampler(from: sourceRate, to: targetRate)
        var a = sourceRate, b = targetRate
        while b != 0 { (a, b) = (b, a % b) }
        up = targetRate / a
        down = sourceRate / a
        let ratio = min(1.0, Double(up) / Double(down))
        context = Int((Double(resampler.halfLength) / ratio).rounded(.up)) + down + 2
    }

    /// Input samples consumed so far.
    public var samplesIn: Int { inputCount }
    /// Output samples returned so far.
    public var samplesOut: Int { produced }

    /// Adds input and returns the output samples that are now final (possibly none).
    /// Input after ``finish()`` is ignored.
    public mutating func push(_ samples: [Float]) -> [Float] {
        guard !finished else { return [] }
        buffer += samples
        inputCount += samples.count
        let ready = inputCount - context
        guard ready > 0 else { return [] }
        return emit(upTo: ready * up / down)
    }

    /// Ends the input and returns the remaining output samples.
    public mutating func finish() -> [Float] {
        guard !finished else { return [] }
        finished = true
        let out = emit(upTo: (up * inputCount + down - 1) / down)
        buffer = []
        return out
    }

    private mutating func emit(upTo end: Int) -> [Float] {
        guard end > produced else { return [] }
        // Start the slice on a multiple of `down` input samples so its output grid is the global one.
        let start = alignedStart(forOutput: produced)
        let stop = min(inputCount, (end * down + up - 1) / up + context)
        let slice = Array(buffer[(start - bufferStart)..<(stop - bufferStart)])
        let out = resampler(slice)
        let offset = start / down * up
        let result = Array(out[(produced - offset)..<(end - offset)])
        produced = end
        let keep = alignedStart(forOutput: produced)
        if keep > bufferStart {
            buffer.removeFirst(keep - bufferStart)
            bufferStart = keep
        }
        return result
    }

    /// The earliest input index (a multiple of `down`) whose samples output `j` may read.
    private func alignedStart(forOutput j: Int) -> Int {
        let s = max(0, j * down / up - context)
        return s - s % down
    }
}
