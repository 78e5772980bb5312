import Foundation

// Follows GPT_SoVITS/text/english.py: text_normalize, replace_consecutive_punctuation and
// GPT_SoVITS/text/en_normalization/expend.py: normalize (with _convert_ordinal, replace_asmd,
// replace_negative_num, _remove_commas, _expand_time, _expand_measurement, _expand_pounds,
// _expand_dollars, _expand_decimal_number, _expend_fraction, _expand_ordinal, _expand_number).
// Each regular-expression substitution of the official code is a hand-written left-to-right scanner
// over Unicode scalars (Python indexes strings by code point) that finds the same leftmost matches.
// Where the official code raises on odd input (int("(5") for "(5$", numbers longer than 36 digits)
// we keep going instead: money amounts read their digits only, overlong numbers are read digit by digit.

typealias Scalars = [Unicode.Scalar]

enum EnglishNormalizer {
    // MARK: character classes

    @inline(__always) static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    @inline(__always) static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
    }
    /// `\w` of Python's `re` on str: `str.isalnum()` characters and the underscore.
    @inline(__always) static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x5F
        }
        let p = c.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return p.numericType != nil
        }
    }
    @inline(__always) static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
    @inline(__always) static func isUnicodeDigit(_ c: Unicode.Scalar) -> Bool {
        isASCIIDigit(c) || (!c.isASCII && c.properties.numericType == .decimal)
    }
    static let superscripts: Set<Unicode.Scalar> = Set("⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ".unicodeScalars)
    static let punctuation: Set<Unicode.Scalar> = Set("!?…,.-".unicodeScalars)

    @inline(__always) static func s(_ text: String) -> Scalars { Array(text.unicodeScalars) }
    @inline(__always) static func str(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }

    /// `\b` at position i.
    @inline(__always) static func boundary(_ t: Scalars, _ i: Int) -> Bool {
        let before = i > 0 && isWord(t[i - 1])
        let after = i < t.count && isWord(t[i])
        return before != after
    }

    /// End of the ASCII digit run starting at i.
    @inline(__always) static func digitRun(_ t: Scalars, _ i: Int) -> Int {
        var j = i
        while j < t.count, isASCIIDigit(t[j]) { j += 1 }
        return j
    }

    /// Generic `re.sub`: `match(t, i)` tries a match starting exactly at i.
    static func substitute(_ t: Scalars, _ match: (Scalars, Int) -> (end: Int, replacement: Scalars)?) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(t.count + 16)
        var i = 0
        while i < t.count {
            if let m = match(t, i), m.end > i {
                out.append(contentsOf: m.replacement)
                i = m.end
            } else {
                out.append(t[i])
                i += 1
            }
        }
        return out
    }

    // MARK: entry point

    /// english.text_normalize.
    static func normalize(_ text: String) -> String {
        var t = replaceRepMap(s(text))
        t = expand(t)
        t = replaceConsecutivePunctuation(t)
        return str(t)
    }

    /// `rep_map` as the official code applies it: its keys are escaped, so the two character-class
    /// keys only match their literal text; "。！？" become ". ! ?".
    static func replaceRepMap(_ t: Scalars) -> Scalars {
        let table: [(Scalars, Scalars)] = [(s("[;:：，；]"), s(",")), (s("[\"’]"), s("'")),
                                          (s("。"), s(".")), (s("！"), s("!")), (s("？"), s("?"))]
        return substitute(t) { t, i in
            for (key, value) in table where t[i] == key[0] && i + key.count <= t.count
                && t[i..<(i + key.count)].elementsEqual(key) {
                return (i + key.count, value)
            }
            return nil
        }
    }

    /// english.replace_consecutive_punctuation: a punctuation mark or space followed by
    /// punctuation marks keeps only the first character.
    static func replaceConsecutivePunctuation(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard punctuation.contains(t[i]) || isSpace(t[i]), i + 1 < t.count, punctuation.contains(t[i + 1]) else { return nil }
            var j = i + 1
            while j < t.count, punctuation.contains(t[j]) { j += 1 }
            return (j, [t[i]])
        }
    }

    /// en_normalization/expend.normalize.
    static func expand(_ input: Scalars) -> Scalars {
        var t = input
        t = convertOrdinalDots(t)
        while true {
            let next = replaceArithmetic(t)
            if next == t { break }
            t = next
        }
        t = replaceNegative(t)
        t = removeNumberCommas(t)
        t = expandTime(t)
        t = expandMeasurement(t)
        t = expandMoney(t, symbol: "£", symbolFirst: true, extraClass: nil, units: ("pound", "pounds", "penny", "pence"))
        t = expandMoney(t, symbol: "£", symbolFirst: false, extraClass: nil, units: ("pound", "pounds", "penny", "pence"))
        t = expandMoney(t, symbol: "$", symbolFirst: true, extraClass: nil, units: ("dollar", "dollars", "cent", "cents"))
        t = expandMoney(t, symbol: "$", symbolFirst: false, extraClass: "(", units: ("dollar", "dollars", "cent", "cents"))
        t = expandDecimal(t)
        t = expandFraction(t)
        t = expandOrdinal(t)
        t = expandNumbers(t)
        t = stripAccents(t)
        t = substitute(t) { t, i in t[i] == "%" ? (i + 1, s(" percent")) : nil }
        t = t.filter { isASCIILetter($0) || " '.,?!-".unicodeScalars.contains($0) }
        t = replaceCaseInsensitive(t, "i.e.", "that is")
        t = replaceCaseInsensitive(t, "e.g.", "for example")
        t = splitCapitals(t)
        return t
    }

    // MARK: steps

    /// `\b([0-9]+)\. ` → "<n>st, " (inflect ordinal of the digits).
    static func convertOrdinalDots(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), boundary(t, i) else { return nil }
            let j = digitRun(t, i)
            guard j + 1 < t.count, t[j] == ".", t[j + 1] == " " else { return nil }
            return (j + 2, s(EnglishNumbers.ordinalSuffix(digits: str(t[i..<j])) + ", "))
        }
    }

    /// One operand of RE_ASMD starting at i: `-?\d+(\.\d+)?S*` | `\.\d+S*` | `[A-Za-z]S*`.
    static func operandEnd(_ t: Scalars, _ i: Int) -> Int? {
        guard i < t.count else { return nil }
        func sups(_ k: Int) -> Int { var k = k; while k < t.count, superscripts.contains(t[k]) { k += 1 }; return k }
        func digits(_ k: Int) -> Int { var k = k; while k < t.count, isUnicodeDigit(t[k]) { k += 1 }; return k }
        var k = i
        if t[k] == "-" { k += 1 }
        let d = digits(k)
        if d > k {
            var e = d
            if e + 1 < t.count, t[e] == ".", isUnicodeDigit(t[e + 1]) { e = digits(e + 1) }
            return sups(e)
        }
        if t[i] == ".", i + 1 < t.count, isUnicodeDigit(t[i + 1]) { return sups(digits(i + 1)) }
        if isASCIILetter(t[i]) { return sups(i + 1) }
        return nil
    }

    /// RE_ASMD / replace_asmd: "a + b" → "a plus b" (one pass of re.sub).
    static func replaceArithmetic(_ t: Scalars) -> Scalars {
        let words: [Unicode.Scalar: String] = ["+": " plus ", "-": " minus ", "×": " times ", "÷": " divided by ", "=": " Equals "]
        return substitute(t) { t, i in
            guard let e1 = operandEnd(t, i) else { return nil }
            var k = e1
            while k < t.count, isSpace(t[k]) { k += 1 }
            guard k > e1, k < t.count, let op = words[t[k]] else { return nil }
            var m = k + 1
            while m < t.count, isSpace(t[m]) { m += 1 }
            guard m > k + 1, let e2 = operandEnd(t, m) else { return nil }
            return (e2, Array(t[i..<e1]) + s(op) + Array(t[m..<e2]))
        }
    }

    /// RE_INTEGER / replace_negative_num: "(^|\s+)-(\d+)" → "negative <digits>" (the spaces go).
    static func replaceNegative(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            var k = i
            if !(i == 0 && t[i] == "-") {
                guard isSpace(t[i]) else { return nil }
                while k < t.count, isSpace(t[k]) { k += 1 }
            }
            guard k + 1 < t.count, t[k] == "-", isUnicodeDigit(t[k + 1]) else { return nil }
            var e = k + 1
            while e < t.count, isUnicodeDigit(t[e]) { e += 1 }
            return (e, s("negative ") + Array(t[(k + 1)..<e]))
        }
    }

    /// `([0-9][0-9\,]+[0-9])` → without commas.
    static func removeNumberCommas(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]) else { return nil }
            var j = i + 1
            var lastDigit = -1
            while j < t.count, isASCIIDigit(t[j]) || t[j] == "," {
                if isASCIIDigit(t[j]) { lastDigit = j }
                j += 1
            }
            guard lastDigit >= i + 2 else { return nil }
            return (lastDigit + 1, t[i...lastDigit].filter { $0 != "," })
        }
    }

    /// `\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b` → "one thirty p.m." / "four o'clock a.m.".
    static func expandTime(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), boundary(t, i) else { return nil }
            func digit(_ k: Int) -> Int? { k < t.count && isASCIIDigit(t[k]) ? Int(t[k].value - 48) : nil }
            var options: [(hours: Int, end: Int)] = []
            if let a = digit(i), a <= 1, let b = digit(i + 1) { options.append((a * 10 + b, i + 2)) }
            if let a = digit(i) { options.append((a, i + 1)) }
            if let a = digit(i), a == 2, let b = digit(i + 1), b <= 3 { options.append((20 + b, i + 2)) }
            for (hoursIn, e) in options {
                guard e < t.count, t[e] == ":", let m1 = digit(e + 1), m1 <= 5, let m2 = digit(e + 2),
                      boundary(t, e + 3) else { continue }
                var hours = hoursIn
                let minutes = m1 * 10 + m2
                let period = hours < 12 ? "a.m." : "p.m."
                if hours > 12 { hours -= 12 }
                let hourWord = smallWords(hours)
                let text = minutes == 0 ? "\(hourWord) o'clock \(period)" : "\(hourWord) \(smallWords(minutes)) \(period)"
                return (e + 3, s(text))
            }
            return nil
        }
    }

    /// number_to_words for a small non-negative Int (default andword).
    static func smallWords(_ n: Int) -> String {
        (try? EnglishNumbers.words(digits: String(n))) ?? String(n)
    }

    static let measurementUnits: [(String, String, String)] = [
        ("m", "meter", "meters"), ("km", "kilometer", "kilometers"), ("km/h", "kilometer per hour", "kilometers per hour"),
        ("ft", "feet", "feet"), ("L", "liter", "liters"), ("tbsp", "tablespoon", "tablespoons"),
        ("tsp", "teaspoon", "teaspoons"), ("h", "hour", "hours"), ("min", "minute", "minutes"),
        ("s", "second", "seconds"), ("°C", "degree celsius", "degrees celsius"), ("°F", "degree fahrenheit", "degrees fahrenheit"),
    ]

    /// `\b([0-9]+(\.[0-9]+)?(m|km|…|°F))\b` → "<number> <unit word>".
    static func expandMeasurement(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), boundary(t, i) else { return nil }
            let j = digitRun(t, i)
            var u = j
            var hasDecimal = false
            if j + 1 < t.count, t[j] == ".", isASCIIDigit(t[j + 1]) {
                u = digitRun(t, j + 1)
                hasDecimal = true
            }
            for (sign, one, many) in measurementUnits {
                let us = s(sign)
                guard u + us.count <= t.count, t[u..<(u + us.count)].elementsEqual(us), boundary(t, u + us.count) else { continue }
                let isOne = !hasDecimal && t[i..<j].drop(while: { $0 == "0" }).elementsEqual(["1"])
                return (u + us.count, Array(t[i..<u]) + s(" " + (isOne ? one : many)))
            }
            return nil
        }
    }

    /// `£([0-9\.\,]*[0-9]+)`, `([0-9\.\,]*[0-9]+)£`, `\$([0-9\.\,]*[0-9]+)`, `([(0-9\.\,]*[0-9]+)\$`.
    static func expandMoney(_ t: Scalars, symbol: Unicode.Scalar, symbolFirst: Bool, extraClass: Unicode.Scalar?,
                            units: (String, String, String, String)) -> Scalars {
        func inClass(_ c: Unicode.Scalar) -> Bool { isASCIIDigit(c) || c == "." || c == "," || c == extraClass }
        return substitute(t) { t, i in
            if symbolFirst {
                guard t[i] == symbol else { return nil }
                var j = i + 1
                var lastDigit = -1
                while j < t.count, inClass(t[j]) {
                    if isASCIIDigit(t[j]) { lastDigit = j }
                    j += 1
                }
                guard lastDigit > i else { return nil }
                return (lastDigit + 1, s(moneyWords(str(t[(i + 1)...lastDigit]), units)))
            } else {
                guard inClass(t[i]) else { return nil }
                var j = i
                while j < t.count, inClass(t[j]) { j += 1 }
                guard j < t.count, t[j] == symbol, isASCIIDigit(t[j - 1]) else { return nil }
                return (j + 1, s(moneyWords(str(t[i..<j]), units)))
            }
        }
    }

    /// Python `str(int(text))` for a digit string (non-digits ignored; empty → "0").
    static func canonicalInteger(_ text: Substring) -> String {
        let digits = text.unicodeScalars.filter { isASCIIDigit($0) }.drop(while: { $0 == "0" })
        return digits.isEmpty ? "0" : str(digits)
    }

    /// _expand_pounds / _expand_dollars.
    static func moneyWords(_ match: String, _ u: (one: String, many: String, subOne: String, subMany: String)) -> String {
        let parts = match.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 2 { return match + " " + u.many }
        let whole = parts[0].isEmpty ? "0" : canonicalInteger(parts[0])
        var sub = "0"
        if parts.count > 1, !parts[1].isEmpty {
            var p = String(parts[1])
            while p.unicodeScalars.count < 2 { p += "0" }
            sub = canonicalInteger(Substring(p))
        }
        let wholeUnit = whole == "1" ? u.one : u.many
        let subUnit = sub == "1" ? u.subOne : u.subMany
        switch (whole != "0", sub != "0") {
        case (true, true): return "\(whole) \(wholeUnit) and \(sub) \(subUnit)"
        case (true, false): return "\(whole) \(wholeUnit)"
        case (false, true): return "\(sub) \(subUnit)"
        case (false, false): return "zero \(u.many)"
        }
    }

    /// `([0-9]+\.\s*[0-9]+)` → "<int> point d d d".
    static func expandDecimal(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), i == 0 || !isASCIIDigit(t[i - 1]) else { return nil }
            let j = digitRun(t, i)
            guard j < t.count, t[j] == "." else { return nil }
            var k = j + 1
            while k < t.count, isSpace(t[k]) { k += 1 }
            guard k < t.count, isASCIIDigit(t[k]) else { return nil }
            let e = digitRun(t, k)
            var out = Array(t[i..<j]) + s(" point ")
            for (n, c) in t[(j + 1)..<e].enumerated() {
                if n > 0 { out.append(" ") }
                out.append(c)
            }
            return (e, out)
        }
    }

    /// Words of a digit string (default inflect options), or the digits spelled one by one when the
    /// number has more groups than inflect can name.
    static func numberWords(_ digits: String, andword: String = "and") -> String {
        if let w = try? EnglishNumbers.words(digits: digits, andword: andword) { return w }
        return digits.unicodeScalars.map { smallWords(Int($0.value - 48)) }.joined(separator: " ")
    }

    /// `([0-9]+/[0-9]+)` → "three fourths", "one half", "three halves".
    static func expandFraction(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), i == 0 || !isASCIIDigit(t[i - 1]) else { return nil }
            let j = digitRun(t, i)
            guard j + 1 < t.count, t[j] == "/", isASCIIDigit(t[j + 1]) else { return nil }
            let e = digitRun(t, j + 1)
            let numerator = canonicalInteger(Substring(str(t[i..<j])))
            let denominator = canonicalInteger(Substring(str(t[(j + 1)..<e])))
            let numeratorWords = numberWords(numerator)
            let text: String
            if denominator == "2" {
                text = numeratorWords + (numerator == "1" ? " half" : " halves")
            } else if denominator == "1" {
                text = numeratorWords
            } else {
                var d = EnglishNumbers.ordinalOfWords(numberWords(denominator))
                if numerator != "0" && numerator != "1" { d += "s" }
                text = numeratorWords + " " + d
            }
            return (e, s(text))
        }
    }

    /// `[0-9]+(st|nd|rd|th)` → "fifth".
    static func expandOrdinal(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]), i == 0 || !isASCIIDigit(t[i - 1]) else { return nil }
            let j = digitRun(t, i)
            guard j + 1 < t.count else { return nil }
            let suffix = str(t[j..<(j + 2)])
            guard ["st", "nd", "rd", "th"].contains(suffix) else { return nil }
            let digits = str(t[i..<j])
            let words = (try? EnglishNumbers.words(digits: digits, ordinal: true))
                ?? (numberWords(digits) + " " + suffix)
            return (j + 2, s(words))
        }
    }

    /// `[0-9]+` → _expand_number (years 1001–2999 read in pairs).
    static func expandNumbers(_ t: Scalars) -> Scalars {
        substitute(t) { t, i in
            guard isASCIIDigit(t[i]) else { return nil }
            let j = digitRun(t, i)
            let digits = canonicalInteger(Substring(str(t[i..<j])))
            if digits.count == 4, let num = Int(digits), num > 1000, num < 3000 {
                let text: String
                if num == 2000 {
                    text = "two thousand"
                } else if num > 2000, num < 2010 {
                    text = "two thousand " + numberWords(String(num % 100), andword: "")
                } else if num % 100 == 0 {
                    text = numberWords(String(num / 100), andword: "") + " hundred"
                } else {
                    text = EnglishNumbers.yearWords(num)
                }
                return (j, s(text))
            }
            return (j, s(numberWords(digits, andword: "")))
        }
    }

    /// NFD, then drop nonspacing marks (category Mn).
    static func stripAccents(_ t: Scalars) -> Scalars {
        if t.allSatisfy({ $0.isASCII }) { return t }
        let decomposed = str(t).decomposedStringWithCanonicalMapping
        return decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
    }

    /// Case-insensitive literal replacement (ASCII needle).
    static func replaceCaseInsensitive(_ t: Scalars, _ needle: String, _ replacement: String) -> Scalars {
        let n = s(needle)
        let r = s(replacement)
        return substitute(t) { t, i in
            guard i + n.count <= t.count else { return nil }
            for k in 0..<n.count {
                let a = t[i + k], b = n[k]
                if a == b { continue }
                if isASCIILetter(a), a.value | 0x20 == b.value { continue }
                return nil
            }
            return (i + n.count, r)
        }
    }

    /// `(?<!^)(?<![\s])([A-Z])` → " \1".
    static func splitCapitals(_ t: Scalars) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(t.count + 8)
        for (i, c) in t.enumerated() {
            if i > 0, c.value >= 0x41, c.value <= 0x5A, !isSpace(t[i - 1]) { out.append(" ") }
            out.append(c)
        }
        return out
    }
}
