// Follows GPT_SoVITS/TTS_infer_pack/TextPreprocessor.py: TextPreprocessor.get_bert_feature (its
// `bert_model`, a transformers BertForMaskedLM of which only the `bert` BertModel is used).
// Module boundaries and forward order follow transformers' modeling_bert.py: BertModel →
// BertEmbeddings → BertEncoder → BertLayer (BertAttention = BertSelfAttention + BertSelfOutput,
// BertIntermediate, BertOutput) → BertPooler.
import Foundation
import GSVNN
import GSVTensor
import GSVWeights

/// Errors raised when running a BERT model or building its features.
public enum BERTError: Error, LocalizedError, Equatable {
    /// No tokens were given.
    case emptyInput
    /// A token id is outside the vocabulary.
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    /// A token-type id is outside `0..<type_vocab_size`, or the type ids do not match the tokens.
    case badTokenTypes(String)
    /// The sequence is longer than the position table.
    case sequenceTooLong(length: Int, maximum: Int)
    /// The checkpoint has too few layers for the requested hidden state.
    case notEnoughLayers(requested: Int, available: Int)
    /// `word2ph` does not have one entry per character of the text.
    case word2phCountMismatch(text: String, characters: Int, word2ph: Int)
    /// The tokenizer produced fewer tokens than the text has characters.
    case tooFewTokens(text: String, tokens: Int, characters: Int)
    /// A segment's phone count disagrees with its `word2ph`, or a count is negative.
    case phoneCountMismatch(text: String, phoneCount: Int, word2phSum: Int)
    /// A Chinese segment came without `word2ph`.
    case missingWord2ph(text: String)
    /// The classifier's `id2label` does not name every output class.
    case badLabels(String)

    public var errorDescription: String? {
        switch self {
        case .emptyInput: return "BERT: no input tokens"
        case let .tokenOutOfRange(id, n): return "BERT: token id \(id) is outside the vocabulary of \(n)"
        case let .badTokenTypes(m): return "BERT: token types: \(m)"
        case let .sequenceTooLong(l, m): return "BERT: \(l) tokens exceed the \(m) positions of the model"
        case let .notEnoughLayers(r, a): return "BERT: hidden state \(r) requested but the model has \(a) layers"
        case let .word2phCountMismatch(t, c, w):
            return "BERT: word2ph has \(w) entries but '\(t)' has \(c) characters"
        case let .tooFewTokens(t, n, c):
            return "BERT: '\(t)' gives \(n) tokens for \(c) characters; one token per character is needed"
        case let .phoneCountMismatch(t, p, s):
            return "BERT: segment '\(t)' has \(p) phones but word2ph sums to \(s)"
        case let .missingWord2ph(t): return "BERT: Chinese segment '\(t)' has no word2ph"
        case let .badLabels(m): return "BERT classifier: \(m)"
        }
    }
}

/// `embeddings`: word + absolute position + token type, then LayerNorm (dropout off).
public struct BertEmbeddings: Sendable {
    /// `word_embeddings [vocab, hidden]`.
    public let wordEmbeddings: Embedding
    /// `position_embeddings [max_position, hidden]`.
    public let positionEmbeddings: Embedding
    /// `token_type_embeddings [type_vocab, hidden]`.
    public let tokenTypeEmbeddings: Embedding
    /// `LayerNorm`.
    public let layerNorm: LayerNorm

    /// Ids `[B·L]` (row-major `[B, L]`) → `[B, L, hidden]`; positions are `0..<L` in every row.
    func callAsFunction(ids: [Int], tokenTypes: [Int], batch: Int, length: Int) -> Tensor {
        let words = wordEmbeddings(ids, shape: [batch, length])
        let positions = positionEmbeddings(Array(0..<length), shape: [1, length])
        let types = tokenTypeEmbeddings(tokenTypes, shape: [batch, length])
        return layerNorm(words + types + positions)
    }
}

/// `encoder.layer.<i>`: post-norm self-attention and feed-forward.
public struct BertLayer: Sendable {
    /// `attention.self.{query,key,value}` (packed at load) and `attention.output.dense` as out_proj;
    /// scores scaled by `1/√headDim`.
    public let attention: MultiHeadAttention
    /// `attention.output.LayerNorm`.
    public let attentionLayerNorm: LayerNorm
    /// `intermediate.dense [intermediate, hidden]` (stored precision).
    public let intermediate: Linear
    /// `output.dense [hidden, intermediate]` (stored precision).
    public let output: Linear
    /// `output.LayerNorm`.
    public let outputLayerNorm: LayerNorm
    /// `hidden_act`.
    public let activation: Activation

