import Foundation

// Follows jieba_fast 0.53 (what GPT-SoVITS imports; same dict.txt and HMM tables as jieba 0.42.1):
// jieba/__init__.py Tokenizer (get_DAG, calc, __cut_DAG, cut, cut_for_search), jieba/finalseg (BMES HMM
// for unseen words) and jieba/posseg (POSTokenizer, joint BMES×POS HMM).
//
// jieba_fast replaces two pieces of Tokenizer.cut with C code whose results differ from jieba's Python in
// corner cases, and we follow it there: `_get_DAG_and_calc` keeps at most 12 word ends per position and
// breaks route ties towards the shorter word; finalseg's `_viterbi` clamps scores at MIN_FLOAT, breaks
// ties towards the first predecessor and prefers E over S at the end (so runs of characters without
// emission data stay one word). jieba_fast's posseg still runs the Python get_DAG / calc / viterbi.

private let minFloat = -3.14e100

@inline(__always) func isJiebaHan(_ s: Unicode.Scalar) -> Bool { s.value >= 0x4E00 && s.value <= 0x9FD5 }
@inline(__always) func isASCIIAlnum(_ s: Unicode.Scalar) -> Bool {
    (s.value >= 0x30 && s.value <= 0x39) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
}
@inline(__always) func isASCIIDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
@inline(__always) func isPyWhitespace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

/// Splits `text` into maximal runs where `inRun` holds / does not hold (Python `re.split` with one
/// capturing `(class+)` group, empty pieces dropped).
func splitRuns(_ text: ArraySlice<Unicode.Scalar>, _ inRun: (Unicode.Scalar) -> Bool) -> [(ArraySlice<Unicode.Scalar>, Bool)] {
    var out: [(ArraySlice<Unicode.Scalar>, Bool)] = []
    var i = text.startIndex
    while i < text.endIndex {
        let f = inRun(text[i])
        var j = i + 1
        while j < text.endIndex, inRun(text[j]) == f { j += 1 }
        out.append((text[i..<j], f))
        i = j
    }
    return out
}

/// A (word, part-of-speech) pair as jieba.posseg yields it.
public struct TaggedWord: Sendable, Equatable, CustomStringConvertible {
    /// The word.
    public var word: String
    /// jieba's POS flag (`n`, `v`, `x`, `eng`, `m`, …).
    public var flag: String
    /// Creates a pair.
    public init(_ word: String, _ flag: String) { self.word = word; self.flag = flag }
    /// `word/flag`, as jieba prints pairs.
    public var description: String { "\(word)/\(flag)" }
}

/// jieba word segmentation: prefix dictionary, DAG of dictionary words, best route by log frequency,
/// HMM (Viterbi) for runs of characters that form no dictionary word, and the POS-tagging variant.
public final class Jieba: Sendable {
    private let dict: SortedKeyTable
    private let logTotal: Double
    private let finalsegEmit: SortedKeyTable
    private let finalsegStart: [Double]
    private let finalsegTrans: [[Double]]
    private let posEmit: SortedKeyTable
    private let posStates: [String]
    private let posStateIsB: [UInt8] // 0 B, 1 M, 2 E, 3 S
    private let posStateTag: [String]
    private let posStart: [Double]
    private let posTrans: [[(Int, Double)]]
    private let posTransDense: [[Double]]
    private let posAllStates: [Int]

    /// Loads the bundled jieba data.
    public init() throws {
        dict = try DataFiles.table("zh/jieba_dict.gsvk")
        finalsegEmit = try DataFiles.table("zh/jieba_finalseg.gsvk")
        posEmit = try DataFiles.table("zh/jieba_posseg.gsvk")
        let raw = try DataFiles.read("zh/jieba_hmm.json")
        struct Finalseg: Decodable { let start: [Double]; let trans: [[Double?]] }
        struct Posseg: Decodable { let states: [String]; let start: [Double]; let trans: [[[Double]]] }
        struct HMM: Decodable { let finalseg: Finalseg; let posseg: Posseg; let total_freq: Double }
        let hmm: HMM
        do { hmm = try JSONDecoder().decode(HMM.self, from: Data(raw)) } catch {
            throw TextError.dataUnavailable(name: "zh/jieba_hmm.json", reason: "\(error)")
        }
        logTotal = Foundation.log(hmm.total_freq)
        finalsegStart = hmm.finalseg.start
        finalsegTrans = hmm.finalseg.trans.map { $0.map { $0 ?? minFloat } }
        posStates = hmm.posseg.states
        posStart = hmm.posseg.start
        posTrans = hmm.posseg.trans.map { row in row.map { (Int($0[0]), $0[1]) } }
        var dense = [[Double]](repeating: [Double](repeating: -.infinity, count: posStates.count), count: posStates.count)
        for (i, row) in posTrans.enumerated() { for (j, p) in row { dense[i][j] = p } }
        posTransDense = dense
        posStateIsB = posStates.map { s in
            switch s.first { case "B": 0; case "M": 1; case "E": 2; default: 3 }
        }
        posStateTag = posStates.map { String($0.dropFirst(2)) }
        posAllStates = Array(0..<posStates.count)
    }

