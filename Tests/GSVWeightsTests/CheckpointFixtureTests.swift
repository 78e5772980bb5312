import Foundation
import Testing
import GSVTensor
import GSVTestSupport
@testable import GSVWeights

/// Reads the official-format fixture models (written by the official GPT-SoVITS tools, see
/// Tests/Fixtures/README.md §2).
///
/// Counts and configurations are checked against the generator's own record
/// (`v2/models/model_configs.json`), so the tests hold for any fixture set of the same layout.
/// Value checksums belong to the public set only and are checked when the file is that one (same
/// MD5 of the first 8192 bytes); they were computed offline with Python's `zipfile` + a stub
/// `pickle.Unpickler` + numpy over the raw fp16 storage bytes (no torch), summing in float64:
/// `np.lib.stride_tricks.as_strided(np.frombuffer(raw, np.float16)[off:], size, stride).astype(np.float64).sum()`.
@Suite struct CheckpointFixtureTests {
    /// `v2/models/model_configs.json`: configs, parameter counts and keys as the generator wrote them.
    static func modelConfigs() throws -> ConfigValue {
        try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: Fixtures.url("v2/models/model_configs.json")))
    }

    /// `v2/models/verify_report.json`: what the official loaders saw in each file.
    static func verifyReport() throws -> ConfigValue {
        try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: Fixtures.url("v2/models/verify_report.json")))
    }

    /// Whether `archive` is the public fixture file whose checksums are recorded here.
    static func isPublic(_ archive: WeightArchive, md5: String) -> Bool { archive.leadingMD5 == md5 }

    /// Structural equality with numbers compared by value (JSON `1.0` vs a pickled float 1.0) and
    /// a missing key equal to null (the generator's JSON record leaves out HParams attributes that
    /// are `None`, e.g. `pretrain`). Returns the first differing path, or nil.
    static func difference(_ a: ConfigValue, _ b: ConfigValue, path: String = "") -> String? {
        switch (a, b) {
        case let (.object(x), .object(y)):
            for k in Set(x.keys).union(y.keys).sorted() {
                let xv = x[k] ?? .null, yv = y[k] ?? .null
                if let d = difference(xv, yv, path: "\(path).\(k)") { return d }
            }
            return nil
        case let (.array(x), .array(y)):
            guard x.count == y.count else { return "\(path) (lengths \(x.count) vs \(y.count))" }
            for (i, (xv, yv)) in zip(x, y).enumerated() {
                if let d = difference(xv, yv, path: "\(path)[\(i)]") { return d }
            }
            return nil
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y ? nil : "\(path) (\(x) vs \(y))" }
            return a == b ? nil : "\(path) (\(a) vs \(b))"
        }
    }

    static let gptPath = Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path
    static let sovitsPath = Fixtures.url("v2/models/sovits_v2_tiny.pth").path
    static let hubertPath = Fixtures.url("v2/models/chinese-hubert-base-tiny").path
    static let bertPath = Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny").path

    /// Float64 sum and absolute sum of a tensor's values.
    func sums(_ t: Tensor) -> (Double, Double) {
        var s = 0.0, a = 0.0
        for x in t.scalars { s += Double(x); a += Double(abs(x)) }
        return (s, a)
    }

    /// Exact fp16 → fp32 values sum to the float64 reference within rounding of the summation
    /// (1e-9 relative to the absolute sum); computed values get a looser `tolerance`.
    func expectSums(_ t: Tensor, _ sum: Double, _ absSum: Double, tolerance: Double = 1e-9,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        let (s, a) = sums(t)
        #expect(abs(s - sum) <= tolerance * max(1, abs(absSum)), "sum \(s) ≠ \(sum)", sourceLocation: sourceLocation)
        #expect(abs(a - absSum) <= tolerance * max(1, absSum), "abs sum \(a) ≠ \(absSum)", sourceLocation: sourceLocation)
    }

    /// With the repository's fixtures (no GSV_FIXTURES override) the checksum branches must run.
    @Test func repositoryFixturesAreThePublicSet() throws {
        let override = ProcessInfo.processInfo.environment["GSV_FIXTURES"] ?? ""
        guard override.isEmpty || override.hasSuffix("shared/fixtures") else { return }
        #expect(try WeightArchive.open(Self.gptPath).leadingMD5 == "319e6edade016f451135099da23c74f4")
        #expect(try WeightArchive.open(Self.sovitsPath).leadingMD5 == "431497a138f25099f2970766624183ee")
        #expect(try WeightArchive.open(Self.hubertPath).leadingMD5 == "0dae8e99639137601fa73773a4392004")
        #expect(try WeightArchive.open(Self.bertPath).leadingMD5 == "09333e8159fc1978400b4c398171bd85")
    }

    @Test func gptCheckpoint() throws {
        let expected = try #require(try Self.modelConfigs()["gpt"])
        let a = try WeightArchive.open(Self.gptPath)
        #expect(a.format == .pytorchZip)
        #expect(a.stateDictKey == "weight")
        #expect(a.headerMarker == nil)
        let keys = (expected["keys"]?.arrayValue ?? []).compactMap { $0.stringValue }
        #expect(!keys.isEmpty)
        #expect(Set(a.tensors.keys) == Set(keys))
        #expect(a.tensors.count == (try Self.verifyReport()).value(at: "gpt.n_tensors")?.intValue)
        #expect(a.tensors.keys.allSatisfy { $0.hasPrefix("model.") })
        #expect(a.tensors.values.allSatisfy { $0.dtype == .float16 })
        #expect(a.parameterCount == expected["n_params"]?.intValue)
        #expect(a.object?["info"]?.stringValue?.hasPrefix("GPT-e") == true)
        // The whole pickled config equals the YAML dict the generator recorded.
        let cfg = try #require(a.config)
        let diff = Self.difference(cfg, try #require(expected["config"]))
        #expect(diff == nil, "config differs at \(diff ?? "")")

        let id = ModelIdentity(archive: a)
        #expect(id.kind == .t2sGPT)
        #expect(id.symbolVersion == .v2)

        let d = try #require(cfg.value(at: "model.hidden_dim")?.intValue)
        let vocab = try #require(cfg.value(at: "model.vocab_size")?.intValue)
        let r = WeightReader(a, prefix: "model.")
        let w = try r.tensor("bert_proj.weight", shape: [d, 1024])
        let layer = r.scoped("h.layers.0")
        _ = try layer.tensor("linear1.weight", shape: [4 * d, d])
        _ = try layer.tensor("self_attn.in_proj_weight", shape: [3 * d, d])
        let predict = try r.tensor("ar_predict_layer.weight", shape: [vocab, d])
        if Self.isPublic(a, md5: "319e6edade016f451135099da23c74f4") {
            expectSums(w, 13.490694463253021, 2451.009600818157)
            #expect(Array(w.scalars.prefix(3)) == [-0.00725555419921875, -0.027191162109375, 0.08795166015625])
            expectSums(try r.tensor("bert_proj.bias", shape: [d]), 0.5348849296569824, 3.8251004219055176)
            expectSums(predict, 0.05764639377593994, 8010.010327935219)
        }
    }

    @Test func sovitsCheckpoint() throws {
        let expected = try #require(try Self.modelConfigs()["sovits"])
        let a = try WeightArchive.open(Self.sovitsPath)
        #expect(a.tensors.count == (try Self.verifyReport()).value(at: "sovits.n_tensors")?.intValue)
        #expect(a.tensors.values.allSatisfy { $0.dtype == .float16 })
        #expect(!a.tensors.keys.contains { $0.contains("enc_q") })
        #expect(a.parameterCount == expected["n_params_saved"]?.intValue)
        #expect(a.object?["info"]?.stringValue?.hasSuffix("iteration") == true)
        // HParams read as nested dicts equal the hps the generator recorded.
        let diff = Self.difference(try #require(a.config), try #require(expected["hps"]))
        #expect(diff == nil, "config differs at \(diff ?? "")")
        // The config is a utils.HParams object, read as the dict of its attributes.
        if case let .object(className, _)? = a.object?["config"] {
            #expect(className == "utils.HParams")
        } else {
            Issue.record("config is not an HParams object")
        }
        // Values fixed by the v2 architecture (README §2.2).
        let cfg = try #require(a.config)
        #expect(cfg.value(at: "model.hidden_channels")?.intValue == 192)
        #expect(cfg.value(at: "model.gin_channels")?.intValue == 512)
        #expect(cfg.value(at: "model.upsample_rates") == .array([10, 8, 2, 2, 2].map(ConfigValue.int)))
        #expect(cfg.value(at: "data.sampling_rate")?.intValue == 32000)
        #expect(cfg.value(at: "data.hop_length")?.intValue == 640)
        #expect(cfg["version"]?.stringValue == "v2")

        let id = ModelIdentity(archive: a)
        #expect(id.kind == .sovits)
        #expect(id.sovitsVersion == .v2)
        #expect(id.symbolVersion == .v2)
        #expect(!id.isLoRA)

        let r = WeightReader(a)
        let embedAvg = try r.tensor("quantizer.vq.layers.0._codebook.embed_avg", shape: [1024, 768])
        #expect(try r.data("enc_p.text_embedding.weight").shape == [732, 192])
        if Self.isPublic(a, md5: "431497a138f25099f2970766624183ee") {
            expectSums(try r.tensor("enc_p.ssl_proj.weight", shape: [192, 768, 1]), -2.305061161518097, 4235.94074434042)
            expectSums(try r.tensor("enc_p.ssl_proj.bias"), -1.7262473106384277, 7.127502918243408)
            expectSums(embedAvg, -285506.063781023, 3875658.1378747225)
        }
        // Weight-norm pairs are stored as weight_g / weight_v.
        #expect(r.contains("dec.ups.0.weight_g") && r.contains("dec.ups.0.weight_v"))
    }

    @Test func hubertFolder() throws {
        let expected = try #require(try Self.modelConfigs()["hubert"])
        let report = try Self.verifyReport()
        let a = try WeightArchive.open(Self.hubertPath)
        #expect(a.format == .huggingFaceFolder)
        #expect(a.tensors.count == report.value(at: "hubert.n_file_tensors")?.intValue)
        #expect(a.storageCount == report.value(at: "hubert.n_distinct_storages")?.intValue)
        #expect(a.parameterCount == expected["n_params"]?.intValue)
        let diff = Self.difference(try #require(a.config), try #require(expected["config"]))
        #expect(diff == nil, "config differs at \(diff ?? "")")
        #expect(a.tensors.values.allSatisfy { $0.dtype == .float16 })
        #expect(a.config?["model_type"]?.stringValue == "hubert")
        #expect(ModelIdentity(archive: a).kind == .cnHubert)
        let r = WeightReader(a)
        // Old-style weight norm on the positional conv (weight_norm dim=2): g [1,1,K], v [768, 768/16, K].
        let g = try r.data("encoder.pos_conv_embed.conv.weight_g")
        let v = try r.data("encoder.pos_conv_embed.conv.weight_v")
        let k = try #require(a.config?["num_conv_pos_embeddings"]?.intValue)
        let groups = try #require(a.config?["num_conv_pos_embedding_groups"]?.intValue)
        #expect(g.shape == [1, 1, k])
        #expect(v.shape == [768, 768 / groups, k])
        #expect(!r.contains("encoder.pos_conv_embed.conv.weight"))
        if Self.isPublic(a, md5: "0dae8e99639137601fa73773a4392004") {
            expectSums(try r.tensor("masked_spec_embed", shape: [768]), 395.5703229904175, 395.5703229904175)
            expectSums(try r.tensor("feature_extractor.conv_layers.0.conv.weight", shape: [32, 1, 10]),
                       -7.097983360290527, 76.80979251861572)
            expectSums(try r.tensor("encoder.layers.1.final_layer_norm.bias"), 1.1190005540847778, 29.65383279323578)
        }
    }

    @Test func bertFolderWithSharedStorages() throws {
        let expected = try #require(try Self.modelConfigs()["bert"])
        let report = try Self.verifyReport()
        let a = try WeightArchive.open(Self.bertPath)
        #expect(a.tensors.count == report.value(at: "bert.n_file_tensors")?.intValue)
        #expect(a.storageCount == report.value(at: "bert.n_distinct_storages")?.intValue)
        #expect(a.storageCount < a.tensors.count)
        // Distinct views: the shared layers and the tied decoder count once.
        #expect(a.uniqueParameterCount == expected["n_params_unique"]?.intValue)
        #expect(ModelIdentity(archive: a).kind == .bert)
        let diff = Self.difference(try #require(a.config), try #require(expected["config"]))
        #expect(diff == nil, "config differs at \(diff ?? "")")
        let vocab = try #require(a.config?["vocab_size"]?.intValue)
        let r = WeightReader(a)
        let emb = try r.tensor("bert.embeddings.word_embeddings.weight", shape: [vocab, 1024])
        if Self.isPublic(a, md5: "09333e8159fc1978400b4c398171bd85") {
            expectSums(emb, 747.0018798708916, 171655.68608897924)
            expectSums(try r.tensor("bert.embeddings.position_embeddings.weight", shape: [512, 1024]),
                       76.4716876745224, 209180.13946068287)
        }
        // Tied decoder: same storage and values as the word embeddings.
        #expect(try r.tensor("cls.predictions.decoder.weight") == emb)
        // Each shared layer references the storages of one stored layer (which one is the
        // generator's choice: found here from the file, not assumed).
        let shared = (expected["shared_storage_layers"]?.arrayValue ?? []).compactMap { $0.intValue }
        #expect(!shared.isEmpty)
        let layerCount = try #require(a.config?["num_hidden_layers"]?.intValue)
        let stored = (0..<layerCount).filter { !shared.contains($0) }
        #expect(!stored.isEmpty)
        for name in ["attention.self.query.weight", "intermediate.dense.weight", "output.LayerNorm.bias"] {
            for j in shared {
                let lj = try r.data("bert.encoder.layer.\(j).\(name)")
                let owners = try stored.filter { try r.data("bert.encoder.layer.\($0).\(name)").offset == lj.offset }
                #expect(owners.count == 1, "layer \(j) \(name) shares the storage of stored layers \(owners)")
                if let owner = owners.first {
                    #expect(try lj.floatTensor() == r.data("bert.encoder.layer.\(owner).\(name)").floatTensor())
                }
            }
        }
    }

    /// The emotion classifier of the role fixture (roles/README.md): a BertForSequenceClassification
    /// folder with `model.safetensors`.
    @Test func roleBertSafetensorsFolder() throws {
        let path = Fixtures.url("roles/role/小明/BERT").path
        let a = try WeightArchive.open(path)
        #expect(a.format == .huggingFaceFolder)
        #expect(a.tensors.values.allSatisfy { $0.dtype == .float32 })
        #expect(a.config?["architectures"] == .array([.string("BertForSequenceClassification")]))
        #expect(ModelIdentity(archive: a).kind == .bert)
        let st = try SafeTensorsFile(path: path + "/model.safetensors")
        #expect(st.tensors.count == a.tensors.count)
        #expect(a.tensors.count == 41)
        #expect(a.parameterCount == 84_751)
        #expect(a.config?["num_labels"] == nil)
        #expect(a.config?["id2label"]?["6"]?.stringValue == "中性")
        let r = WeightReader(a)
        #expect(try r.data("classifier.weight").shape == [15, 64])
        #expect(try r.data("bert.embeddings.word_embeddings.weight").shape == [66, 64])
    }

    @Test func halfBitsAreTheStoredBits() throws {
        let a = try WeightArchive.open(Self.gptPath)
        let width = try #require(a.config?.value(at: "model.embedding_dim")?.intValue)
        let t = try #require(a.tensors["model.bert_proj.bias"])
        let bits = try t.halfBits()
        #expect(bits.count == width)
        let widened = bits.map(HalfConversion.float(fromHalf:))
        #expect(widened == (try t.floatTensor().scalars))
        let inPlace = try t.withUnsafeHalfBits { Array($0) }
        #expect(inPlace == bits)
        let r = WeightReader(a, prefix: "model.")
        #expect(try r.halfBits("bert_proj.bias", shape: [width]) == bits)
        // Every fp16 storage of a torch zip is at least 2-byte aligned.
        #expect(a.tensors.values.allSatisfy { $0.offset % 2 == 0 })
    }

    /// Header-variant copies written as the official `my_save2` does (bytes 0–1 replaced by two
    /// ASCII digits) load like the original and report their version.
    @Test(arguments: SoVITSHeaderMarker.allCases)
    func headerVariants(marker: SoVITSHeaderMarker) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.gptPath)))
        bytes[0] = marker.bytes[0]
        bytes[1] = marker.bytes[1]
        let path = try dir.write(bytes, to: "variant.pth")
        let a = try WeightArchive.open(path)
        #expect(a.headerMarker == marker)
        let original = try WeightArchive.open(Self.gptPath)
        #expect(Set(a.tensors.keys) == Set(original.tensors.keys))
        for key in ["model.bert_proj.weight", "model.ar_predict_layer.weight"] {
            #expect(try a.tensors[key]?.floatTensor() == original.tensors[key]?.floatTensor())
        }
        let id = ModelIdentity(archive: a)
        #expect(id.kind == .sovits)
        #expect(id.sovitsVersion == marker.modelVersion)
        #expect(id.isLoRA == (marker == .v3LoRA || marker == .v4LoRA))
        #expect(WeightSummary(archive: a).headerMarker == marker.rawValue)
    }

    @Test func unknownHeaderBytesAreRejected() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.gptPath)))
        bytes[0] = UInt8(ascii: "0"); bytes[1] = UInt8(ascii: "9")
        let path = try dir.write(bytes, to: "bad.pth")
        #expect(throws: WeightsError.self) { try WeightArchive.open(path) }
    }

    @Test func summaryMatchesArchive() throws {
        let a = try WeightArchive.open(Self.sovitsPath)
        let s = WeightSummary(archive: a)
        #expect(s.tensorCount == a.tensors.count)
        #expect(s.dtypes == ["float16": a.tensors.count])
        #expect(s.parameterCount == a.parameterCount)
        #expect(s.identity.sovitsVersion == .v2)
        #expect(s.config["model.gin_channels"] == .int(512))
        #expect(s.info == a.object?["info"]?.stringValue)
        let json = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(WeightSummary.self, from: json)
        #expect(back == s)
    }
}
