import Foundation

// Follows GPT_SoVITS/text/tone_sandhi.py: ToneSandhi (PaddleSpeech port): pre_merge_for_modify and
// modified_tone (_bu_sandhi → _yi_sandhi → _neural_sandhi → _three_sandhi). Word lists are read from
// Resources/zh/tone_sandhi_words.txt (extracted from the official file by make_zh_data.py).

/// Word lists used by tone sandhi and erhua.
struct SandhiWordLists: Sendable {
    let mustNeutral: Set<String>
    let mustNotNeutral: Set<String>
    let mustErhua: Set<String>
    let notErhua: Set<String>

    init() throws {
        var lists: [String: Set<String>] = [:]
        var current = ""
        for line in try DataFiles.text("zh/tone_sandhi_words.txt").split(separator: "\n") {
            if line.hasPrefix("[") && line.hasSuffix("]") { current = String(line.dropFirst().dropLast()); continue }
            lists[current, default: []].insert(String(line))
        }
        func get(_ k: String) throws -> Set<String> {
            guard let v = lists[k] else { throw TextError.dataUnavailable(name: "zh/tone_sandhi_words.txt", reason: "missing [\(k)]") }
            return v
        }
        mustNeutral = try get("must_neural_tone_words")
        mustNotNeutral = try get("must_not_neural_tone_words")
        mustErhua = try get("must_erhua")
        notErhua = try get("not_erhua")
    }
}

/// Thrown inside a merge step where the official code hits an exception (caught there, step skipped).
private struct MergeStepFailed: Error {}

/// Mandarin tone sandhi over jieba words.
struct ToneSandhi: Sendable {
    let words: SandhiWordLists
    let jieba: Jieba
    let pinyin: Pinyin
    private static let punc = Set("：，；。？！“”‘’':,;.?!".unicodeScalars)

    typealias Seg = [(word: [Unicode.Scalar], pos: String)]

    // MARK: pre-merge

    private func mergeBu(_ seg: Seg) -> Seg {
        var out: Seg = []
        var last: [Unicode.Scalar] = []
        for (w0, pos) in seg {
            var w = w0
            if last == ["不"] { w = last + w }
            if w != ["不"] { out.append((w, pos)) }
            last = w
        }
        if last == ["不"] { out.append((last, "d")) }
        return out
    }

    private func mergeYi(_ seg: Seg) -> Seg {
        var out: Seg = []
        var i = 0
        while i < seg.count {
            let (w, pos) = seg[i]
            var merged = false
            if i - 1 >= 0, w == ["一"], i + 1 < seg.count {
                let last = out.last ?? seg[i - 1]
                if last.word == seg[i + 1].word, last.pos == "v", seg[i + 1].pos == "v" {
                    out[out.count - 1] = (last.word + ["一"] + seg[i + 1].word, last.pos)
                    i += 2; merged = true
                }
            }
            if !merged { out.append((w, pos)); i += 1 }
        }
        var out2: Seg = []
        for (w, pos) in out {
            if let l = out2.last, l.word == ["一"] { out2[out2.count - 1].word = l.word + w } else { out2.append((w, pos)) }
        }
        return out2
    }

    private func mergeReduplication(_ seg: Seg) -> Seg {
        var out: Seg = []
        for (w, pos) in seg {
            if let l = out.last, l.word == w { out[out.count - 1].word = l.word + w } else { out.append((w, pos)) }
        }
        return out
    }

    private func isReduplication(_ w: [Unicode.Scalar]) -> Bool { w.count == 2 && w[0] == w[1] }

    private func allToneThree(_ finals: [String]) throws -> Bool {
        for f in finals { guard let l = f.last else { throw MergeStepFailed() }; if l != "3" { return false } }
        return true
    }

    private func mergeThreeTones(_ seg: Seg) throws -> Seg {
        let finals = seg.map { pinyin.syllables($0.word[...]).map(\.final) }
        var out: Seg = []
        var mergeLast = [Bool](repeating: false, count: seg.count)
        for (i, (w, pos)) in seg.enumerated() {
            if i >= 1, try allToneThree(finals[i - 1]), try allToneThree(finals[i]), !mergeLast[i - 1] {
                if !isReduplication(seg[i - 1].word), seg[i - 1].word.count + w.count <= 3 {
                    out[out.count - 1].word += w; mergeLast[i] = true
                } else { out.append((w, pos)) }
            } else { out.append((w, pos)) }
        }
        return out
    }

