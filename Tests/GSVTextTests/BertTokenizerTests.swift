import Foundation
import Testing
import GSVTestSupport
@testable import GSVText

@Suite struct BertTokenizerTests {
    static func tokenizer() throws -> BertTokenizer {
        try BertTokenizer(folder: Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny"))
    }

    /// Every zh segment of the fixture corpus: our pieces equal the official tokenizer's tokens.
    @Test func matchesOfficialTokensOnCorpus() throws {
        let tok = try Self.tokenizer()
        let data = try Data(contentsOf: Fixtures.url("v2/golden/bert.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let lines = try #require(root["lines"] as? [String: Any])
        var checked = 0
        for (id, value) in lines {
            let segments = try #require((value as? [String: Any])?["segments"] as? [[String: Any]])
            for seg in segments {
                let text = try #require(seg["norm_text"] as? String)
                let expected = try #require(seg["tokens"] as? [String])
                let ours = ["[CLS]"] + tok.tokenize(text) + ["[SEP]"]
                #expect(ours == expected, "line \(id): \(text)")
                #expect(tok.encode(text) == expected.map { tok.vocab[$0] ?? -1 }, "line \(id)")
                checked += 1
            }
        }
        #expect(checked > 50)
    }

    @Test func unknownCharacterBecomesUNK() throws {
        let tok = try Self.tokenizer()
        // The fixture generator leaves some characters out of the vocabulary on purpose
        // (model_configs.json: bert.unk_chars_left_out).
        let data = try Data(contentsOf: Fixtures.url("v2/models/model_configs.json"))
        let configs = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let bert = try #require(configs["bert"] as? [String: Any])
        let leftOut = try #require(bert["unk_chars_left_out"] as? [String])
        #expect(!leftOut.isEmpty)
        for c in leftOut {
            #expect(tok.vocab[c] == nil, "\(c)")
            #expect(tok.tokenize(c) == ["[UNK]"], "\(c)")
        }
        #expect(tok.encode("") == [tok.clsID, tok.sepID])
    }

    @Test func splitsPunctuationAndStripsAccents() throws {
        let tok = try BertTokenizer(vocabLines: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "cafe", "!", "ab", "##c"])
        #expect(tok.tokenize("Café!") == ["cafe", "!"])
        #expect(tok.tokenize("ABC") == ["ab", "##c"])
        #expect(tok.tokenize("abd") == ["[UNK]"])
        #expect(tok.tokenize(" \t\u{0}x") == ["[UNK]"])
    }

    @Test func missingVocabularyIsAClearError() {
        #expect(throws: TextError.self) {
            try BertTokenizer(folder: URL(fileURLWithPath: "/nonexistent-folder"))
        }
    }
}
