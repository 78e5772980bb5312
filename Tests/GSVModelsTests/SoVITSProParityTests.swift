import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

// Parity of the v2Pro / v2ProPlus SoVITS (speaker head, decode) with the official outputs
// (`v2pro/golden/reference.safetensors` and `v2pro/golden/decode_<version>.safetensors`, fixture
// README §3). Configurations, variants and counts come from the fixture files, so the same tests
// run on other fixture sets of the same layout.

/// One Pro version's fixture files, loaded once.
fileprivate struct ProFixture: Sendable {
    let version: String
    let model: Result<SynthesizerTrn, any Error>
    let decode: Result<SafeTensorsFile, any Error>

    init(_ version: String) {
        self.version = version
        model = Result { try SynthesizerTrn.load(path: Fixtures.url("v2pro/models/sovits_\(version)_tiny.pth").path) }
        decode = Result { try SafeTensorsFile(path: Fixtures.url("v2pro/golden/decode_\(version).safetensors").path) }
    }

    static let v2Pro = ProFixture("v2Pro")
    static let v2ProPlus = ProFixture("v2ProPlus")
    static func named(_ v: String) -> ProFixture { v == "v2Pro" ? v2Pro : v2ProPlus }

    static let reference: Result<SafeTensorsFile, any Error> = Result {
        try SafeTensorsFile(path: Fixtures.url("v2pro/golden/reference.safetensors").path)
    }

    /// The decode variants of both versions, from the golden sidecars.
    static let variants = ["v2Pro", "v2ProPlus"].flatMap {
        SoVITSDecodeVariant.read("v2pro/golden/decode_\($0).json", version: $0)
    }
}

/// Checks `ours` against `golden` with the fixture's gate for that tensor.
fileprivate func expectProParity(_ name: String, _ ours: Tensor, _ golden: Tensor, file: String, tensor: String,
                                 reruns: [URL] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(ours.count == golden.count, "\(name): \(ours.shape) vs golden \(golden.shape)", sourceLocation: sourceLocation)
    guard ours.count == golden.count else { return }
    let gate = try ParityGate.fixture("v2pro", file: file, tensor: tensor, reruns: reruns)
    let f = Parity.figures(ours.scalars, golden.scalars)
    print("SoVITS Pro parity \(name): cosine \(String(format: "%.8f", f.cosine)), max-rel \(String(format: "%.2e", f.maxRel)) (gate \(gate))")
    #expect(gate.accepts(f), "\(name): cosine \(f.cosine), max rel \(f.maxRel) outside \(gate)", sourceLocation: sourceLocation)
}

extension SafeTensorsFile {
    fileprivate func proInts(_ name: String) throws -> [Int] {
        guard let t = tensors[name] else { throw WeightsError.missingKey(name) }
        return try t.int64Values().map { Int($0) }
    }
    fileprivate func proHas(_ name: String) -> Bool { tensors[name] != nil }
}