    /// `[B, L, hidden] → [B, L, hidden]`; `padding [B, L]` marks ignored keys.
    func callAsFunction(_ x: Tensor, padding: Mask?) -> Tensor {
        let a = attentionLayerNorm(x + attention(x, keyPaddingMask: padding))
        return outputLayerNorm(a + output(activation.apply(intermediate(a))))
    }
}

/// `pooler`: dense + tanh on the first ([CLS]) position.
public struct BertPooler: Sendable {
    /// `dense [hidden, hidden]`.
    public let dense: Linear

    /// `[B, L, hidden] → [B, hidden]`.
    public func callAsFunction(_ hidden: Tensor) -> Tensor {
        dense(hidden.slice(axis: 1, 0..<1).squeezed(1)).tanh()
    }
}

/// A BERT encoder (`BertModel`), holding the first ``layers``.count transformer layers of the
/// checkpoint — callers that read an intermediate hidden state load only what they need.
///
/// Immutable and `Sendable`: one instance serves concurrent requests.
public struct BertModel: Sendable {
    /// The configuration of the checkpoint (`numHiddenLayers` counts all its layers).
    public let config: BertConfig
    /// `embeddings`.
    public let embeddings: BertEmbeddings
    /// `encoder.layer.<i>` for `i < layers.count` (≤ `config.numHiddenLayers`).
    public let layers: [BertLayer]
    /// `pooler`, when loaded.
    public let pooler: BertPooler?

    /// Assembles a model from its parts.
    public init(config: BertConfig, embeddings: BertEmbeddings, layers: [BertLayer], pooler: BertPooler?) {
        self.config = config
        self.embeddings = embeddings
        self.layers = layers
        self.pooler = pooler
    }

    /// `hidden_states[index]` for a batch of token-id rows: index 0 is the embedding output, index
    /// `i` the output of layer `i − 1`. Rows shorter than the longest are padded (pad id 0) and
    /// their padding masked out of attention, as an `attention_mask` of ones then zeros.
    /// - Parameters:
    ///   - tokenTypeIDs: per row, or nil for all zeros.
    /// - Returns: `[B, L, hidden]`, L = the longest row.
    /// - Throws: ``BERTError`` for empty, out-of-range or too long input, or an index past the
    ///   loaded layers.
    public func hiddenState(_ index: Int, inputIDs: [[Int]], tokenTypeIDs: [[Int]]? = nil) throws -> Tensor {
        guard index >= 0, index <= layers.count else {
            throw BERTError.notEnoughLayers(requested: index, available: layers.count)
        }
        guard !inputIDs.isEmpty, inputIDs.allSatisfy({ !$0.isEmpty }) else { throw BERTError.emptyInput }
        let length = inputIDs.map(\.count).max() ?? 0
        guard length <= config.maxPositionEmbeddings else {
            throw BERTError.sequenceTooLong(length: length, maximum: config.maxPositionEmbeddings)
        }
        let vocab = embeddings.wordEmbeddings.count
        for row in inputIDs { for id in row where id < 0 || id >= vocab {
            throw BERTError.tokenOutOfRange(id: id, vocabularySize: vocab)
        } }
        if let tt = tokenTypeIDs {
            guard tt.count == inputIDs.count, zip(tt, inputIDs).allSatisfy({ $0.count == $1.count }) else {
                throw BERTError.badTokenTypes("one type id per token is needed")
            }
            let types = embeddings.tokenTypeEmbeddings.count
            if let bad = tt.joined().first(where: { $0 < 0 || $0 >= types }) {
                throw BERTError.badTokenTypes("type id \(bad) outside 0..<\(types)")
            }
        }
        let batch = inputIDs.count
        var ids = [Int](repeating: 0, count: batch * length)
        var types = [Int](repeating: 0, count: batch * length)
        var pad = [Bool](repeating: false, count: batch * length)
        for (b, row) in inputIDs.enumerated() {
            for (i, id) in row.enumerated() { ids[b * length + i] = id }
            if let tt = tokenTypeIDs { for (i, t) in tt[b].enumerated() { types[b * length + i] = t } }
            for i in row.count..<length { pad[b * length + i] = true }
        }
        let padding = pad.contains(true) ? Mask(shape: [batch, length], values: pad) : nil
        var h = embeddings(ids: ids, tokenTypes: types, batch: batch, length: length)
        for layer in layers.prefix(index) { h = layer(h, padding: padding) }
        return h
    }

    /// The output of the last loaded layer for one sequence: `[L, hidden]`.
    public func lastHiddenState(inputIDs: [Int]) throws -> Tensor {
        try hiddenState(layers.count, inputIDs: [inputIDs]).squeezed(0)
    }
}

// MARK: - Loading

