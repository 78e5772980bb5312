// Follows GPT_SoVITS/feature_extractor/cnhubert.py: CNHubert (its `model`, a transformers HubertModel)
// and GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._set_prompt_semantic (the prompt input and padding).
// Module boundaries and forward order follow transformers' modeling_hubert.py: HubertModel →
// HubertFeatureEncoder → HubertFeatureProjection → HubertEncoder (HubertEncoderStableLayerNorm when
// do_stable_layer_norm) with HubertPositionalConvEmbedding and HubertEncoderLayer(StableLayerNorm).
import Foundation
import GSVNN
import GSVTensor
import GSVWeights

/// Errors raised when running CN-HuBERT on audio.
public enum HuBERTError: Error, LocalizedError, Equatable {
    /// The input has fewer samples than one receptive field of the feature encoder.
    case inputTooShort(samples: Int, minimum: Int)
    /// The input holds NaN or infinite samples.
    case nonFiniteInput(index: Int)
    /// A batched input was not `[batch, samples]`.
    case badInputShape([Int])
    /// The input would give more frames than ``CNHuBERT/maximumFrames`` (attention memory grows
    /// with the square of the length).
    case inputTooLong(samples: Int, maximumFrames: Int)

    public var errorDescription: String? {
        switch self {
        case let .inputTooShort(samples, minimum):
            return "CN-HuBERT: \(samples) input samples is too short; at least \(minimum) (16 kHz) are needed"
        case let .nonFiniteInput(index):
            return "CN-HuBERT: input sample \(index) is NaN or infinite"
        case let .badInputShape(shape):
            return "CN-HuBERT: input must be [batch, samples], got \(shape)"
        case let .inputTooLong(samples, maximumFrames):
            return "CN-HuBERT: \(samples) input samples exceed the \(maximumFrames)-frame limit (about \(maximumFrames / 50) s at 16 kHz)"
        }
    }
}

/// One convolution of the feature encoder (`feature_extractor.conv_layers.<i>`):
/// conv → optional norm → activation.
public struct HubertFeatureConvLayer: Sendable {
    /// The norm after the convolution.
    public enum Norm: Sendable {
        /// `HubertGroupNormConvLayer`: GroupNorm with one group per channel (first layer only).
        case group(GroupNorm)
        /// `HubertLayerNormConvLayer`: LayerNorm over channels at each time step.
        case layer(LayerNorm)
    }
    /// `conv.weight [Cout, Cin, K]`, `conv.bias` when `conv_bias`.
    public let conv: Conv1d
    /// `layer_norm.weight` / `layer_norm.bias`, or nil (`HubertNoLayerNormConvLayer`).
    public let norm: Norm?
    /// `feat_extract_activation`.
    public let activation: Activation

    /// Declares layer `index` of the feature encoder (scoped at `conv_layers.<index>`), reading
    /// `inChannels` channels.
    init(_ p: ParameterSource, config c: HuBERTConfig, index i: Int, inChannels cin: Int, activation: Activation) throws {
        let cout = c.convDim[i]
        conv = try Conv1d(p.scoped("conv"), in: cin, out: cout, kernel: c.convKernel[i], stride: c.convStride[i],
                          bias: c.convBias, biasInit: EncoderInit.bias)
        if c.featExtractNorm == "layer" {
            norm = .layer(try LayerNorm(p.scoped("layer_norm"), dim: cout, eps: 1e-5, weightInit: EncoderInit.normWeight,
                                        biasInit: EncoderInit.bias))
        } else if i == 0 {
            norm = .group(try GroupNorm(p.scoped("layer_norm"), groups: cout, channels: cout,
                                        weightInit: EncoderInit.normWeight, biasInit: EncoderInit.bias))
        } else {
            norm = nil
        }
        self.activation = activation
    }

