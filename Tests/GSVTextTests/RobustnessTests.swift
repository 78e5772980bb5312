import Foundation
import Testing
@testable import GSVText

/// Random mixtures of scripts, digits, symbols and punctuation must give results or typed errors,
/// never a crash or a hang.
@Suite struct RobustnessTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let pieces: [String] = [
        "你好", "一", "不", "儿", "银行", "长", "。", "，", "！", "？", "…", "——", "《", "》", "“", "”", "、", "：", "；",
        "1", "23", "4.5", "-", "+", "=", "/", "%", "％", "℃", "°C", "km", "kg", "²", "³", "×", "÷", "~", "～", " ", "  ", "\n",
        "a", "Hello", "GPT", "x²", "α", "Ω", "①", "￥", "^", "$", "€", "@", "#", "&", "_", "|", "\\", "(", ")", "【", "】",
        "こんにちは", "カタカナ", "안녕", "ñ", "é", "😀", "\u{0301}", "〇", "零", "两", "第一", "看一看", "2024年3月5日", "12:30",
        "13812345678", "010-12345678", "400-800-8888", "1.2.3", "3/4", "-5", "0.5%", "1,000", "..", "!?", "ｱ", "ＡＢ", "１２",
    ]

    @Test func randomInputsNeverCrash() throws {
        let frontend = try TextFrontend()
        var rng = SplitMix64(state: 20_241_122)
        var results = 0, errors = 0
        var kinds: [String: Int] = [:]
        for _ in 0..<400 {
            let n = Int.random(in: 1...8, using: &rng)
            let text = (0..<n).map { _ in Self.pieces.randomElement(using: &rng) ?? "" }.joined()
            for lang in [TextLanguage.zh, .allZh, .auto] {
                let outcome = Result { try frontend.phones(for: text, language: lang) }
                if case let .failure(e) = outcome {
                    let k = "\(e)".prefix(while: { $0 != "(" })
                    kinds[String(k), default: 0] += 1
                    // phones outside the table or empty segments would be frontend bugs
                    #expect(!(e is TextError && "\(e)".hasPrefix("unknownPhone")), "\(text): \(e)")
                }
                if let r = try? outcome.get() {
                    results += 1
                    #expect(r.phones.count == r.phoneIDs.count)
                    for s in r.segments where s.word2ph != nil {
                        #expect(s.word2ph?.reduce(0, +) == s.phones.count)
                        #expect(s.word2ph?.count == s.normText.unicodeScalars.count)
                    }
                } else { errors += 1 }
            }
            for m in TextSplitMethod.allCases { _ = try? TextSplitter.segment(text, language: .zh, method: m) }
        }
        print("random inputs: \(results) results, \(errors) typed errors \(kinds.sorted { $0.key < $1.key })")
        #expect(results > 0)
    }

    /// One frontend shared by several threads gives the same results as sequential calls.
    @Test func concurrentUseIsSafe() throws {
        let frontend = try TextFrontend()
        let texts = ["今天是2024年3月5日，天气晴朗。", "我们用Python训练模型。", "看一看，想一想。", "他花了$100买了一双鞋。"]
        let expected = texts.map { try? frontend.phones(for: $0, language: .zh).phones }
        /// Results written from several threads (NSLock-guarded; Mutex needs macOS 15).
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var values = [[String]?](repeating: nil, count: 4 * 8)
            func withLock<T>(_ f: (inout [[String]?]) -> T) -> T { lock.lock(); defer { lock.unlock() }; return f(&values) }
        }
        let results = Box()
        DispatchQueue.concurrentPerform(iterations: 4 * 8) { i in
            let r = try? frontend.phones(for: texts[i % 4], language: .zh).phones
            results.withLock { $0[i] = r }
        }
        let got = results.withLock { $0 }
        for i in 0..<(4 * 8) { #expect(got[i] == expected[i % 4]) }
    }
}
