import Foundation
import GSVTestSupport
import GSVText
import Testing

@Suite struct BERTTokenizerJSONTests {
    @Test(arguments: ["v2/models/chinese-roberta-wwm-ext-large-tiny", "roles/role/小明/BERT"])
    func tokenizerJSONMatchesVocabTxt(folder: String) throws {
        let fromVocab = try BertTokenizer(folder: Fixtures.url(folder))
        let fromJSON = try BertTokenizer(tokenizerJSON: Fixtures.url(folder).appendingPathComponent("tokenizer.json"))
        #expect(fromJSON.idToToken == fromVocab.idToToken)
        #expect(fromJSON.lowercase == fromVocab.lowercase)
        #expect(fromJSON.clsID == fromVocab.clsID && fromJSON.sepID == fromVocab.sepID && fromJSON.unkID == fromVocab.unkID)
        for text in ["你好,世界.", "Hello 世界!", "乐乐ABC...", "唉，心情有点低落..."] {
            #expect(fromJSON.encode(text) == fromVocab.encode(text))
        }
    }

    @Test func folderWithoutVocabTxtFallsBackToTokenizerJSON() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bert-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny")
        try FileManager.default.copyItem(at: src.appendingPathComponent("tokenizer.json"),
                                         to: dir.appendingPathComponent("tokenizer.json"))
        let tok = try BertTokenizer(folder: dir)
        #expect(tok.encode("你好") == (try BertTokenizer(folder: src)).encode("你好"))
    }

    @Test func malformedTokenizerJSONIsRejected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bert-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = [
            #"{"model": {"type": "BPE", "vocab": {"[CLS]": 0}}}"#,
            #"{"model": {"type": "WordPiece", "vocab": {"[CLS]": 0, "[SEP]": 2, "[UNK]": 3}}}"#,
            #"{"model": {"type": "WordPiece", "vocab": {"[CLS]": 0, "[SEP]": 0, "[UNK]": 1}}}"#,
            #"{"nothing": 1}"#,
            "not json",
        ]
        for (i, body) in cases.enumerated() {
            let url = dir.appendingPathComponent("t\(i).json")
            try Data(body.utf8).write(to: url)
            #expect(throws: TextError.self) { try BertTokenizer(tokenizerJSON: url) }
        }
    }
}
