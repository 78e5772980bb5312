// Follows GPT_SoVITS/module/models.py: Generator (HiFi-GAN), and GPT_SoVITS/module/modules.py: ResBlock1.
import Foundation

import GSVNN
import GSVTensor

/// HiFi-GAN residual block: for each dilation `d`,
/// `x += conv2(lrelu(conv1_d(lrelu(x, 0.1)), 0.1))`.
///
/// Follows GPT_SoVITS/module/modules.py: ResBlock1 (weight-normed convolutions, folded at load).
struct ResBlock1: Sendable {
    let convs1: [Conv1d]  // convs1.<k>
    let convs2: [Conv1d]  // convs2.<k>

    init(_ p: ParameterSource, channels: Int, kernelSize k: Int, dilations: [Int]) throws {
        convs1 = try dilations.enumerated().map { i, d in
            let pad = (k * d - d) / 2
            return try Conv1d(p.scoped("convs1.\(i)"), in: channels, out: channels, kernel: k, padding: (pad, pad),
                              dilation: d, weightNorm: true)
        }
        convs2 = try dilations.indices.map { i in
            try Conv1d(p.scoped("convs2.\(i)"), in: channels, out: channels, kernel: k,
                       padding: ((k - 1) / 2, (k - 1) / 2), weightNorm: true)
        }
    }

    /// From built convolutions (tests that choose the kernels).
    init(convs1: [Conv1d], convs2: [Conv1d]) {
        precondition(convs1.count == convs2.count, "ResBlock1: \(convs1.count) vs \(convs2.count) convolutions")
        (self.convs1, self.convs2) = (convs1, convs2)
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        for (c1, c2) in zip(convs1, convs2) {
            x += c2(c1(x, inputSlope: Generator.lreluSlope), inputSlope: Generator.lreluSlope)
        }
        return x
    }

    /// Output columns lost on each side when the block runs on a window without padding: the sum of
    /// the two convolutions' half-widths over every dilation.
    var halo: Int { zip(convs1, convs2).reduce(0) { $0 + $1.0.padding.left + $1.1.padding.left } }

    /// Whether every convolution runs on windows (a direct or Winograd kernel with symmetric
    /// padding), as ``TiledResidualStage`` requires.
    var runsOnWindows: Bool { (convs1 + convs2).allSatisfy(\.runsOnWindows) }
}

/// One HiFi-GAN stage's residual blocks, `mean_j resblock_j(x)`, computed over time tiles that stay
/// in the core's cache: each thread takes whole tiles and runs every convolution of every block on
/// a window of the input widened by the block's ``ResBlock1/halo``, so no full-length intermediate
/// tensor is written. Columns outside the sequence are kept at zero after every step, which is the
/// zero padding of the untiled convolutions. With direct kernels every output value is computed
/// with the same operations in the same order as ``ResBlock1/callAsFunction(_:)``, so the result
/// is identical; Winograd convolutions group columns into tiles from each window's start, so
/// there the two agree to rounding.
struct TiledResidualStage {
    let blocks: ArraySlice<ResBlock1>

    /// Channel counts up to which stages run tiled (`GSV_TILED_MAX_CHANNELS` overrides; 0 = never).
    /// Measured on the v2 decoder (4 s of audio, 2 cores, per-stage timers): 128/64/32/16-channel
    /// stages 0.47/0.28/0.17/0.10 s untiled → 0.41/0.22/0.11/0.085 s tiled; the 256-channel stage is
    /// slower tiled (0.19 → 0.22 s: its 512-column tiles recompute a 2 × 60-column halo).
    static let maxChannels: Int = Tuning.tiledMaxChannels ?? 128

    /// Output columns per tile for `channels`: about 512 KB per working buffer.
    static func tileLength(channels: Int) -> Int { max(256, 131_072 / max(channels, 1)) }

    /// nil when some convolution cannot run tiled (no direct kernel here, or asymmetric padding).
    init?(_ blocks: ArraySlice<ResBlock1>) {
        guard !blocks.isEmpty, blocks.allSatisfy(\.runsOnWindows) else { return nil }
        self.blocks = blocks
    }

