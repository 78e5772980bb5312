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
        for b in blocks.dropFirst() { addInPlace(&want, b(x)) }
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
