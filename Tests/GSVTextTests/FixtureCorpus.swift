import Foundation
import GSVTestSupport

/// One line of `v2/text/frontend.jsonl`.
struct CorpusLine {
    struct Segment { let text: String; let lang: String; let normText: String; let phones: [String]; let phoneIDs: [Int]; let word2ph: [Int]? }
    struct Attempt { let input: String; let segments: [Segment] }
    let id: Int
    let lang: String
    let text: String
    let consecutive: String
    let preSeg: [String: [String]?]
    let attempts: [Attempt]
    let phones: [String]?
    let phoneIDs: [Int]?
    let normText: String?
    let error: String?

    static func load() throws -> [CorpusLine] {
        let data = try Data(contentsOf: Fixtures.url("v2/text/frontend.jsonl"))
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let g = o["get_phones_and_bert"] as? [String: Any] ?? [:]
            let attempts = (g["attempts"] as? [[String: Any]] ?? []).map { a in
                Attempt(input: a["input_text"] as? String ?? "", segments: (a["segments"] as? [[String: Any]] ?? []).map { s in
                    Segment(text: s["text"] as? String ?? "", lang: s["lang"] as? String ?? "", normText: s["norm_text"] as? String ?? "",
                            phones: s["phones"] as? [String] ?? [], phoneIDs: s["phone_ids"] as? [Int] ?? [], word2ph: s["word2ph"] as? [Int])
                })
            }
            var pre: [String: [String]?] = [:]
            for (k, v) in o["pre_seg_text"] as? [String: Any] ?? [:] { pre[k] = v as? [String] }
            return CorpusLine(id: o["id"] as? Int ?? -1, lang: o["lang"] as? String ?? "", text: o["text"] as? String ?? "",
                              consecutive: o["replace_consecutive_punctuation"] as? String ?? "", preSeg: pre, attempts: attempts,
                              phones: g["phones"] as? [String], phoneIDs: g["phone_ids"] as? [Int], normText: g["norm_text"] as? String,
                              error: g["error"] as? String)
        }
    }
}
