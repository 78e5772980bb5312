import Foundation
import Testing
@testable import GSVText

@Suite struct ChineseTests {
    /// Every zh segment of the corpus, fed straight to the Chinese pipeline (isolates it from language
    /// segmentation): normalised text, phones and word2ph must equal the official ones.
    @Test func zhSegmentsMatchFixture() throws {
        let g2p = try ChineseG2P.shared
        var total = 0, ok = 0
        var report: [String] = []
        for line in try CorpusLine.load() {
            for a in line.attempts {
                for s in a.segments where s.lang == "zh" {
                    total += 1
                    let r = try? ChineseFrontend(g2p: g2p).process(s.text)
                    if let r, r.normText == s.normText, r.phones == s.phones, r.word2ph == s.word2ph { ok += 1; continue }
                    report.append("L\(line.id) \(s.text)\n  norm ours \(r?.normText ?? "ERR") / ref \(s.normText)\n  ours \(r?.phones.joined(separator: " ") ?? "")\n  ref  \(s.phones.joined(separator: " "))")
                }
            }
        }
        print("zh segments: \(ok)/\(total) identical")
        for r in report { print(r) }
        #expect(Double(ok) >= 0.97 * Double(total))
    }

    @Test func jiebaCutsDictionaryWords() throws {
        let j = try ChineseG2P.shared.jieba
        #expect(j.cut("我们一起去公园散步") == ["我们", "一起", "去", "公园", "散步"])
        #expect(j.posCut("我爱北京天安门").map(\.description) == ["我/r", "爱/v", "北京/ns", "天安门/ns"])
        // jieba_fast's C finalseg keeps a run of characters without emission data as one word
        #expect(j.cutForSearch("阇猠瘇") == ["阇猠瘇"])
    }

    @Test func v1HasNoErhua() throws {
        let g = try ChineseG2P.shared
        let v2 = try ChineseFrontend(g2p: g, version: .v2).process("小孩儿在门口儿玩儿。")
        let v1 = try ChineseFrontend(g2p: g, version: .v1).process("小孩儿在门口儿玩儿。")
        #expect(v1.normText == v2.normText)
        #expect(v1.phones != v2.phones)
        #expect(v1.phones.filter { $0.hasPrefix("er") }.allSatisfy { $0 == "er2" || $0 == "er5" })
    }

    @Test func polyphonicDictionary() throws {
        let p = try ChineseG2P.shared.pinyin
        let e = try #require(p.polyphonicEntry("湖泊"))
        #expect(e.map(\.final) == ["u2", "o1"])
        #expect(e.map(\.initial) == ["h", "p"])
        let g = try ChineseG2P.shared
        let plain = try g.g2p(normalized: "湖泊")
        let corrected = try g.g2p(normalized: "湖泊", polyphonicDictionary: true)
        #expect(corrected.phones == ["h", "u2", "p", "o1"])
        #expect(plain.word2ph == corrected.word2ph)
    }

    @Test func numbers() {
        #expect(ChineseNumbers.cardinal("12") == "十二")
        #expect(ChineseNumbers.cardinal("100") == "一百")
        #expect(ChineseNumbers.cardinal("1001") == "一千零一")
        #expect(ChineseNumbers.numToString("3.140") == "三点一四零")
        #expect(ChineseNumbers.digitwise("110", altOne: true) == "幺幺零")
    }
}