    /// `[B, Cin, T] → [B, Cout, T']`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv(x)
        switch norm {
        case let .group(gn)?:
            // GroupNorm then GELU in one pass over the longest signal.
            if activation == .gelu { return gn(h, gelu: true) }
            h = gn(h)
        case let .layer(ln)?: h = ln(h.transposed(1, 2)).transposed(1, 2)
        case nil: break
        }
        return activation.apply(h)
    }
}

/// `feature_extractor`: the strided convolution stack turning 16 kHz samples into 50 Hz frames.
public struct HubertFeatureEncoder: Sendable {
    /// `conv_layers.<i>`.
    public let convLayers: [HubertFeatureConvLayer]

    /// `[B, N] → [B, C, T]`.
    public func callAsFunction(_ wav: Tensor) -> Tensor {
        var h = wav.unsqueezed(1)
        for layer in convLayers { h = layer(h) }
        return h
    }
}

/// `feature_projection`: optional LayerNorm over conv channels, then a linear map to the
/// transformer width (dropout is inactive at inference).
public struct HubertFeatureProjection: Sendable {
    /// `layer_norm` (when `feat_proj_layer_norm`).
    public let layerNorm: LayerNorm?
    /// `projection [hidden, conv_dim[-1]]`.
    public let projection: Linear

    /// `[B, T, C] → [B, T, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        projection(layerNorm.map { $0(x) } ?? x)
    }
}

/// `encoder.pos_conv_embed`: grouped convolution over time (weight norm folded at load), the
/// "same pad" trim of one frame for even kernels, then the activation.
public struct HubertPositionalConvEmbedding: Sendable {
    /// `conv` with `weight = weight_g · weight_v / ‖weight_v‖` (norm over all but dim 2), `conv.bias`.
    public let conv: Conv1d
    /// `HubertSamePadLayer`: 1 when the kernel is even, else 0.
    public let framesToRemove: Int
    /// `feat_extract_activation`.
    public let activation: Activation

    /// Declares `pos_conv_embed` (scoped there): the grouped convolution `conv`, its weight folded
    /// from either weight-norm naming over the kernel axis (dim 2).
    init(_ p: ParameterSource, config c: HuBERTConfig, activation: Activation) throws {
        let (h, k, groups) = (c.hiddenSize, c.numConvPosEmbeddings, c.numConvPosEmbeddingGroups)
        let weight = try p.weightNormed("conv", shape: [h, h / groups, k], dim: 2)
        conv = try Conv1d(weight: weight, bias: p.tensor("conv.bias", shape: [h], initial: EncoderInit.bias),
                          padding: k / 2, groups: groups)
        framesToRemove = k % 2 == 0 ? 1 : 0
        self.activation = activation
    }

    /// `[B, T, hidden] → [B, T, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv(x.transposed(1, 2))
        if framesToRemove > 0 { h = h.slice(axis: 2, 0..<(h.shape[2] - framesToRemove)) }
        return activation.apply(h).transposed(1, 2)
    }
}

/// `HubertFeedForward`: `intermediate_dense` → activation → `output_dense`.
public struct HubertFeedForward: Sendable {
    /// `intermediate_dense [intermediate, hidden]` (stored precision).
    public let intermediateDense: Linear
    /// `output_dense [hidden, intermediate]` (stored precision).
    public let outputDense: Linear
    /// `hidden_act`.
    public let activation: Activation

    /// `[B, T, hidden] → [B, T, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        outputDense(activation.apply(intermediateDense(x)))
    }
}

/// `encoder.layers.<i>`: self-attention and feed-forward with residuals, post-norm
/// (`HubertEncoderLayer`) or pre-norm (`HubertEncoderLayerStableLayerNorm`).
public struct HubertEncoderLayer: Sendable {
    /// `attention.{q,k,v,out}_proj` (q, k, v packed at load); scores scaled by `1/√headDim`.
    public let attention: MultiHeadAttention
    /// `layer_norm`.
    public let layerNorm: LayerNorm
    /// `feed_forward`.
    public let feedForward: HubertFeedForward
    /// `final_layer_norm`.
    public let finalLayerNorm: LayerNorm
    /// Pre-norm order (`do_stable_layer_norm`).
    public let stable: Bool

