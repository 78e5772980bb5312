import Foundation
import GSVTensor
import GSVTestSupport
import GSVText
import Testing
@testable import GSVModels

fileprivate struct EmotionGolden: Decodable {
    let text: String
    let input_ids: [Int]
    let logits: [Float]
    let label: Int
    let emotion: String
}

@Suite struct BERTEmotionClassifierTests {
    static let folder = "roles/role/小明/BERT"

    @Test func logitsAndLabelsMatchGolden() throws {
        let clf = try BertSequenceClassifier.load(folder: Fixtures.url(Self.folder).path)
        let cases = try JSONDecoder().decode([EmotionGolden].self,
                                             from: Data(contentsOf: Fixtures.url("roles/emotion_golden.json")))
        try #require(!cases.isEmpty)
        for c in cases {
            #expect(clf.encode(c.text) == c.input_ids, "\(c.text)")
            let result = try clf.classify(c.text)
            #expect(result.logits.count == c.logits.count)
            var dot = 0.0, na = 0.0, nb = 0.0, maxDiff = 0.0, maxRef = 0.0
            for (a, b) in zip(result.logits, c.logits) {
                let (x, y) = (Double(a), Double(b))
                dot += x * y; na += x * x; nb += y * y
                maxDiff = max(maxDiff, abs(x - y)); maxRef = max(maxRef, abs(y))
            }
            let cos = dot / (na.squareRoot() * nb.squareRoot())
            #expect(cos >= 0.99999, "\(c.text): cosine \(cos)")
            #expect(maxDiff / maxRef <= 1e-3, "\(c.text): max relative error \(maxDiff / maxRef)")
            #expect(result.label == c.label, "\(c.text)")
            #expect(result.name == c.emotion, "\(c.text)")
        }
        // A padded batch gives each row's own logits.
        let ids = cases.prefix(3).map(\.input_ids)
        let batch = try clf.logits(inputIDs: ids)
        for (i, row) in ids.enumerated() {
            let alone = try clf.logits(inputIDs: [row])
            let b = batch.slice(axis: 0, i..<(i + 1))
            #expect(zip(alone.scalars, b.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
        }
    }

    @Test func labelsComeFromConfig() throws {
        let clf = try BertSequenceClassifier.load(folder: Fixtures.url(Self.folder).path)
        #expect(clf.labels.count == clf.classifier.outFeatures)
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.url(Self.folder).appendingPathComponent("config.json"))) as? [String: Any]
        let id2label = try #require(config?["id2label"] as? [String: String])
        #expect(clf.labels.count == id2label.count)
        for (k, v) in id2label { #expect(clf.labels[try #require(Int(k))] == v) }
    }

    @Test func longTextIsTruncatedKeepingSEP() throws {
        let clf = try BertSequenceClassifier.load(folder: Fixtures.url(Self.folder).path)
        let ids = clf.encode(String(repeating: "开心", count: 200))
        #expect(ids.count == clf.bert.config.maxPositionEmbeddings)
        #expect(ids.first == clf.tokenizer.clsID && ids.last == clf.tokenizer.sepID)
        _ = try clf.classify(String(repeating: "开心", count: 200))
    }
}