    // MARK: dictionary

    /// Frequency of a dictionary word (`FREQ[word]`); nil when `word` is neither a word nor a prefix.
    @inline(__always) private func lookup(_ bytes: [UInt8]) -> (known: Bool, freq: Int) {
        switch dict.match(bytes) {
        case .none: return (false, 0)
        case .prefixOnly: return (true, 0)
        case let .exact(i): return (true, Int(SortedKeyTable.u32(dict.bytes, dict.payloadRange(i).lowerBound)))
        }
    }

    /// `FREQ.get(word)` as a truth value: a dictionary word with non-zero frequency.
    func isWord(_ w: ArraySlice<Unicode.Scalar>) -> Bool { lookup(Array(w).utf8Bytes).freq > 0 }

    /// The dictionary POS tag of a word (`word_tag_tab`).
    func tag(_ w: ArraySlice<Unicode.Scalar>) -> String? {
        guard let i = dict.find(Array(w).utf8Bytes) else { return nil }
        let r = dict.payloadRange(i)
        return String(decoding: dict.bytes[(r.lowerBound + 4)..<r.upperBound], as: UTF8.self)
    }

    /// Best segmentation route: `route[i]` = end index (inclusive) of the word starting at `i`.
    /// `fast`: jieba_fast's C `_get_DAG_and_calc` (≤ 12 ends per position, ties to the shorter word);
    /// otherwise jieba's Python get_DAG + calc (ties to the longer word).
    private func route(_ s: ArraySlice<Unicode.Scalar>, fast: Bool) -> [Int] {
        let n = s.count
        let base = s.startIndex
        var best = [Double](repeating: 0, count: n + 1)
        var end = [Int](repeating: 0, count: n + 1)
        var ends: [(Int, Int)] = [] // (end index, freq) of the words starting at k
        // DAG rows are computed right to left so that each row is consumed at once
        var k = n - 1
        var buf: [UInt8] = []
        while k >= 0 {
            ends.removeAll(keepingCapacity: true)
            buf.removeAll(keepingCapacity: true)
            var i = k
            while i < n, !fast || ends.count < 12 {
                appendUTF8(s[base + i], to: &buf)
                let (known, f) = lookup(buf)
                if !known { break }
                if f > 0 { ends.append((i, f)) }
                i += 1
            }
            if ends.isEmpty { ends.append((k, 0)) }
            var bp = -Double.infinity, bx = -1
            for (x, f) in ends {
                let p = Foundation.log(Double(f == 0 ? 1 : f)) - logTotal + best[x + 1]
                if p > bp || (!fast && p == bp && x > bx) { bp = p; bx = x }
            }
            best[k] = bp; end[k] = bx
            k -= 1
        }
        return Array(end[0..<n])
    }

    // MARK: finalseg HMM

    private func finalsegEmission(_ c: Unicode.Scalar) -> [Double] {
        var b: [UInt8] = []; appendUTF8(c, to: &b)
        guard let i = finalsegEmit.find(b) else { return [minFloat, minFloat, minFloat, minFloat] }
        let p = finalsegEmit.payloadRange(i).lowerBound
        return (0..<4).map { finalsegEmit.f64(at: p + 8 * $0) }
    }

