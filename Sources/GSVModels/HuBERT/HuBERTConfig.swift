// Follows GPT_SoVITS/feature_extractor/cnhubert.py: CNHubert (HubertModel.from_pretrained(config.json)).
// The fields mirror transformers' HubertConfig, with its defaults (= chinese-hubert-base).
import Foundation
import GSVNN
import GSVWeights

/// The CN-HuBERT (`HubertModel`) hyper-parameters, read from the model folder's `config.json`.
///
/// Keys missing from the file take transformers' `HubertConfig` defaults, which are also the
/// official `chinese-hubert-base` values (pinned by a test).
public struct HuBERTConfig: Codable, Sendable, Equatable {
    /// Transformer width (`hidden_size`).
    public var hiddenSize: Int = 768
    /// Transformer layers (`num_hidden_layers`).
    public var numHiddenLayers: Int = 12
    /// Attention heads (`num_attention_heads`).
    public var numAttentionHeads: Int = 12
    /// Feed-forward width (`intermediate_size`).
    public var intermediateSize: Int = 3072
    /// Feed-forward activation (`hidden_act`).
    public var hiddenAct: String = "gelu"
    /// Output channels of each feature-encoder convolution (`conv_dim`).
    public var convDim: [Int] = Array(repeating: 512, count: 7)
    /// Kernel of each feature-encoder convolution (`conv_kernel`).
    public var convKernel: [Int] = [10, 3, 3, 3, 3, 2, 2]
    /// Stride of each feature-encoder convolution (`conv_stride`).
    public var convStride: [Int] = [5, 2, 2, 2, 2, 2, 2]
    /// Whether the feature-encoder convolutions have biases (`conv_bias`).
    public var convBias: Bool = false
    /// `"group"` (GroupNorm after the first convolution only) or `"layer"` (LayerNorm after each)
    /// (`feat_extract_norm`).
    public var featExtractNorm: String = "group"
    /// Feature-encoder activation (`feat_extract_activation`); also used by the positional conv.
    public var featExtractActivation: String = "gelu"
    /// Whether the feature projection starts with a LayerNorm (`feat_proj_layer_norm`).
    public var featProjLayerNorm: Bool = true
    /// Kernel of the positional convolution (`num_conv_pos_embeddings`).
    public var numConvPosEmbeddings: Int = 128
    /// Groups of the positional convolution (`num_conv_pos_embedding_groups`).
    public var numConvPosEmbeddingGroups: Int = 16
    /// Batch norm before the positional convolution (`conv_pos_batch_norm`; unsupported when true).
    public var convPosBatchNorm: Bool = false
    /// LayerNorm epsilon of the projection and the transformer (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-5
    /// Pre-norm transformer layers with the encoder LayerNorm at the end (`do_stable_layer_norm`).
    public var doStableLayerNorm: Bool = false

    /// The official `chinese-hubert-base` configuration (transformers' defaults).
    public static let chineseHuBERTBase = HuBERTConfig()

