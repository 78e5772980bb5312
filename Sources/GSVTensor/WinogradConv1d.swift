import GSVKernels

/// A stride-1 1-D convolution by Winograd's minimal filtering, F(4, 4): the kernel is cut into
/// segments of four taps, and every tile of four outputs costs seven products per segment and
/// channel pair instead of sixteen. The products are ``GSVKernels`` transforms around
/// `7 · ⌈K/4⌉` matrix products per chunk of columns, done by BLAS. The transforms run at
/// ``Tuning/convLevel`` (bit-identical at every level).
///
/// For HiFi-GAN's 7- and 11-tap residual convolutions at 64–256 channels this needs about half the
/// multiply–adds of ``DirectConv1d`` (measured 1.3–1.7× faster per convolution on one core).
/// Rounding differs from direct summation, at the same size (about 1e-6 relative, checked by
/// tests against direct convolution). Same calling convention as ``DirectConv1d``.
public struct WinogradConv1d: Sendable {
    /// Output channels.
    public let outChannels: Int
    /// Input channels.
    public let inChannels: Int
    /// Kernel taps.
    public let kernelSize: Int
    /// Four-tap segments, `⌈K/4⌉`.
    let segments: Int
    /// Transformed weights `[7][segments][Cout][Cin]`.
    let transformed: [Float]