    /// `x` `[C, T]` → `Σ_j resblock_j(x) / blocks` `[C, T]`.
    func callAsFunction(_ x: Tensor, tileLength: Int? = nil) -> Tensor {
        precondition(x.rank == 2, "TiledResidualStage: input \(x.shape)")
        let (c, t) = (x.shape[0], x.shape[1])
        let length = max(1, min(t, tileLength ?? Self.tileLength(channels: c)))
        let tiles = (t + length - 1) / length
        let halos = blocks.map(\.halo)
        let width = length + 2 * (halos.max() ?? 0)
        let divisor = Float(blocks.count)
        // Winograd scratch for the widest window at each convolution's dilation.
        let scratch = blocks.flatMap { $0.convs1 + $0.convs2 }.map { $0.windowScratchCount(outLength: width) }.max() ?? 0
        var out = [Float](repeating: 0, count: c * t)
        x.scalars.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                guard let x0 = xp.baseAddress, let o0 = op.baseAddress else { return }
                nonisolated(unsafe) let (src, dst) = (x0, o0)
                Parallel.forRanges(tiles) { range in
                    let buffers = UnsafeMutablePointer<Float>.allocate(capacity: 3 * c * width + scratch)
                    defer { buffers.deallocate() }
                    let (bx, ba, bb) = (buffers, buffers + c * width, buffers + 2 * c * width)
                    let bw = buffers + 3 * c * width
                    for tile in range {
                        let t0 = tile * length, n = min(t, t0 + length) - t0
                        for (j, block) in zip(blocks.indices, blocks) {
                            run(block, halo: halos[j - blocks.startIndex], x: src, channels: c, length: t, start: t0,
                                count: n, width: width, bx, ba, bb, bw)
                            for ch in 0..<c {
                                let o = dst + ch * t + t0, r = bx + ch * width
                                if j == blocks.startIndex {
                                    o.update(from: r, count: n)
                                } else {
                                    for u in 0..<n { o[u] += r[u] }
                                }
                            }
                        }
                        for ch in 0..<c {
                            let o = dst + ch * t + t0
                            for u in 0..<n { o[u] /= divisor }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [c, t], scalars: out)
    }

    /// One residual block over output columns `start ..< start + count`; the result is left in the
    /// first `count` columns of `bx` (rows of `width`). `ba`, `bb` are scratch of the same size.
    private func run(_ block: ResBlock1, halo: Int, x: UnsafePointer<Float>, channels c: Int, length t: Int, start: Int,
                     count: Int, width: Int, _ bx: UnsafeMutablePointer<Float>, _ ba: UnsafeMutablePointer<Float>,
                     _ bb: UnsafeMutablePointer<Float>, _ bw: UnsafeMutablePointer<Float>) {
        let slope = Generator.lreluSlope
        var g0 = start - halo  // sequence position of local column 0
        var w = count + 2 * halo
        // The input window, zero outside the sequence.
        let lo = min(w, max(0, -g0)), hi = max(lo, min(w, t - g0))
        for ch in 0..<c {
            let row = bx + ch * width
            if lo > 0 { row.update(repeating: 0, count: lo) }
            if hi > lo { row.advanced(by: lo).update(from: x + ch * t + g0 + lo, count: hi - lo) }
            if hi < w { row.advanced(by: hi).update(repeating: 0, count: w - hi) }
        }
        // Zeroes the columns of `rows` (local offset `g`) that lie outside the sequence.
        func clip(_ rows: UnsafeMutablePointer<Float>, origin g: Int, width w: Int) {
            let lo = min(w, max(0, -g)), hi = max(lo, min(w, t - g))
            guard lo > 0 || hi < w else { return }
            for ch in 0..<c {
                let row = rows + ch * width
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if hi < w { row.advanced(by: hi).update(repeating: 0, count: w - hi) }
            }
        }
        func leaky(_ from: UnsafeMutablePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ w: Int) {
            for ch in 0..<c {
                let (f, d) = (from + ch * width, to + ch * width)
                for u in 0..<w { let v = f[u]; d[u] = max(v, 0) + slope * min(v, 0) }
            }
        }
        func conv(_ layer: Conv1d, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                  outLength: Int) {
            layer.applyWindow(input, xStride: width, into: output, yStride: width, outLength: outLength, scratch: bw)
        }
        for (c1, c2) in zip(block.convs1, block.convs2) {
            let p1 = c1.padding.left, p2 = c2.padding.left
            leaky(bx, ba, w)
            conv(c1, ba, bb, outLength: w - 2 * p1)
            clip(bb, origin: g0 + p1, width: w - 2 * p1)
            leaky(bb, ba, w - 2 * p1)
            conv(c2, ba, bb, outLength: w - 2 * p1 - 2 * p2)
            // x ← x[p1+p2 …] + conv2 (in place: each column is read before it is overwritten).
            let shift = p1 + p2
            w -= 2 * shift
            g0 += shift
            for ch in 0..<c { Self.shiftAdd(bx + ch * width, shift: shift, plus: bb + ch * width, count: w) }
            clip(bx, origin: g0, width: w)
        }
    }
}

extension TiledResidualStage {
    /// `r[u] = r[u + shift] + d[u]` for `u < count`, in place and in order of `u` (each value is
    /// read before it is overwritten), eight lanes at a time: the compiler cannot prove the
    /// overlapping rows safe to vectorise and ran this one value at a time (half the stage's own
    /// time outside the convolutions).
    static func shiftAdd(_ r: UnsafeMutablePointer<Float>, shift: Int, plus d: UnsafePointer<Float>, count: Int) {
        precondition(shift >= 0, "shiftAdd reads ahead of what it writes")
        let src = UnsafeRawPointer(r + shift), add = UnsafeRawPointer(d), dst = UnsafeMutableRawPointer(r)
        var u = 0
        while u + 8 <= count {
            let a = src.loadUnaligned(fromByteOffset: u * 4, as: SIMD8<Float>.self)
            let b = add.loadUnaligned(fromByteOffset: u * 4, as: SIMD8<Float>.self)
            dst.storeBytes(of: a + b, toByteOffset: u * 4, as: SIMD8<Float>.self)
            u += 8
        }
        while u < count {
            r[u] = r[u + shift] + d[u]
            u += 1
        }
    }
}

/// The waveform decoder: `conv_pre` + `cond(g)`, then per stage leaky-ReLU (0.1) → transposed
/// convolution → mean of the residual blocks; leaky-ReLU (0.01) → `conv_post` (no bias) → tanh.
///
/// Follows GPT_SoVITS/module/models.py: Generator.
public struct Generator: Sendable {
    /// `modules.LRELU_SLOPE`.
    static let lreluSlope: Float = 0.1

    let convPre: Conv1d               // dec.conv_pre
    let cond: Conv1d                  // dec.cond
    let ups: [ConvTranspose1d]        // dec.ups.<i>
    let resblocks: [ResBlock1]        // dec.resblocks.<i·kernels + j>
    let convPost: Conv1d              // dec.conv_post
    let kernelsPerStage: Int

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        let c0 = c.upsampleInitialChannel
        convPre = try Conv1d(p.scoped("conv_pre"), in: c.interChannels, out: c0, kernel: 7, padding: (3, 3))
        cond = try Conv1d(p.scoped("cond"), in: c.ginChannels, out: c0, kernel: 1)
        var ups: [ConvTranspose1d] = []
        var blocks: [ResBlock1] = []
        var ch = c0
        for (i, (u, k)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
            let cin = c0 >> i, cout = c0 >> (i + 1)
            ups.append(try ConvTranspose1d(p.scoped("ups.\(i)"), in: cin, out: cout, kernel: k, stride: u,
                                           padding: (k - u) / 2, weightNorm: true))
            ch = cout
            for (j, (rk, rd)) in zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated() {
                blocks.append(try ResBlock1(p.scoped("resblocks.\(i * c.resblockKernelSizes.count + j)"),
                                            channels: ch, kernelSize: rk, dilations: rd))
            }
        }
        let postWeight = try p.tensor("conv_post.weight", shape: [1, ch, 7])
        // is_bias=False for v1/v2 SoVITS; a bias is accepted if a file has one.
        let postBias = try p.optionalTensor("conv_post.bias", shape: [1], randomPresent: false)
        convPost = try Conv1d(weight: postWeight, bias: postBias, padding: (3, 3))
        (self.ups, resblocks, kernelsPerStage) = (ups, blocks, c.resblockKernelSizes.count)
    }

    /// Output samples per input frame (product of the upsampling rates).
    public var hopLength: Int { ups.reduce(1) { $0 * $1.stride } }

    /// Input frames per piece when a long latent is decoded piece by piece
    /// (`GSV_GENERATOR_CHUNK_FRAMES` overrides; 0 = never). 512 frames (10 s of v2 audio) keep the
    /// largest intermediate at about 20 MB, where one 48 s decode (a merged batch of 12 fragments)
    /// allocated several tensors of about 100 MB.
    static let chunkFrames: Int = Tuning.generatorChunkFrames ?? 512

    /// Input frames on each side of a piece that reach its output: the transposed convolutions'
    /// and residual blocks' reach and `conv_post`'s half-width, converted to input frames and
    /// rounded up, plus one. nil when some transposed convolution does not map `T` frames to
    /// exactly `T · stride` samples (pieces would not line up).
    var receptiveHalo: Int? {
        var reach = 0.0, scale = 1.0
        for (i, up) in ups.enumerated() {
            let k = up.weight.shape[2]
            guard k - up.stride == 2 * up.padding, up.outputPadding == 0 else { return nil }
            // Output n reads inputs ⌊(n + p − k + 1)/u⌋ … ⌊(n + p)/u⌋: within k/u + 1 of n/u.
            reach += (Double(k) / Double(up.stride) + 1) / scale
            scale *= Double(up.stride)
            let blocks = resblocks[(i * kernelsPerStage)..<((i + 1) * kernelsPerStage)]
            reach += Double(blocks.map(\.halo).max() ?? 0) / scale
        }
        reach += Double(convPost.padding.left) / scale
        return Int(reach.rounded(.up)) + 1
    }

    /// `z` `[inter, T]`, `g` `[gin, 1]` → audio `[T · hop]` in (−1, 1).
    ///
    /// Latents longer than ``chunkFrames`` (or `chunkFrames`) go through the upsampling stages in
    /// pieces, each widened by ``receptiveHalo`` frames on both sides and cut back to its own
    /// samples, so no full-length high-rate tensor exists at once. Every kept sample sees the same
    /// inputs as in one pass; tests check the pieces against the single pass.
    public func callAsFunction(_ z: Tensor, g: Tensor, chunkFrames: Int? = nil) -> Tensor {
        let x = convPre(z) + cond(g)
        let frames = x.shape[1], chunk = chunkFrames ?? Self.chunkFrames
        guard chunk > 0, let halo = receptiveHalo, frames > chunk + 2 * halo else { return upsample(x) }
        let hop = hopLength
        var audio = [Float]()
        audio.reserveCapacity(frames * hop)
        var start = 0
        while start < frames {
            let end = min(frames, start + chunk)
            let lo = max(0, start - halo), hi = min(frames, end + halo)
            let piece = upsample(x.slice(axis: 1, lo..<hi))
            precondition(piece.count == (hi - lo) * hop, "Generator: \(hi - lo) frames gave \(piece.count) samples")
            audio.append(contentsOf: piece.scalars[((start - lo) * hop)..<((end - lo) * hop)])
            start = end
        }
        return Tensor(shape: [audio.count], scalars: audio)
    }

    /// The stages after `conv_pre + cond`: `x` `[c0, T]` → audio `[T · hop]`.
    private func upsample(_ input: Tensor) -> Tensor {
        var x = input
        for (i, up) in ups.enumerated() {
            x = up(x.leakyRelu(Generator.lreluSlope))
            let stage = resblocks[(i * kernelsPerStage)..<((i + 1) * kernelsPerStage)]
            if x.shape[0] <= TiledResidualStage.maxChannels, let tiled = TiledResidualStage(stage) {
                x = tiled(x)
                continue
            }
            var xs = resblocks[i * kernelsPerStage](x)
            for j in 1..<kernelsPerStage { xs += resblocks[i * kernelsPerStage + j](x) }
            x = xs / Float(kernelsPerStage)
        }
        x = convPost(x, inputSlope: 0.01).tanh()
        return x.reshaped([x.count])
    }
}
