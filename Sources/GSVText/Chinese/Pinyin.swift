import Foundation

// Follows pypinyin 0.55.0 `lazy_pinyin(word, style=INITIALS / FINALS_TONE3, neutral_tone_with_five=True)`
// (core.Pinyin.pinyin, seg/simpleseg.seg, seg/mmseg.Seg.cut with no_non_phrases=True,
// converter.DefaultConverter._phrase_pinyin / _single_pinyin). Only first readings are kept: lazy_pinyin
// never looks at the others.

/// A syllable split the way GPT-SoVITS consumes pypinyin: initial and final with tone digit
/// (strict initials/finals, neutral tone written 5). Characters without pinyin give the character itself
/// as both initial and final.
public struct PinyinSyllable: Sendable, Equatable {
    /// Initial (`""` for zero-initial syllables).
    public var initial: String
    /// Final with tone digit 1–5, e.g. `ao3`.
    public var final: String
}

/// pypinyin's dictionaries and its forward-maximum-matching phrase segmentation.
public final class Pinyin: Sendable {
    private let chars: SortedKeyTable
    private let phrases: SortedKeyTable
    private let syllables: [PinyinSyllable]
    private let toneMarked: [String]
    private let polyphonic: SortedKeyTable

    /// Loads the bundled pypinyin data.
    public init() throws {
        chars = try DataFiles.table("zh/pinyin_chars.gsvk")
        phrases = try DataFiles.table("zh/pinyin_phrases.gsvk")
        var syl: [PinyinSyllable] = []
        var marked: [String] = []
        for line in try DataFiles.text("zh/pinyin_syllables.txt").split(separator: "\n", omittingEmptySubsequences: true) {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 3 else { throw TextError.dataUnavailable(name: "zh/pinyin_syllables.txt", reason: "bad line '\(line)'") }
            marked.append(String(f[0]))
            syl.append(PinyinSyllable(initial: String(f[1]), final: String(f[2])))
        }
        syllables = syl
        toneMarked = marked
        polyphonic = try DataFiles.table("zh/polyphonic.gsvk")
    }

    /// The official polyphonic dictionary (text/g2pw/polyphonic.rep + polyphonic-fix.rep) entry of `word`.
    public func polyphonicEntry(_ word: String) -> [PinyinSyllable]? { polyphonicEntry(word.scalars[...]) }

    func polyphonicEntry(_ word: ArraySlice<Unicode.Scalar>) -> [PinyinSyllable]? {
        guard let i = polyphonic.find(Array(word).utf8Bytes) else { return nil }
        let r = polyphonic.payloadRange(i)
        return stride(from: r.lowerBound, to: r.upperBound, by: 2).map { syllables[Int(polyphonic.u16(at: $0))] }
    }

    /// g2pw.correct_pronunciation: the whole word's dictionary entry, else per character the first
    /// reading of single-character entries.
    func correctPronunciation(_ word: ArraySlice<Unicode.Scalar>, _ syl: [PinyinSyllable]) -> [PinyinSyllable] {
        if let whole = polyphonicEntry(word) { return whole }
        var out = syl
        for (k, c) in word.enumerated() where k < out.count {
            if let e = polyphonicEntry([c][...]), let first = e.first { out[k] = first }
        }
        return out
    }

    /// pypinyin RE_HANS (the UCS-4 build).
    static func isHans(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return v == 0x3007 || (0xE815...0xE864).contains(v) || v == 0xFA18 || (0x3400...0x4DBF).contains(v)
            || (0x4E00...0x9FFF).contains(v) || (0xF900...0xFAFF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A703...0x2B73F).contains(v) || (0x2B740...0x2B81D).contains(v) || (0x2B825...0x2BF6E).contains(v)
            || (0x2C029...0x2CE93).contains(v) || v == 0x2D016 || (0x2D11B...0x2EBD9).contains(v)
            || (0x2F80A...0x2FA1F).contains(v) || (0x300F7...0x3134A).contains(v) || (0x31350...0x323AF).contains(v)
    }

    private func singleSyllable(_ c: Unicode.Scalar) -> PinyinSyllable {
        var b: [UInt8] = []; appendUTF8(c, to: &b)
        guard let i = chars.find(b) else { return PinyinSyllable(initial: String(c), final: String(c)) }
        return syllables[Int(chars.u16(at: chars.payloadRange(i).lowerBound))]
    }

    /// mmseg.Seg.cut (strict: only whole phrases, else single characters).
    private func mmseg(_ text: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var remain = text
        var buf: [UInt8] = []
        while !remain.isEmpty {
            var lastValidEnd = -1
            var broke = false
            buf.removeAll(keepingCapacity: true)
            for k in 0..<remain.count {
                appendUTF8(remain[remain.startIndex + k], to: &buf)
                switch phrases.match(buf) {
                case .exact: lastValidEnd = k + 1
                case .prefixOnly: break
                case .none:
                    if lastValidEnd > 0 {
                        out.append(remain.prefix(lastValidEnd)); remain = remain.dropFirst(lastValidEnd)
                    } else {
                        out.append(remain.prefix(1)); remain = remain.dropFirst(1)
                    }
                    broke = true
                }
                if broke { break }
            }
            if !broke {
                if lastValidEnd > 0 {
                    out.append(remain.prefix(lastValidEnd)); remain = remain.dropFirst(lastValidEnd)
                } else {
                    for k in remain.indices { out.append(remain[k...k]) }
                    remain = remain.suffix(0)
                }
            }
        }
        return out
    }

    /// `lazy_pinyin(word)` split into initials and finals (one entry per character of Han runs; one per
    /// run of other characters).
    public func syllables(_ word: String) -> [PinyinSyllable] { syllables(word.scalars[...]) }

    func syllables(_ word: ArraySlice<Unicode.Scalar>) -> [PinyinSyllable] {
        var out: [PinyinSyllable] = []
        for (run, hans) in splitRuns(word, Pinyin.isHans) {
            guard hans else {
                let s = String(scalars: run)
                out.append(PinyinSyllable(initial: s, final: s))
                continue
            }
            for w in mmseg(run) {
                if w.count > 1, let i = phrases.find(Array(w).utf8Bytes) {
                    let r = phrases.payloadRange(i)
                    var p = r.lowerBound
                    while p < r.upperBound { out.append(syllables[Int(phrases.u16(at: p))]); p += 2 }
                } else if w.count == 1, let i = phrases.find(Array(w).utf8Bytes) {
                    out.append(syllables[Int(phrases.u16(at: phrases.payloadRange(i).lowerBound))])
                } else {
                    for c in w { out.append(singleSyllable(c)) }
                }
            }
        }
        return out
    }

    /// Finals with tone (`lazy_pinyin(word, style=FINALS_TONE3, neutral_tone_with_five=True)`).
    public func finals(_ word: String) -> [String] { syllables(word).map(\.final) }
}
