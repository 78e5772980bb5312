import Foundation
import GSVNN
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

fileprivate func hubertParity(_ ours: Tensor, _ golden: Tensor) -> (cosine: Double, maxRel: Double) {
    Parity.figures(ours.scalars, golden.scalars)
}

@Suite struct HuBERTParityTests {
    static let modelPath = "v2/models/chinese-hubert-base-tiny"

    @Test func configDefaultsAreChineseHuBERTBase() throws {
        let c = HuBERTConfig.chineseHuBERTBase
        #expect(c.hiddenSize == 768 && c.numHiddenLayers == 12 && c.numAttentionHeads == 12)
        #expect(c.intermediateSize == 3072 && c.convDim == Array(repeating: 512, count: 7))
        #expect(c.convKernel == [10, 3, 3, 3, 3, 2, 2] && c.convStride == [5, 2, 2, 2, 2, 2, 2])
        #expect(c.numConvPosEmbeddings == 128 && c.numConvPosEmbeddingGroups == 16 && !c.convBias)
        #expect(c.featExtractNorm == "group" && !c.doStableLayerNorm && c.layerNormEps == 1e-5)
        #expect(c.totalStride == 320 && c.minimumSamples == 400)
        // An empty JSON object decodes to the same defaults.
        let decoded = try JSONDecoder().decode(HuBERTConfig.self, from: Data("{}".utf8))
        #expect(decoded == c)
        #expect(CNHuBERT.officialPromptPaddingSamples == 9600)
        #expect(CNHuBERT.promptPaddingSamples(outputSampleRate: 48000) == 14400)
        #expect(CNHuBERT.officialReferenceSampleRange == 48_000...160_000)
    }

    @Test func frameCountMatchesConvolutionChain() {
        let c = HuBERTConfig.chineseHuBERTBase
        #expect(c.frameCount(samples: 399) == nil)
        #expect(c.frameCount(samples: 400) == 1)
        #expect(c.frameCount(samples: 16000) == 49)
        #expect(c.frameCount(samples: 86915) == 271)
    }

    @Test func sslContentMatchesOfficialGolden() throws {
        let model = try CNHuBERT.load(folder: Fixtures.url(Self.modelPath).path)
        let golden = try SafeTensorsFile(path: Fixtures.url("v2/golden/reference.safetensors").path)
        let input = try golden.tensor("hubert_input_16k")
        let expected = try golden.tensor("ssl_content")
        let ssl = try model.sslContent(audio16k: input.scalars)
        #expect(ssl.shape == expected.shape)
        try #require(ssl.shape == expected.shape)
        let (cos, rel) = hubertParity(ssl, expected)
        #expect(cos >= 0.99999, "cosine \(cos)")
        #expect(rel <= 1e-3, "max relative error \(rel)")
    }

    @Test func promptInputAppendsOfficialPadding() throws {
        let model = try CNHuBERT.random(config: Self.tinyConfig, seed: 3)
        var rng = SeededRNG(seed: 9)
        let wav = rng.uniform(shape: [2000], lo: -0.5, hi: 0.5).scalars
        let a = try model.promptSSLContent(audio16k: wav)
        let b = try model.sslContent(audio16k: wav + [Float](repeating: 0, count: 9600))
        #expect(a == b)
        #expect(a.shape[1] == Self.tinyConfig.frameCount(samples: 11600))
    }

    static var tinyConfig: HuBERTConfig {
        var c = HuBERTConfig()
        c.hiddenSize = 24; c.numHiddenLayers = 2; c.numAttentionHeads = 3; c.intermediateSize = 40
        c.convDim = [8, 8, 12]; c.convKernel = [10, 3, 2]; c.convStride = [5, 2, 2]
        c.numConvPosEmbeddings = 6; c.numConvPosEmbeddingGroups = 4
        return c
    }

    @Test(arguments: [false, true])
    func tinyRandomShapes(stable: Bool) throws {
        var c = Self.tinyConfig
        c.doStableLayerNorm = stable
        c.featExtractNorm = stable ? "layer" : "group"
        c.numConvPosEmbeddings = stable ? 5 : 6      // odd kernel: no frame removed
        let model = try CNHuBERT.random(config: c, seed: 1)
        var rng = SeededRNG(seed: 2)
        let batch = rng.uniform(shape: [2, 1234], lo: -1, hi: 1)
        let out = try model.lastHiddenState(batch)
        let frames = try #require(c.frameCount(samples: 1234))
        #expect(out.shape == [2, frames, 24])
        #expect(out.scalars.allSatisfy { $0.isFinite })
        // Batch rows are independent: row 1 alone gives the same features.
        let single = try model.sslContent(audio16k: Array(batch.scalars[1234...]))
        let row1 = out.slice(axis: 0, 1..<2).squeezed(0).transposed()
        let (cos, rel) = hubertParity(single, row1)
        #expect(cos > 0.999999 && rel < 1e-5)
    }

