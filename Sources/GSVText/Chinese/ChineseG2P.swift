import Foundation

// Follows GPT_SoVITS/text/chinese2.py (the non-g2pW branch of _g2p, as the fixtures were made):
// g2p, _g2p, _get_initials_finals, _merge_erhua; and the pinyin → phone mapping through
// text/opencpop-strict.txt.

/// Phones and per-character phone counts of one Chinese text.
public struct ChinesePhones: Sendable, Equatable {
    /// Phones (initials, toned finals, punctuation).
    public var phones: [String]
    /// Phones per character of the normalised text (1 for punctuation, 2 for a syllable).
    public var word2ph: [Int]
}

/// The Chinese G2P: jieba POS segmentation, pypinyin, tone sandhi, erhua, opencpop-strict symbols.
public final class ChineseG2P: Sendable {
    /// jieba segmenter.
    public let jieba: Jieba
    /// pypinyin lookups.
    public let pinyin: Pinyin
    /// The normaliser run before G2P.
    public let normalizer: ChineseNormalizer
    let sandhi: ToneSandhi
    private let pinyinToSymbols: [String: (String, String)]
    static let punctuation: Set<String> = ["!", "?", "…", ",", ".", "-"]

    /// Loads all bundled Chinese data.
    public init() throws {
        jieba = try Jieba()
        pinyin = try Pinyin()
        normalizer = try ChineseNormalizer()
        sandhi = ToneSandhi(words: try SandhiWordLists(), jieba: jieba, pinyin: pinyin)
        var m: [String: (String, String)] = [:]
        for line in try DataFiles.text("zh/opencpop-strict.txt").split(separator: "\n") {
            let f = line.split(separator: "\t")
            let ph = f.count == 2 ? f[1].split(separator: " ") : []
            guard ph.count == 2 else { throw TextError.dataUnavailable(name: "zh/opencpop-strict.txt", reason: "bad line '\(line)'") }
            m[String(f[0])] = (String(ph[0]), String(ph[1].trimmingCharacters(in: .whitespaces)))
        }
        pinyinToSymbols = m
    }

    /// Shared instance (data loaded once, on first use).
    public static var shared: ChineseG2P {
        get throws { try SharedChinese.instance.get() }
    }

    /// chinese2.text_normalize.
    public func normalize(_ text: String) -> String { normalizer.normalize(text) }

    private func mergeErhua(_ initials: [String], _ finals0: [String], _ w: [Unicode.Scalar], _ pos: String) -> ([String], [String]) {
        var finals = finals0
        if let last = finals.indices.last, last < w.count, w[last] == "儿", finals[last] == "er1" { finals[last] = "er2" }
        let ws = String(scalars: w)
        if !sandhi.words.mustErhua.contains(ws), sandhi.words.notErhua.contains(ws) || ["a", "j", "nr"].contains(pos) {
            return (initials, finals)
        }
        if finals.count != w.count { return (initials, finals) }
        var newFinals: [String] = []
        let lastTwo = String(scalars: w.suffix(2))
        for (i, f0) in finals.enumerated() {
            var f = f0
            if i == finals.count - 1, w[i] == "儿", f == "er2" || f == "er5", !sandhi.words.notErhua.contains(lastTwo),
               let prev = newFinals.last, let tone = prev.last {
                f = "er" + String(tone)
            }
            newFinals.append(f)
        }
        return (initials, newFinals)
    }

    /// Words after jieba POS cut and sandhi pre-merge (for inspection and tests).
    public func words(_ sentence: String) -> [TaggedWord] {
        let seg = jieba.posCut(sentence).map { (word: $0.word.scalars, pos: $0.flag) }
        return sandhi.preMerge(seg).map { TaggedWord(String(scalars: $0.word), $0.pos) }
    }

    /// chinese2.g2p on already normalised text.
    /// - Parameters:
    ///   - erhua: false gives the v1 module text/chinese.py (the same pipeline without the erhua step).
    ///   - polyphonicDictionary: apply the official polyphonic dictionary to pypinyin's readings
    ///     (`correct_pronunciation`). The official code does this only on the g2pW branch, which the
    ///     fixtures (and this port) do not run, so it is off by default; turning it on brings whole-word
    ///     readings closer to a g2pW install.
    public func g2p(normalized text: String, erhua: Bool = true, polyphonicDictionary: Bool = false) throws -> ChinesePhones {
        // split after each punctuation mark (and the whitespace following it)
        var sentences: [String] = []
        var cur = String.UnicodeScalarView()
        var skipping = false
        for c in text.unicodeScalars {
            if skipping, c.properties.isWhitespace { continue }
            skipping = false
            cur.append(c)
            if Self.punctuation.contains(String(c)) { sentences.append(String(cur)); cur = .init(); skipping = true }
        }
        sentences.append(String(cur))
        sentences = sentences.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }

        var phones: [String] = []
        var word2ph: [Int] = []
        for sentence in sentences {
            let seg = String(String.UnicodeScalarView(sentence.unicodeScalars.filter {
                !(("a"..."z").contains($0) || ("A"..."Z").contains($0))
            }))
            var initials: [String] = [], finals: [String] = []
            for (w, pos) in sandhi.preMerge(jieba.posCut(seg).map { (word: $0.word.scalars, pos: $0.flag) }) {
                if pos == "eng" { continue }
                var syl = pinyin.syllables(w[...])
                if polyphonicDictionary { syl = pinyin.correctPronunciation(w[...], syl) }
                let f = sandhi.modifiedTone(w, pos, syl.map(\.final))
                let (i2, f2) = erhua ? mergeErhua(syl.map(\.initial), f, w, pos) : (syl.map(\.initial), f)
                initials += i2; finals += f2
            }
            for (c, v) in zip(initials, finals) {
                if c == v {
                    guard Self.punctuation.contains(c) else { throw TextError.noPronunciation(character: c, in: sentence) }
                    phones.append(c); word2ph.append(1)
                    continue
                }
                guard let tone = v.last, "12345".contains(tone) else {
                    throw TextError.noPronunciation(character: c + v, in: sentence)
                }
                let vNoTone = String(v.dropLast())
                var py = c + vNoTone
                if !c.isEmpty {
                    switch vNoTone {
                    case "uei": py = c + "ui"
                    case "iou": py = c + "iu"
                    case "uen": py = c + "un"
                    default: break
                    }
                } else {
                    switch py {
                    case "ing": py = "ying"
                    case "i": py = "yi"
                    case "in": py = "yin"
                    case "u": py = "wu"
                    default:
                        if let f = py.first {
                            switch f {
                            case "v": py = "yu" + py.dropFirst()
                            case "i": py = "y" + py.dropFirst()
                            case "u": py = "w" + py.dropFirst()
                            default: break
                            }
                        }
                    }
                }
                guard let (ni, nf) = pinyinToSymbols[py] else {
                    throw TextError.noPronunciation(character: py, in: sentence)
                }
                phones.append(ni); phones.append(nf + String(tone)); word2ph.append(2)
            }
        }
        return ChinesePhones(phones: phones, word2ph: word2ph)
    }
}

final class SharedChinese: Sendable {
    static let instance: Result<ChineseG2P, Error> = Result { try ChineseG2P() }
}