    private func mergeThreeTones2(_ seg: Seg) throws -> Seg {
        let finals = seg.map { pinyin.syllables($0.word[...]).map(\.final) }
        var out: Seg = []
        var mergeLast = [Bool](repeating: false, count: seg.count)
        func lastTone(_ f: [String]) throws -> Character {
            guard let x = f.last, let t = x.last else { throw MergeStepFailed() }
            return t
        }
        func firstTone(_ f: [String]) throws -> Character {
            guard let x = f.first, let t = x.last else { throw MergeStepFailed() }
            return t
        }
        for (i, (w, pos)) in seg.enumerated() {
            if i >= 1, try lastTone(finals[i - 1]) == "3", try firstTone(finals[i]) == "3", !mergeLast[i - 1] {
                if !isReduplication(seg[i - 1].word), seg[i - 1].word.count + w.count <= 3 {
                    out[out.count - 1].word += w; mergeLast[i] = true
                } else { out.append((w, pos)) }
            } else { out.append((w, pos)) }
        }
        return out
    }

    private func mergeEr(_ seg: Seg) -> Seg {
        var out: Seg = []
        for (i, (w, pos)) in seg.enumerated() {
            if i >= 1, w == ["儿"], seg[i - 1].word != ["#"] { out[out.count - 1].word += w } else { out.append((w, pos)) }
        }
        return out
    }

    /// pre_merge_for_modify.
    func preMerge(_ seg0: Seg) -> Seg {
        var seg = mergeBu(seg0)
        seg = mergeYi(seg)
        seg = mergeReduplication(seg)
        if let s = try? mergeThreeTones(seg) { seg = s }
        if let s = try? mergeThreeTones2(seg) { seg = s }
        return mergeEr(seg)
    }

    // MARK: modified tone

    private static func setTone(_ f: inout String, _ t: Character) {
        guard !f.isEmpty else { return }
        f.removeLast(); f.append(t)
    }

    /// Python 3.11 `str.isnumeric` (Unicode 14) for the characters that reach tone sandhi. Newer Unicode
    /// data, which Swift ships, also gives these Han characters a numeric value; the official run does not.
    private static let numericSinceUnicode15: Set<Unicode.Scalar> = ["两", "京", "俩", "倆", "拐", "洞", "皕", "秭", "鈎", "钩"]
    private static func isNumeric(_ c: Unicode.Scalar) -> Bool {
        c.properties.numericType != nil && !numericSinceUnicode15.contains(c)
    }

    private func buSandhi(_ w: [Unicode.Scalar], _ finals: inout [String]) {
        if w.count == 3, w[1] == "不" { Self.setTone(&finals[1], "5"); return }
        for (i, c) in w.enumerated() where c == "不" && i + 1 < w.count && i + 1 < finals.count {
            if finals[i + 1].last == "4" { Self.setTone(&finals[i], "2") }
        }
    }

    private func yiSandhi(_ w: [Unicode.Scalar], _ finals: inout [String]) {
        if w.contains("一") && w.allSatisfy({ $0 == "一" || Self.isNumeric($0) }) { return }
        if w.count == 3, w[1] == "一", w[0] == w[2] { Self.setTone(&finals[1], "5"); return }
        if w.starts(with: ["第", "一"]) { Self.setTone(&finals[1], "1"); return }
        for (i, c) in w.enumerated() where c == "一" && i + 1 < w.count && i + 1 < finals.count {
            if finals[i + 1].last == "4" { Self.setTone(&finals[i], "2") } else if !Self.punc.contains(w[i + 1]) {
                Self.setTone(&finals[i], "4")
            }
        }
    }

    /// _split_word: the shortest cut_for_search sub-word and the rest.
    func splitWord(_ w: [Unicode.Scalar]) -> ([Unicode.Scalar], [Unicode.Scalar]) {
        let parts = jieba.cutForSearch(w[...])
        // stable sort by length, take the shortest
        var first = Array(parts[0])
        for p in parts where p.count < first.count { first = Array(p) }
        if w.starts(with: first) { return (first, Array(w[first.count...])) }
        return (Array(w[..<(w.count - first.count)]), first)
    }

    private func inMustNeutral(_ w: [Unicode.Scalar]) -> Bool {
        words.mustNeutral.contains(String(scalars: w)) || words.mustNeutral.contains(String(scalars: w.suffix(2)))
    }