    /// BMES Viterbi over a run of Han characters as jieba_fast's C `_viterbi`, then finalseg.__cut.
    private func finalsegCutHan(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        // states 0 B, 1 M, 2 E, 3 S; predecessors in PrevStatus order (B: ES, M: MB, E: BM, S: SE)
        let prev: [[Int]] = [[2, 3], [1, 0], [0, 1], [3, 2]]
        let letter: [Int] = [0, 2, 1, 3] // B < E < M < S as characters
        let n = s.count
        let base = s.startIndex
        var v = [Double](repeating: 0, count: 4)
        var back = [[Int]](repeating: [0, 0, 0, 0], count: n)
        let e0 = finalsegEmission(s[base])
        for y in 0..<4 { v[y] = e0[y] + finalsegStart[y] }
        for t in 1..<max(n, 1) where n > 1 {
            let em = finalsegEmission(s[base + t])
            var nv = [Double](repeating: 0, count: 4)
            for y in 0..<4 {
                var maxProb = minFloat, best = -1
                for y0 in prev[y] {
                    let p = em[y] + v[y0] + finalsegTrans[y0][y]
                    if p > maxProb { maxProb = p; best = y0 }
                }
                if best < 0 { best = prev[y].max { letter[$0] < letter[$1] } ?? prev[y][0] }
                nv[y] = maxProb; back[t][y] = best
            }
            v = nv
        }
        var state = v[3] > v[2] ? 3 : 2
        var path = [Int](repeating: 0, count: n)
        var t = n - 1
        while t >= 0 { path[t] = state; state = back[t][state]; t -= 1 }
        var out: [ArraySlice<Unicode.Scalar>] = []
        var begin = 0, nexti = 0
        for i in 0..<n {
            switch path[i] {
            case 0: begin = i
            case 2: out.append(s[(base + begin)...(base + i)]); nexti = i + 1
            case 3: out.append(s[(base + i)...(base + i)]); nexti = i + 1
            default: break
            }
        }
        if nexti < n { out.append(s[(base + nexti)...]) }
        return out
    }

    /// jieba/finalseg.cut.
    private func finalsegCut(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        for (blk, han) in splitRuns(s, isJiebaHan) {
            if han { out += finalsegCutHan(blk); continue }
            // re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?): emit matches and the text between them
            var i = blk.startIndex, pending = blk.startIndex
            while i < blk.endIndex {
                if isASCIIAlnum(blk[i]) {
                    var j = i
                    while j < blk.endIndex, isASCIIAlnum(blk[j]) { j += 1 }
                    if j + 1 < blk.endIndex, blk[j] == ".", isASCIIDigit(blk[j + 1]) {
                        j += 1
                        while j < blk.endIndex, isASCIIDigit(blk[j]) { j += 1 }
                    }
                    if j < blk.endIndex, blk[j] == "%" { j += 1 }
                    if pending < i { out.append(blk[pending..<i]) }
                    out.append(blk[i..<j]); i = j; pending = j
                } else { i += 1 }
            }
            if pending < blk.endIndex { out.append(blk[pending...]) }
        }
        return out
    }

    /// Tokenizer.__cut_DAG (HMM on).
    private func cutDAG(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        let r = route(s, fast: true)
        var out: [ArraySlice<Unicode.Scalar>] = []
        let base = s.startIndex
        var bufStart = -1
        func flush(_ upTo: Int) {
            guard bufStart >= 0 else { return }
            let buf = s[(base + bufStart)..<(base + upTo)]
            if buf.count == 1 { out.append(buf) } else if !isWord(buf) { out += finalsegCut(buf) } else {
                for k in buf.indices { out.append(s[k...k]) }
            }
            bufStart = -1
        }
        var x = 0
        while x < s.count {
            let y = r[x] + 1
            if y - x == 1 { if bufStart < 0 { bufStart = x } } else {
                flush(x)
                out.append(s[(base + x)..<(base + y)])
            }
            x = y
        }
        flush(s.count)
        return out
    }

    /// `jieba.cut(text)` (accurate mode, HMM on).
    public func cut(_ text: String) -> [String] { cut(text.scalars[...]).map { String(scalars: $0) } }

    func cut(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        // re_han_default = [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+ ; re_skip_default = (\r\n|\s)
        func inHan(_ c: Unicode.Scalar) -> Bool {
            isJiebaHan(c) || isASCIIAlnum(c) || "+#&._%-".unicodeScalars.contains(c)
        }
        var out: [ArraySlice<Unicode.Scalar>] = []
        for (blk, han) in splitRuns(s, inHan) {
            if han { out += cutDAG(blk); continue }
            var i = blk.startIndex
            while i < blk.endIndex {
                if blk[i] == "\r", i + 1 < blk.endIndex, blk[i + 1] == "\n" { out.append(blk[i...(i + 1)]); i += 2 } else {
                    out.append(blk[i...i]); i += 1
                }
            }
        }
        return out
    }

    /// `jieba.cut_for_search(text)`: accurate cut plus the dictionary 2- and 3-grams inside long words.
    public func cutForSearch(_ text: String) -> [String] { cutForSearch(text.scalars[...]).map { String(scalars: $0) } }

    func cutForSearch(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        for w in cut(s) {
            if w.count > 2 {
                for i in 0..<(w.count - 1) {
                    let g = w[(w.startIndex + i)..<(w.startIndex + i + 2)]
                    if isWord(g) { out.append(g) }
                }
            }
            if w.count > 3 {
                for i in 0..<(w.count - 2) {
                    let g = w[(w.startIndex + i)..<(w.startIndex + i + 3)]
                    if isWord(g) { out.append(g) }
                }
            }
            out.append(w)
        }
        return out
    }

