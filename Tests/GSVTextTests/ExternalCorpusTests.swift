import Foundation
import Testing
@testable import GSVText

/// Opt-in comparison with official Chinese results made by `scripts/data/compare_zh.py`
/// (`GSV_ZH_COMPARE=/path/official.jsonl swift test --filter ExternalCorpusTests`).
@Suite struct ExternalCorpusTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GSV_ZH_COMPARE"] != nil))
    func chineseMatchesOfficialDump() throws {
        let path = try #require(ProcessInfo.processInfo.environment["GSV_ZH_COMPARE"])
        let g2p = try ChineseG2P.shared
        let fe = ChineseFrontend(g2p: g2p)
        var ok = 0, total = 0, normOK = 0
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            guard let text = o["text"] as? String, let norm = o["norm"] as? String else { continue }
            total += 1
            let r = try? fe.process(text)
            if r?.normText == norm { normOK += 1 }
            if r?.normText == norm, r?.phones == o["phones"] as? [String], r?.word2ph == o["word2ph"] as? [Int] { ok += 1; continue }
            print("\(text)\n  norm ours \(r?.normText ?? "error")\n  norm ref  \(norm)\n  ours \(r?.phones.joined(separator: " ") ?? "")\n  ref  \((o["phones"] as? [String] ?? []).joined(separator: " "))")
        }
        print("official chinese2 dump: \(ok)/\(total) identical (normalisation \(normOK)/\(total))")
        #expect(total > 0)
    }
}
