import Foundation

// Follows wordsegment 1.3.1 (Apache-2.0; after Norvig's "Natural Language Corpus Data"):
// Segmenter.score, isegment, divide, clean — used by GPT_SoVITS/text/english.py: en_G2p.qryword to
// split unknown compounds. Unigram/bigram counts converted by scripts/data/make_en_data.py.

/// Splits a run of letters into the most probable sequence of words (unigram/bigram model).
struct WordSegmenter: Sendable {
    let unigrams: SortedStringTable
    let unigramCounts: [UInt64]
    let bigrams: SortedStringTable
    let bigramCounts: [UInt32]
    /// Total number of words in the source corpus.
    static let total = 1024908267229.0
    /// Longest word considered.
    static let limit = 24

    init(file: EnglishDataFile) throws(TextError) {
        unigrams = try file.strings("unigrams")
        unigramCounts = try file.uint64s("unigrams.count")
        bigrams = try file.strings("bigrams")
        bigramCounts = try file.uint32s("bigrams.count")
        guard unigramCounts.count == unigrams.count, bigramCounts.count == bigrams.count else {
            throw TextError.dataUnavailable(name: file.name, reason: "count tables do not match their keys")
        }
    }

    private func unigram(_ w: ArraySlice<UInt8>) -> Double? {
        unigrams.index(of: w).map { Double(unigramCounts[$0]) }
    }

    /// Segmenter.score(word) (no previous word).
    private func score(_ word: ArraySlice<UInt8>) -> Double {
        if let n = unigram(word) { return n / Self.total }
        return 10.0 / (Self.total * pow(10.0, Double(word.count)))
    }

    /// Segmenter.score(word, previous).
    private func score(_ word: ArraySlice<UInt8>, previous: ArraySlice<UInt8>?) -> Double {
        guard let previous else { return score(word) }
        // Python tests `bigram in bigrams and previous in unigrams`; both are pure lookups, so the
        // cheaper one goes first.
        guard unigram(previous) != nil else { return score(word) }
        var key = Array(previous)
        key.append(UInt8(ascii: " "))
        key.append(contentsOf: word)
        if let b = bigrams.index(of: key) {
            return Double(bigramCounts[b]) / Self.total / score(previous)
        }
        return score(word)
    }

    /// Segmenter.clean: lower case, keep only a–z and 0–9.
    static func clean(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for ch in text.lowercased().unicodeScalars {
            if ch.isASCII, let a = UInt8(exactly: ch.value),
               (a >= UInt8(ascii: "a") && a <= UInt8(ascii: "z")) || (a >= UInt8(ascii: "0") && a <= UInt8(ascii: "9")) {
                out.append(a)
            }
        }
        return out
    }

    private struct Key: Hashable { let suffixStart: Int; let prefixStart: Int }
    private typealias Result = (score: Double, words: [ArraySlice<UInt8>])

    /// The best segmentation of `text` (wordsegment.segment).
    func segment(_ text: String) -> [String] {
        let clean = Self.clean(text)
        var words: [ArraySlice<UInt8>] = []
        let size = 250
        var prefix: [UInt8] = []
        var offset = 0
        while offset < clean.count {
            let chunk = prefix + clean[offset..<min(offset + size, clean.count)]
            var chunkWords = search(chunk)
            let keep = max(0, chunkWords.count - 5)
            prefix = Array(chunkWords[keep...].joined())
            chunkWords.removeSubrange(keep...)
            words.append(contentsOf: chunkWords)
            offset += size
        }
        words.append(contentsOf: search(prefix))
        return words.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Segmenter.isegment.search on one chunk, memoised on (suffix, prefix) positions.
    private func search(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        var memo: [Key: Result] = [:]
        // search(text[start...], previous: text[prevStart..<start]) ; prevStart == -1 → "<s>".
        func go(_ start: Int, _ prevStart: Int) -> Result {
            if start == text.count { return (0, []) }
            let previous: ArraySlice<UInt8>? = prevStart < 0 ? nil : text[prevStart..<start]
            var best: Result? = nil
            for end in (start + 1)...min(text.count, start + Self.limit) {
                let prefix = text[start..<end]
                // "<s>" is never a unigram, so its bigrams fall back to the unigram score.
                let prefixScore = log10(previous == nil ? score(prefix) : score(prefix, previous: previous))
                let key = Key(suffixStart: end, prefixStart: start)
                let sub: Result
                if let m = memo[key] { sub = m } else { sub = go(end, start); memo[key] = sub }
                let candidate: Result = (prefixScore + sub.score, [prefix] + sub.words)
                if let b = best {
                    if candidate.score > b.score || (candidate.score == b.score && Self.less(b.words, candidate.words)) {
                        best = candidate
                    }
                } else {
                    best = candidate
                }
            }
            return best ?? (0, [])
        }
        return go(0, -1).words
    }

    /// Python list-of-str ordering.
    private static func less(_ a: [ArraySlice<UInt8>], _ b: [ArraySlice<UInt8>]) -> Bool {
        for (x, y) in zip(a, b) where !x.elementsEqual(y) {
            return x.lexicographicallyPrecedes(y)
        }
        return a.count < b.count
    }
}
