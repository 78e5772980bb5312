import Foundation
import GSVTensor
import GSVTestSupport
import GSVText
import GSVWeights
import Testing
@testable import GSVModels

fileprivate func bertParity(_ ours: Tensor, _ golden: Tensor) -> (cosine: Double, maxRel: Double) {
    Parity.figures(ours.scalars, golden.scalars)
}

/// `bert.json`'s `lines`: id → segments (+ phone-level tensor name).
fileprivate struct BertGoldenIndex: Decodable {
    struct Segment: Decodable {
        let norm_text: String
        let word2ph: [Int]
        let input_ids: String
        let tokens: [String]
        let char_hidden: String?
    }
    struct Line: Decodable {
        let segments: [Segment]
        let phone_level: String?
    }
    let lines: [String: Line]
}

/// One `frontend.jsonl` line, reduced to what the BERT assembly needs.
fileprivate struct FrontendLine: Decodable {
    struct Result: Decodable {
        struct Attempt: Decodable {
            struct Segment: Decodable {
                let lang: String
                let norm_text: String
                let phones: [String]
                let word2ph: [Int]?
            }
            let segments: [Segment]
        }
        let attempts: [Attempt]?
        let bert_shape: [Int]?
    }
    let id: Int
    let get_phones_and_bert: Result
}

@Suite struct BERTParityTests {
    static let modelPath = "v2/models/chinese-roberta-wwm-ext-large-tiny"
    /// Loaded once for the suite (the model is immutable and Sendable).
    static let loaded = Result { try ChineseRoBERTa.load(folder: Fixtures.url(modelPath).path) }

    fileprivate static func golden() throws -> (BertGoldenIndex, SafeTensorsFile) {
        let index = try JSONDecoder().decode(BertGoldenIndex.self,
                                             from: Data(contentsOf: Fixtures.url("v2/golden/bert.json")))
        return (index, try SafeTensorsFile(path: Fixtures.url("v2/golden/bert.safetensors").path))
    }

    @Test func configDefaultsArePinned() throws {
        let d = try JSONDecoder().decode(BertConfig.self, from: Data("{}".utf8))
        #expect(d == BertConfig())
        #expect(d.hiddenSize == 768 && d.numHiddenLayers == 12 && d.layerNormEps == 1e-12 && d.hiddenAct == "gelu")
        #expect(d.maxPositionEmbeddings == 512 && d.typeVocabSize == 2 && d.positionEmbeddingType == "absolute")
        let large = BertConfig.chineseRoBERTaLarge
        #expect(large.hiddenSize == 1024 && large.numHiddenLayers == 24 && large.numAttentionHeads == 16)
        #expect(large.intermediateSize == 4096 && large.vocabSize == 21128)
        #expect(try ChineseRoBERTa.hiddenStateIndex(layers: 24) == 22)
        #expect(throws: BERTError.self) { try ChineseRoBERTa.hiddenStateIndex(layers: 1) }
    }

    @Test func loadsOnlyTheLayersHiddenStatesMinus3Needs() throws {
        let bert = try ChineseRoBERTa.load(folder: Fixtures.url(Self.modelPath).path)
        let layers = bert.model.config.numHiddenLayers
        #expect(bert.hiddenStateIndex == layers - 2)
        #expect(bert.model.layers.count == layers - 2)
        #expect(bert.featureSize == bert.model.config.hiddenSize)
    }