    /// A configuration with transformers' defaults.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", convDim = "conv_dim", convKernel = "conv_kernel", convStride = "conv_stride"
        case convBias = "conv_bias", featExtractNorm = "feat_extract_norm"
        case featExtractActivation = "feat_extract_activation", featProjLayerNorm = "feat_proj_layer_norm"
        case numConvPosEmbeddings = "num_conv_pos_embeddings"
        case numConvPosEmbeddingGroups = "num_conv_pos_embedding_groups"
        case convPosBatchNorm = "conv_pos_batch_norm", layerNormEps = "layer_norm_eps"
        case doStableLayerNorm = "do_stable_layer_norm"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HuBERTConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        convDim = try c.decodeIfPresent([Int].self, forKey: .convDim) ?? d.convDim
        convKernel = try c.decodeIfPresent([Int].self, forKey: .convKernel) ?? d.convKernel
        convStride = try c.decodeIfPresent([Int].self, forKey: .convStride) ?? d.convStride
        convBias = try c.decodeIfPresent(Bool.self, forKey: .convBias) ?? d.convBias
        featExtractNorm = try c.decodeIfPresent(String.self, forKey: .featExtractNorm) ?? d.featExtractNorm
        featExtractActivation = try c.decodeIfPresent(String.self, forKey: .featExtractActivation) ?? d.featExtractActivation
        featProjLayerNorm = try c.decodeIfPresent(Bool.self, forKey: .featProjLayerNorm) ?? d.featProjLayerNorm
        numConvPosEmbeddings = try c.decodeIfPresent(Int.self, forKey: .numConvPosEmbeddings) ?? d.numConvPosEmbeddings
        numConvPosEmbeddingGroups = try c.decodeIfPresent(Int.self, forKey: .numConvPosEmbeddingGroups)
            ?? d.numConvPosEmbeddingGroups
        convPosBatchNorm = try c.decodeIfPresent(Bool.self, forKey: .convPosBatchNorm) ?? d.convPosBatchNorm
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        doStableLayerNorm = try c.decodeIfPresent(Bool.self, forKey: .doStableLayerNorm) ?? d.doStableLayerNorm
    }

    /// Reads the configuration a weight archive carries (a Hugging Face folder's `config.json`).
    /// - Throws: ``EncoderConfigError`` when there is none or it is malformed or unsupported.
    public init(archive: WeightArchive) throws {
        guard let value = archive.config else {
            throw EncoderConfigError.missingConfig(model: "CN-HuBERT", path: archive.path)
        }
        self = try decodeEncoderConfig(HuBERTConfig.self, from: value, model: "CN-HuBERT")
        try validate()
    }

    /// Checks that the sizes are consistent and the options supported.
    /// - Throws: ``EncoderConfigError`` naming the offending setting.
    public func validate() throws {
        func bad(_ key: String, _ value: Any) -> EncoderConfigError {
            .unsupported(model: "CN-HuBERT", key: key, value: "\(value)")
        }
        guard hiddenSize > 0 else { throw bad("hidden_size", hiddenSize) }
        guard numHiddenLayers >= 0 else { throw bad("num_hidden_layers", numHiddenLayers) }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw bad("num_attention_heads", "\(numAttentionHeads) (hidden_size \(hiddenSize))")
        }
        guard intermediateSize > 0 else { throw bad("intermediate_size", intermediateSize) }
        guard !convDim.isEmpty, convDim.count == convKernel.count, convDim.count == convStride.count,
              (convDim + convKernel + convStride).allSatisfy({ $0 > 0 }) else {
            throw bad("conv_dim/conv_kernel/conv_stride", "\(convDim)/\(convKernel)/\(convStride)")
        }
        guard featExtractNorm == "group" || featExtractNorm == "layer" else { throw bad("feat_extract_norm", featExtractNorm) }
        guard numConvPosEmbeddings > 0 else { throw bad("num_conv_pos_embeddings", numConvPosEmbeddings) }
        guard numConvPosEmbeddingGroups > 0, hiddenSize % numConvPosEmbeddingGroups == 0 else {
            throw bad("num_conv_pos_embedding_groups", "\(numConvPosEmbeddingGroups) (hidden_size \(hiddenSize))")
        }
        guard !convPosBatchNorm else { throw bad("conv_pos_batch_norm", convPosBatchNorm) }
        guard layerNormEps > 0 else { throw bad("layer_norm_eps", layerNormEps) }
        _ = try Activation.parse(hiddenAct, model: "CN-HuBERT", key: "hidden_act")
        _ = try Activation.parse(featExtractActivation, model: "CN-HuBERT", key: "feat_extract_activation")
    }

    /// Total down-sampling of the feature encoder (320 for the official strides: 16 kHz → 50 Hz).
    public var totalStride: Int { convStride.reduce(1, *) }

    /// Frames the feature encoder produces for `samples` input samples, or nil when the input is
    /// shorter than one receptive field.
    public func frameCount(samples: Int) -> Int? {
        var t = samples
        for (k, s) in zip(convKernel, convStride) {
            guard t >= k else { return nil }
            t = (t - k) / s + 1
        }
        return t
    }

    /// The fewest input samples that give one output frame.
    public var minimumSamples: Int {
        var n = 1
        for (k, s) in zip(convKernel, convStride).reversed() { n = (n - 1) * s + k }
        return n
    }
}
