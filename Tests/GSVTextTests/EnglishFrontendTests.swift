import Foundation
import GSVTestSupport
import Testing
@testable import GSVText

/// One English segment recorded in `v2/text/frontend.jsonl` by the official frontend.
struct EnglishGoldenSegment: Sendable {
    let line: Int
    let text: String
    let normText: String
    let phones: [String]
    let posTags: [[String]]
}

enum EnglishGolden {
    /// Every segment with `lang == "en"` of every `get_phones_and_bert.attempts[*]`.
    static func segments() throws -> [EnglishGoldenSegment] {
        let url = Fixtures.url("v2/text/frontend.jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [EnglishGoldenSegment] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let g = object["get_phones_and_bert"] as? [String: Any],
                  let attempts = g["attempts"] as? [[String: Any]] else { continue }
            for attempt in attempts {
                for seg in attempt["segments"] as? [[String: Any]] ?? [] where seg["lang"] as? String == "en" {
                    out.append(EnglishGoldenSegment(
                        line: index + 1,
                        text: try #require(seg["text"] as? String),
                        normText: try #require(seg["norm_text"] as? String),
                        phones: try #require(seg["phones"] as? [String]),
                        posTags: try #require(seg["pos_tags"] as? [[String]])))
                }
            }
        }
        return out
    }
}

@Suite("English frontend vs official fixtures")
struct EnglishFrontendTests {
    /// The cleaner's rule for English (text/cleaner.py clean_text): fewer than 4 phones → "," first.
    static func cleaned(_ phones: [String]) -> [String] { phones.count < 4 ? [","] + phones : phones }

    @Test func corpusSegmentsMatch() throws {
        let g2p = try EnglishG2P.shared()
        let segments = try EnglishGolden.segments()
        #expect(segments.count >= 70)
        var normMismatch: [String] = [], tagMismatch: [String] = [], phoneMismatch: [String] = []
        var identical = 0
        for s in segments {
            let norm = g2p.normalize(s.text)
            let tags = g2p.posTags(forNormalized: s.normText).map { [$0.0, $0.1] }
            let phones = Self.cleaned(g2p.phonemes(forNormalized: s.normText))
            var ok = true
            if norm != s.normText { ok = false; normMismatch.append("L\(s.line) \(s.text.debugDescription): \(norm.debugDescription) ≠ \(s.normText.debugDescription)") }
            if tags != s.posTags { ok = false; tagMismatch.append("L\(s.line) \(s.normText.debugDescription): \(tags) ≠ \(s.posTags)") }
            if phones != s.phones { ok = false; phoneMismatch.append("L\(s.line) \(s.normText.debugDescription): \(phones) ≠ \(s.phones)") }
            if ok { identical += 1 }
        }
        let rate = Double(identical) / Double(max(segments.count, 1))
        print("English corpus: \(identical)/\(segments.count) segments identical (\(String(format: "%.1f", rate * 100)) %)")
        for (name, list) in [("normalisation", normMismatch), ("POS tags", tagMismatch), ("phones", phoneMismatch)] {
            print("  \(name) mismatches: \(list.count)")
            for m in list { print("    " + m) }
        }
        #expect(rate >= 0.995, "normalisation \(normMismatch.count), tags \(tagMismatch.count), phones \(phoneMismatch.count) mismatches")

        // Throughput of normalize + phonemes over the corpus texts (one thread; informative only,
        // meaningful in release builds: swift test -c release -Xswiftc -enable-testing --filter corpusSegmentsMatch).
        let texts = segments.map(\.text)
        let chars = texts.reduce(0) { $0 + $1.count }
        let rounds = 20
        let start = ContinuousClock.now
        var phones = 0
        for _ in 0..<rounds { for t in texts { phones += g2p.phonemes(forNormalized: g2p.normalize(t)).count } }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print("English frontend throughput: \(Int(Double(chars * rounds) / seconds)) chars/s (\(chars * rounds) chars, \(phones) phones)")
        #expect(phones > 0)
    }
}
