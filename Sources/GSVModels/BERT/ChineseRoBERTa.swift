// Follows GPT_SoVITS/TTS_infer_pack/TextPreprocessor.py: TextPreprocessor.get_bert_feature,
// get_bert_inf and the BERT assembly of get_phones_and_bert (v2 family).
import Foundation
import GSVTensor
import GSVText
import GSVWeights

/// One text segment of a `get_phones_and_bert` call: its language, normalised text, per-character
/// phone counts and phone count.
public struct BertTextSegment: Sendable, Equatable {
    /// The segment language (`zh`, `en`, `ja`, …; an `all_` prefix is ignored, as officially).
    public var language: String
    /// The normalised text the phones were made from (`norm_text`).
    public var normText: String
    /// Phones per character of `normText` (`word2ph`); required for Chinese, nil otherwise.
    public var word2ph: [Int]?
    /// Number of phones of the segment.
    public var phoneCount: Int

    /// A segment as `get_phones_and_bert` produces it.
    public init(language: String, normText: String, word2ph: [Int]?, phoneCount: Int) {
        self.language = language
        self.normText = normText
        self.word2ph = word2ph
        self.phoneCount = phoneCount
    }

    /// Whether the segment gets BERT features (`zh`, or `all_zh`); other languages get zeros.
    public var isChinese: Bool {
        (language.hasPrefix("all_") ? String(language.dropFirst(4)) : language) == "zh"
    }
}

/// Chinese RoBERTa (`chinese-roberta-wwm-ext-large`) as GPT-SoVITS uses it: tokenizer + BERT up to
/// `hidden_states[-3]` (with L layers, the output of layer L − 3; later layers are never loaded),
/// then character features repeated per phone.
///
/// ```swift
/// let bert = try ChineseRoBERTa.load(folder: "GPT_SoVITS/pretrained_models/chinese-roberta-wwm-ext-large")
/// let f = try bert.phoneFeatures(normText: "你好.", word2ph: [2, 2, 1])   // [1024, 5]
/// ```
public struct ChineseRoBERTa: Sendable {
    /// The WordPiece tokenizer of the model folder.
    public let tokenizer: BertTokenizer
    /// The BERT encoder, holding only the layers `hidden_states[-3]` needs.
    public let model: BertModel
    /// The `hidden_states` index read: `num_hidden_layers − 2` (= `hidden_states[-3]`).
    public let hiddenStateIndex: Int

    /// Feature channels (1024 for the official model).
    public var featureSize: Int { model.config.hiddenSize }

    /// The `hidden_states` index `hidden_states[-3]` names for a model of `layers` layers.
    /// - Throws: ``BERTError/notEnoughLayers(requested:available:)`` below 2 layers.
    public static func hiddenStateIndex(layers: Int) throws -> Int {
        guard layers >= 2 else { throw BERTError.notEnoughLayers(requested: -3, available: layers) }
        return layers - 2
    }

    /// Wraps a tokenizer and a model holding at least `hidden_states[-3]`'s layers.
    /// - Throws: ``BERTError/notEnoughLayers(requested:available:)`` when the model lacks them.
    public init(tokenizer: BertTokenizer, model: BertModel) throws {
        let index = try Self.hiddenStateIndex(layers: model.config.numHiddenLayers)
        guard model.layers.count >= index else {
            throw BERTError.notEnoughLayers(requested: index, available: model.layers.count)
        }
        self.tokenizer = tokenizer
        self.model = model
        hiddenStateIndex = index
    }

    /// Loads a Hugging Face folder (`config.json`, `pytorch_model.bin` or safetensors, `vocab.txt`
    /// or `tokenizer.json`). Only the layers up to `hidden_states[-3]` are read; the masked-LM head
    /// (`cls.*`), the pooler and later layers are knowingly skipped; any other key is an error.
    public static func load(folder: String) throws -> ChineseRoBERTa {
        let archive = try WeightArchive.open(folder)
        let config = try BertConfig(archive: archive)
        let index = try hiddenStateIndex(layers: config.numHiddenLayers)
        let prefix = BertModel.keyPrefix(archive)
        let root = WeightReader(archive)
        let model = try BertModel.load(reader: root.scoped(prefix), config: config, layerCount: index, pooler: false)
        root.skipAll(withPrefix: "cls.")
        try root.verifyAllConsumed()
        let tokenizer = try BertTokenizer(folder: URL(fileURLWithPath: folder, isDirectory: true))
        archive.releaseResidentPages()
        return try ChineseRoBERTa(tokenizer: tokenizer, model: model)
    }