    @Test func badInputIsRejected() throws {
        let model = try CNHuBERT.random(config: Self.tinyConfig, seed: 1)
        let minimum = Self.tinyConfig.minimumSamples
        #expect(throws: HuBERTError.inputTooShort(samples: 0, minimum: minimum)) {
            try model.sslContent(audio16k: [])
        }
        #expect(throws: HuBERTError.inputTooShort(samples: minimum - 1, minimum: minimum)) {
            try model.sslContent(audio16k: [Float](repeating: 0.1, count: minimum - 1))
        }
        var wav = [Float](repeating: 0.1, count: 500)
        wav[7] = .nan
        #expect(throws: HuBERTError.nonFiniteInput(index: 7)) { try model.sslContent(audio16k: wav) }
        #expect(throws: HuBERTError.badInputShape([500])) { try model.lastHiddenState(Tensor(wav)) }
        // Too long for the attention: refused before any work (the tiny model strides by 20).
        let long = (CNHuBERT.maximumFrames + 1) * Self.tinyConfig.totalStride + 10
        #expect(throws: HuBERTError.inputTooLong(samples: long, maximumFrames: CNHuBERT.maximumFrames)) {
            try model.lastHiddenState(Tensor(repeating: 0, shape: [1, long]))
        }
        _ = try model.sslContent(audio16k: [Float](repeating: 0.1, count: minimum))
    }

    @Test func loaderFailsOnMissingAndUnexpectedKeys() throws {
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        var missing = archive.tensors
        missing.removeValue(forKey: "encoder.layers.0.attention.q_proj.bias")
        #expect(throws: WeightsError.missingKey("encoder.layers.0.attention.q_proj.bias")) {
            try CNHuBERT.load(reader: WeightReader(tensors: missing), config: HuBERTConfig(archive: archive))
        }
        let config = try HuBERTConfig(archive: archive)
        let r = WeightReader(tensors: archive.tensors)
        _ = try CNHuBERT.load(reader: r, config: config)
        #expect(r.unconsumedKeys.filter { $0 != "masked_spec_embed" }.isEmpty)
        var extra = archive.tensors
        extra["encoder.layers.0.unknown.weight"] = archive.tensors["encoder.layer_norm.bias"]
        let r2 = WeightReader(tensors: extra)
        _ = try CNHuBERT.load(reader: r2, config: config)
        #expect(r2.unconsumedKeys.contains("encoder.layers.0.unknown.weight"))
    }

    @Test func weightNormParametrizationKeysLoadTheSameModel() throws {
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        let config = try HuBERTConfig(archive: archive)
        let legacy = try CNHuBERT.load(reader: WeightReader(tensors: archive.tensors), config: config)
        var renamed = archive.tensors
        let base = "encoder.pos_conv_embed.conv."
        renamed["\(base)parametrizations.weight.original0"] = renamed.removeValue(forKey: base + "weight_g")
        renamed["\(base)parametrizations.weight.original1"] = renamed.removeValue(forKey: base + "weight_v")
        let r = WeightReader(tensors: renamed)
        let parametrized = try CNHuBERT.load(reader: r, config: config)
        #expect(r.unconsumedKeys.filter { $0 != "masked_spec_embed" }.isEmpty)
        #expect(parametrized.encoder.posConvEmbed.conv.weight == legacy.encoder.posConvEmbed.conv.weight)
        // The folded weight is g · v / ‖v‖ with the norm over all but the kernel axis.
        let w = try #require(legacy.encoder.posConvEmbed.conv.weight)
        let g = try WeightReader(tensors: archive.tensors).tensor(base + "weight_g")
        let k = w.shape[2]
        for j in [0, k / 2, k - 1] {
            var sq = 0.0
            for o in 0..<w.shape[0] { for i in 0..<w.shape[1] { sq += Double(w[o, i, j]) * Double(w[o, i, j]) } }
            #expect(abs(sq.squareRoot() - Double(g.scalars[j])) <= 1e-4 * abs(Double(g.scalars[j])) + 1e-6)
        }
        #expect(legacy.encoder.posConvEmbed.framesToRemove == (k % 2 == 0 ? 1 : 0))
    }

    @Test func activationNamesFollowTransformers() throws {
        let x = Tensor([-1, 0, 1, 2])
        let gelu = try Activation.parse("gelu", model: "m", key: "k").apply(x)
        let tanhGelu = try Activation.parse("gelu_pytorch_tanh", model: "m", key: "k").apply(x)
        // Reference values: exact GELU and its tanh approximation at x = 1 and x = 2.
        #expect(abs(gelu[2] - 0.841_344_7) < 1e-6 && abs(gelu[3] - 1.954_499_7) < 1e-6)
        #expect(abs(tanhGelu[2] - 0.841_192_0) < 1e-6 && abs(tanhGelu[3] - 1.954_597_7) < 1e-6)
        #expect(try Activation.parse("relu", model: "m", key: "k").apply(x).scalars == [0, 0, 1, 2])
        #expect(throws: EncoderConfigError.unsupported(model: "m", key: "k", value: "silu")) {
            try Activation.parse("silu", model: "m", key: "k")
        }
    }

    @Test func unsupportedConfigIsRejected() {
        var c = Self.tinyConfig
        c.numAttentionHeads = 5
        #expect(throws: EncoderConfigError.self) { try c.validate() }
        c = Self.tinyConfig
        c.hiddenAct = "swishy"
        #expect(throws: EncoderConfigError.unsupported(model: "CN-HuBERT", key: "hidden_act", value: "swishy")) {
            try c.validate()
        }
    }
}
