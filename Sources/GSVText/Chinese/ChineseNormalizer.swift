import Foundation

// Follows GPT_SoVITS/text/zh_normalization/text_normlization.py: TextNormalizer (_split,
// normalize_sentence, _post_replace) with chronology.py, num.py, phonecode.py, quantifier.py,
// constants.py; and GPT_SoVITS/text/chinese2.py: replace_punctuation, text_normalize.

/// A compiled regular expression with a Python-`re.sub`-like helper.
struct Pattern: @unchecked Sendable { // NSRegularExpression is immutable and documented thread-safe
    let re: NSRegularExpression
    init(re: NSRegularExpression) { self.re = re }
    init(_ p: String) {
        do { re = try NSRegularExpression(pattern: p, options: []) } catch {
            preconditionFailure("invalid built-in pattern \(p): \(error)")
        }
    }

    /// Replaces every match; `f` receives the groups (index 0 = whole match, nil = group did not match).
    func sub(_ s: String, _ f: ([String?]) -> String) -> String {
        let ns = s as NSString
        let matches = re.matches(in: s, range: NSRange(location: 0, length: ns.length))
        if matches.isEmpty { return s }
        var out = ""
        var last = 0
        for m in matches {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            var groups: [String?] = []
            for g in 0..<m.numberOfRanges {
                let r = m.range(at: g)
                groups.append(r.location == NSNotFound ? nil : ns.substring(with: r))
            }
            out += f(groups)
            last = m.range.location + m.range.length
        }
        out += ns.substring(from: last)
        return out
    }

    func sub(_ s: String, template: String) -> String {
        let ns = s as NSString
        return re.stringByReplacingMatches(in: s, range: NSRange(location: 0, length: ns.length), withTemplate: template)
    }

    func matches(_ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(location: 0, length: (s as NSString).length)) != nil
    }
}

/// Chinese text normalisation as the official `chinese2.text_normalize`.
public struct ChineseNormalizer: Sendable {
    private let t2s: [Unicode.Scalar: Unicode.Scalar]
    private let positiveQuantifierRe: Pattern

    /// Loads the traditional→simplified table.
    public init() throws {
        var m: [Unicode.Scalar: Unicode.Scalar] = [:]
        for line in try DataFiles.text("zh/t2s.txt").split(separator: "\n") {
            let u = Array(line.unicodeScalars)
            guard u.count == 3, u[1] == "\t" else {
                throw TextError.dataUnavailable(name: "zh/t2s.txt", reason: "bad line '\(line)'")
            }
            m[u[0]] = u[2]
        }
        t2s = m
        let q = try DataFiles.text("zh/quantifiers.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            positiveQuantifierRe = Pattern(re: try NSRegularExpression(pattern: #"(\d+)([多余几\+])?"# + q))
        } catch {
            throw TextError.dataUnavailable(name: "zh/quantifiers.txt", reason: "\(error)")
        }
    }

    // MARK: patterns

