import Foundation
import Testing
@testable import GSVText

/// Golden-frontend tier: the official get_phones_and_bert results of `v2/text/frontend.jsonl`.
///
/// English G2P is another module (wired in at merge); until then lines with English segments are checked
/// for segmentation and their non-English segments only, and every category is reported separately.
@Suite struct FrontendFixtureTests {
    /// The English G2P used for the corpus (GSVText/English, wired in when that module is merged; while it
    /// is nil, lines with English are checked for segmentation and their other segments only).
    static let english: (any EnglishPhonemizer)? = try? EnglishG2P.shared()

    @Test func corpusReport() throws {
        let frontend = try TextFrontend(version: .v2, english: Self.english)
        var whole = (ok: 0, total: 0)
        var stats: [String: (ok: Int, total: Int)] = [:]
        var failures: [String] = []
        func count(_ cat: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
            stats[cat, default: (0, 0)].total += 1
            if ok { stats[cat, default: (0, 0)].ok += 1 } else { failures.append("[\(cat)] \(detail())") }
        }
        for line in try CorpusLine.load() {
            guard let lang = try? TextLanguage(parsing: line.lang) else { continue }
            let refFinal = line.attempts.last?.segments ?? []
            if line.error != nil {
                // the official code raises: we must raise too
                let threw = (try? frontend.phones(for: line.text, language: lang)) == nil
                count("error lines", threw, "L\(line.id) \(line.text): expected an error")
                continue
            }
            if Self.english != nil {
                // full comparison of every line: phones and word2ph of the final attempt
                whole.total += 1
                let r = try? frontend.phones(for: line.text, language: lang)
                let ok = r?.phones == line.phones && r?.segments.map(\.word2ph) == refFinal.map(\.word2ph)
                if ok { whole.ok += 1 }
                count("\(line.lang) (all lines, English wired)", ok,
                      "L\(line.id) \(line.text)\n    ours \(r?.phones.joined(separator: " ") ?? "error")\n    ref  \((line.phones ?? []).joined(separator: " "))")
                continue
            }
            if lang == .en { count("en (needs English G2P)", false, "L\(line.id) skipped: English G2P not wired"); continue }
            let hasEnglish = line.attempts.contains { $0.segments.contains { $0.lang == "en" } }
            if !hasEnglish {
                let cat = "\(line.lang) without English"
                do {
                    let r = try frontend.phones(for: line.text, language: lang)
                    let ok = r.phones == line.phones && r.segments.map(\.word2ph) == refFinal.map(\.word2ph) && r.normText == line.normText
                    count(cat, ok, "L\(line.id) \(line.text)\n    ours \(r.normText) \(r.phones.joined(separator: " "))\n    ref  \(line.normText ?? "") \((line.phones ?? []).joined(separator: " "))")
                } catch {
                    count(cat, false, "L\(line.id) \(line.text): \(error)")
                }
            } else {
                // segmentation of every attempt, then the non-English segments
                let cat = "\(line.lang) mixed with English (segmentation + zh segments)"
                var ok = true
                var detail = "L\(line.id) \(line.text)"
                for a in line.attempts {
                    let ours = frontend.segments(a.input, language: lang)
                    let ref = a.segments.map { LanguageSegment(lang: $0.lang, text: $0.text) }
                    if ours != ref {
                        ok = false
                        detail += "\n    ours \(ours.map { "\($0.lang):\($0.text)" })\n    ref  \(ref.map { "\($0.lang):\($0.text)" })"
                        break
                    }
                    for s in a.segments where s.lang != "en" {
                        let r = try? frontend.clean(s.text, language: s.lang)
                        if r?.phones != s.phones || r?.word2ph != s.word2ph {
                            ok = false; detail += "\n    segment \(s.text): \(r?.phones.joined(separator: " ") ?? "error")"
                        }
                    }
                }
                count(cat, ok, detail)
            }
        }
        print("frontend corpus report (lines identical / lines, mismatches per category):")
        for (k, v) in stats.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v.ok)/\(v.total), \(v.total - v.ok) mismatched") }
        for f in failures where !f.hasPrefix("[en (needs") { print(f) }
        if Self.english != nil {
            let errorsOK = stats["error lines"]?.ok ?? 0
            print("  all lines: \(whole.ok + errorsOK)/\(whole.total + (stats["error lines"]?.total ?? 0)) identical")
            // The issue's gate: at least 99.5 % of the lines identical (on the public corpus of 156 lines
            // that means all of them).
            let total = whole.total + (stats["error lines"]?.total ?? 0)
            #expect(Double(whole.ok + errorsOK) >= 0.995 * Double(total),
                    "\(whole.ok + errorsOK)/\(total) lines identical; mismatches:\n\(failures.joined(separator: "\n"))")
        } else {
            let zh = stats["zh without English"] ?? (0, 1)
            #expect(Double(zh.ok) >= 0.9 * Double(zh.total))
        }
        let errors = stats["error lines"] ?? (0, 0)
        #expect(errors.ok == errors.total)
    }
}