    /// `[B, T, hidden] → [B, T, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if stable {
            let h = x + attention(layerNorm(x))
            return h + feedForward(finalLayerNorm(h))
        }
        let h = layerNorm(x + attention(x))
        return finalLayerNorm(h + feedForward(h))
    }
}

/// `encoder`: positional conv added to the projected features, the encoder LayerNorm (before the
/// layers, or after them when stable), then the transformer layers.
public struct HubertEncoder: Sendable {
    /// `pos_conv_embed`.
    public let posConvEmbed: HubertPositionalConvEmbedding
    /// `layer_norm`.
    public let layerNorm: LayerNorm
    /// `layers.<i>`.
    public let layers: [HubertEncoderLayer]
    /// `do_stable_layer_norm`.
    public let stable: Bool

    /// `[B, T, hidden] → last_hidden_state [B, T, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x + posConvEmbed(x)
        if !stable { h = layerNorm(h) }
        for layer in layers { h = layer(h) }
        return stable ? layerNorm(h) : h
    }
}

/// CN-HuBERT (`chinese-hubert-base`, a Hugging Face `HubertModel`): 16 kHz audio → SSL features
/// at 50 Hz, the input of the SoVITS quantizer that makes prompt semantic tokens.
///
/// Immutable and `Sendable`: one instance serves concurrent requests.
///
/// ```swift
/// let hubert = try CNHuBERT.load(folder: "GPT_SoVITS/pretrained_models/chinese-hubert-base")
/// let ssl = try hubert.promptSSLContent(audio16k: samples)   // [768, T50]
/// ```
public struct CNHuBERT: Sendable {
    /// Zeros appended to the 16 kHz reference before HuBERT in `TTS._set_prompt_semantic` for the
    /// v2 family: `int(sampling_rate · 0.3)` with the 32 kHz output rate (not 16 kHz) = 9600.
    public static let officialPromptPaddingSamples = promptPaddingSamples(outputSampleRate: 32000)

    /// The prompt padding for a model whose output rate is `outputSampleRate` (`int(rate · 0.3)`).
    public static func promptPaddingSamples(outputSampleRate: Int) -> Int { Int(Double(outputSampleRate) * 0.3) }

    /// Reference lengths (16 kHz samples, before padding) `TTS._set_prompt_semantic` accepts:
    /// 3–10 s; it refuses others. Checked by callers that follow the official rule.
    public static let officialReferenceSampleRange = 48_000...160_000

    /// Longest input accepted, in output frames (10 minutes at 50 Hz): beyond it the attention
    /// scores alone would need gigabytes.
    public static let maximumFrames = 30_000

    /// The configuration the model was built from.
    public let config: HuBERTConfig
    /// `feature_extractor`.
    public let featureExtractor: HubertFeatureEncoder
    /// `feature_projection`.
    public let featureProjection: HubertFeatureProjection
    /// `encoder`.
    public let encoder: HubertEncoder

    /// Assembles a model from its parts (see ``load(archive:)`` and ``random(config:seed:)``).
    public init(config: HuBERTConfig, featureExtractor: HubertFeatureEncoder,
                featureProjection: HubertFeatureProjection, encoder: HubertEncoder) {
        self.config = config
        self.featureExtractor = featureExtractor
        self.featureProjection = featureProjection
        self.encoder = encoder
    }

