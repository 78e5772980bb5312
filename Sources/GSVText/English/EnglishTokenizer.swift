import Foundation

// Follows nltk 3.9.1 nltk/tokenize/casual.py: TweetTokenizer().tokenize with its defaults
// (preserve_case, no handle stripping, no lengthening reduction), which GPT_SoVITS/text/english.py
// uses as `word_tokenize`. Our own scanner, not the nltk regular expression: it implements the
// alternatives that can match normalised English text (letters, spaces and ' . , ? ! -) in the
// tokenizer's priority order — naked domain names ("example.com"), words with inner apostrophes
// or dashes, numbers with one inner separator, runs of word characters, ellipses ("..", ". ."),
// any other single character — plus the squeeze of 4+ repeated non-alphanumeric characters to 3.
// Alternatives that need characters normalisation removes (URLs with "://" or "/", emoticons,
// HTML tags and entities, arrows, @handles, #hashtags, e-mail addresses, phone numbers, emoji
// sequences) are not recognised; such text falls through to the single-character rule.

enum EnglishTokenizer {
    /// `\w` of the `regex` module nltk uses: Alphabetic, marks, decimal digits, connector
    /// punctuation (underscore) and joiners.
    @inline(__always)
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x5F
        }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation: return true
        default: return false
        }
    }

    /// `[^\W\d_]`: a word character that is not a digit or underscore.
    @inline(__always)
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        isWord(c) && !isDigit(c) && c != "_"
    }

    @inline(__always)
    static func isDigit(_ c: Unicode.Scalar) -> Bool {
        c.properties.numericType == .decimal
    }

    @inline(__always)
    static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && isWord(c) && c != "_"
    }

    @inline(__always)
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace
    }

    /// Tokenizes `text` like nltk's TweetTokenizer.
    static func tokenize(_ text: String) -> [String] {
        let s = squeezeRepeats(Array(text.unicodeScalars))
        var tokens: [String] = []
        var i = 0
        let n = s.count
        func token(_ a: Int, _ b: Int) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[a..<b])
            return String(v)
        }
        while i < n {
            let c = s[i]
            if isSpace(c) { i += 1; continue }
            if let end = domainEnd(s, i) ?? wordWithJoinersEnd(s, i) ?? numberEnd(s, i) {
                tokens.append(token(i, end)); i = end; continue
            }
            if isWord(c) {
                var j = i + 1
                while j < n, isWord(s[j]) { j += 1 }
                tokens.append(token(i, j)); i = j; continue
            }
            if c == ".", let end = ellipsisEnd(s, i) {
                tokens.append(token(i, end)); i = end; continue
            }
            tokens.append(token(i, i + 1)); i += 1
        }
        return tokens
    }

    /// HANG_RE: a non-alphanumeric character repeated 4+ times becomes 3 copies.
    static func squeezeRepeats(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            var j = i + 1
            while j < s.count, s[j] == c { j += 1 }
            let run = j - i
            let isAlnum = c.isASCII && isASCIIAlnum(c)
            out.append(contentsOf: repeatElement(c, count: (!isAlnum && run >= 4) ? 3 : run))
            i = j
        }
        return out
    }

    /// Naked domain: `[a-z0-9]+([.-][a-z0-9]+)*` then `.` + 2–13 letters at a word boundary,
    /// optional `/`, not preceded or followed by `@` (case-insensitive).
    static func domainEnd(_ s: [Unicode.Scalar], _ start: Int) -> Int? {
        guard isASCIIAlnum(s[start]) else { return nil }
        if start > 0, s[start - 1] == "@" { return nil }
        // Segments: maximal alnum runs separated by single '.' or '-'.
        var segs: [(sep: Unicode.Scalar?, lo: Int, hi: Int)] = []
        var i = start
        var sep: Unicode.Scalar? = nil
        while true {
            let lo = i
            while i < s.count, isASCIIAlnum(s[i]) { i += 1 }
            segs.append((sep, lo, i))
            if i + 1 < s.count, s[i] == "." || s[i] == "-", isASCIIAlnum(s[i + 1]) {
                sep = s[i]; i += 1
            } else {
                break
            }
        }
        guard segs.count >= 2 else { return nil }
        for k in stride(from: segs.count - 1, through: 1, by: -1) {
            let g = segs[k]
            guard g.sep == ".", (2...13).contains(g.hi - g.lo),
                  s[g.lo..<g.hi].allSatisfy({ $0.isASCII && isLetter($0) }) else { continue }
            if g.hi < s.count, isWord(s[g.hi]) { continue }  // \b
            var end = g.hi
            if end < s.count, s[end] == "/" {
                if end + 1 < s.count, s[end + 1] == "@" {
                    // '/?' backtracks to nothing; then the '/' is not '@'.
                } else {
                    end += 1
                }
                return end
            }
            if end < s.count, s[end] == "@" { continue }
            return end
        }
        return nil
    }

    /// `[^\W\d_]([^\W\d_]|['\-_])+[^\W\d_]`.
    static func wordWithJoinersEnd(_ s: [Unicode.Scalar], _ start: Int) -> Int? {
        guard isLetter(s[start]) else { return nil }
        var j = start + 1
        var lastLetter = -1
        while j < s.count {
            let c = s[j]
            if isLetter(c) {
                lastLetter = j
            } else if c == "'" || c == "-" || c == "_" {
            } else {
                break
            }
            j += 1
        }
        return lastLetter >= start + 2 ? lastLetter + 1 : nil
    }

    /// `[+\-]?\d+[,/.:-]\d+[+\-]?`.
    static func numberEnd(_ s: [Unicode.Scalar], _ start: Int) -> Int? {
        var i = start
        if s[i] == "+" || s[i] == "-" { i += 1 }
        let d0 = i
        while i < s.count, isDigit(s[i]) { i += 1 }
        guard i > d0, i + 1 < s.count, ",/.:-".unicodeScalars.contains(s[i]), isDigit(s[i + 1]) else { return nil }
        i += 1
        while i < s.count, isDigit(s[i]) { i += 1 }
        if i < s.count, s[i] == "+" || s[i] == "-" { i += 1 }
        return i
    }

    /// `\.(\s*\.)+`.
    static func ellipsisEnd(_ s: [Unicode.Scalar], _ start: Int) -> Int? {
        var last = -1
        var i = start + 1
        while true {
            var j = i
            while j < s.count, isSpace(s[j]) { j += 1 }
            guard j < s.count, s[j] == "." else { break }
            last = j
            i = j + 1
        }
        return last < 0 ? nil : last + 1
    }
}
