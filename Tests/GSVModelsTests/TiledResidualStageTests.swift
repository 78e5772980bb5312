import GSVNN
import GSVTensor
import Testing
@testable import GSVModels

/// The time-tiled HiFi-GAN stage against the untiled residual blocks: the same operations in the
/// same order, so the outputs are identical, for tiles smaller than the halo, sequences shorter
/// than one tile, and both sequence edges.
@Suite struct TiledResidualStageTests {
    static func blocks(channels c: Int, seed: UInt64) throws -> [ResBlock1] {
        let p = ParameterSource(randomSeed: seed)
        return try [(3, [1, 3, 5]), (7, [1, 3, 5]), (11, [1, 3, 5])].enumerated().map { i, kd in
            try ResBlock1(p.scoped("resblocks.\(i)"), channels: c, kernelSize: kd.0, dilations: kd.1)
        }
    }

    @Test(arguments: [(16, 1), (16, 37), (8, 200), (16, 1000), (6, 333)])
    func tiledEqualsUntiled(channels c: Int, length t: Int) throws {
        let blocks = try Self.blocks(channels: c, seed: UInt64(c * 1000 + t))
        var rng = SeededRNG(seed: 7)
        let x = rng.uniform(shape: [c, t], lo: -1, hi: 1)
        var want = blocks[0](x)
        for b in blocks.dropFirst() { want += b(x) }
        want = want / Float(blocks.count)
        // CPUs without AVX2 have no direct kernel, and the decoder then never tiles.
        guard let stage = TiledResidualStage(blocks[...]) else { return }
        for tile in [1, 7, 64, 130, 4096] {
            let got = stage(x, tileLength: tile)
            #expect(got.shape == [c, t])
            let err = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(err == 0, "channels \(c), length \(t), tile \(tile): max difference \(err)")
        }
    }
}

/// The in-place shifted residual add of the tiled stage against the one-value-at-a-time loop.
@Suite struct ShiftAddTests {
    @Test func equalsTheScalarLoop() {
        var rng = SeededRNG(seed: 3)
        for shift in [0, 1, 3, 7, 8, 9, 30] {
            for count in [0, 1, 7, 8, 9, 31, 100] {
                let row = rng.uniform(shape: [count + shift], lo: -1, hi: 1).scalars
                let d = rng.uniform(shape: [max(count, 1)], lo: -1, hi: 1).scalars
                var want = row
                for u in 0..<count { want[u] = want[u + shift] + d[u] }
                var got = row
                got.withUnsafeMutableBufferPointer { r in
                    d.withUnsafeBufferPointer { dp in
                        TiledResidualStage.shiftAdd(r.baseAddress!, shift: shift, plus: dp.baseAddress!, count: count)
                    }
                }
                #expect(got == want, "shift \(shift), count \(count)")
            }
        }
    }
}

/// Residual blocks whose 7- and 11-tap convolutions run the Winograd kernel (forced on at eight
/// channels): tiled and untiled agree to rounding (Winograd tiles start at each window's own
/// first column), and both agree with the same blocks on the direct kernel.
@Suite struct WinogradResidualStageTests {
    /// The v2 blocks on `c` channels, with Winograd on from `winogradMin` channels (0 = never).
    static func blocks(channels c: Int, winogradMin: Int) throws -> [ResBlock1] {
        var rng = SeededRNG(seed: 31)
        var blocks: [ResBlock1] = []
        for k in [3, 7, 11] {
            func conv(_ d: Int) throws -> Conv1d {
                let pad = d * (k - 1) / 2
                return try Conv1d(weight: rng.uniform(shape: [c, c, k], lo: -0.3, hi: 0.3),
                                  bias: rng.uniform(shape: [c], lo: -0.1, hi: 0.1), padding: (pad, pad), dilation: d,
                                  winogradMinChannels: winogradMin)
            }
            blocks.append(ResBlock1(convs1: try [1, 3, 5].map { try conv($0) }, convs2: try [1, 3, 5].map { _ in try conv(1) }))
        }
        return blocks
    }

    @Test(arguments: [(8, 1), (8, 300), (8, 1000)])
    func tiledUntiledAndDirectAgree(channels c: Int, length t: Int) throws {
        let wino = try Self.blocks(channels: c, winogradMin: 1), direct = try Self.blocks(channels: c, winogradMin: 0)
        func isWinograd(_ c: Conv1d) -> Bool { if case .winograd = c.kernel { return true } else { return false } }
        #expect(isWinograd(wino[1].convs1[0]) && !isWinograd(wino[0].convs1[0]))
        var rng = SeededRNG(seed: 9)
        let x = rng.uniform(shape: [c, t], lo: -1, hi: 1)
        func untiled(_ blocks: [ResBlock1]) -> Tensor {
            var sum = blocks[0](x)
            for b in blocks.dropFirst() { sum += b(x) }
            return sum / Float(blocks.count)
        }
        let want = untiled(direct), got = untiled(wino)
        let scale = want.scalars.map { abs($0) }.max() ?? 1
        let err = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 1e-5 * max(scale, 1), "Winograd vs direct: \(err) (outputs up to \(scale))")
        guard let stage = TiledResidualStage(wino[...]) else { return }
        for tile in [5, 64, 4096] {
            let tiled = stage(x, tileLength: tile)
            let e = zip(tiled.scalars, got.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(e <= 1e-5 * max(scale, 1), "tile \(tile): tiled vs untiled \(e)")
        }
    }
}

/// The HiFi-GAN generator decoding a long latent in pieces (each widened by its receptive halo)
/// against one pass over the whole latent, on a narrow random-weight generator with the v2 rates
/// and kernels.
@Suite struct GeneratorPiecesTests {
    static func generator() throws -> Generator {
        var c = SoVITSConfig()
        c.interChannels = 8
        c.ginChannels = 8
        c.upsampleInitialChannel = 32
        return try Generator(ParameterSource(randomSeed: 5), config: c)
    }

    @Test func receptiveHaloCoversTheV2Stages() throws {
        let g = try Self.generator()
        // Stage 1 alone reaches 16/10 + 1 frames and its residual blocks 60 samples at 500 Hz.
        let halo = try #require(g.receptiveHalo)
        #expect(halo >= 9 && halo <= 16, "halo \(halo)")
        #expect(g.hopLength == 640)
    }

    @Test(arguments: [(40, 7), (100, 25), (120, 60)])
    func piecesMatchOnePass(frames: Int, chunk: Int) throws {
        let g = try Self.generator()
        var rng = SeededRNG(seed: UInt64(frames))
        let z = rng.uniform(shape: [8, frames], lo: -1, hi: 1)
        let ge = rng.uniform(shape: [8, 1], lo: -1, hi: 1)
        let whole = g(z, g: ge, chunkFrames: 0)
        let pieces = g(z, g: ge, chunkFrames: chunk)
        #expect(whole.shape == [frames * 640] && pieces.shape == whole.shape)
        let err = zip(whole.scalars, pieces.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 1e-6, "\(frames) frames in pieces of \(chunk): max difference \(err)")
        // A too-small halo would change samples near the cuts: check it is not trivially satisfied.
        #expect(whole.scalars.contains { abs($0) > 1e-3 })
    }
}
