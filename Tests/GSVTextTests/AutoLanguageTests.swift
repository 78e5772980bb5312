import Foundation
import Testing
@testable import GSVText

/// `auto` segmentation of plain Chinese (issue #21): the lite fastText model calls many short Han-only
/// sentences Japanese; with no Japanese G2P the frontend reads Han-only "Japanese" as Chinese.
@Suite struct AutoLanguageTests {
    /// The hand-written sentences of `Tests/Data/everyday_zh.txt`.
    static let sentences: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Data/everyday_zh.txt")
        return ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }()

    static let liteModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/GSVText/Resources/lid/lid.176.ftz")

    @Test("Everyday Chinese with --lang auto: every sentence reads as Chinese, including those the detector calls Japanese")
    func hanOnlyTextReadsAsChinese() throws {
        try #require(Self.sentences.count == 25)
        let frontend = try TextFrontend.standard()
        let labelledJapanese = Self.sentences.filter { s in frontend.segmenter.segments(s).contains { $0.lang == "ja" } }
        // The reason for the rule: the detector labels some of these Japanese.
        #expect(!labelledJapanese.isEmpty, "no sentence was labelled Japanese; the test no longer exercises the rule")
        for s in Self.sentences {
            let segments = frontend.segments(s, language: .auto)
            #expect(segments.allSatisfy { $0.lang == "zh" }, "\(s): \(segments)")
            #expect(segments.map(\.text).joined() == frontend.segmenter.segments(s).map(\.text).joined())
            let phones = try frontend.phones(for: s, language: .auto)
            // The same phones as reading it as Chinese outright.
            #expect(phones.phoneIDs == (try frontend.phones(for: s, language: .allZh)).phoneIDs, "\(s)")
        }
        // Kana keeps a segment Japanese (and Japanese is refused until it has a frontend).
        #expect(frontend.segments("こんにちは、世界。", language: .auto).contains { $0.lang == "ja" })
        #expect(throws: TextError.unsupportedLanguage("ja")) { try frontend.phones(for: "こんにちは、世界。", language: .auto) }
        // Mixed English stays English.
        #expect(frontend.segments("我喜欢 Swift 语言。", language: .auto).map(\.lang) == ["zh", "en", "zh"])
    }

    @Test("A fastText language-ID model file loads once per path and must label zh, ja and en")
    func languageModelFile() throws {
        let detector = try FastTextLanguageDetector.load(contentsOf: Self.liteModel)
        #expect(detector.model.labels.count == 176)
        #expect(try FastTextLanguageDetector.load(contentsOf: Self.liteModel).model.labels == detector.model.labels)
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-lid-\(UUID().uuidString).bin")
        try Data(repeating: 7, count: 4096).write(to: bad)
        defer { try? FileManager.default.removeItem(at: bad) }
        #expect(throws: TextError.self) { try FastTextLanguageDetector.load(contentsOf: bad) }
        // A frontend over a model file labels as the bundled detector does when it is the same model.
        let frontend = try TextFrontend.standard(detector: detector)
        for s in Self.sentences.prefix(5) {
            #expect(frontend.segments(s, language: .auto) == (try TextFrontend.standard()).segments(s, language: .auto))
        }
    }
}