    /// `last_hidden_state` for a batch of equal-length waveforms `[B, N]` → `[B, T, hidden]`.
    /// - Throws: ``HuBERTError`` for a malformed, too short or non-finite input.
    public func lastHiddenState(_ input: Tensor) throws -> Tensor {
        guard input.rank == 2, input.shape[0] > 0 else { throw HuBERTError.badInputShape(input.shape) }
        guard let frames = config.frameCount(samples: input.shape[1]) else {
            throw HuBERTError.inputTooShort(samples: input.shape[1], minimum: config.minimumSamples)
        }
        guard frames <= Self.maximumFrames else {
            throw HuBERTError.inputTooLong(samples: input.shape[1], maximumFrames: Self.maximumFrames)
        }
        if let bad = input.scalars.firstIndex(where: { !$0.isFinite }) { throw HuBERTError.nonFiniteInput(index: bad) }
        let features = featureExtractor(input).transposed(1, 2)     // [B, T, C]
        let hidden = featureProjection(features)                     // [B, T, hidden]
        return encoder(hidden)
    }

    /// SSL features of one 16 kHz waveform, as the official
    /// `model(wav[None])["last_hidden_state"].transpose(1, 2)[0]`: `[hidden, T]`, T ≈ N / 320.
    /// The samples are used as given (no feature-extractor normalisation, as on the official path).
    /// - Throws: ``HuBERTError`` for a too short or non-finite input.
    public func sslContent(audio16k: [Float]) throws -> Tensor {
        let out = try lastHiddenState(Tensor(shape: [1, audio16k.count], scalars: audio16k))
        return out.squeezed(0).transposed()
    }

    /// The prompt SSL features of a reference clip, as `TTS._set_prompt_semantic`: the 16 kHz
    /// samples followed by `int(outputSampleRate · 0.3)` zeros (9600 for v2's 32 kHz), then
    /// ``sslContent(audio16k:)``. The official 3–10 s length rule is left to the caller
    /// (``officialReferenceSampleRange``).
    public func promptSSLContent(audio16k: [Float], outputSampleRate: Int = 32000) throws -> Tensor {
        let pad = Self.promptPaddingSamples(outputSampleRate: max(0, outputSampleRate))
        return try sslContent(audio16k: audio16k + [Float](repeating: 0, count: pad))
    }
}

// MARK: - Declaration

extension HubertEncoderLayer {
    /// Declares `encoder.layers.<i>` (scoped there).
    init(_ p: ParameterSource, config c: HuBERTConfig, activation: Activation) throws {
        let h = c.hiddenSize
        func norm(_ name: String) throws -> LayerNorm {
            try LayerNorm(p.scoped(name), dim: h, eps: c.layerNormEps, weightInit: EncoderInit.normWeight,
                          biasInit: EncoderInit.bias)
        }
        self.init(
            attention: try MultiHeadAttention(p, query: "attention.q_proj", key: "attention.k_proj", value: "attention.v_proj",
                                              output: "attention.out_proj", dim: h, heads: c.numAttentionHeads,
                                              biasInit: EncoderInit.bias),
            layerNorm: try norm("layer_norm"),
            feedForward: HubertFeedForward(
                intermediateDense: try Linear(p.scoped("feed_forward.intermediate_dense"), in: h, out: c.intermediateSize,
                                              stored: true, biasInit: EncoderInit.bias),
                outputDense: try Linear(p.scoped("feed_forward.output_dense"), in: c.intermediateSize, out: h,
                                        stored: true, biasInit: EncoderInit.bias),
                activation: activation),
            finalLayerNorm: try norm("final_layer_norm"),
            stable: c.doStableLayerNorm)
    }
}

