import Foundation

/// The BERT WordPiece tokenizer used by Chinese RoBERTa-wwm-ext-large (`BertTokenizerFast` with
/// `do_lower_case`, `tokenize_chinese_chars`, `strip_accents` unset → accents stripped when
/// lowercasing).
///
/// Pipeline, as the Hugging Face `BertNormalizer` → `BertPreTokenizer` → `WordPiece` chain:
/// clean the text (drop NUL, U+FFFD and control characters; whitespace → space), surround CJK
/// ideographs with spaces, lowercase and strip combining marks, split on whitespace and on every
/// punctuation character, then split each word greedily into the longest vocabulary pieces
/// (continuations prefixed `##`); a word with no full split, or longer than 100 characters,
/// becomes `[UNK]`.
public struct BertTokenizer: Sendable {
    /// Token → id.
    public let vocab: [String: Int]
    /// id → token.
    public let idToToken: [String]
    /// Whether text is lowercased (and accents stripped).
    public let lowercase: Bool
    /// Longest word (in characters) that WordPiece will split.
    public let maxInputCharsPerWord: Int
    /// Ids of the special tokens.
    public let clsID: Int, sepID: Int, unkID: Int

    /// Builds a tokenizer from the lines of a `vocab.txt` (line number = id).
    public init(vocabLines: [String], lowercase: Bool = true, maxInputCharsPerWord: Int = 100) throws {
        var v: [String: Int] = [:]
        v.reserveCapacity(vocabLines.count)
        for (i, t) in vocabLines.enumerated() where v[t] == nil { v[t] = i }
        guard let cls = v["[CLS]"], let sep = v["[SEP]"], let unk = v["[UNK]"] else {
            throw TextError.dataUnavailable(name: "vocab.txt", reason: "the vocabulary lacks [CLS], [SEP] or [UNK]")
        }
        vocab = v
        idToToken = vocabLines
        self.lowercase = lowercase
        self.maxInputCharsPerWord = maxInputCharsPerWord
        clsID = cls
        sepID = sep
        unkID = unk
    }

    /// Loads `vocab.txt` (and `do_lower_case` from `tokenizer_config.json` when present) from a
    /// Hugging Face model folder; a folder without `vocab.txt` is read from its `tokenizer.json`
    /// (see ``init(tokenizerJSON:)``).
    public init(folder: URL) throws {
        let vocabURL = folder.appendingPathComponent("vocab.txt")
        let jsonURL = folder.appendingPathComponent("tokenizer.json")
        if !FileManager.default.fileExists(atPath: vocabURL.path),
           FileManager.default.fileExists(atPath: jsonURL.path) {
            try self.init(tokenizerJSON: jsonURL)
            return
        }
        guard let text = try? String(contentsOf: vocabURL, encoding: .utf8) else {
            throw TextError.dataUnavailable(name: vocabURL.path, reason: "cannot read the BERT vocabulary")
        }
        var lines = text.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        if lines.last == "" { lines.removeLast() }
        var lower = true
        let cfgURL = folder.appendingPathComponent("tokenizer_config.json")
        if let data = try? Data(contentsOf: cfgURL),
           let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let l = obj["do_lower_case"] as? Bool {
            lower = l
        }
        try self.init(vocabLines: lines, lowercase: lower)
    }

    /// Loads a Hugging Face fast-tokenizer file (`tokenizer.json`) of a WordPiece model: the
    /// vocabulary from `model.vocab` (token → id; ids must be exactly `0..<count`), lowercasing from
    /// `normalizer.lowercase` (default true) and `model.max_input_chars_per_word` (default 100).
    /// - Throws: ``TextError/dataUnavailable(name:reason:)`` when the file is unreadable, not a
    ///   WordPiece model, or its ids have gaps or duplicates.
    public init(tokenizerJSON url: URL) throws {
        func fail(_ reason: String) -> TextError { .dataUnavailable(name: url.path, reason: reason) }
        guard let data = try? Data(contentsOf: url) else { throw fail("cannot read the tokenizer file") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any] else {
            throw fail("no model.vocab map")
        }
        if let type = model["type"] as? String, type != "WordPiece" {
            throw fail("model.type is \(type), expected WordPiece")
        }
        var lines = [String?](repeating: nil, count: vocab.count)
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < vocab.count, lines[id] == nil else {
                throw fail("model.vocab id of '\(token)' is missing, duplicated or outside 0..<\(vocab.count)")
            }
            lines[id] = token
        }
        var lower = true
        if let normalizer = root["normalizer"] as? [String: Any], let l = normalizer["lowercase"] as? Bool {
            lower = l
        }
        let maxChars = (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100
        try self.init(vocabLines: lines.map { $0 ?? "" }, lowercase: lower, maxInputCharsPerWord: maxChars)
    }

    /// The word pieces of `text`, without `[CLS]`/`[SEP]`.
    public func tokenize(_ text: String) -> [String] {
        var pieces: [String] = []
        for word in preTokenize(normalize(text)) {
            pieces.append(contentsOf: wordPieces(word))
        }
        return pieces
    }

    /// Token ids of `text` framed as `[CLS] … [SEP]`, as `tokenizer(text)["input_ids"]`.
    public func encode(_ text: String) -> [Int] {
        [clsID] + tokenize(text).map { vocab[$0] ?? unkID } + [sepID]
    }

    // MARK: - Normalizer

    func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) {
                out.append(" ")
            } else if Self.isChineseChar(v) {
                out.append(" ")
                out.append(s)
                out.append(" ")
            } else {
                out.append(s)
            }
        }
        var result = String(out)
        if lowercase {
            result = result.lowercased()
            // Strip accents: canonical decomposition, then drop non-spacing marks.
            var stripped = String.UnicodeScalarView()
            for s in result.decomposedStringWithCanonicalMapping.unicodeScalars
            where s.properties.generalCategory != .nonspacingMark {
                stripped.append(s)
            }
            result = String(stripped)
        }
        return result
    }

    // MARK: - Pre-tokenizer

    func preTokenize(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for s in text.unicodeScalars {
            if Self.isWhitespace(s) {
                flush()
            } else if Self.isPunctuation(s) {
                flush()
                words.append(String(s))
            } else {
                current.append(s)
            }
        }
        flush()
        return words
    }

    // MARK: - WordPiece

    func wordPieces(_ word: String) -> [String] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxInputCharsPerWord { return ["[UNK]"] }
        var pieces: [String] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: String?
            while start < end {
                var sub = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { sub = "##" + sub }
                if vocab[sub] != nil { found = sub; break }
                end -= 1
            }
            guard let piece = found else { return ["[UNK]"] }
            pieces.append(piece)
            start = end
        }
        return pieces
    }

    // MARK: - Character classes (as the Hugging Face BERT normalizer defines them)

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case " ", "\t", "\n", "\r": return true
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "\t", "\n", "\r": return false
        default:
            let c = s.properties.generalCategory
            return c == .control || c == .format
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isChineseChar(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