    @Test func tokenIDsMatchGolden() throws {
        let bert = try Self.loaded.get()
        let (index, st) = try Self.golden()
        var checked = 0
        for (id, line) in index.lines {
            for seg in line.segments {
                let expected = try #require(st.tensors[seg.input_ids]).int64Values().map(Int.init)
                #expect(bert.tokenizer.encode(seg.norm_text) == expected, "line \(id): \(seg.norm_text)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test func charHiddenMatchesGolden() throws {
        let bert = try Self.loaded.get()
        let (index, st) = try Self.golden()
        var checked = 0
        for (id, line) in index.lines {
            for seg in line.segments {
                guard let name = seg.char_hidden else { continue }
                let expected = try st.tensor(name)
                let ours = try bert.charFeatures(normText: seg.norm_text)
                #expect(ours.shape == expected.shape, "line \(id)")
                guard ours.shape == expected.shape else { continue }
                let (cos, rel) = bertParity(ours, expected)
                #expect(cos >= 0.99999, "line \(id) \(name): cosine \(cos)")
                #expect(rel <= 1e-3, "line \(id) \(name): max relative error \(rel)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test func phoneLevelMatchesGolden() throws {
        let bert = try Self.loaded.get()
        let (index, st) = try Self.golden()
        let text = try String(contentsOf: Fixtures.url("v2/text/frontend.jsonl"), encoding: .utf8)
        var frontend: [String: FrontendLine] = [:]
        for row in text.split(separator: "\n") where !row.isEmpty {
            let line = try JSONDecoder().decode(FrontendLine.self, from: Data(row.utf8))
            frontend[String(line.id)] = line
        }
        var checked = 0
        for (id, line) in index.lines {
            guard let name = line.phone_level else { continue }
            let attempt = try #require(frontend[id]?.get_phones_and_bert.attempts?.last, "line \(id) not in frontend.jsonl")
            let segments = attempt.segments.map {
                BertTextSegment(language: $0.lang, normText: $0.norm_text, word2ph: $0.word2ph, phoneCount: $0.phones.count)
            }
            let ours = try bert.features(segments: segments)
            let expected = try st.tensor(name)
            #expect(ours.shape == expected.shape, "line \(id)")
            if let shape = frontend[id]?.get_phones_and_bert.bert_shape { #expect(ours.shape == shape) }
            guard ours.shape == expected.shape else { continue }
            let (cos, rel) = bertParity(ours, expected)
            #expect(cos >= 0.99999, "line \(id): cosine \(cos)")
            #expect(rel <= 1e-3, "line \(id): max relative error \(rel)")
            checked += 1
        }
        #expect(checked > 0)
    }

    static var tinyConfig: BertConfig {
        var c = BertConfig()
        c.vocabSize = 40; c.hiddenSize = 16; c.numHiddenLayers = 4; c.numAttentionHeads = 4
        c.intermediateSize = 24; c.maxPositionEmbeddings = 12
        return c
    }

    static func tinyModel() throws -> ChineseRoBERTa {
        try ChineseRoBERTa.random(config: tinyConfig, seed: 5,
                                  vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "你", "好", ",", ".", "a"])
    }

    @Test func segmentAssemblyExpandsChineseAndZerosTheRest() throws {
        let bert = try Self.tinyModel()
        #expect(bert.model.layers.count == 2 && bert.featureSize == 16)
        let chars = try bert.charFeatures(normText: "你好,好.")
        #expect(chars.shape == [5, 16])
        let zh = try bert.phoneFeatures(normText: "你好,好.", word2ph: [2, 1, 0, 3, 1])
        #expect(zh.shape == [16, 7])
        // Column j is the row of the character it belongs to.
        let owner = [0, 0, 1, 3, 3, 3, 4]
        for (j, ch) in owner.enumerated() {
            #expect((0..<16).allSatisfy { zh[$0, j] == chars[ch, $0] })
        }
        let all = try bert.features(segments: [
            BertTextSegment(language: "en", normText: "hi", word2ph: nil, phoneCount: 3),
            BertTextSegment(language: "zh", normText: "你好,好.", word2ph: [2, 1, 0, 3, 1], phoneCount: 7),
            BertTextSegment(language: "ja", normText: "x", word2ph: nil, phoneCount: 0),
            BertTextSegment(language: "all_zh", normText: "好", word2ph: [2], phoneCount: 2),
        ])
        #expect(all.shape == [16, 12])
        #expect(all.slice(axis: 1, 0..<3).scalars.allSatisfy { $0 == 0 })
        // The two Chinese segments share one padded encoder batch: equal up to float rounding.
        let (c1, r1) = bertParity(all.slice(axis: 1, 3..<10), zh)
        #expect(c1 > 0.999999 && r1 < 1e-5)
        let single = try bert.phoneFeatures(normText: "好", word2ph: [2])
        let (c2, r2) = bertParity(all.slice(axis: 1, 10..<12), single)
        #expect(c2 > 0.999999 && r2 < 1e-5)
        #expect(try bert.features(segments: []).shape == [16, 0])
    }

    @Test func batchedFeaturesEqualOneSentenceAtATime() throws {
        let bert = try Self.tinyModel()
        // More sentences than one encoder batch holds, of different lengths, some mixed-language.
        let zhTexts = ["你好.", "好,你好.", "你.", "好好好好好好好好.", "你好你好,好.", "好."]
        var batch: [[BertTextSegment]] = []
        for i in 0..<(ChineseRoBERTa.batchLimit + 5) {
            let t = zhTexts[i % zhTexts.count]
            let w2p = t.unicodeScalars.map { ",.".unicodeScalars.contains($0) ? 1 : 2 }
            var segs = [BertTextSegment(language: "zh", normText: t, word2ph: w2p, phoneCount: w2p.reduce(0, +))]
            if i % 3 == 0 { segs.insert(BertTextSegment(language: "en", normText: "a", word2ph: nil, phoneCount: 2), at: 0) }
            if i % 4 == 0 { segs.append(BertTextSegment(language: "zh", normText: "好", word2ph: [2], phoneCount: 2)) }
            batch.append(segs)
        }
        batch.append([BertTextSegment(language: "en", normText: "a", word2ph: nil, phoneCount: 3)])  // no encoder
        let together = try bert.features(batch: batch)
        #expect(together.count == batch.count)
        for (segs, t) in zip(batch, together) {
            // Each segment on its own through the encoder.
            let parts = try segs.filter { $0.phoneCount > 0 }.map { s in
                s.isChinese ? try bert.phoneFeatures(normText: s.normText, word2ph: s.word2ph!) : Tensor.zeros([16, s.phoneCount])
            }
            let alone = parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 1)
            #expect(t.shape == alone.shape)
            let (cos, rel) = bertParity(t, alone)
            #expect(cos > 0.999999 && rel < 1e-5, "batched \(segs.map(\.normText)): cos \(cos), rel \(rel)")
        }
        #expect(try bert.features(batch: []).isEmpty)
        // A bad segment anywhere fails the whole call, naming it.
        var bad = batch
        bad[7].append(BertTextSegment(language: "zh", normText: "你好", word2ph: [2], phoneCount: 2))
        #expect(throws: BERTError.word2phCountMismatch(text: "你好", characters: 2, word2ph: 1)) { try bert.features(batch: bad) }
    }

    @Test func twoLayerModelReadsTheEmbeddingOutput() throws {
        var c = Self.tinyConfig
        c.numHiddenLayers = 2
        let bert = try ChineseRoBERTa.random(config: c, seed: 4, vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "你", "好"])
        #expect(bert.hiddenStateIndex == 0 && bert.model.layers.isEmpty)
        let ids = bert.tokenizer.encode("你好")
        let e = bert.model.embeddings
        let manual = e.layerNorm(e.wordEmbeddings(ids) + e.positionEmbeddings(Array(0..<ids.count)) + e.tokenTypeEmbeddings([0, 0, 0, 0]))
        let chars = try bert.charFeatures(normText: "你好")
        let (cos, rel) = bertParity(chars, manual.slice(axis: 0, 1..<3))
        #expect(cos > 0.999999 && rel < 1e-6)
    }

    @Test func oneModelServesConcurrentRequests() async throws {
        let bert = try Self.tinyModel()
        let texts = ["你好.", "好,你好.", "你.", "好好好好."]
        let serial = try texts.map { try bert.charFeatures(normText: $0) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for (i, t) in texts.enumerated() { group.addTask { (i, try bert.charFeatures(normText: t)) } }
            var out = [Tensor?](repeating: nil, count: texts.count)
            for try await (i, f) in group { out[i] = f }
            return out
        }
        #expect(concurrent == serial.map { Optional($0) })
    }

    @Test func badSegmentsAreRejected() throws {
        let bert = try Self.tinyModel()
        #expect(throws: BERTError.word2phCountMismatch(text: "你好", characters: 2, word2ph: 1)) {
            try bert.phoneFeatures(normText: "你好", word2ph: [2])
        }
        #expect(throws: BERTError.missingWord2ph(text: "你")) {
            try bert.features(segments: [BertTextSegment(language: "zh", normText: "你", word2ph: nil, phoneCount: 2)])
        }
        #expect(throws: BERTError.phoneCountMismatch(text: "你", phoneCount: 3, word2phSum: 2)) {
            try bert.features(segments: [BertTextSegment(language: "zh", normText: "你", word2ph: [2], phoneCount: 3)])
        }
        // 11 characters + [CLS]/[SEP] exceed the 12 positions.
        #expect(throws: BERTError.sequenceTooLong(length: 13, maximum: 12)) {
            try bert.charFeatures(normText: String(repeating: "你", count: 11))
        }
        #expect(throws: BERTError.tokenOutOfRange(id: 40, vocabularySize: 40)) {
            try bert.model.hiddenState(1, inputIDs: [[2, 40, 3]])
        }
        #expect(throws: BERTError.emptyInput) { try bert.model.hiddenState(1, inputIDs: [[]]) }
        #expect(throws: BERTError.notEnoughLayers(requested: 3, available: 2)) {
            try bert.model.hiddenState(3, inputIDs: [[2, 3]])
        }
    }

    @Test func paddedBatchRowsMatchSingleRows() throws {
        let model = try BertModel.random(config: Self.tinyConfig, seed: 8)
        let rows = [[2, 5, 6, 7, 3], [2, 9, 3]]
        let batch = try model.hiddenState(4, inputIDs: rows)
        #expect(batch.shape == [2, 5, 16])
        let alone = try model.hiddenState(4, inputIDs: [rows[1]])
        let (cos, rel) = bertParity(batch.slice(axis: 0, 1..<2).slice(axis: 1, 0..<3), alone)
        #expect(cos > 0.999999 && rel < 1e-5)
    }

    @Test func syntheticVocabularyTokenizesChinesePerCharacter() throws {
        let vocab = ChineseRoBERTa.syntheticVocabulary(size: BertConfig.chineseRoBERTaLarge.vocabSize)
        #expect(vocab.count == 21128 && Set(vocab).count == vocab.count)
        let tok = try BertTokenizer(vocabLines: vocab)
        let ids = tok.encode("今天天气很好,我们去散步吧.")
        #expect(ids.count == 16 && !ids.contains(tok.unkID))
    }

    @Test func missingAndUnexpectedKeysFailTheLoad() throws {
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        let config = try BertConfig(archive: archive)
        var missing = archive.tensors
        missing.removeValue(forKey: "bert.encoder.layer.0.intermediate.dense.bias")
        #expect(throws: WeightsError.missingKey("bert.encoder.layer.0.intermediate.dense.bias")) {
            try BertModel.load(reader: WeightReader(tensors: missing).scoped("bert"), config: config,
                               layerCount: 1, pooler: false)
        }
        var extra = archive.tensors
        extra["bert.encoder.layer.0.surprise"] = archive.tensors["bert.embeddings.LayerNorm.bias"]
        let r = WeightReader(tensors: extra)
        _ = try BertModel.load(reader: r.scoped("bert"), config: config, layerCount: 1, pooler: false)
        r.skipAll(withPrefix: "cls.")
        #expect(throws: WeightsError.unexpectedKeys(["bert.encoder.layer.0.surprise"])) { try r.verifyAllConsumed() }
    }
}