@Suite struct SoVITSProParityTests {
    @Test(arguments: ["v2Pro", "v2ProPlus"])
    func versionAndConfigComeFromTheFile(version: String) throws {
        let fixture = ProFixture.named(version)
        let model = try fixture.model.get()
        let archive = try WeightArchive.open(Fixtures.url("v2pro/models/sovits_\(version)_tiny.pth").path)
        let id = ModelIdentity(archive: archive)
        let report = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: Fixtures.url("v2pro/models/verify_report.json")))
        // get_sovits_version_from_path_fast's answer, as the generator recorded it.
        let official = report[version]?["get_sovits_version_from_path_fast"]?.arrayValue?.compactMap(\.stringValue)
        #expect(official?[1] == model.config.version.rawValue)
        #expect(id.sovitsVersion?.rawValue == official?[1])
        #expect(archive.headerMarker?.rawValue == report[version]?["first_two_bytes"]?.stringValue)
        #expect(model.needsSpeakerEmbedding)
        let configs = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: Fixtures.url("v2pro/models/model_configs.json")))
        let m = try #require(configs[version]?["hps"]?["model"])
        let c = model.config
        #expect(c.ginChannels == m["gin_channels"]?.intValue)
        #expect(c.upsampleInitialChannel == m["upsample_initial_channel"]?.intValue)
        #expect(c.upsampleKernelSizes == m["upsample_kernel_sizes"]?.arrayValue?.compactMap(\.intValue))
        #expect(c.interChannels == m["inter_channels"]?.intValue)
        #expect(c.filterChannels == m["filter_channels"]?.intValue)
        // Every Pro key the report lists is read with its recorded shape.
        guard case let .object(proKeys)? = report[version]?["pro_keys"] else {
            Issue.record("\(version): report lists no Pro keys")
            return
        }
        for (key, shape) in proKeys {
            #expect(archive.tensors[key]?.shape == shape.arrayValue?.compactMap(\.intValue), "\(key)")
        }
    }

    @Test(arguments: ["v2Pro", "v2ProPlus"])
    func promptTokensIdenticalToOfficial(version: String) throws {
        let model = try ProFixture.named(version).model.get()
        let g = try ProFixture.reference.get()
        let tokens = try model.promptTokens(ssl: g.tensor("ssl_content"))
        let golden = try g.proInts("\(version)/prompt_semantic")
        #expect(tokens == golden, "\(version): \(zip(tokens, golden).filter { $0 != $1 }.count) of \(golden.count) differ")
    }

    /// The speaker head on the golden spectrograms and speaker embeddings: per reference the style
    /// embedding, the projection, the sum, the PReLU; the two-reference mean; `ge_to512`.
    @Test(arguments: ["v2Pro", "v2ProPlus"])
    func speakerHeadMatchesOfficial(version: String) throws {
        let model = try ProFixture.named(version).model.get()
        let head = try #require(model.speakerConditioning)
        let g = try ProFixture.reference.get()
        let file = "golden/reference.safetensors"
        func check(_ name: String, _ ours: Tensor) throws {
            try expectProParity("\(version)/\(name)", ours, try g.tensor("\(version)/\(name)"), file: file, tensor: "\(version)/\(name)")
        }
        let spec = try g.tensor("refer_spec"), sv = try g.tensor("sv_embedding")
        let style = try model.referenceEmbedding(spectrogram: spec)
        try check("ref_enc_ge", style)
        try check("sv_emb_proj", head.svEmb(sv.reshaped([1, sv.count])).reshaped([model.config.ginChannels]))
        let ge = try model.referenceEmbedding(TimbreReference(spectrogram: spec, speakerEmbedding: sv))
        try check("ge_prelu", ge)
        try check("ge", ge)
        try check("ge_to512", model.textEncoderTimbre(ge))
        if g.proHas("\(version)/tworefs_ge") {
            let refs = [TimbreReference(spectrogram: spec, speakerEmbedding: sv),
                        TimbreReference(spectrogram: try g.tensor("aux_refer_spec"), speakerEmbedding: try g.tensor("aux_sv_embedding"))]
            for (i, r) in refs.enumerated() {
                try check("tworefs_ref_enc_ge_ref\(i)", try model.referenceEmbedding(spectrogram: r.spectrogram))
                try check("tworefs_ge_prelu_ref\(i)", try model.referenceEmbedding(r))
            }
            let mean = try model.referenceEmbedding(references: refs)
            try check("tworefs_ge", mean)
            try check("tworefs_ge_to512", model.textEncoderTimbre(mean))
        }
        // Misuse is refused, not guessed at.
        #expect(throws: SoVITSError.self) { try model.referenceEmbedding(TimbreReference(spectrogram: spec)) }
        #expect(throws: SoVITSError.self) {
            try model.referenceEmbedding(TimbreReference(spectrogram: spec, speakerEmbedding: Tensor.zeros([100])))
        }
    }

    /// The whole reference side from the golden filter-bank frames: our ERes2NetV2 embedding
    /// through the head. The random speaker model amplifies rounding, so the gates include the
    /// official code's own reruns (`SpeakerModelReruns/reruns.json`).
    @Test(arguments: ["v2Pro", "v2ProPlus"])
    func speakerHeadOnOurEmbeddingMatchesOfficial(version: String) throws {
        let model = try ProFixture.named(version).model.get()
        let sv = try SpeakerModelParityTests.model.get()
        let g = try ProFixture.reference.get()
        let embedding = try sv.embedding(features: g.tensor("sv_fbank"))
        let ge = try model.referenceEmbedding(TimbreReference(spectrogram: g.tensor("refer_spec"), speakerEmbedding: embedding))
        for (name, ours) in [("ge", ge), ("ge_to512", model.textEncoderTimbre(ge))] {
            try expectProParity("\(version)/\(name) (our SV embedding)", ours, try g.tensor("\(version)/\(name)"),
                                file: "golden/reference.safetensors", tensor: "\(version)/\(name)",
                                reruns: [SpeakerModelParityTests.reruns])
        }
    }

    @Test(arguments: ProFixture.variants)
    fileprivate func decodeMatchesOfficialStageByStage(_ v: SoVITSDecodeVariant) throws {
        let fixture = ProFixture.named(v.version)
        let model = try fixture.model.get()
        let d = try fixture.decode.get()
        let g = try ProFixture.reference.get()
        let file = "golden/decode_\(v.version).safetensors"
        let p = v.prefix
        let codes = try d.proInts("case\(v.caseIndex)_codes")
        let phones = try d.proInts("case\(v.caseIndex)_phone_ids")
        var refs = [TimbreReference(spectrogram: try g.tensor("refer_spec"), speakerEmbedding: try g.tensor("sv_embedding"))]
        if v.references > 1 {
            refs.append(TimbreReference(spectrogram: try g.tensor("aux_refer_spec"), speakerEmbedding: try g.tensor("aux_sv_embedding")))
        }
        let ge = try model.referenceEmbedding(references: refs)
        let geName = v.references > 1 ? p + "ge" : "case\(v.caseIndex)_ge"
        if d.proHas(geName) {
            try expectProParity(v.version + " " + geName, ge, try d.tensor(geName), file: file, tensor: geName)
            try expectProParity(v.version + " " + geName + "_to512", model.textEncoderTimbre(ge), try d.tensor(geName + "_to512"),
                                file: file, tensor: geName + "_to512")
        }
        let noise: SoVITSNoise = v.injected ? .injected(try d.tensor(p + "noise")) : .seeded(1)
        let trace = try model.decodeTrace(codes: codes, phones: phones, ge: ge, speed: v.speed, noiseScale: v.noiseScale, noise: noise)
        if d.proHas("case\(v.caseIndex)_quantized") {
            try expectProParity("quantized", trace.quantized, try d.tensor("case\(v.caseIndex)_quantized"),
                                file: file, tensor: "case\(v.caseIndex)_quantized")
        }
        if v.references == 1, v.speed == 1, d.proHas("case\(v.caseIndex)_enc_p_x") {
            try expectProParity("enc_p_x", trace.prior.hidden, try d.tensor("case\(v.caseIndex)_enc_p_x"),
                                file: file, tensor: "case\(v.caseIndex)_enc_p_x")
        }
        let stages: [(String, Tensor)] = [("m_p", trace.prior.mean), ("logs_p", trace.prior.logStd),
                                          ("y_mask", trace.prior.mask), ("z_p", trace.zP), ("flow_out_z", trace.z),
                                          ("audio", trace.audio)]
        var checked = 0
        for (name, ours) in stages where d.proHas(p + name) {
            try expectProParity(v.version + " " + p + name, ours, try d.tensor(p + name), file: file, tensor: p + name)
            checked += 1
        }
        #expect(checked > 0)
        let golden = try d.tensor(p + "audio")
        var s = 0.0, n = 0.0
        for (a, b) in zip(trace.audio.scalars, golden.scalars) { s += Double(b) * Double(b); n += (Double(a) - Double(b)) * (Double(a) - Double(b)) }
        let snr = n == 0 ? Double.infinity : 10 * log10(s / n)
        print("SoVITS Pro parity \(v.version) \(p)audio: SNR \(String(format: "%.1f", snr)) dB")
        #expect(snr >= 40, "\(v.version) \(p)audio SNR \(snr) dB")
    }

    @Test func randomFullSizeConfigurationsBuild() throws {
        // Full-size official shapes, seeded: the head is there with the official widths.
        for c in [SoVITSConfig.v2Pro, SoVITSConfig.v2ProPlus] {
            try c.validate()
            #expect(c.ginChannels == 1024 && c.usesSpeakerEmbedding)
        }
        #expect(SoVITSConfig.v2ProPlus.upsampleInitialChannel == 768)
        #expect(SoVITSConfig.v2ProPlus.upsampleKernelSizes.first == 20)
        var small = SoVITSConfig.v2Pro
        small.ginChannels = 16
        small.filterChannels = 32
        small.upsampleInitialChannel = 32
        small.nLayers = 2
        let model = try SynthesizerTrn.random(config: small, seed: 5)
        #expect(model.needsSpeakerEmbedding)
        var v2 = SoVITSConfig()
        v2.ginChannels = 64
        #expect(throws: SoVITSError.self) { try v2.validate() }
    }
}
