import Foundation

// Follows inflect 7.6.0 (MIT) engine.number_to_words / ordinal / _sub_ord for the calls made by
// GPT_SoVITS/text/en_normalization/expend.py: non-negative integers given as digit strings, with
// group 0 (the default: "one thousand, two hundred and three") or group 2 ("nineteen ninety"),
// an optional ordinal suffix ("5th" → "fifth"), and a custom `andword`/`zero`.
// The textual quirks of inflect are kept: commas between thousands groups, "and" before a final
// single word after a comma ("one thousand and one"), whitespace squeezed.

/// inflect-style English number words.
enum EnglishNumbers {
    static let units = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    static let teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                        "seventeen", "eighteen", "nineteen"]
    static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    static let mills = [" ", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion",
                        " sextillion", " septillion", " octillion", " nonillion", " decillion"]

    /// Error for numbers with more digit groups than inflect has names for (> 36 digits).
    struct OutOfRange: Error {}

    /// inflect tenfn.
    static func tenWords(_ t: Int, _ u: Int, _ mill: Int = 0) -> String {
        if t != 1 {
            return tens[t] + ((t != 0 && u != 0) ? "-" : "") + units[u] + mills[mill]
        }
        return teens[u] + mills[mill]
    }

    /// inflect hundfn.
    static func hundredWords(_ h: Int, _ t: Int, _ u: Int, _ mill: Int, andword: String) -> String {
        if h != 0 {
            let and = (t != 0 || u != 0) ? " \(andword) " : ""
            return "\(units[h]) hundred\(and)\(tenWords(t, u))\(mills[mill]), "
        }
        if t != 0 || u != 0 { return "\(tenWords(t, u))\(mills[mill]), " }
        return ""
    }

    /// `number_to_words(digits, group: 0, andword:, zero:)`, with `digits` only 0–9 (may have
    /// leading zeros) and an optional ordinal flag (the input ended in st/nd/rd/th).
    static func words(digits: String, andword: String = "and", zero: String = "zero", ordinal: Bool = false) throws(OutOfRange) -> String {
        let d = digits.utf8.map { Int($0) - 48 }
        var chunk: String
        if d.allSatisfy({ $0 == 0 }) {
            chunk = zero
        } else if d.drop(while: { $0 == 0 }).elementsEqual([1]) {
            chunk = "one"
        } else {
            let sig = Array(d.drop(while: { $0 == 0 }))
            // Three-digit groups from the right, then the 1–2 leading digits.
            var pieces: [String] = []
            var end = sig.count
            var mill = 0
            while end >= 3 {
                guard mill < mills.count else { throw OutOfRange() }
                pieces.append(hundredWords(sig[end - 3], sig[end - 2], sig[end - 1], mill, andword: andword))
                mill += 1
                end -= 3
            }
            if end > 0 {
                guard mill < mills.count else { throw OutOfRange() }
                if end == 2 {
                    pieces.append(tenWords(sig[0], sig[1], mill) + ", ")
                } else {
                    pieces.append(units[sig[0]] + mills[mill] + ", ")
                }
            }
            chunk = pieces.reversed().joined()
        }
        chunk = cleanChunk(chunk, andword: andword, firstGroupZero: true)
        if ordinal {
            // numchunks = chunk.split(", "); last one gets the ordinal ending.
            var parts = chunk.components(separatedBy: ", ")
            if let last = parts.popLast() { parts.append(ordinalOfWords(last)) }
            chunk = parts.joined(separator: ", ")
        }
        return chunk
    }

    /// The clean-up of inflect's `_handle_chunk`.
    static func cleanChunk(_ input: String, andword: String, firstGroupZero: Bool) -> String {
        var s = input
        if s.hasSuffix(", ") { s.removeLast(2) }
        s = squeezeSpaceBeforeComma(s)
        if firstGroupZero {
            // COMMA_WORD: ", (\S+)\s+\Z" → " <andword> \1"
            if let r = s.range(of: ", ", options: .backwards) {
                let tail = s[r.upperBound...]
                let word = tail.prefix(while: { !$0.isWhitespace })
                let rest = tail.dropFirst(word.count)
                if !word.isEmpty, !rest.isEmpty, rest.allSatisfy({ $0.isWhitespace }) {
                    s = String(s[..<r.lowerBound]) + " \(andword) " + word + String(rest)
                    s = squeezeSpaceBeforeComma(s)
                }
            }
        }
        // WHITESPACES → " ", then strip.
        var out = ""
        var lastSpace = false
        for ch in s {
            if ch.isWhitespace {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(ch)
                lastSpace = false
            }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    /// `\s+,` → `,`.
    private static func squeezeSpaceBeforeComma(_ s: String) -> String {
        guard s.contains(",") else { return s }
        var out: [Character] = []
        for ch in s {
            if ch == "," {
                while let l = out.last, l.isWhitespace { out.removeLast() }
            }
            out.append(ch)
        }
        return String(out)
    }

    /// `number_to_words(n, group: 2, zero:, andword: "")` for a 4-digit number, then ", " → " ".
    static func yearWords(_ n: Int, zero: String = "oh") -> String {
        let hi = n / 100, lo = n % 100
        func pair(_ p: Int) -> String {
            let t = p / 10, u = p % 10
            if t != 0 { return tenWords(t, u).trimmingCharacters(in: .whitespaces) }
            if u != 0 { return "\(zero) \(units[u])" }
            return "\(zero) \(zero)"
        }
        return pair(hi) + " " + pair(lo)
    }

    /// inflect `_sub_ord`: ordinal of a number written in words ("twenty-one" → "twenty-first").
    static func ordinalOfWords(_ s: String) -> String {
        let table: [(String, String)] = [("ty", "tieth"), ("one", "first"), ("two", "second"), ("three", "third"),
                                         ("five", "fifth"), ("eight", "eighth"), ("nine", "ninth"), ("twelve", "twelfth")]
        for (end, replacement) in table where s.hasSuffix(end) {
            return String(s.dropLast(end.count)) + replacement
        }
        return s + "th"
    }

    /// inflect `ordinal("123")`: the digits followed by st/nd/rd/th.
    static func ordinalSuffix(digits: String) -> String {
        let d = digits.utf8.map { Int($0) - 48 }
        let last2 = d.suffix(2).reduce(0) { $0 * 10 + $1 }
        let special: [Int: String] = [0: "th", 1: "st", 2: "nd", 3: "rd", 11: "th", 12: "th", 13: "th"]
        if let s = special[last2] { return digits + s }
        if last2 < 10 { return digits + "th" }
        return digits + (special[last2 % 10] ?? "th")
    }
}
