import Foundation

// Follows GPT_SoVITS/text/english.py: en_G2p.__init__ (homograph overrides), en_G2p.__call__,
// en_G2p.qryword, g2p (filtering of special tokens) and replace_phs (v2 symbol check), on top of
// g2p_en 2.1.0's G2p (homographs.en, predict) — see NeuralG2P, PerceptronTagger, WordSegmenter,
// EnglishTokenizer and EnglishNormalizer for the pieces.

/// English text normalisation and grapheme-to-phoneme conversion, matching GPT-SoVITS v2.
///
/// Load once with ``shared()`` (the bundled data — dictionaries, tagger, segmenter counts and the
/// g2p_en GRU — is read on first use and kept); the value is immutable and safe to use from any
/// thread.
public struct EnglishG2P: Sendable {
    let dictionary: EnglishDictionary
    let tagger: PerceptronTagger
    let segmenter: WordSegmenter
    let neural: NeuralG2P
    /// word → (pronunciation if the tag starts with `pos`, otherwise, pos).
    let homographs: [String: (pron1: [String], pron2: [String], pos: String)]

    /// Loads all bundled data files (`Resources/en/*.bin`).
    init() throws(TextError) {
        let dictFile = try EnglishDataFile.bundled("cmudict.bin")
        let g2pFile = try EnglishDataFile.bundled("g2p_en.bin")
        let taggerFile = try EnglishDataFile.bundled("tagger.bin")
        let segFile = try EnglishDataFile.bundled("wordsegment.bin")
        try self.init(dictionary: dictFile, g2p: g2pFile, tagger: taggerFile, segmenter: segFile)
    }

    init(dictionary: EnglishDataFile, g2p: EnglishDataFile, tagger: EnglishDataFile, segmenter: EnglishDataFile) throws(TextError) {
        self.dictionary = try EnglishDictionary(file: dictionary)
        self.tagger = try PerceptronTagger(file: tagger)
        self.segmenter = try WordSegmenter(file: segmenter)
        self.neural = try NeuralG2P(file: g2p)
        var homographs = try Self.parseHomographs(g2p.bytes("homographs"), file: g2p.name)
        // en_G2p.__init__ corrections.
        homographs["read"] = (["R", "IY1", "D"], ["R", "EH1", "D"], "VBP")
        homographs["complex"] = (["K", "AH0", "M", "P", "L", "EH1", "K", "S"], ["K", "AA1", "M", "P", "L", "EH0", "K", "S"], "JJ")
        self.homographs = homographs
        for letter in "abcdefghijklmnopqrstuvwxyz" where !self.dictionary.cmu.contains(String(letter)) {
            throw TextError.dataUnavailable(name: dictionary.name, reason: "letter '\(letter)' missing from the dictionary")
        }
    }

