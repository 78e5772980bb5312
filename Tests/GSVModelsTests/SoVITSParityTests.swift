import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

// Parity of the SoVITS synthesizer with the official outputs (fixtures README §3.2, §3.7).
// Every dimension comes from the checkpoint; the variants come from the golden sidecar, so the same
// tests run on other fixture sets.

fileprivate func sovitsErrors(_ ours: Tensor, _ golden: Tensor) -> (cosine: Double, maxRel: Double) {
    Parity.figures(ours.scalars, golden.scalars)
}

/// Signal-to-noise ratio of `ours` against `golden`, in dB.
fileprivate func sovitsSNR(_ ours: Tensor, _ golden: Tensor) -> Double {
    var s = 0.0, n = 0.0
    for (a, b) in zip(ours.scalars, golden.scalars) { s += Double(b) * Double(b); n += (Double(a) - Double(b)) * (Double(a) - Double(b)) }
    return n == 0 ? .infinity : 10 * log10(s / n)
}

/// Checks the float gates (cosine ≥ 0.99999, max-rel ≤ 1e-3) and the shape.
fileprivate func expectSoVITSParity(_ name: String, _ ours: Tensor, _ golden: Tensor,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ours.shape == golden.shape, "\(name): shape \(ours.shape) vs golden \(golden.shape)", sourceLocation: sourceLocation)
    guard ours.shape == golden.shape else { return }
    let e = sovitsErrors(ours, golden)
    print("SoVITS parity \(name): cosine \(String(format: "%.8f", e.cosine)), max-rel \(String(format: "%.2e", e.maxRel))")
    #expect(e.cosine >= 0.99999, "\(name): cosine \(e.cosine)", sourceLocation: sourceLocation)
    #expect(e.maxRel <= 1e-3, "\(name): max relative error \(e.maxRel)", sourceLocation: sourceLocation)
}

/// The fixture model and goldens, loaded once for the suite.
fileprivate enum SoVITSFixture {
    static let model: Result<SynthesizerTrn, Error> = Result {
        try SynthesizerTrn.load(path: Fixtures.url("v2/models/sovits_v2_tiny.pth").path)
    }
    static let decodeGolden: Result<SafeTensorsFile, Error> = Result {
        try SafeTensorsFile(path: Fixtures.url("v2/golden/sovits_decode.safetensors").path)
    }
    static let referenceGolden: Result<SafeTensorsFile, Error> = Result {
        try SafeTensorsFile(path: Fixtures.url("v2/golden/reference.safetensors").path)
    }

    /// The decode variants listed in the golden sidecar.
    static let variants = SoVITSDecodeVariant.read("v2/golden/sovits_decode.json")
}

extension SafeTensorsFile {
    fileprivate func sovitsInts(_ name: String) throws -> [Int] {
        guard let t = tensors[name] else { throw WeightsError.missingKey(name) }
        return try t.int64Values().map { Int($0) }
    }
    fileprivate func has(_ name: String) -> Bool { tensors[name] != nil }
}