extension CNHuBERT {
    /// Declares the whole `HubertModel` through `p` (scoped at its keys): every dimension from `c`.
    /// - Throws: ``EncoderConfigError`` for a bad config, `WeightsError` for missing or misshapen weights.
    init(_ p: ParameterSource, config c: HuBERTConfig) throws {
        try c.validate()
        let featAct = try Activation.parse(c.featExtractActivation, model: "CN-HuBERT", key: "feat_extract_activation")
        let hiddenAct = try Activation.parse(c.hiddenAct, model: "CN-HuBERT", key: "hidden_act")
        let h = c.hiddenSize
        var convLayers: [HubertFeatureConvLayer] = []
        var cin = 1
        for i in 0..<c.convDim.count {
            convLayers.append(try HubertFeatureConvLayer(p.scoped("feature_extractor.conv_layers.\(i)"), config: c, index: i,
                                                         inChannels: cin, activation: featAct))
            cin = c.convDim[i]
        }
        let fp = p.scoped("feature_projection")
        let projection = HubertFeatureProjection(
            layerNorm: c.featProjLayerNorm
                ? try LayerNorm(fp.scoped("layer_norm"), dim: cin, eps: c.layerNormEps, weightInit: EncoderInit.normWeight,
                                biasInit: EncoderInit.bias) : nil,
            projection: try Linear(fp.scoped("projection"), in: cin, out: h, biasInit: EncoderInit.bias))
        let e = p.scoped("encoder")
        let encoder = HubertEncoder(
            posConvEmbed: try HubertPositionalConvEmbedding(e.scoped("pos_conv_embed"), config: c, activation: featAct),
            layerNorm: try LayerNorm(e.scoped("layer_norm"), dim: h, eps: c.layerNormEps, weightInit: EncoderInit.normWeight,
                                     biasInit: EncoderInit.bias),
            layers: try (0..<c.numHiddenLayers).map {
                try HubertEncoderLayer(e.scoped("layers.\($0)"), config: c, activation: hiddenAct)
            },
            stable: c.doStableLayerNorm)
        self.init(config: c, featureExtractor: HubertFeatureEncoder(convLayers: convLayers),
                  featureProjection: projection, encoder: encoder)
    }

    /// Loads a Hugging Face `chinese-hubert-base`-style folder (`config.json` + `pytorch_model.bin`
    /// or safetensors; fp16 projection weights stay fp16, others are widened to fp32).
    public static func load(folder: String) throws -> CNHuBERT {
        try load(archive: WeightArchive.open(folder))
    }

    /// Builds the model from an opened archive, reading every dimension from its `config.json`.
    ///
    /// Keys may carry a `hubert.` prefix (checkpoints of HuBERT heads); `masked_spec_embed`
    /// (training-only) is ignored. The positional conv may be stored with legacy weight norm
    /// (`weight_g`/`weight_v`), the parametrization form (`parametrizations.weight.original0/1`) or
    /// as a plain `weight`; weight norm is folded here, once.
    /// - Throws: ``EncoderConfigError`` for a bad config, `WeightsError` for missing, misshapen or
    ///   unexpected weights.
    public static func load(archive: WeightArchive) throws -> CNHuBERT {
        let config = try HuBERTConfig(archive: archive)
        let prefix = archive.tensors.keys.contains { $0.hasPrefix("hubert.feature_extractor.") } ? "hubert." : ""
        let r = WeightReader(archive, prefix: prefix)
        let model = try load(reader: r, config: config)
        r.skip("masked_spec_embed")
        try r.verifyAllConsumed()
        archive.releaseResidentPages()
        return model
    }

    /// Builds the model from a reader scoped at the `HubertModel` keys.
    static func load(reader r: WeightReader, config c: HuBERTConfig) throws -> CNHuBERT {
        try CNHuBERT(ParameterSource(reader: r), config: c)
    }

    /// The official `chinese-hubert-base` architecture (768 wide, 12 layers × 12 heads, FFN 3072,
    /// seven 512-channel convolutions) with seeded random weights, for benchmarks without downloads.
    public static func randomV2(seed: UInt64) throws -> CNHuBERT {
        try random(config: .chineseHuBERTBase, seed: seed)
    }

    /// A model of any valid configuration with seeded random weights (the declaration a checkpoint
    /// goes through, with ``EncoderInit``'s laws; attention and feed-forward weights fp16).
    /// - Throws: ``EncoderConfigError`` for an invalid configuration.
    public static func random(config c: HuBERTConfig, seed: UInt64) throws -> CNHuBERT {
        try CNHuBERT(ParameterSource(randomSeed: seed), config: c)
    }
}
