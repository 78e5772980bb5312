import Foundation
import Testing
@testable import GSVText

/// Opt-in comparisons with official results dumped by `scripts/data/compare_zh.py`
/// (`GSV_ZH_COMPARE=/path/official.jsonl`) and `scripts/data/compare_split.py` (`GSV_SPLIT_COMPARE=…`).
@Suite struct ExternalCorpusTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GSV_SPLIT_COMPARE"] != nil))
    func splitterMatchesOfficialDump() throws {
        let path = try #require(ProcessInfo.processInfo.environment["GSV_SPLIT_COMPARE"])
        var ok = 0, total = 0
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            guard let text = o["text"] as? String, let lang = try? TextLanguage(parsing: o["lang"] as? String ?? ""),
                  let cuts = o["cuts"] as? [String: Any] else { continue }
            total += 1
            var same = TextSplitter.replaceConsecutivePunctuation(text) == o["consecutive"] as? String
            for m in TextSplitMethod.allCases {
                let ref = cuts[m.rawValue] as? [String] // nil: the official code raised
                let ours = try? TextSplitter.segment(text, language: lang, method: m)
                if ours != ref {
                    same = false
                    print("\(m.rawValue) \(lang.rawValue) \(text.debugDescription)\n  ours \(ours.map { "\($0)" } ?? "error")\n  ref  \(ref.map { "\($0)" } ?? "error")")
                }
            }
            if same { ok += 1 }
        }
        print("official pre_seg_text dump: \(ok)/\(total) texts identical for all six methods")
        #expect(total > 0)
    }

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