extension BertModel {
    /// The key prefix of the `BertModel` weights in `archive` (`"bert."` for `BertForMaskedLM` /
    /// `BertForSequenceClassification` checkpoints, `""` for a bare `BertModel`).
    static func keyPrefix(_ archive: WeightArchive) -> String {
        archive.tensors.keys.contains { $0.hasPrefix("bert.embeddings.") } ? "bert." : ""
    }

    /// Declares the embeddings, the first `layerCount` layers and optionally the pooler through `p`
    /// (scoped at the `BertModel` keys). Layers past `layerCount` are marked as knowingly unused.
    /// Random sources draw embeddings with σ = 0.5, projections with fan-in scaling (fp16), norms
    /// around γ = 1 (``EncoderInit``).
    /// - Throws: ``BERTError/notEnoughLayers(requested:available:)``, `WeightsError` for missing or
    ///   misshapen weights, ``EncoderConfigError`` for an unsupported config.
    init(_ p: ParameterSource, config c: BertConfig, layerCount: Int, pooler: Bool) throws {
        try c.validate()
        guard layerCount >= 0, layerCount <= c.numHiddenLayers else {
            throw BERTError.notEnoughLayers(requested: layerCount, available: c.numHiddenLayers)
        }
        let act = try Activation.parse(c.hiddenAct, model: "BERT", key: "hidden_act")
        let h = c.hiddenSize
        func norm(_ q: ParameterSource) throws -> LayerNorm {
            try LayerNorm(q, dim: h, eps: c.layerNormEps, weightInit: EncoderInit.normWeight, biasInit: EncoderInit.bias)
        }
        let e = p.scoped("embeddings")
        let embeddings = BertEmbeddings(
            wordEmbeddings: try Embedding(e.scoped("word_embeddings"), count: c.vocabSize, dimension: h, initial: .std(0.5)),
            positionEmbeddings: try Embedding(e.scoped("position_embeddings"), count: c.maxPositionEmbeddings,
                                              dimension: h, initial: .std(0.5)),
            tokenTypeEmbeddings: try Embedding(e.scoped("token_type_embeddings"), count: c.typeVocabSize, dimension: h,
                                               initial: .std(0.5)),
            layerNorm: try norm(e.scoped("LayerNorm")))
        e.skip("position_ids")        // a buffer some checkpoints store: always 0..<max_position
        e.skip("token_type_ids")
        var layers: [BertLayer] = []
        for i in 0..<layerCount {
            let l = p.scoped("encoder.layer.\(i)")
            layers.append(BertLayer(
                attention: try MultiHeadAttention(l, query: "attention.self.query", key: "attention.self.key",
                                                  value: "attention.self.value", output: "attention.output.dense",
                                                  dim: h, heads: c.numAttentionHeads, biasInit: EncoderInit.bias),
                attentionLayerNorm: try norm(l.scoped("attention.output.LayerNorm")),
                intermediate: try Linear(l.scoped("intermediate.dense"), in: h, out: c.intermediateSize, stored: true,
                                         biasInit: EncoderInit.bias),
                output: try Linear(l.scoped("output.dense"), in: c.intermediateSize, out: h, stored: true,
                                   biasInit: EncoderInit.bias),
                outputLayerNorm: try norm(l.scoped("output.LayerNorm")),
                activation: act))
        }
        for i in layerCount..<c.numHiddenLayers { p.scoped("encoder.layer.\(i)").skipAll() }
        let pool = pooler ? BertPooler(dense: try Linear(p.scoped("pooler.dense"), in: h, out: h, biasInit: EncoderInit.bias))
            : nil
        if !pooler { p.scoped("pooler").skipAll() }
        self.init(config: c, embeddings: embeddings, layers: layers, pooler: pool)
    }

    /// Reads the embeddings, the first `layerCount` layers and optionally the pooler from `r`
    /// (scoped at the `BertModel` keys); see ``init(_:config:layerCount:pooler:)``.
    static func load(reader r: WeightReader, config c: BertConfig, layerCount: Int, pooler: Bool) throws -> BertModel {
        try BertModel(ParameterSource(reader: r), config: c, layerCount: layerCount, pooler: pooler)
    }

    /// A model of `config` with seeded random weights for its first `layerCount` layers (all by
    /// default), declared as a checkpoint is.
    /// - Throws: ``EncoderConfigError`` for an invalid configuration.
    public static func random(config c: BertConfig, layerCount: Int? = nil, pooler: Bool = false,
                              seed: UInt64) throws -> BertModel {
        try BertModel(ParameterSource(randomSeed: seed), config: c, layerCount: layerCount ?? c.numHiddenLayers,
                      pooler: pooler)
    }
}