    // MARK: posseg

    /// Per character: allowed states (nil when the character is not in char_state_tab) and dense
    /// emission log-probabilities (MIN_FLOAT where the state never emits it).
    private func posChar(_ c: Unicode.Scalar) -> (allowed: [Int]?, emit: [Double]) {
        var emit = [Double](repeating: minFloat, count: posStates.count)
        var b: [UInt8] = []; appendUTF8(c, to: &b)
        guard let i = posEmit.find(b) else { return (nil, emit) }
        var p = posEmit.payloadRange(i).lowerBound
        let inTab = posEmit.bytes[p] == 1; p += 1
        let na = Int(posEmit.u16(at: p)); p += 2
        var allowed: [Int] = []
        for _ in 0..<na { allowed.append(Int(posEmit.u16(at: p))); p += 2 }
        let ne = Int(posEmit.u16(at: p)); p += 2
        for _ in 0..<ne { emit[Int(posEmit.u16(at: p))] = posEmit.f64(at: p + 2); p += 10 }
        return (inTab ? allowed : nil, emit)
    }

    /// jieba/posseg/viterbi.py. Ties of the official `max((prob, state))` go to the larger state,
    /// i.e. the larger index (states are numbered in sorted order).
    private func posViterbi(_ s: ArraySlice<Unicode.Scalar>) -> [Int] {
        let n = s.count
        let ns = posStates.count
        var v = [Double](repeating: -.infinity, count: ns)
        var present = [Bool](repeating: false, count: ns)
        var back = [Int32](repeating: -1, count: n * ns)
        let c0 = posChar(s[s.startIndex])
        for y in c0.allowed ?? posAllStates {
            v[y] = posStart[y] + c0.emit[y]
            present[y] = true
        }
        var expect = [Bool](repeating: false, count: ns)
        var allowedMask = [Bool](repeating: false, count: ns)
        var nv = [Double](repeating: -.infinity, count: ns)
        var nPresent = [Bool](repeating: false, count: ns)
        for t in 1..<max(n, 1) where n > 1 {
            let ch = posChar(s[s.startIndex + t])
            var prevStates: [Int] = []
            for x in 0..<ns where present[x] && !posTrans[x].isEmpty { prevStates.append(x) }
            for i in 0..<ns { expect[i] = false; allowedMask[i] = ch.allowed == nil; nPresent[i] = false }
            var anyExpect = false
            for x in prevStates { for (y, _) in posTrans[x] { expect[y] = true; anyExpect = true } }
            if let a = ch.allowed { for y in a { allowedMask[y] = true } }
            var obs: [Int] = []
            for y in 0..<ns where expect[y] && allowedMask[y] { obs.append(y) }
            if obs.isEmpty { obs = anyExpect ? (0..<ns).filter { expect[$0] } : posAllStates }
            for y in obs {
                let em = ch.emit[y]
                var bp = -Double.infinity, bs = -1
                for y0 in prevStates {
                    let p = v[y0] + posTransDense[y0][y] + em
                    if bs < 0 || p >= bp { bp = p; bs = y0 }
                }
                nv[y] = bp; nPresent[y] = true
                back[t * ns + y] = Int32(bs)
            }
            swap(&v, &nv); swap(&present, &nPresent)
        }
        var state = -1, best = -Double.infinity
        for y in 0..<ns where present[y] && (state < 0 || v[y] >= best) { best = v[y]; state = y }
        var path = [Int](repeating: 0, count: n)
        var t = n - 1
        while t >= 0 { path[t] = state; state = t > 0 && state >= 0 ? Int(back[t * ns + state]) : -1; t -= 1 }
        return path
    }

    private func posCutHan(_ s: ArraySlice<Unicode.Scalar>) -> [TaggedWord] {
        let path = posViterbi(s)
        var out: [TaggedWord] = []
        var begin = 0, nexti = 0
        let base = s.startIndex
        for i in 0..<s.count {
            switch posStateIsB[path[i]] {
            case 0: begin = i
            case 2: out.append(TaggedWord(String(scalars: s[(base + begin)...(base + i)]), posStateTag[path[i]])); nexti = i + 1
            case 3: out.append(TaggedWord(String(scalars: s[(base + i)...(base + i)]), posStateTag[path[i]])); nexti = i + 1
            default: break
            }
        }
        if nexti < s.count { out.append(TaggedWord(String(scalars: s[(base + nexti)...]), posStateTag[path[nexti]])) }
        return out
    }

