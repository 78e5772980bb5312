import Foundation
import Testing
@testable import GSVText

@Suite struct TextSplitterTests {
    /// replace_consecutive_punctuation and pre_seg_text for cut0…cut5 on every corpus line.
    @Test func corpusPreSegText() throws {
        var ok = 0, total = 0
        var failures: [String] = []
        for line in try CorpusLine.load() {
            guard let lang = try? TextLanguage(parsing: line.lang) else { continue }
            total += 1
            if TextSplitter.replaceConsecutivePunctuation(line.text) == line.consecutive { ok += 1 } else {
                failures.append("L\(line.id) consecutive: \(TextSplitter.replaceConsecutivePunctuation(line.text))")
            }
            for m in TextSplitMethod.allCases {
                total += 1
                let expected = line.preSeg[m.rawValue] ?? nil // nil: the official code raised
                let ours = try? TextSplitter.preSegment(line.consecutive, language: lang, method: m)
                if ours == expected { ok += 1 } else {
                    failures.append("L\(line.id) \(m.rawValue) \(line.text)\n    ours \(ours.map { "\($0)" } ?? "error")\n    ref  \(expected.map { "\($0)" } ?? "error")")
                }
            }
        }
        print("pre_seg_text: \(ok)/\(total) identical")
        for f in failures { print(f) }
        #expect(ok == total)
    }

    @Test func methodsOnHandExamples() throws {
        #expect(TextSplitter.apply(.cut5, to: "圆周率是3.14，对吗？好") == "圆周率是3.14，\n对吗？\n好")
        #expect(TextSplitter.apply(.cut3, to: "一。二。三。") == "一\n二\n三")
        #expect(TextSplitter.apply(.cut4, to: "One. Two 3.5 three.") == "One\n Two 3.5 three")
        #expect(TextSplitter.apply(.cut4, to: "Pi is 3.14. Yes.") == "Pi is 3.14. Yes") // "." after a digit is kept
        #expect(TextSplitter.apply(.cut0, to: "...") == "\n")
        let long = String(repeating: "这是一个句子，", count: 100)
        #expect(TextSplitter.splitBigText(long).allSatisfy { $0.unicodeScalars.count <= 510 })
        #expect(TextSplitter.splitBigText(long).joined() == long)
        #expect(throws: TextError.unknownSplitMethod("cut9")) { try TextSplitMethod(parsing: "cut9") }
    }
}