    /// The official `chinese-roberta-wwm-ext-large` dimensions (1024 × 24 layers, 16 heads, FFN 4096,
    /// vocabulary 21128) with seeded random weights for the 22 layers `hidden_states[-3]` reads,
    /// for benchmarks without downloads. The tokenizer covers ``syntheticVocabulary(size:)``: the
    /// special tokens, ASCII and every CJK ideograph from U+4E00 on, so Chinese text tokenizes one
    /// token per character as with the real vocabulary.
    public static func randomV2(seed: UInt64) throws -> ChineseRoBERTa {
        let c = BertConfig.chineseRoBERTaLarge
        return try random(config: c, seed: seed, vocabulary: syntheticVocabulary(size: c.vocabSize))
    }

    /// A WordPiece vocabulary of `size` entries for random models: `[PAD] [UNK] [CLS] [SEP] [MASK]`,
    /// printable ASCII (lowercase letters, digits, punctuation), then CJK ideographs from U+4E00
    /// (then extension A from U+3400).
    public static func syntheticVocabulary(size: Int) -> [String] {
        var v = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        for b in UInt32(0x21)...0x7E where !(0x41...0x5A).contains(b) {
            if let s = Unicode.Scalar(b) { v.append(String(Character(s))) }
        }
        for range in [UInt32(0x4E00)...0x9FFF, 0x3400...0x4DBF] {
            for code in range where v.count < size {
                if let s = Unicode.Scalar(code) { v.append(String(Character(s))) }
            }
        }
        return Array(v.prefix(size))
    }

    /// A model of `config` with seeded random weights (only the layers read) and a tokenizer over
    /// `vocabulary` (padded with `[unusedN]` entries up to `vocab_size`).
    public static func random(config: BertConfig, seed: UInt64, vocabulary: [String]) throws -> ChineseRoBERTa {
        let index = try hiddenStateIndex(layers: config.numHiddenLayers)
        guard vocabulary.count <= config.vocabSize else {
            throw EncoderConfigError.invalid(model: "BERT", reason:
                "\(vocabulary.count) vocabulary entries exceed vocab_size \(config.vocabSize)")
        }
        var lines = vocabulary
        while lines.count < config.vocabSize { lines.append("[unused\(lines.count)]") }
        let tokenizer = try BertTokenizer(vocabLines: lines)
        return try ChineseRoBERTa(tokenizer: tokenizer,
                                  model: BertModel.random(config: config, layerCount: index, seed: seed))
    }

    /// `hidden_states[-3][0][1:-1]` for `normText`: one row per token between `[CLS]` and `[SEP]`,
    /// `[tokens − 2, hidden]`.
    /// - Throws: ``BERTError`` for an empty or too long text.
    public func charFeatures(normText: String) throws -> Tensor {
        try charFeatures(normTexts: [normText])[0]
    }

    /// Texts per encoder batch in ``charFeatures(normTexts:)``.
    static let batchLimit = 16

    /// ``charFeatures(normText:)`` of several texts, run through the encoder together: texts of
    /// similar length share a padded batch (padding masked out of attention), so the weights are
    /// read once per batch instead of once per text. One result per text, in order; each equals
    /// the single-text result up to float rounding.
    /// - Throws: ``BERTError`` for an empty or too long text.
    public func charFeatures(normTexts: [String]) throws -> [Tensor] {
        let ids = normTexts.map { tokenizer.encode($0) }
        var out = [Tensor?](repeating: nil, count: ids.count)
        // Sorted by length, so a batch pads little.
        let order = ids.indices.sorted { ids[$0].count < ids[$1].count }
        var start = 0
        while start < order.count {
            let group = Array(order[start..<min(start + Self.batchLimit, order.count)])
            let h = try model.hiddenState(hiddenStateIndex, inputIDs: group.map { ids[$0] })  // [B, L, hidden]
            for (b, i) in group.enumerated() {
                out[i] = h.slice(axis: 0, b..<(b + 1)).squeezed(0).slice(axis: 0, 1..<(ids[i].count - 1))
            }
            start += group.count
        }
        return out.map { $0! }
    }

