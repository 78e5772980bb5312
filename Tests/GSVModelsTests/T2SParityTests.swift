import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
import GSVModels

fileprivate func t2sCompare(_ ours: [Float], _ golden: [Float]) -> (cosine: Double, maxRel: Double) {
    Parity.figures(ours, golden)
}

/// The golden GPT decode cases of `v2/golden/gpt.safetensors` + `gpt.json` (fixtures README §3.6).
fileprivate struct T2SGolden {
    struct Case {
        let index: Int
        let input: T2SInput
        let predSemantic: [Int]
        let naivePredSemantic: [Int]
        let stepLogits: Tensor
        let idx: Int
        let naiveIdx: Int
        let stopReason: String
    }
    let cases: [Case]
    let params: [String: Any]

    static func load() throws -> T2SGolden {
        let st = try SafeTensorsFile(path: Fixtures.url("v2/golden/gpt.safetensors").path)
        let jsonData = try Data(contentsOf: Fixtures.url("v2/golden/gpt.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: jsonData) as? [String: Any])
        let params = try #require(json["params"] as? [String: Any])
        let meta = try #require(json["cases"] as? [[String: Any]])
        func ints(_ name: String) throws -> [Int] {
            try #require(st.tensors[name], "golden tensor \(name) missing").int64Values().map { Int($0) }
        }
        let prompt = try ints("prompt_semantic")
        var cases: [Case] = []
        for (i, m) in meta.enumerated() {
            let input = T2SInput(phoneIDs: try ints("case\(i)_all_phone_ids"),
                                 bert: try st.tensor("case\(i)_all_bert"), promptTokens: prompt)
            cases.append(Case(index: i, input: input, predSemantic: try ints("case\(i)_pred_semantic"),
                              naivePredSemantic: try ints("case\(i)_naive_pred_semantic"),
                              stepLogits: try st.tensor("case\(i)_step_logits"),
                              idx: try #require(m["idx"] as? Int), naiveIdx: try #require(m["naive_idx"] as? Int),
                              stopReason: try #require(m["stop_reason"] as? String)))
        }
        return T2SGolden(cases: cases, params: params)
    }

    /// The decode options of the golden run (params of gpt.json).
    func options(variant: T2SDecodeVariant = .batched) throws -> T2SDecodeOptions {
        let sampling = SamplingParameters(
            topK: try #require(params["top_k"] as? Int),
            topP: Float(try #require(params["top_p"] as? Double)),
            temperature: Float(try #require(params["temperature"] as? Double)),
            repetitionPenalty: Float(try #require(params["repetition_penalty"] as? Double)))
        let earlyStop = try #require(params["early_stop_num"] as? Int)
        return T2SDecodeOptions(sampling: sampling, earlyStopNum: earlyStop < 0 ? nil : earlyStop,
                                variant: variant, recordStepLogits: true)
    }
}

fileprivate func loadTinyGPT() throws -> Text2SemanticDecoder {
    try Text2SemanticDecoder.load(path: Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path)
}

/// Which golden rows a case stores: all steps, or steps 0…11 plus the last (README §3.6).
fileprivate func goldenStepRows(_ golden: Tensor, stepsRun: Int) -> [(row: Int, step: Int)] {
    let rows = golden.shape[0]
    if rows == stepsRun { return (0..<rows).map { ($0, $0) } }
    return (0..<(rows - 1)).map { ($0, $0) } + [(rows - 1, stepsRun - 1)]
}

@Suite struct T2SParityTests {
    @Test func configFromCheckpointMatchesItsModelSection() throws {
        let archive = try WeightArchive.open(Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path)
        let cfg = try #require(archive.config)
        let c = try T2SConfig(checkpointConfig: cfg)
        #expect(c.hiddenDim == cfg.value(at: "model.hidden_dim")?.intValue)
        #expect(c.heads == cfg.value(at: "model.head")?.intValue)
        #expect(c.layers == cfg.value(at: "model.n_layer")?.intValue)
        #expect(c.vocabSize == cfg.value(at: "model.vocab_size")?.intValue)
        #expect(c.phonemeVocabSize == cfg.value(at: "model.phoneme_vocab_size")?.intValue)
        #expect(c.eos == c.vocabSize - 1)
        #expect(c.maxSec == cfg.value(at: "data.max_sec")?.doubleValue)
        // TTS.run's early_stop_num = hz · max_sec is the limit the golden decode ran with.
        let golden = try T2SGolden.load()
        #expect(c.officialEarlyStopNum == golden.params["early_stop_num"] as? Int)
    }

    @Test func greedyDecodeMatchesOfficialBatchedDriver() throws {
        let model = try loadTinyGPT()
        let golden = try T2SGolden.load()
        let options = try golden.options()
        for c in golden.cases {
            var rng = SeededRNG(seed: 1)
            let r = try model.decode(c.input, options: options, rng: &rng)
            #expect(r.tokens == c.predSemantic, "case \(c.index) tokens")
            #expect(r.steps == c.idx, "case \(c.index) idx")
            #expect(r.stopReason.rawValue == c.stopReason, "case \(c.index) stop reason")
            // Step logits: cosine ≥ 0.99999 and max relative error ≤ 1e-3 on every stored row.
            try #require(r.stepLogits.count == r.steps + 1)
            let v = c.stepLogits.shape[1]
            for (row, step) in goldenStepRows(c.stepLogits, stepsRun: r.stepLogits.count) {
                try #require(step < r.stepLogits.count && r.stepLogits[step].count == v)
                let g = Array(c.stepLogits.scalars[(row * v)..<((row + 1) * v)])
                let (cos, rel) = t2sCompare(r.stepLogits[step], g)
                #expect(cos >= 0.99999, "case \(c.index) step \(step) cosine \(cos)")
                #expect(rel <= 1e-3, "case \(c.index) step \(step) max rel \(rel)")
            }
        }
    }

    @Test func naiveVariantMatchesOfficialNaiveDriver() throws {
        let model = try loadTinyGPT()
        let golden = try T2SGolden.load()
        let options = try golden.options(variant: .naive)
        for c in golden.cases {
            var rng = SeededRNG(seed: 2)
            let r = try model.decode(c.input, options: options, rng: &rng)
            #expect(r.tokens == c.naivePredSemantic, "case \(c.index) naive tokens")
            #expect(r.steps == c.naiveIdx, "case \(c.index) naive idx")
        }
    }

    @Test func batchOfAllCasesGivesEachCaseItsGoldenTokens() throws {
        let model = try loadTinyGPT()
        let golden = try T2SGolden.load()
        var options = try golden.options()
        options.recordStepLogits = false
        var rng = SeededRNG(seed: 3)
        let results = try model.decode(batch: golden.cases.map(\.input), options: options, rng: &rng)
        try #require(results.count == golden.cases.count)
        for (c, r) in zip(golden.cases, results) {
            #expect(r.tokens == c.predSemantic, "case \(c.index) batched tokens")
            #expect(r.steps == c.idx, "case \(c.index) batched idx")
            #expect(r.stopReason.rawValue == c.stopReason, "case \(c.index) batched stop")
        }
    }

    @Test func fp16StaysHalfAndFloat32CheckpointsKeepTheirPrecision() throws {
        let archive = try WeightArchive.open(Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path)
        let config = try T2SConfig(checkpointConfig: try #require(archive.config))
        let half = try Text2SemanticDecoder(archive: archive)
        guard case .half = half.predictLayer, case .half = half.blocks[0].inProj.weight else {
            Issue.record("fp16 checkpoint weights were not kept as fp16")
            return
        }
        // The same weights written as fp32 safetensors decode to the same golden tokens.
        var floats: [String: Tensor] = [:]
        for (k, t) in archive.tensors { floats[k] = try t.floatTensor() }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("t2s-fp32-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsFile.write(floats, to: path)
        let full = try Text2SemanticDecoder(tensors: try SafeTensorsFile(path: path).tensors, config: config)
        guard case .float = full.predictLayer else {
            Issue.record("fp32 weights were narrowed")
            return
        }
        let golden = try T2SGolden.load()
        let c = try #require(golden.cases.last)
        var rng = SeededRNG(seed: 4)
        let r = try full.decode(c.input, options: try golden.options(), rng: &rng)
        #expect(r.tokens == c.predSemantic)
        #expect(r.stopReason.rawValue == c.stopReason)
    }

    @Test func inputIsBuiltFromPromptAndTargetAsTTSRunDoes() throws {
        let st = try SafeTensorsFile(path: Fixtures.url("v2/golden/gpt.safetensors").path)
        let golden = try T2SGolden.load()
        let promptPhones = try #require(st.tensors["prompt_phone_ids"]).int64Values().map { Int($0) }
        for c in golden.cases {
            let target = try #require(st.tensors["case\(c.index)_phone_ids"]).int64Values().map { Int($0) }
            let p = promptPhones.count, n = c.input.phoneIDs.count
            let built = try T2SInput(promptPhoneIDs: promptPhones, promptBert: c.input.bert.slice(axis: 1, 0..<p),
                                     targetPhoneIDs: target, targetBert: c.input.bert.slice(axis: 1, p..<n),
                                     promptTokens: c.input.promptTokens)
            #expect(built.phoneIDs == c.input.phoneIDs)
            #expect(built.bert == c.input.bert)
        }
        #expect(throws: T2SError.self) {
            _ = try T2SInput(promptPhoneIDs: [1], promptBert: .zeros([1024, 2]), targetPhoneIDs: [2],
                             targetBert: .zeros([1024, 1]), promptTokens: [])
        }
    }
}