    private static let splitRemove = Pattern(#"[——《》【】<>{}()（）#&@“”^_|\\]"#)
    private static let sentenceSplitter = Pattern(#"([：、，；。？！,;?!][”’]?)"#)
    private static let timeRe = Pattern(#"([0-1]?[0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?"#)
    private static let timeRangeRe = Pattern(
        #"([0-1]?[0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?(~|-)([0-1]?[0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?"#)
    private static let dateRe = Pattern(#"(\d{4}|\d{2})年((0?[1-9]|1[0-2])月)?(((0?[1-9])|((1|2)[0-9])|30|31)([日号]))?"#)
    private static let date2Re = Pattern(#"(\d{4})([- /.])(0[1-9]|1[012])\2(0[1-9]|[12][0-9]|3[01])"#)
    private static let unitAlt = "(%|°C|℃|度|摄氏度|cm2|cm²|cm3|cm³|cm|db|ds|kg|km|m2|m²|m³|m3|ml|m|mm|s)"
    private static let toRangeRe = Pattern(#"((-?)((\d+)(\.\d+)?)|(\.(\d+)))"# + unitAlt + #"[~]((-?)((\d+)(\.\d+)?)|(\.(\d+)))"# + unitAlt)
    private static let temperatureRe = Pattern(#"(-?)(\d+(\.\d+)?)(°C|℃|度|摄氏度)"#)
    private static let operand = #"((-?)((\d+)(\.\d+)?[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*)|(\.\d+[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*)|([A-Za-z][⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]*))"#
    private static let asmdRe = Pattern(operand + #"([\+\-\×÷=])"# + operand)
    private static let powerRe = Pattern(#"[⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ]+"#)
    private static let fracRe = Pattern(#"(-?)(\d+)/(\d+)"#)
    private static let percentRe = Pattern(#"(-?)(\d+(\.\d+)?)%"#)
    private static let mobileRe = Pattern(#"(?<!\d)((\+?86 ?)?1([38]\d|5[0-35-9]|7[678]|9[89])\d{8})(?!\d)"#)
    private static let telephoneRe = Pattern(#"(?<!\d)((0(10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})(?!\d)"#)
    private static let uniformRe = Pattern(#"(400)(-)?\d{3}(-)?\d{4}"#)
    private static let rangeRe = Pattern(#"(?<![\d\+\-\×÷=])((-?)((\d+)(\.\d+)?))[-~]((-?)((\d+)(\.\d+)?))(?![\d\+\-\×÷=])"#)
    private static let integerRe = Pattern(#"(-)(\d+)"#)
    private static let versionRe = Pattern(#"((\d+)(\.\d+)(\.\d+)?(\.\d+)+)"#)
    private static let decimalRe = Pattern(#"(-?)((\d+)(\.\d+))|(\.(\d+))"#)
    private static let defaultNumRe = Pattern(#"\d{3}\d*"#)
    private static let numberRe = Pattern(#"(-?)((\d+)(\.\d+)?)|(\.(\d+))"#)
    private static let postRemove = Pattern(#"[-——《》【】<=>{}()（）#&@“”^_|\\]"#)
    private static let measures: [(String, String)] = [
        ("cm2", "平方厘米"), ("cm²", "平方厘米"), ("cm3", "立方厘米"), ("cm³", "立方厘米"), ("cm", "厘米"),
        ("db", "分贝"), ("ds", "毫秒"), ("kg", "千克"), ("km", "千米"), ("m2", "平方米"), ("m²", "平方米"),
        ("m³", "立方米"), ("m3", "立方米"), ("ml", "毫升"), ("m", "米"), ("mm", "毫米"), ("s", "秒"),
    ]
    private static let postReplacements: [(String, String)] = [
        ("/", "每"), ("①", "一"), ("②", "二"), ("③", "三"), ("④", "四"), ("⑤", "五"), ("⑥", "六"), ("⑦", "七"),
        ("⑧", "八"), ("⑨", "九"), ("⑩", "十"), ("α", "阿尔法"), ("β", "贝塔"), ("γ", "伽玛"), ("Γ", "伽玛"),
        ("δ", "德尔塔"), ("Δ", "德尔塔"), ("ε", "艾普西龙"), ("ζ", "捷塔"), ("η", "依塔"), ("θ", "西塔"), ("Θ", "西塔"),
        ("ι", "艾欧塔"), ("κ", "喀帕"), ("λ", "拉姆达"), ("Λ", "拉姆达"), ("μ", "缪"), ("ν", "拗"), ("ξ", "克西"),
        ("Ξ", "克西"), ("ο", "欧米克伦"), ("π", "派"), ("Π", "派"), ("ρ", "肉"), ("ς", "西格玛"), ("Σ", "西格玛"),
        ("σ", "西格玛"), ("τ", "套"), ("υ", "宇普西龙"), ("φ", "服艾"), ("Φ", "服艾"), ("χ", "器"), ("ψ", "普赛"),
        ("Ψ", "普赛"), ("ω", "欧米伽"), ("Ω", "欧米伽"), ("+", "加"), ("-", "减"), ("×", "乘"), ("÷", "除"), ("=", "等"),
    ]

    // MARK: rules

    private static func timeNum(_ s: String) -> String {
        var r = ChineseNumbers.numToString(Substring(s).drop(while: { $0 == "0" }))
        if s.hasPrefix("0") { r = "零" + r }
        return r
    }

    private static func replaceTime(_ g: [String?], isRange: Bool) -> String {
        let hour = g[1] ?? "", minute = g[2] ?? "", second = g[4]
        var r = ChineseNumbers.numToString(Substring(hour)) + "点"
        if minute.contains(where: { $0 != "0" }) {
            r += Int(minute) == 30 ? "半" : timeNum(minute) + "分"
        }
        if let s = second, s.contains(where: { $0 != "0" }) { r += timeNum(s) + "秒" }
        if isRange {
            let h2 = g[6] ?? "", m2 = g[7] ?? "", s2 = g[9]
            r += "至" + ChineseNumbers.numToString(Substring(h2)) + "点"
            if m2.contains(where: { $0 != "0" }) {
                r += Int(minute) == 30 ? "半" : timeNum(m2) + "分" // official quirk: tests the first minute
            }
            if let s = s2, s.contains(where: { $0 != "0" }) { r += timeNum(s) + "秒" }
        }
        return r
    }

    private static func replaceNumber(_ g: [String?]) -> String {
        if let pure = g[5], !pure.isEmpty { return ChineseNumbers.numToString(Substring(pure)) }
        let sign = (g[1] ?? "").isEmpty ? "" : "负"
        return sign + ChineseNumbers.numToString(Substring(g[2] ?? ""))
    }

    private static func phoneToString(_ s: String, mobile: Bool) -> String {
        if mobile {
            let parts = s.trimmingCharacters(in: CharacterSet(charactersIn: "+")).split(whereSeparator: { $0.isWhitespace })
            return parts.map { ChineseNumbers.digitwise($0, altOne: true) }.joined(separator: "，")
        }
        return s.split(separator: "-", omittingEmptySubsequences: false)
            .map { ChineseNumbers.digitwise($0, altOne: true) }.joined(separator: "，")
    }

    /// normalize_sentence.
    func normalizeSentence(_ input: String) -> String {
        var s = String(String.UnicodeScalarView(input.unicodeScalars.map { c -> Unicode.Scalar in
            if let m = t2s[c] { return m }
            let v = c.value
            // full-width ASCII letters and digits → half-width; ideographic space → space
            if (0xFF21...0xFF3A).contains(v) || (0xFF41...0xFF5A).contains(v) || (0xFF10...0xFF19).contains(v) {
                return Unicode.Scalar(v - 65248) ?? c
            }
            if v == 0x3000 { return " " }
            return c
        }))
        let scalars = s.unicodeScalars
        let hasDigit = scalars.contains { $0.properties.numericType == .decimal }
        let hasLetter = scalars.contains { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
        let hasSuperscript = scalars.contains { "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ".unicodeScalars.contains($0) }
        // every rule below needs a digit, a letter or a superscript to match: skip them when there is none
        if hasDigit { s = digitRules(s) }
        if hasLetter || hasDigit || hasSuperscript { s = operatorRules(s) }
        if hasDigit || hasSuperscript { s = numberRules(s) }
        var post = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            if let r = Self.postMap[c] { post.append(contentsOf: r.unicodeScalars) } else { post.append(c) }
        }
        return Self.postRemove.sub(String(post), template: "")
    }

    private static let postMap: [Unicode.Scalar: String] = {
        var m: [Unicode.Scalar: String] = [:]
        for (k, v) in postReplacements { if let c = k.unicodeScalars.first, m[c] == nil { m[c] = v } }
        return m
    }()

    /// Dates, times, ranges with units, temperatures (need a digit).
    private func digitRules(_ input: String) -> String {
        var s = input
        s = Self.dateRe.sub(s) { g in
            var r = ""
            if let y = g[1], !y.isEmpty { r += ChineseNumbers.digitwise(Substring(y)) + "年" }
            if let m = g[3], !m.isEmpty { r += ChineseNumbers.cardinal(Substring(m)) + "月" }
            if let d = g[5], !d.isEmpty { r += ChineseNumbers.cardinal(Substring(d)) + (g[9] ?? "") }
            return r
        }
        s = Self.date2Re.sub(s) { g in
            ChineseNumbers.digitwise(Substring(g[1] ?? "")) + "年" + ChineseNumbers.cardinal(Substring(g[3] ?? "")) + "月"
                + ChineseNumbers.cardinal(Substring(g[4] ?? "")) + "日"
        }
        s = Self.timeRangeRe.sub(s) { Self.replaceTime($0, isRange: true) }
        s = Self.timeRe.sub(s) { Self.replaceTime($0, isRange: false) }
        s = Self.toRangeRe.sub(s) { ($0[0] ?? "").replacingOccurrences(of: "~", with: "至") }
        s = Self.temperatureRe.sub(s) { g in
            let sign = (g[1] ?? "").isEmpty ? "" : "零下"
            let unit = g[4] == "摄氏度" ? "摄氏度" : "度"
            return sign + ChineseNumbers.numToString(Substring(g[2] ?? "")) + unit
        }
        return s
    }

    /// Measure units, arithmetic, powers (need a letter or a digit).
    private func operatorRules(_ input: String) -> String {
        var s = input
        for (k, v) in Self.measures where s.contains(k) { s = s.replacingOccurrences(of: k, with: v) }
        let asmd: [String: String] = ["+": "加", "-": "减", "×": "乘", "÷": "除", "=": "等于"]
        var guardCount = 0
        while Self.asmdRe.matches(s), guardCount < 1000 {
            s = Self.asmdRe.sub(s) { g in (g[1] ?? "") + (asmd[g[8] ?? ""] ?? "") + (g[9] ?? "") }
            guardCount += 1
        }
        s = Self.powerRe.sub(s) { g in
            let map: [Character: Character] = ["⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                                               "⁷": "7", "⁸": "8", "⁹": "9", "ˣ": "x", "ʸ": "y", "ⁿ": "n"]
            return "的" + String((g[0] ?? "").map { map[$0] ?? $0 }) + "次方"
        }
        return s
    }

    /// Fractions, percentages, phone numbers, ranges, signs, versions, decimals, quantities, digit runs.
    private func numberRules(_ input: String) -> String {
        var s = input
        s = Self.fracRe.sub(s) { g in
            ((g[1] ?? "").isEmpty ? "" : "负") + ChineseNumbers.numToString(Substring(g[3] ?? "")) + "分之"
                + ChineseNumbers.numToString(Substring(g[2] ?? ""))
        }
        s = Self.percentRe.sub(s) { g in
            ((g[1] ?? "").isEmpty ? "" : "负") + "百分之" + ChineseNumbers.numToString(Substring(g[2] ?? ""))
        }
        s = Self.mobileRe.sub(s) { Self.phoneToString($0[0] ?? "", mobile: true) }
        s = Self.telephoneRe.sub(s) { Self.phoneToString($0[0] ?? "", mobile: false) }
        s = Self.uniformRe.sub(s) { Self.phoneToString($0[0] ?? "", mobile: false) }
        s = Self.rangeRe.sub(s) { g in
            Self.numberRe.sub(g[1] ?? "", Self.replaceNumber) + "到" + Self.numberRe.sub(g[6] ?? "", Self.replaceNumber)
        }
        s = Self.integerRe.sub(s) { g in ((g[1] ?? "").isEmpty ? "" : "负") + ChineseNumbers.numToString(Substring(g[2] ?? "")) }
        s = Self.versionRe.sub(s) { g in
            (g[1] ?? "").map { $0 == "." ? "点" : ChineseNumbers.numToString(Substring(String($0))) }.joined()
        }
        s = Self.decimalRe.sub(s, Self.replaceNumber)
        s = positiveQuantifierRe.sub(s) { g in
            var m2 = g[2] ?? ""
            if m2 == "+" { m2 = "多" }
            var n = ChineseNumbers.numToString(Substring(g[1] ?? ""))
            if n == "二" { n = "两" }
            return n + m2 + (g[3] ?? "")
        }
        s = Self.defaultNumRe.sub(s) { ChineseNumbers.digitwise(Substring($0[0] ?? ""), altOne: true) }
        s = Self.numberRe.sub(s, Self.replaceNumber)
        return s
    }

    /// TextNormalizer._split.
    func splitSentences(_ text: String) -> [String] {
        var t = text.replacingOccurrences(of: " ", with: "")
        t = Self.splitRemove.sub(t, template: "")
        t = Self.sentenceSplitter.sub(t, template: "$1\n")
        t = t.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.components(separatedBy: "\n").filter { !$0.isEmpty }.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .ifEmpty([""])
    }

    private static let punctMap: [(String, String)] = [
        ("：", ","), ("；", ","), ("，", ","), ("。", "."), ("！", "!"), ("？", "?"), ("\n", "."), ("·", ","), ("、", ","),
        ("...", "…"), ("$", "."), ("/", ","), ("—", "-"), ("~", "…"), ("～", "…"),
    ]
    private static let punctAlternation = Pattern(punctMap.map { NSRegularExpression.escapedPattern(for: $0.0) }.joined(separator: "|"))
    private static let keepOnly = Pattern(#"[^\u4e00-\u9fa5!?…,.\-]+"#)
    private static let consecutivePunct = Pattern(#"([!?…,.\-])([!?…,.\-])+"#)

    /// chinese2.replace_punctuation.
    static func replacePunctuation(_ text: String) -> String {
        let t = text.replacingOccurrences(of: "嗯", with: "恩").replacingOccurrences(of: "呣", with: "母")
        let map = Dictionary(uniqueKeysWithValues: punctMap)
        let r = punctAlternation.sub(t) { map[$0[0] ?? ""] ?? "" }
        return keepOnly.sub(r, template: "")
    }

    /// replace_consecutive_punctuation over `! ? … , . -`.
    public static func collapsePunctuation(_ text: String) -> String { consecutivePunct.sub(text, template: "$1") }

    /// chinese2.text_normalize: the text the Chinese G2P and BERT see.
    public func normalize(_ text: String) -> String {
        var out = ""
        for sentence in splitSentences(text) { out += Self.replacePunctuation(normalizeSentence(sentence)) }
        return Self.collapsePunctuation(out)
    }
}

extension Array {
    fileprivate func ifEmpty(_ other: [Element]) -> [Element] { isEmpty ? other : self }
}