    /// Phone-level features of a Chinese text (`get_bert_feature`): character `i`'s row repeated
    /// `word2ph[i]` times, transposed to `[hidden, Σ word2ph]`.
    /// - Throws: ``BERTError`` when `word2ph` does not match the characters, the tokenizer yields
    ///   fewer tokens than characters, or a count is negative.
    public func phoneFeatures(normText: String, word2ph: [Int]) throws -> Tensor {
        try checkWord2ph(normText: normText, word2ph: word2ph)
        if word2ph.isEmpty { return Tensor.zeros([featureSize, 0]) }
        return try expand(charFeatures(normText: normText), normText: normText, word2ph: word2ph)
    }

    private func checkWord2ph(normText: String, word2ph: [Int]) throws {
        let characters = normText.unicodeScalars.count
        guard word2ph.count == characters else {
            throw BERTError.word2phCountMismatch(text: normText, characters: characters, word2ph: word2ph.count)
        }
        guard word2ph.allSatisfy({ $0 >= 0 }) else {
            throw BERTError.phoneCountMismatch(text: normText, phoneCount: -1, word2phSum: word2ph.reduce(0, +))
        }
    }

    /// ``expand(_:word2ph:)`` after checking that the tokenizer gave a row per character.
    private func expand(_ chars: Tensor, normText: String, word2ph: [Int]) throws -> Tensor {
        guard chars.shape[0] >= word2ph.count else {
            throw BERTError.tooFewTokens(text: normText, tokens: chars.shape[0], characters: word2ph.count)
        }
        return expand(chars, word2ph: word2ph)
    }

    /// Rows of `chars [n, hidden]` repeated per `word2ph`, as `[hidden, Σ word2ph]`.
    func expand(_ chars: Tensor, word2ph: [Int]) -> Tensor {
        let d = chars.shape[1]
        let total = word2ph.reduce(0, +)
        var out = [Float](repeating: 0, count: d * total)
        chars.scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var col = 0
                for (i, n) in word2ph.enumerated() {
                    for _ in 0..<n {
                        for c in 0..<d { dst[c * total + col] = src[i * d + c] }
                        col += 1
                    }
                }
            }
        }
        return Tensor(shape: [d, total], scalars: out)
    }

    /// The BERT features of a whole `get_phones_and_bert` call: Chinese segments get
    /// ``phoneFeatures(normText:word2ph:)``, others zeros, concatenated in segment order →
    /// `[hidden, Σ phoneCount]`.
    /// - Throws: ``BERTError`` when a Chinese segment lacks `word2ph` or its phone count disagrees
    ///   with it, or a count is negative.
    public func features(segments: [BertTextSegment]) throws -> Tensor {
        try features(batch: [segments])[0]
    }

    /// ``features(segments:)`` for several calls at once (one segment list per sentence): the
    /// Chinese segments of all of them go through ``charFeatures(normTexts:)`` together, so the
    /// encoder weights are read once per batch rather than once per sentence. One result per
    /// list, in order.
    /// - Throws: what ``features(segments:)`` throws, for the first bad segment.
    public func features(batch: [[BertTextSegment]]) throws -> [Tensor] {
        // Check everything and collect the texts that need the encoder.
        var texts: [String] = []
        for segments in batch {
            for s in segments {
                guard s.phoneCount >= 0 else {
                    throw BERTError.phoneCountMismatch(text: s.normText, phoneCount: s.phoneCount,
                                                       word2phSum: s.word2ph?.reduce(0, +) ?? 0)
                }
                guard s.isChinese else { continue }
                guard let w2p = s.word2ph else { throw BERTError.missingWord2ph(text: s.normText) }
                let sum = w2p.reduce(0, +)
                guard sum == s.phoneCount else {
                    throw BERTError.phoneCountMismatch(text: s.normText, phoneCount: s.phoneCount, word2phSum: sum)
                }
                try checkWord2ph(normText: s.normText, word2ph: w2p)
                if sum > 0 { texts.append(s.normText) }
            }
        }
        var chars = try charFeatures(normTexts: texts).makeIterator()
        return try batch.map { segments in
            var parts: [Tensor] = []
            for s in segments {
                if s.isChinese, let w2p = s.word2ph, s.phoneCount > 0, let c = chars.next() {
                    parts.append(try expand(c, normText: s.normText, word2ph: w2p))
                } else if !s.isChinese && s.phoneCount > 0 {
                    parts.append(Tensor.zeros([featureSize, s.phoneCount]))
                }
            }
            if parts.isEmpty { return Tensor.zeros([featureSize, 0]) }
            return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 1)
        }
    }
}
