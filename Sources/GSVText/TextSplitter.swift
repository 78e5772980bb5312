import Foundation

// Follows GPT_SoVITS/TTS_infer_pack/text_segmentation_method.py (split, split_big_text, cut0…cut5) and
// TextPreprocessor.py (replace_consecutive_punctuation, pre_seg_text, get_first, filter_text,
// merge_short_text_in_array). Lengths count Unicode scalars, like Python `len`.

/// The official text splitting methods.
public enum TextSplitMethod: String, Sendable, CaseIterable, Codable {
    /// 不切: no split.
    case cut0
    /// 凑四句一切: groups of four sentences.
    case cut1
    /// 凑50字一切: groups of about 50 characters.
    case cut2
    /// 按中文句号。切: split at `。`.
    case cut3
    /// 按英文句号.切: split at `.` (not between digits).
    case cut4
    /// 按标点符号切: split after every punctuation mark.
    case cut5

    /// Parses a method name (`cut0`…`cut5`).
    public init(parsing raw: String) throws {
        guard let m = TextSplitMethod(rawValue: raw.lowercased()) else { throw TextError.unknownSplitMethod(raw) }
        self = m
    }
}

/// Splitting target text into the pieces synthesis runs one by one.
public enum TextSplitter {
    typealias S = [Unicode.Scalar]

    /// Sentence-ending marks (`splits`).
    public static let splits: Set<Unicode.Scalar> = Set("，。？！,.?!~:：—…".unicodeScalars)
    /// Characters a piece may not consist of only (`punctuation` of text_segmentation_method.py).
    static let punctuationOnly: Set<Unicode.Scalar> = Set("!?…,.- ".unicodeScalars)
    private static let cut5Marks: Set<Unicode.Scalar> = Set(",.;?!、，。？！：…".unicodeScalars)