@Suite struct SoVITSParityTests {
    @Test func checkpointIdentifiedAndConfigReadFromIt() throws {
        let model = try SoVITSFixture.model.get()
        let c = model.config
        // The fixture's own record of the hps it was saved with.
        let data = try Data(contentsOf: Fixtures.url("v2/models/model_configs.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let hps = try #require((json["sovits"] as? [String: Any])?["hps"] as? [String: Any])
        let m = try #require(hps["model"] as? [String: Any])
        #expect(c.interChannels == m["inter_channels"] as? Int)
        #expect(c.hiddenChannels == m["hidden_channels"] as? Int)
        #expect(c.filterChannels == m["filter_channels"] as? Int)
        #expect(c.nHeads == m["n_heads"] as? Int)
        #expect(c.nLayers == m["n_layers"] as? Int)
        #expect(c.kernelSize == m["kernel_size"] as? Int)
        #expect(c.upsampleInitialChannel == m["upsample_initial_channel"] as? Int)
        #expect(c.upsampleRates == m["upsample_rates"] as? [Int])
        #expect(c.upsampleKernelSizes == m["upsample_kernel_sizes"] as? [Int])
        #expect(c.resblockKernelSizes == m["resblock_kernel_sizes"] as? [Int])
        #expect(c.resblockDilationSizes == m["resblock_dilation_sizes"] as? [[Int]])
        #expect(c.ginChannels == m["gin_channels"] as? Int)
        let d = try #require(hps["data"] as? [String: Any])
        #expect(c.filterLength == d["filter_length"] as? Int)
        #expect(c.hopLength == d["hop_length"] as? Int)
        #expect(c.samplingRate == d["sampling_rate"] as? Int)
        // Version from the symbol count (the header is plain PK).
        #expect(c.version == (c.symbolCount == 322 ? .v1 : .v2))
        #expect(c.styleInputBins == (c.version == .v1 ? c.spectrogramBins : 704))
        #expect(model.dec.hopLength == c.hopLength)
    }

    @Test func loaderFailsOnMissingUnexpectedAndMisshapenKeys() throws {
        let archive = try WeightArchive.open(Fixtures.url("v2/models/sovits_v2_tiny.pth").path)
        let config = try SoVITSFixture.model.get().config
        let base = archive.tensors
        func load(_ tensors: [String: TensorData]) throws {
            _ = try SynthesizerTrn(reader: WeightReader(tensors: tensors), config: config)
        }
        var missing = base
        missing["dec.conv_post.weight"] = nil
        #expect(throws: WeightsError.missingKey("dec.conv_post.weight")) { try load(missing) }

        let donor = try #require(base["enc_p.proj.bias"])
        var extra = base
        extra["dec.extra.bias"] = try TensorData(name: "dec.extra.bias", dtype: donor.dtype, shape: donor.shape,
                                                 file: donor.file, offset: donor.offset, strides: donor.strides)
        #expect(throws: WeightsError.unexpectedKeys(["dec.extra.bias"])) { try load(extra) }

        var misshapen = base
        misshapen["enc_p.proj.bias"] = try TensorData(name: "enc_p.proj.bias", dtype: donor.dtype,
                                                      shape: [donor.shape[0] - 1], file: donor.file,
                                                      offset: donor.offset, strides: [1])
        #expect(throws: WeightsError.self) { try load(misshapen) }

        // enc_q.* (training-only posterior encoder) is tolerated, as the official loader does.
        var withEncQ = base
        withEncQ["enc_q.proj.bias"] = try TensorData(name: "enc_q.proj.bias", dtype: donor.dtype, shape: donor.shape,
                                                     file: donor.file, offset: donor.offset, strides: donor.strides)
        try load(withEncQ)
    }

    /// A checkpoint whose weight-normed layers use the parametrization names
    /// (`parametrizations.weight.original0/1`, what newer torch writes) loads the same network:
    /// every key consumed, the flow and decoder give identical output.
    @Test func parametrizedWeightNormLoadsTheSameNetwork() throws {
        let archive = try WeightArchive.open(Fixtures.url("v2/models/sovits_v2_tiny.pth").path)
        let legacy = try SoVITSFixture.model.get()
        var renamed: [String: TensorData] = [:]
        var pairs = 0
        for (k, v) in archive.tensors {
            if k.hasSuffix(".weight_g") {
                renamed[String(k.dropLast("weight_g".count)) + "parametrizations.weight.original0"] = v
                pairs += 1
            } else if k.hasSuffix(".weight_v") {
                renamed[String(k.dropLast("weight_v".count)) + "parametrizations.weight.original1"] = v
            } else {
                renamed[k] = v
            }
        }
        #expect(pairs > 0, "the fixture stores weight_g/weight_v pairs")
        let modern = try SynthesizerTrn(reader: WeightReader(tensors: renamed), config: legacy.config)
        var rng = SeededRNG(seed: 3)
        let z = rng.uniform(shape: [legacy.config.interChannels, 12], lo: -1, hi: 1)
        let g = rng.uniform(shape: [legacy.config.ginChannels, 1], lo: -1, hi: 1)
        #expect(modern.flow.reverse(z, g: g) == legacy.flow.reverse(z, g: g))
        #expect(modern.dec(z, g: g) == legacy.dec(z, g: g))
    }

    @Test func promptTokensIdenticalToOfficial() throws {
        let model = try SoVITSFixture.model.get()
        let g = try SoVITSFixture.referenceGolden.get()
        let tokens = try model.promptTokens(ssl: g.tensor("ssl_content"))
        let golden = try g.sovitsInts("prompt_semantic")
        #expect(tokens.count == golden.count)
        let mismatches = zip(tokens, golden).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(tokens == golden, "mismatched positions: \(mismatches)")
    }

    @Test func referenceEmbeddingMatchesOfficial() throws {
        let model = try SoVITSFixture.model.get()
        let g = try SoVITSFixture.referenceGolden.get()
        let ge = try model.referenceEmbedding(spectrogram: g.tensor("refer_spec"))
        expectSoVITSParity("ref_enc_ge", ge, try g.tensor("ref_enc_ge"))
        // The decode goldens used the same reference: their ge must agree with ours too.
        let d = try SoVITSFixture.decodeGolden.get()
        for c in 0..<8 where d.has("case\(c)_ge") {
            expectSoVITSParity("case\(c)_ge", ge, try d.tensor("case\(c)_ge"))
        }
    }

    @Test func quantizerDecodeMatchesOfficial() throws {
        let model = try SoVITSFixture.model.get()
        let d = try SoVITSFixture.decodeGolden.get()
        var checked = 0
        for c in 0..<8 where d.has("case\(c)_quantized") {
            let q = try model.quantizer.decode([d.sovitsInts("case\(c)_codes")])
            expectSoVITSParity("case\(c)_quantized", q, try d.tensor("case\(c)_quantized"))
            checked += 1
        }
        #expect(checked > 0)
    }

    @Test func flowReverseMatchesOfficialOnGoldenInput() throws {
        let model = try SoVITSFixture.model.get()
        let d = try SoVITSFixture.decodeGolden.get()
        var checked = 0
        for v in SoVITSFixture.variants where d.has(v.prefix + "z_p") && d.has(v.prefix + "flow_out_z") {
            let ge = try d.tensor("case\(v.caseIndex)_ge").reshaped([model.config.ginChannels, 1])
            let z = model.flow.reverse(try d.tensor(v.prefix + "z_p"), g: ge)
            expectSoVITSParity(v.prefix + "flow_out_z", z, try d.tensor(v.prefix + "flow_out_z"))
            checked += 1
        }
        #expect(checked > 0)
    }

    @Test func generatorMatchesOfficialOnGoldenInput() throws {
        let model = try SoVITSFixture.model.get()
        let d = try SoVITSFixture.decodeGolden.get()
        guard let v = SoVITSFixture.variants.first(where: { d.has($0.prefix + "flow_out_z") }) else {
            Issue.record("no variant stores flow_out_z")
            return
        }
        let ge = try d.tensor("case\(v.caseIndex)_ge").reshaped([model.config.ginChannels, 1])
        let audio = model.dec(try d.tensor(v.prefix + "flow_out_z"), g: ge)
        let golden = try d.tensor(v.prefix + "audio")
        expectSoVITSParity(v.prefix + "audio (decoder only)", audio, golden)
        #expect(sovitsSNR(audio, golden) >= 40)
    }

    @Test(arguments: SoVITSFixture.variants)
    fileprivate func decodeMatchesOfficialStageByStage(_ v: SoVITSDecodeVariant) throws {
        let model = try SoVITSFixture.model.get()
        let d = try SoVITSFixture.decodeGolden.get()
        let p = v.prefix
        let codes = try d.sovitsInts("case\(v.caseIndex)_codes")
        let phones = try d.sovitsInts("case\(v.caseIndex)_phone_ids")
        let ge = try d.tensor("case\(v.caseIndex)_ge")
        let noise: SoVITSNoise = v.injected ? .injected(try d.tensor(p + "noise")) : .seeded(1)
        let trace = try model.decodeTrace(codes: codes, phones: phones, ge: ge, speed: v.speed,
                                          noiseScale: v.noiseScale, noise: noise)
        if d.has("case\(v.caseIndex)_quantized") {
            expectSoVITSParity("quantized", trace.quantized, try d.tensor("case\(v.caseIndex)_quantized"))
        }
        if d.has("case\(v.caseIndex)_enc_p_x") {
            expectSoVITSParity("enc_p_x", trace.prior.hidden, try d.tensor("case\(v.caseIndex)_enc_p_x"))
        }
        let stages: [(String, Tensor)] = [("m_p", trace.prior.mean), ("logs_p", trace.prior.logStd),
                                          ("y_mask", trace.prior.mask), ("z_p", trace.zP), ("flow_out_z", trace.z)]
        for (name, ours) in stages where d.has(p + name) {
            expectSoVITSParity(p + name, ours, try d.tensor(p + name))
        }
        let golden = try d.tensor(p + "audio")
        expectSoVITSParity(p + "audio", trace.audio, golden)
        let snr = sovitsSNR(trace.audio, golden)
        print("SoVITS parity \(p)audio: SNR \(String(format: "%.1f", snr)) dB")
        #expect(snr >= 40, "\(p)audio SNR \(snr) dB")
    }
}