    /// g2p_en construct_homograph_dictionary: "HEADWORD|PRON1|PRON2|POS", '#' comments.
    static func parseHomographs(_ bytes: [UInt8], file: String) throws(TextError) -> [String: (pron1: [String], pron2: [String], pos: String)] {
        var out: [String: (pron1: [String], pron2: [String], pos: String)] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if line.hasPrefix("#") || line.isEmpty { continue }
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: "|", omittingEmptySubsequences: false)
            guard fields.count == 4 else {
                throw TextError.dataUnavailable(name: file, reason: "bad homograph line '\(line)'")
            }
            out[fields[0].lowercased()] = (fields[1].split(separator: " ").map(String.init),
                                           fields[2].split(separator: " ").map(String.init), String(fields[3]))
        }
        return out
    }

    private static let sharedResult: Result<EnglishG2P, TextError> = {
        do throws(TextError) {
            return .success(try EnglishG2P())
        } catch {
            return .failure(error)
        }
    }()

    /// The frontend built from the bundled data, loaded once (thread-safe lazy static).
    /// - Throws: `TextError.dataUnavailable` when a data file is missing or corrupt.
    public static func shared() throws -> EnglishG2P {
        try sharedResult.get()
    }

    /// `english.text_normalize`: maps 。！？, expands numbers, ordinals, years, money, decimals,
    /// fractions, units, times, arithmetic and negative numbers into words, strips accents and every
    /// character outside `[ A-Za-z'.,?!-]`, expands i.e./e.g., puts a space before inner capitals
    /// ("ChatGPT" → "Chat G P T") and collapses runs of punctuation.
    public func normalize(_ text: String) -> String {
        EnglishNormalizer.normalize(text)
    }

    /// The tokens of normalised text and their Penn Treebank tags, as `nltk.pos_tag(word_tokenize(text))`
    /// returns them inside `en_G2p.__call__` (used to pick homograph pronunciations).
    public func posTags(forNormalized text: String) -> [(String, String)] {
        let tokens = EnglishTokenizer.tokenize(text)
        return Array(zip(tokens, tagger.tag(tokens)))
    }

    /// `english.g2p(norm_text)`: the phones of normalised text in the v2 symbol set (ARPAbet with
    /// stress, punctuation, "UNK"), in the order fed to `cleaned_text_to_sequence`.
    public func phonemes(forNormalized text: String) -> [String] {
        var out: [String] = []
        for (word, pos) in posTags(forNormalized: text) {
            for ph in pronounce(token: word, pos: pos) {
                // english.g2p: drop separators and decoder specials; <unk> → UNK.
                switch ph {
                case " ", "<pad>", "UW", "</s>", "<s>": continue
                case "<unk>": out.append("UNK")
                default:
                    // replace_phs: keep v2 symbols, "'" → "-", drop the rest.
                    if Self.isV2Symbol(ph) { out.append(ph) } else if ph == "'" { out.append("-") }
                }
            }
        }
        return out
    }

    /// en_G2p.__call__ for one token.
    func pronounce(token: String, pos: String) -> [String] {
        let word = token.lowercased()
        if !word.unicodeScalars.contains(where: { $0.value >= 0x61 && $0.value <= 0x7A }) {
            return [word]
        }
        if word.unicodeScalars.count == 1 {
            if token == "A" { return ["EY1"] }
            return dictionary.cmu.lookup(word) ?? neural.predict(word)
        }
        if let h = homographs[word] {
            if pos.hasPrefix(h.pos) { return h.pron1 }
            if pos.count < h.pos.count, h.pos.hasPrefix(pos) { return h.pron1 }
            return h.pron2
        }
        return query(token)
    }

    /// en_G2p.qryword: dictionary, names (title case), spelling of ≤3-letter words, possessives,
    /// compound segmentation, then the neural fallback.
    func query(_ original: String) -> [String] {
        let word = original.lowercased()
        let length = word.unicodeScalars.count
        if length > 1, let p = dictionary.cmu.lookup(word) { return p }
        if Self.isTitle(original), let p = dictionary.names.lookup(word) { return p }
        if length <= 3 {
            var phones: [String] = []
            for c in word.unicodeScalars {
                if c == "a" {
                    phones.append("EY1")
                } else if !c.properties.isAlphabetic {
                    phones.append(String(c))
                } else if let p = dictionary.cmu.lookup(String(c)) {
                    phones.append(contentsOf: p)
                } else {
                    // A letter the dictionary lacks (non-ASCII): the official code raises here.
                    phones.append(contentsOf: neural.predict(String(c)))
                }
            }
            return phones
        }
        if word.hasSuffix("'s"), word.unicodeScalars.dropLast(2).allSatisfy({ $0.value >= 0x61 && $0.value <= 0x7A }) {
            var phones = query(String(word.unicodeScalars.dropLast(2)))
            switch phones.last {
            case "P", "T", "K", "F", "TH", "HH": phones.append("S")
            case "S", "Z", "SH", "ZH", "CH", "JH": phones.append(contentsOf: ["AH0", "Z"])
            default: phones.append("Z")
            }
            return phones
        }
        let parts = segmenter.segment(word)
        if parts.count == 1 { return neural.predict(word) }
        return parts.flatMap { query($0) }
    }

    /// Python `str.istitle()`: cased runs start upper case and continue lower case, at least one cased.
    static func isTitle(_ s: String) -> Bool {
        var sawCased = false
        var previousCased = false
        for c in s.unicodeScalars {
            let p = c.properties
            if p.isUppercase || p.generalCategory == .titlecaseLetter {
                if previousCased { return false }
                previousCased = true
                sawCased = true
            } else if p.isLowercase {
                if !previousCased { return false }
                previousCased = true
                sawCased = true
            } else {
                previousCased = false
            }
        }
        return sawCased
    }

    /// Whether `ph` is in the v2 symbol table (GPT_SoVITS/text/symbols2.py). Phones reaching this check
    /// are ARPAbet (all in the table), "UNK", or whole tokens without a–z; for the latter the table's
    /// entries without ASCII letters are listed here.
    static func isV2Symbol(_ ph: String) -> Bool {
        if arpabet.contains(ph) || ph == "UNK" { return true }
        return v2NonLetterSymbols.contains(ph)
    }

    /// The ARPAbet phones of the v2 table (english.py `arpa`).
    static let arpabet: Set<String> = [
        "AH0", "S", "AH1", "EY2", "AE2", "EH0", "OW2", "UH0", "NG", "B", "G", "AY0", "M", "AA0", "F", "AO0", "ER2",
        "UH1", "IY1", "AH2", "DH", "IY0", "EY1", "IH0", "K", "N", "W", "IY2", "T", "AA1", "ER1", "EH2", "OY0", "UH2",
        "UW1", "Z", "AW2", "AW1", "V", "UW2", "AA2", "ER", "AW0", "UW0", "R", "OW1", "EH1", "ZH", "AE0", "IH2", "IH",
        "Y", "JH", "P", "AY1", "EY0", "OY2", "TH", "HH", "D", "ER0", "CH", "AO1", "AE1", "AO2", "OY1", "AY2", "IH1",
        "OW0", "L", "SH",
    ]

    /// Entries of the v2 symbol table that contain no ASCII letter (punctuation, Korean jamo, 停, 空).
    static let v2NonLetterSymbols: Set<String> = [
        "!", ",", "-", ".", "?", "_", "…", "[", "]", "ㄱ", "ㄲ", "ㄴ", "ㄷ", "ㄸ", "ㄹ", "ㅁ", "ㅂ", "ㅃ", "ㅅ", "ㅆ", "ㅇ",
        "ㅈ", "ㅉ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ", "ㅏ", "ㅐ", "ㅓ", "ㅔ", "ㅗ", "ㅜ", "ㅡ", "ㅣ", "停", "空",
    ]
}