    private static func onlyOf(_ s: S, _ set: Set<Unicode.Scalar>) -> Bool { s.allSatisfy { set.contains($0) } }
    private static func isPyDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.numericType == .decimal || c.properties.numericType == .digit
    }
    private static func stripping(_ s: S, _ c: Unicode.Scalar) -> S {
        var a = s[...]
        while a.first == c { a = a.dropFirst() }
        while a.last == c { a = a.dropLast() }
        return Array(a)
    }
    private static func replacing(_ s: S, _ a: S, _ b: S) -> S {
        S(String(scalars: s).replacingOccurrences(of: String(scalars: a), with: String(scalars: b)).unicodeScalars)
    }

    /// `split`: cut after every sentence mark (after turning "……" into "。" and "——" into "，").
    static func sentences(_ text: S) -> [S] {
        var t = replacing(replacing(text, S("……".unicodeScalars), ["。"]), S("——".unicodeScalars), ["，"])
        if let l = t.last, !splits.contains(l) { t.append("。") }
        if t.isEmpty { return [] }
        var out: [S] = []
        var tail = 0
        for (i, c) in t.enumerated() where splits.contains(c) { out.append(Array(t[tail...i])); tail = i + 1 }
        return out
    }

    /// Applies one method; the result separates pieces with "\n" (as the official methods return).
    public static func apply(_ method: TextSplitMethod, to text: String) -> String {
        let inp = text.scalars
        let stripped = stripping(inp, "\n")
        let join: ([S]) -> String = { $0.map { String(scalars: $0) }.joined(separator: "\n") }
        switch method {
        case .cut0:
            return onlyOf(inp, punctuationOnly) ? "\n" : text
        case .cut1:
            let parts = sentences(stripped)
            var opts: [S] = []
            let starts = Array(stride(from: 0, to: parts.count, by: 4))
            if starts.count > 1 {
                for k in 0..<(starts.count - 1) {
                    let end = k + 1 == starts.count - 1 ? parts.count : starts[k + 1]
                    opts.append(parts[starts[k]..<end].flatMap { $0 })
                }
            } else { opts = [stripped] }
            return join(opts.filter { !onlyOf($0, punctuationOnly) })
        case .cut2:
            let parts = sentences(stripped)
            if parts.count < 2 { return String(scalars: stripped) }
            var opts: [S] = []
            var sum = 0
            var tmp: S = []
            for p in parts {
                sum += p.count; tmp += p
                if sum > 50 { sum = 0; opts.append(tmp); tmp = [] }
            }
            if !tmp.isEmpty { opts.append(tmp) }
            if opts.count > 1, let last = opts.last, last.count < 50 {
                opts[opts.count - 2] += last; opts.removeLast()
            }
            return join(opts.filter { !onlyOf($0, punctuationOnly) })
        case .cut3:
            let parts = stripping(stripped, "。").split(separator: "。", omittingEmptySubsequences: false).map(Array.init)
            return join(parts.filter { !onlyOf($0, punctuationOnly) })
        case .cut4:
            let t = stripping(stripped, ".")
            var parts: [S] = []
            var cur: S = []
            for (i, c) in t.enumerated() {
                if c == ".", !(i > 0 && isASCIIDigitish(t[i - 1])), !(i + 1 < t.count && isASCIIDigitish(t[i + 1])) {
                    parts.append(cur); cur = []
                } else { cur.append(c) }
            }
            parts.append(cur)
            return join(parts.filter { !onlyOf($0, punctuationOnly) })
        case .cut5:
            var merged: [S] = []
            var items: S = []
            for (i, c) in stripped.enumerated() {
                items.append(c)
                if cut5Marks.contains(c) {
                    if c == ".", i > 0, i < stripped.count - 1, isPyDigit(stripped[i - 1]), isPyDigit(stripped[i + 1]) { continue }
                    merged.append(items); items = []
                }
            }
            if !items.isEmpty { merged.append(items) }
            return join(merged.filter { !onlyOf($0, cut5Marks) })
        }
    }

    /// Python regex `\d` (Unicode decimal digits).
    private static func isASCIIDigitish(_ c: Unicode.Scalar) -> Bool { c.properties.numericType == .decimal }

    /// replace_consecutive_punctuation: runs of `! ? … , . -` collapse to their first mark.
    public static func replaceConsecutivePunctuation(_ text: String) -> String {
        ChineseNormalizer.collapsePunctuation(text)
    }

    /// split_big_text: pieces of at most `maxLength` characters cut at sentence marks.
    public static func splitBigText(_ text: String, maxLength: Int = 510) -> [String] {
        var pieces: [S] = []
        var cur: S = []
        for c in text.unicodeScalars {
            if splits.contains(c) { pieces.append(cur); pieces.append([c]); cur = [] } else { cur.append(c) }
        }
        pieces.append(cur)
        var result: [String] = []
        var segment: S = []
        for p in pieces {
            if segment.count + p.count > maxLength { result.append(String(scalars: segment)); segment = p } else { segment += p }
        }
        if !segment.isEmpty { result.append(String(scalars: segment)) }
        return result
    }

    private static func hasWordCharacter(_ s: S) -> Bool {
        let letters: Set<Unicode.GeneralCategory> = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter]
        return s.contains { $0 == "_" || letters.contains($0.properties.generalCategory) || $0.properties.numericType != nil }
    }

    /// TextPreprocessor.pre_seg_text: the pieces `TTS.run` synthesises, in order.
    /// - Throws: `TextError.noValidText` where the official code raises "请输入有效文本".
    public static func preSegment(_ text: String, language: TextLanguage, method: TextSplitMethod) throws -> [String] {
        var t = stripping(text.scalars, "\n")
        if t.isEmpty { return [] }
        let stop: Unicode.Scalar = language == .en ? "." : "。"
        // get_first: text up to the first sentence mark, stripped
        let first = String(scalars: t.prefix { !splits.contains($0) }).trimmingCharacters(in: .whitespacesAndNewlines)
        if let c = t.first, !splits.contains(c), first.unicodeScalars.count < 4 { t.insert(stop, at: 0) }
        var out = apply(method, to: String(scalars: t))
        while out.contains("\n\n") { out = out.replacingOccurrences(of: "\n\n", with: "\n") }
        let pieces0 = out.components(separatedBy: "\n")
        if pieces0.allSatisfy({ $0 == " " || $0 == "\n" || $0.isEmpty }) { throw TextError.noValidText }
        let pieces = pieces0.filter { $0 != " " && !$0.isEmpty }
        // merge_short_text_in_array(pieces, 5)
        var merged: [String] = []
        if pieces.count < 2 { merged = pieces } else {
            var acc = ""
            for p in pieces {
                acc += p
                if acc.unicodeScalars.count >= 5 { merged.append(acc); acc = "" }
            }
            if !acc.isEmpty { if merged.isEmpty { merged.append(acc) } else { merged[merged.count - 1] += acc } }
        }
        var texts: [String] = []
        for p in merged {
            if p.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
            var s = p.scalars
            if !hasWordCharacter(s) { continue }
            if let l = s.last, !splits.contains(l) { s.append(stop) }
            if s.count > 510 { texts += splitBigText(String(scalars: s)) } else { texts.append(String(scalars: s)) }
        }
        return texts
    }

    /// TextPreprocessor.preprocess's text part: consecutive punctuation collapsed, then pre_seg_text.
    public static func segment(_ text: String, language: TextLanguage, method: TextSplitMethod) throws -> [String] {
        try preSegment(replaceConsecutivePunctuation(text), language: language, method: method)
    }
}