    private func neutralSandhi(_ w: [Unicode.Scalar], _ pos: String, _ finals: inout [String]) {
        let ws = String(scalars: w)
        if let p0 = pos.first, "nva".contains(p0), !words.mustNotNeutral.contains(ws) {
            for j in 1..<max(w.count, 1) where w.count > 1 && w[j] == w[j - 1] && j < finals.count { Self.setTone(&finals[j], "5") }
        }
        let geIdx = w.firstIndex(of: "个")
        guard let lastC = w.last, !finals.isEmpty else { return }
        let n = finals.count - 1
        if "吧呢哈啊呐噻嘛吖嗨呐哦哒额滴哩哟喽啰耶喔诶".unicodeScalars.contains(lastC) {
            Self.setTone(&finals[n], "5")
        } else if "的地得".unicodeScalars.contains(lastC) {
            Self.setTone(&finals[n], "5")
        } else if w.count == 1, "了着过".unicodeScalars.contains(lastC), ["ul", "uz", "ug"].contains(pos) {
            Self.setTone(&finals[n], "5")
        } else if w.count > 1, "们子".unicodeScalars.contains(lastC), ["r", "n"].contains(pos), !words.mustNotNeutral.contains(ws) {
            Self.setTone(&finals[n], "5")
        } else if w.count > 1, "上下里".unicodeScalars.contains(lastC), ["s", "l", "f"].contains(pos) {
            Self.setTone(&finals[n], "5")
        } else if w.count > 1, "来去".unicodeScalars.contains(lastC), "上下进出回过起开".unicodeScalars.contains(w[w.count - 2]) {
            Self.setTone(&finals[n], "5")
        } else if let g = geIdx, (g >= 1 && (Self.isNumeric(w[g - 1]) || "几有两半多各整每做是".unicodeScalars.contains(w[g - 1]))) || w == ["个"] {
            if g < finals.count { Self.setTone(&finals[g], "5") }
        } else if inMustNeutral(w) {
            Self.setTone(&finals[n], "5")
        }
        let (a, b) = splitWord(w)
        let cut = min(a.count, finals.count)
        var fa = Array(finals[..<cut]), fb = Array(finals[cut...])
        if inMustNeutral(a), !fa.isEmpty { Self.setTone(&fa[fa.count - 1], "5") }
        if inMustNeutral(b), !fb.isEmpty { Self.setTone(&fb[fb.count - 1], "5") }
        finals = fa + fb
    }

    private func allThree(_ f: ArraySlice<String>) -> Bool { f.allSatisfy { $0.last == "3" } }

    private func threeSandhi(_ w: [Unicode.Scalar], _ finals: inout [String]) {
        guard finals.count == w.count else { return }
        if w.count == 2, allThree(finals[...]) {
            Self.setTone(&finals[0], "2")
        } else if w.count == 3 {
            let (a, _) = splitWord(w)
            if allThree(finals[...]) {
                if a.count == 2 { Self.setTone(&finals[0], "2"); Self.setTone(&finals[1], "2") } else if a.count == 1 {
                    Self.setTone(&finals[1], "2")
                }
            } else {
                var parts = [Array(finals[..<a.count]), Array(finals[a.count...])]
                for i in 0..<2 {
                    let sub = parts[i]
                    if allThree(sub[...]), sub.count == 2 {
                        Self.setTone(&parts[i][0], "2")
                    } else if i == 1, !allThree(sub[...]), sub.first?.last == "3", parts[0].last?.last == "3" {
                        Self.setTone(&parts[0][parts[0].count - 1], "2")
                    }
                }
                finals = parts[0] + parts[1]
            }
        } else if w.count == 4 {
            var a = Array(finals[..<2]), b = Array(finals[2...])
            if allThree(a[...]) { Self.setTone(&a[0], "2") }
            if allThree(b[...]) { Self.setTone(&b[0], "2") }
            finals = a + b
        }
    }

    /// modified_tone.
    func modifiedTone(_ w: [Unicode.Scalar], _ pos: String, _ finals: [String]) -> [String] {
        var f = finals
        guard f.count == w.count else { return f }
        buSandhi(w, &f)
        yiSandhi(w, &f)
        neutralSandhi(w, pos, &f)
        threeSandhi(w, &f)
        return f
    }
}
