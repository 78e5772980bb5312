import Foundation
import Testing
@testable import GSVText

@Suite struct SegmentationTests {
    let seg = LanguageSegmenter()

    @Test func fullyEnglishRule() {
        #expect(LanguageSegmenter.isFullyEnglish("Hello, world!"))
        #expect(LanguageSegmenter.isFullyEnglish("WiFi，"))
        #expect(!LanguageSegmenter.isFullyEnglish("123"))
        #expect(!LanguageSegmenter.isFullyEnglish("你好 hi"))
        #expect(!LanguageSegmenter.isFullyEnglish(""))
    }

    @Test func mixedChineseEnglish() throws {
        let f = try TextFrontend()
        #expect(f.segments("我们用Python和PyTorch训练模型。", language: .zh) == [
            LanguageSegment(lang: "zh", text: "我们用"), LanguageSegment(lang: "en", text: "Python"),
            LanguageSegment(lang: "zh", text: "和"), LanguageSegment(lang: "en", text: "PyTorch"),
            LanguageSegment(lang: "zh", text: "训练模型。"),
        ])
        // digits join their neighbours; all_zh keeps only fully English runs English
        #expect(f.segments("我有3个苹果", language: .allZh) == [LanguageSegment(lang: "zh", text: "我有3个苹果")])
        #expect(f.segments("Hello 世界", language: .en) == [LanguageSegment(lang: "en", text: "Hello 世界")])
    }

    @Test func autoDetectsScripts() {
        let s = seg.segments("こんにちは世界、안녕하세요 hello")
        #expect(s.map(\.lang).contains("ja"))
        #expect(s.map(\.lang).contains("ko"))
        #expect(s.last?.lang == "en")
    }

    @Test func languageNames() throws {
        #expect(try TextLanguage(parsing: "ZH") == .zh)
        #expect(try TextLanguage(parsing: "all_zh") == .allZh)
        #expect(try TextLanguage(parsing: "中英混合") == .zh)
        #expect(try TextLanguage(parsing: "多语种混合") == .auto)
        #expect(throws: TextError.unsupportedLanguage("klingon")) { try TextLanguage(parsing: "klingon") }
        #expect(!TextLanguage.ko.isSupported(by: .v1))
        #expect(TextLanguage.ko.isSupported(by: .v2))
    }

    @Test func badInputGivesErrors() throws {
        let f = try TextFrontend()
        #expect(throws: TextError.emptyText) { try f.phones(for: "", language: .zh) }
        #expect(throws: TextError.emptyText) { try f.phones(for: "   ", language: .zh) }
        #expect(throws: TextError.noValidText) { try f.phones(for: "@#%&*", language: .zh) }
        #expect(throws: TextError.englishUnavailable("Hello")) { try f.phones(for: "Hello", language: .en) }
        #expect(throws: TextError.unsupportedLanguage("ja")) { try f.phones(for: "こんにちは", language: .ja) }
        #expect(throws: TextError.unsupportedLanguage("ko")) { try TextFrontend(version: .v1).phones(for: "x", language: .ko) }
    }

    @Test func shortTextRetry() throws {
        let r = try TextFrontend().phones(for: "好。", language: .zh)
        #expect(r.attempts.count == 2)
        #expect(r.attempts[1].inputText == ".好。")
        #expect(r.phones == [".", "h", "ao3", "."])
        #expect(r.segments.allSatisfy { $0.usesBERT })
    }

    @Test func specialPauseSymbols() throws {
        let r = try TextFrontend().phones(for: "你好^世界，再见。", language: .zh)
        #expect(r.phones.contains("SP3"))
        #expect(!r.phones.contains(","))
    }
}

@Suite struct ChineseUnitTests {
    @Test func toneSandhi() throws {
        let g = try ChineseG2P.shared
        func tones(_ s: String) throws -> [String] { try g.g2p(normalized: s).phones.filter { $0.last?.isNumber ?? false } }
        #expect(try tones("不要") == ["u2", "ao4"])          // 不 before tone 4 → bu2
        #expect(try tones("一天") == ["i4", "ian1"])          // 一 before tone 1 → yi4
        #expect(try tones("看一看").contains("i5"))           // X一X → yi5
        #expect(try tones("你好") == ["i2", "ao3"])           // 3-3 → 2-3
        #expect(try tones("一两千").first == "i4")            // 两 is not numeric for Python 3.11
        #expect(try tones("一千").first == "i1")              // number strings keep yi1
    }

    @Test func erhua() throws {
        let g = try ChineseG2P.shared
        #expect(try g.g2p(normalized: "小孩儿").phones.suffix(2) == ["EE", "er2"])
    }

    @Test func pinyinPhrases() throws {
        let p = try ChineseG2P.shared.pinyin
        #expect(p.syllables("银行").map(\.final) == ["in2", "ang2"])
        #expect(p.syllables("长江").map(\.initial) == ["ch", "j"])
        #expect(p.syllables("，").map(\.final) == ["，"])
    }

    @Test func normalizer() throws {
        let n = try ChineseG2P.shared.normalizer
        #expect(n.normalize("會議在2023-12-31舉行。") == "会议在二零二三年十二月三十一日举行.")
        #expect(n.normalize("我的手机号是13812345678") == "我的手机号是幺三八幺二三四五六七八")
        #expect(n.normalize("气温-3℃") == "气温零下三度")
        #expect(n.normalize("α和β") == "阿尔法和贝塔")
        #expect(n.normalize("ＡＢ１２") == "十二")
    }
}
