import Foundation
import Testing
import GSVTensor
import GSVTestSupport
import GSVWeights
@testable import GSVNN

/// The one parameter path of every model: checkpoint reads (shapes checked, consumption recorded,
/// weight norm folded in both of torch's namings) and seeded random draws.
@Suite struct ParameterSourceTests {
    static let sovitsPath = Fixtures.url("v2/models/sovits_v2_tiny.pth").path
    static let hubertPath = Fixtures.url("v2/models/chinese-hubert-base-tiny").path

    /// Float64 sum and absolute sum of a tensor's values.
    static func sums(_ t: Tensor) -> (Double, Double) {
        var s = 0.0, a = 0.0
        for x in t.scalars { s += Double(x); a += Double(abs(x)) }
        return (s, a)
    }

    static func expectSums(_ t: Tensor, _ sum: Double, _ absSum: Double, tolerance: Double,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        let (s, a) = sums(t)
        #expect(abs(s - sum) <= tolerance * max(1, abs(absSum)), "sum \(s) ≠ \(sum)", sourceLocation: sourceLocation)
        #expect(abs(a - absSum) <= tolerance * max(1, absSum), "abs sum \(a) ≠ \(absSum)", sourceLocation: sourceLocation)
    }

    /// Folded weights against numpy: `g * v / sqrt((v**2).sum(axis=others, keepdims=True))` in
    /// float64 from the fp16 file values (checksums of the public set only, recognised by the MD5
    /// of its first 8192 bytes).
    @Test func weightNormFolding() throws {
        let sovitsArchive = try WeightArchive.open(Self.sovitsPath)
        let reader = WeightReader(sovitsArchive)
        let sovits = ParameterSource(reader: reader)
        let c0 = try #require(sovitsArchive.config?.value(at: "model.upsample_initial_channel")?.intValue)
        let ups = try sovits.weightNormed("dec.ups.0", shape: [c0, c0 / 2, 16], dim: 0)
        let res0 = try #require(reader.tensors["dec.resblocks.0.convs1.0.weight_v"]?.shape)
        let res = try sovits.weightNormed("dec.resblocks.0.convs1.0", shape: res0)
        if sovitsArchive.leadingMD5 == "431497a138f25099f2970766624183ee" {
            Self.expectSums(ups, -21.38023892635602, 7408.616628228274, tolerance: 1e-5)
            Self.expectSums(res, 11.265269258080265, 709.4589281103322, tolerance: 1e-5)
        }
        let left = reader.unconsumedKeys
        #expect(!left.contains("dec.ups.0.weight_g") && !left.contains("dec.ups.0.weight_v"))
        #expect(left.contains("dec.ups.0.bias"))
        // A plain weight is returned as is.
        let prePlain = try #require(reader.tensors["dec.conv_pre.weight"]?.shape)
        #expect(try sovits.weightNormed("dec.conv_pre", shape: prePlain) == reader.tensor("dec.conv_pre.weight"))

        let hubertArchive = try WeightArchive.open(Self.hubertPath)
        let hubert = ParameterSource(reader: WeightReader(hubertArchive))
        let k = try #require(hubertArchive.config?["num_conv_pos_embeddings"]?.intValue)
        let groups = try #require(hubertArchive.config?["num_conv_pos_embedding_groups"]?.intValue)
        let hidden = try #require(hubertArchive.config?["hidden_size"]?.intValue)
        let shape = [hidden, hidden / groups, k]
        let pos = try hubert.weightNormed("encoder.pos_conv_embed.conv", shape: shape, dim: 2)
        if hubertArchive.leadingMD5 == "0dae8e99639137601fa73773a4392004" {
            Self.expectSums(pos, -46.18948235142958, 16437.435461984736, tolerance: 1e-5)
        }
        // The wrong dim does not match g's shape.
        #expect(throws: WeightsError.self) { try hubert.weightNormed("encoder.pos_conv_embed.conv", shape: shape, dim: 0) }
        #expect(throws: WeightsError.self) { try hubert.weightNormed("encoder.pos_conv_embed.conv", shape: shape, dim: 3) }
    }

    /// Renames every legacy `weight_g` / `weight_v` pair to the parametrization names
    /// (`parametrizations.weight.original0` / `original1`, what `torch.nn.utils.parametrizations.weight_norm`
    /// and newer transformers write).
    static func parametrized(_ tensors: [String: TensorData]) -> [String: TensorData] {
        var out: [String: TensorData] = [:]
        for (k, v) in tensors {
            if k.hasSuffix(".weight_g") {
                out[String(k.dropLast("weight_g".count)) + "parametrizations.weight.original0"] = v
            } else if k.hasSuffix(".weight_v") {
                out[String(k.dropLast("weight_v".count)) + "parametrizations.weight.original1"] = v
            } else {
                out[k] = v
            }
        }
        return out
    }

