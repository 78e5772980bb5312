// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.init_bert_weights (AutoModelForMaskedLM.from_pretrained
// of chinese-roberta-wwm-ext-large). The fields mirror transformers' BertConfig, with its defaults.
import Foundation
import GSVNN
import GSVWeights

/// The BERT hyper-parameters, read from the model folder's `config.json`.
///
/// Keys missing from the file take transformers' `BertConfig` defaults; ``chineseRoBERTaLarge``
/// holds the official `chinese-roberta-wwm-ext-large` values (pinned by a test).
public struct BertConfig: Codable, Sendable, Equatable {
    /// Word-piece vocabulary size (`vocab_size`).
    public var vocabSize: Int = 30522
    /// Transformer width (`hidden_size`).
    public var hiddenSize: Int = 768
    /// Transformer layers in the checkpoint (`num_hidden_layers`).
    public var numHiddenLayers: Int = 12
    /// Attention heads (`num_attention_heads`).
    public var numAttentionHeads: Int = 12
    /// Feed-forward width (`intermediate_size`).
    public var intermediateSize: Int = 3072
    /// Feed-forward activation (`hidden_act`).
    public var hiddenAct: String = "gelu"
    /// Rows of the absolute position table, the longest sequence (`max_position_embeddings`).
    public var maxPositionEmbeddings: Int = 512
    /// Token-type (segment) ids (`type_vocab_size`).
    public var typeVocabSize: Int = 2
    /// LayerNorm epsilon of embeddings and layers (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-12
    /// Only `"absolute"` is supported.
    public var positionEmbeddingType: String = "absolute"
    /// Class names by index (`id2label`, sequence classifiers); empty when absent.
    public var id2label: [Int: String] = [:]

    /// The official `hfl/chinese-roberta-wwm-ext-large`: 1024 wide, 24 layers × 16 heads, FFN 4096,
    /// vocabulary 21128.
    public static let chineseRoBERTaLarge: BertConfig = {
        var c = BertConfig()
        c.vocabSize = 21128; c.hiddenSize = 1024; c.numHiddenLayers = 24; c.numAttentionHeads = 16
        c.intermediateSize = 4096
        return c
    }()

    /// A configuration with transformers' defaults.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type", id2label
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BertConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType)
            ?? d.positionEmbeddingType
        if let labels = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            var m: [Int: String] = [:]
            for (k, v) in labels {
                guard let i = Int(k) else {
                    throw EncoderConfigError.invalid(model: "BERT", reason: "id2label key '\(k)' is not an integer")
                }
                m[i] = v
            }
            id2label = m
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers); try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings); try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(layerNormEps, forKey: .layerNormEps); try c.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        if !id2label.isEmpty {
            try c.encode(Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }), forKey: .id2label)
        }
    }

    /// Reads the configuration a weight archive carries (a Hugging Face folder's `config.json`).
    /// - Throws: ``EncoderConfigError`` when there is none or it is malformed or unsupported.
    public init(archive: WeightArchive) throws {
        guard let value = archive.config else { throw EncoderConfigError.missingConfig(model: "BERT", path: archive.path) }
        self = try decodeEncoderConfig(BertConfig.self, from: value, model: "BERT")
        try validate()
    }

    /// Checks that the sizes are consistent and the options supported.
    /// - Throws: ``EncoderConfigError`` naming the offending setting.
    public func validate() throws {
        func bad(_ key: String, _ value: Any) -> EncoderConfigError { .unsupported(model: "BERT", key: key, value: "\(value)") }
        guard vocabSize > 0 else { throw bad("vocab_size", vocabSize) }
        guard hiddenSize > 0 else { throw bad("hidden_size", hiddenSize) }
        guard numHiddenLayers >= 0 else { throw bad("num_hidden_layers", numHiddenLayers) }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw bad("num_attention_heads", "\(numAttentionHeads) (hidden_size \(hiddenSize))")
        }
        guard intermediateSize > 0 else { throw bad("intermediate_size", intermediateSize) }
        guard maxPositionEmbeddings > 0 else { throw bad("max_position_embeddings", maxPositionEmbeddings) }
        guard typeVocabSize > 0 else { throw bad("type_vocab_size", typeVocabSize) }
        guard layerNormEps > 0 else { throw bad("layer_norm_eps", layerNormEps) }
        guard positionEmbeddingType == "absolute" else { throw bad("position_embedding_type", positionEmbeddingType) }
        _ = try Activation.parse(hiddenAct, model: "BERT", key: "hidden_act")
    }
}