    /// POSTokenizer.__cut_detail.
    private func posCutDetail(_ s: ArraySlice<Unicode.Scalar>) -> [TaggedWord] {
        var out: [TaggedWord] = []
        for (blk, han) in splitRuns(s, isJiebaHan) {
            if han { out += posCutHan(blk); continue }
            // re_skip_detail = ([\.0-9]+|[a-zA-Z0-9]+)
            var i = blk.startIndex, pending = blk.startIndex
            func emit(_ x: ArraySlice<Unicode.Scalar>) {
                guard !x.isEmpty else { return }
                let first = x[x.startIndex]
                if first == "." || isASCIIDigit(first) { out.append(TaggedWord(String(scalars: x), "m")) } else if isASCIIAlnum(first) {
                    out.append(TaggedWord(String(scalars: x), "eng"))
                } else { out.append(TaggedWord(String(scalars: x), "x")) }
            }
            while i < blk.endIndex {
                let c = blk[i]
                if c == "." || isASCIIDigit(c) {
                    var j = i
                    while j < blk.endIndex, blk[j] == "." || isASCIIDigit(blk[j]) { j += 1 }
                    emit(blk[pending..<i]); emit(blk[i..<j]); i = j; pending = j
                } else if isASCIIAlnum(c) {
                    var j = i
                    while j < blk.endIndex, isASCIIAlnum(blk[j]) { j += 1 }
                    emit(blk[pending..<i]); emit(blk[i..<j]); i = j; pending = j
                } else { i += 1 }
            }
            emit(blk[pending...])
        }
        return out
    }

    private func posCutDAG(_ s: ArraySlice<Unicode.Scalar>) -> [TaggedWord] {
        let r = route(s, fast: false)
        var out: [TaggedWord] = []
        let base = s.startIndex
        var bufStart = -1
        func flush(_ upTo: Int) {
            guard bufStart >= 0 else { return }
            let buf = s[(base + bufStart)..<(base + upTo)]
            if buf.count == 1 { out.append(TaggedWord(String(scalars: buf), tag(buf) ?? "x")) } else if !isWord(buf) {
                out += posCutDetail(buf)
            } else {
                for k in buf.indices { out.append(TaggedWord(String(scalars: s[k...k]), tag(s[k...k]) ?? "x")) }
            }
            bufStart = -1
        }
        var x = 0
        while x < s.count {
            let y = r[x] + 1
            if y - x == 1 { if bufStart < 0 { bufStart = x } } else {
                flush(x)
                let w = s[(base + x)..<(base + y)]
                out.append(TaggedWord(String(scalars: w), tag(w) ?? "x"))
            }
            x = y
        }
        flush(s.count)
        return out
    }

    /// `jieba.posseg.lcut(text)` (HMM on).
    public func posCut(_ text: String) -> [TaggedWord] {
        let s = text.scalars[...]
        // re_han_internal = [\u4E00-\u9FD5a-zA-Z0-9+#&\._]+ ; re_skip_internal = (\r\n|\s)
        func inHan(_ c: Unicode.Scalar) -> Bool { isJiebaHan(c) || isASCIIAlnum(c) || "+#&._".unicodeScalars.contains(c) }
        var out: [TaggedWord] = []
        for (blk, han) in splitRuns(s, inHan) {
            if han { out += posCutDAG(blk); continue }
            // split on whitespace runs of one char (\r\n or \s); other chars one by one
            var pieces: [(ArraySlice<Unicode.Scalar>, Bool)] = []
            var i = blk.startIndex, pending = blk.startIndex
            while i < blk.endIndex {
                if blk[i] == "\r", i + 1 < blk.endIndex, blk[i + 1] == "\n" {
                    if pending < i { pieces.append((blk[pending..<i], false)) }
                    pieces.append((blk[i...(i + 1)], true)); i += 2; pending = i
                } else if isPyWhitespace(blk[i]) {
                    if pending < i { pieces.append((blk[pending..<i], false)) }
                    pieces.append((blk[i...i], true)); i += 1; pending = i
                } else { i += 1 }
            }
            if pending < blk.endIndex { pieces.append((blk[pending...], false)) }
            for (x, isSpace) in pieces {
                if isSpace { out.append(TaggedWord(String(scalars: x), "x")); continue }
                let engWhole = isASCIIAlnum(x[x.startIndex])
                for c in x {
                    let flag = (c == "." || isASCIIDigit(c)) ? "m" : (engWhole ? "eng" : "x")
                    out.append(TaggedWord(String(c), flag))
                }
            }
        }
        return out
    }
}