    /// Both namings fold to the same weight, on a SoVITS transposed convolution (dim 0) and on the
    /// HuBERT positional convolution (dim 2), and both consume their pair.
    @Test(arguments: [("v2/models/sovits_v2_tiny.pth", "dec.ups.1", 0),
                      ("v2/models/sovits_v2_tiny.pth", "flow.flows.0.enc.in_layers.0", 0),
                      ("v2/models/chinese-hubert-base-tiny", "encoder.pos_conv_embed.conv", 2)])
    func bothWeightNormNamingsFoldAlike(path: String, module: String, dim: Int) throws {
        let archive = try WeightArchive.open(Fixtures.url(path).path)
        let shape = try #require(archive.tensors[module + ".weight_v"]?.shape, "\(module) is stored with weight_g/weight_v")
        let legacyReader = WeightReader(tensors: archive.tensors)
        let legacy = try ParameterSource(reader: legacyReader).weightNormed(module, shape: shape, dim: dim)
        let renamed = Self.parametrized(archive.tensors)
        #expect(renamed[module + ".parametrizations.weight.original0"] != nil)
        let newReader = WeightReader(tensors: renamed)
        let modern = try ParameterSource(reader: newReader).weightNormed(module, shape: shape, dim: dim)
        #expect(modern == legacy)
        #expect(!legacyReader.unconsumedKeys.contains(module + ".weight_g"))
        #expect(!newReader.unconsumedKeys.contains(module + ".parametrizations.weight.original0"))
        #expect(!newReader.unconsumedKeys.contains(module + ".parametrizations.weight.original1"))
        // The kept axis carries g: the norm of each slice along `dim` is g.
        let g = try legacyReader.tensor(module + ".weight_g")
        let (outer, n, inner) = (shape[..<dim].reduce(1, *), shape[dim], shape[(dim + 1)...].reduce(1, *))
        for j in [0, n / 2, n - 1] {
            var sq = 0.0
            for o in 0..<outer { for i in 0..<inner { let v = Double(legacy.scalars[(o * n + j) * inner + i]); sq += v * v } }
            #expect(abs(sq.squareRoot() - Double(abs(g.scalars[j]))) <= 1e-4 * abs(Double(g.scalars[j])) + 1e-6)
        }
    }

    /// A missing key names its full key; a wrong shape names the expected and stored shapes.
    @Test func readErrorsNameTheKey() throws {
        let archive = try WeightArchive.open(Self.sovitsPath)
        let p = ParameterSource(reader: WeightReader(archive)).scoped("dec")
        #expect(throws: WeightsError.missingKey("dec.nothing.weight")) { try p.tensor("nothing.weight", shape: [1]) }
        let stored = try #require(archive.tensors["dec.conv_pre.bias"]?.shape)
        #expect(throws: WeightsError.shapeMismatch(key: "dec.conv_pre.bias", expected: [stored[0] + 1], actual: stored)) {
            try p.tensor("conv_pre.bias", shape: [stored[0] + 1])
        }
        #expect(p.storedShape("conv_pre.bias") == stored)
        #expect(p.fullKey("conv_pre.bias") == "dec.conv_pre.bias")
        #expect(!p.isRandom && p.reader != nil)
    }

    /// Random draws depend on the seed and the full key only, follow the requested law, and give
    /// fp16 matrices equal to the rounded Float32 draw.
    @Test func randomDrawsAreKeyedAndBounded() throws {
        let a = ParameterSource(randomSeed: 7), b = ParameterSource(randomSeed: 7), c = ParameterSource(randomSeed: 8)
        #expect(a.isRandom && a.reader == nil && !a.contains("x.weight"))
        // Order of declaration does not matter; the scope is part of the key.
        let late = try b.tensor("dummy", shape: [3])
        let w1 = try a.scoped("enc").scoped("l0").tensor("weight", shape: [16, 64])
        let w2 = try b.scoped("enc.l0").tensor("weight", shape: [16, 64])
        #expect(w1 == w2)
        #expect(try c.scoped("enc.l0").tensor("weight", shape: [16, 64]) != w1)
        #expect(try a.scoped("enc.l1").tensor("weight", shape: [16, 64]) != w1)
        #expect(late.count == 3)
        // fan-in law: uniform with std 1/√64, so |w| ≤ √3/8.
        let bound = Float(3).squareRoot() / 8
        #expect(w1.scalars.allSatisfy { abs($0) <= bound })
        let mean = w1.scalars.reduce(0, +) / Float(w1.count)
        let std = (w1.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w1.count)).squareRoot()
        #expect(abs(std - 1 / 8) < 0.02, "std \(std)")
        #expect(try a.tensor("g", shape: [4], initial: .constant(1)).scalars == [1, 1, 1, 1])
        let around = try a.tensor("gamma", shape: [1000], initial: .std(0.1, mean: 1))
        #expect(around.scalars.allSatisfy { abs($0 - 1) <= 0.1 * Float(3).squareRoot() })
        #expect(try a.optionalTensor("bias", shape: [2], randomPresent: false) == nil)
        #expect(try a.optionalTensor("bias", shape: [2], randomPresent: true)?.shape == [2])
        // A random weight-normed weight is drawn as the plain weight.
        #expect(try a.weightNormed("conv", shape: [4, 2, 3]) == a.tensor("conv.weight", shape: [4, 2, 3]))
        // fp16 matrices: the same draw, rounded to half.
        let m = try WeightMatrix(a.scoped("enc.l0"), "weight", rows: 16, cols: 64)
        guard case .half(let h) = m else { Issue.record("a random matrix should be fp16"); return }
        #expect(h.widened() == HalfMatrix(w1).widened())
    }
}