    /// Transforms a PyTorch `Conv1d` weight `[Cout, Cin, K]`.
    public init(weight: Tensor) {
        precondition(weight.rank == 3, "WinogradConv1d: weight \(weight.shape) is not [Cout, Cin, K]")
        let (cout, cin, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        (outChannels, inChannels, kernelSize) = (cout, cin, k)
        segments = (k + 3) / 4
        var u = [Float](repeating: 0, count: Int(GSV_WINO_POINTS) * segments * cout * cin)
        weight.scalars.withUnsafeBufferPointer { w in
            u.withUnsafeMutableBufferPointer { d in gsv_wino_pack_weights(w.baseAddress, cout, cin, k, d.baseAddress) }
        }
        transformed = u
    }

    /// Tiles per phase in one chunk: about 2048 output columns, in at most `pieces` chunks or more.
    static func chunkTiles(outLength: Int, dilation: Int, pieces: Int = 1) -> Int {
        let tiles = tilesPerPhase(outLength: outLength, dilation: dilation)
        let target = (512 + dilation - 1) / dilation
        return max(1, min(target, (tiles + pieces - 1) / max(pieces, 1)))
    }

    /// Tiles of four outputs in each phase of the dilation.
    static func tilesPerPhase(outLength: Int, dilation: Int) -> Int {
        ((outLength + dilation - 1) / dilation + 3) / 4
    }

    /// Floats of scratch ``accumulateSerial(x:xStride:dilation:into:yStride:outLength:scratch:)``
    /// needs for `outLength` columns at `dilation`.
    public func scratchCount(outLength: Int, dilation: Int) -> Int {
        scratchCount(chunkTiles: Self.chunkTiles(outLength: outLength, dilation: dilation), dilation: dilation)
    }

    func scratchCount(chunkTiles: Int, dilation: Int) -> Int {
        let cols = dilation * (chunkTiles + segments - 1)
        return Int(GSV_WINO_POINTS) * cols * (inChannels + outChannels)
    }

    /// `y[o, t] += Σ_c Σ_q W[o, c, q] · x[c, t + q·dilation]` for `t < outLength`: `x` holds `Cin`
    /// rows of `xStride` already padded columns (at least `outLength + (K−1)·dilation`; columns past
    /// that are not read), `y` holds `Cout` rows of `yStride` columns, preset with the bias or zeros.
    /// Chunks of columns run on ``Parallel/threadCount`` threads.
    public func accumulate(x: UnsafePointer<Float>, xStride: Int, dilation: Int, into y: UnsafeMutablePointer<Float>,
                           yStride: Int, outLength: Int) {
        check(xStride: xStride, yStride: yStride, outLength: outLength, dilation: dilation)
        guard outLength > 0 else { return }
        let perChunk = Self.chunkTiles(outLength: outLength, dilation: dilation, pieces: Parallel.threadCount)
        let chunks = (Self.tilesPerPhase(outLength: outLength, dilation: dilation) + perChunk - 1) / perChunk
        let scratch = scratchCount(chunkTiles: perChunk, dilation: dilation)
        nonisolated(unsafe) let (xp, yp) = (x, y)
        Parallel.forRanges(chunks) { r in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
            defer { buffer.deallocate() }
            for chunk in r {
                run(x: xp, xStride: xStride, dilation: dilation, y: yp, yStride: yStride, outLength: outLength,
                    tile0: chunk * perChunk, chunkTiles: perChunk, scratch: buffer)
            }
        }
    }

    /// ``accumulate(x:xStride:dilation:into:yStride:outLength:)`` on the calling thread only, with
    /// caller-owned `scratch` of at least ``scratchCount(outLength:dilation:)`` floats.
    public func accumulateSerial(x: UnsafePointer<Float>, xStride: Int, dilation: Int, into y: UnsafeMutablePointer<Float>,
                                 yStride: Int, outLength: Int, scratch: UnsafeMutablePointer<Float>) {
        check(xStride: xStride, yStride: yStride, outLength: outLength, dilation: dilation)
        guard outLength > 0 else { return }
        let perChunk = Self.chunkTiles(outLength: outLength, dilation: dilation)
        let tiles = Self.tilesPerPhase(outLength: outLength, dilation: dilation)
        var tile0 = 0
        while tile0 < tiles {
            run(x: x, xStride: xStride, dilation: dilation, y: y, yStride: yStride, outLength: outLength,
                tile0: tile0, chunkTiles: perChunk, scratch: scratch)
            tile0 += perChunk
        }
    }

    private func check(xStride: Int, yStride: Int, outLength: Int, dilation: Int) {
        precondition(dilation >= 1, "WinogradConv1d: dilation \(dilation)")
        precondition(xStride >= outLength + (kernelSize - 1) * dilation, "WinogradConv1d: input rows too short")
        precondition(yStride >= outLength, "WinogradConv1d: output rows too short")
    }

    /// Tiles `tile0 ..< tile0 + chunkTiles` (fewer at the end) of every phase.
    private func run(x: UnsafePointer<Float>, xStride: Int, dilation d: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                     outLength: Int, tile0: Int, chunkTiles: Int, scratch: UnsafeMutablePointer<Float>) {
        let tiles = min(chunkTiles, Self.tilesPerPhase(outLength: outLength, dilation: d) - tile0)
        // Each phase holds `tiles` result columns and reads `segments − 1` further input tiles, so
        // a segment's product is the shared product shifted by whole tiles; across the phase seam
        // the extra columns compute values nobody keeps.
        let width = tiles + segments - 1
        let cols = d * width, n = cols - (segments - 1)
        let points = Int(GSV_WINO_POINTS)
        let (cin, cout) = (inChannels, outChannels)
        let v = scratch, m = scratch + points * cin * cols
        let level = Int32(Tuning.convLevel.rawValue)
        gsv_wino_input_at(level, x, xStride, outLength + (kernelSize - 1) * d, cin, d, tile0, width, v)
        transformed.withUnsafeBufferPointer { u in
            guard let u0 = u.baseAddress else { return }
            for a in 0..<points {
                for j in 0..<segments {
                    BLAS.sgemmSerial(m: cout, n: n, k: cin, a: u0 + (a * segments + j) * cout * cin, lda: cin,
                                     b: v + a * cin * cols + j, ldb: cols, beta: j == 0 ? 0 : 1,
                                     c: m + a * cout * cols, ldc: cols)
                }
            }
        }
        gsv_wino_output_at(level, m, cout, d, tile0, tiles, width, y, yStride, outLength)
    }
}
