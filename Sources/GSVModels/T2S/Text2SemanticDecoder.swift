// Follows GPT_SoVITS/AR/models/t2s_model.py: Text2SemanticDecoder (embeddings and layers; the
// decode loops are in T2SDecodeSession.swift) and GPT_SoVITS/TTS_infer_pack/TTS.py:
// TTS.init_t2s_weights (loading).

import GSVNN
import GSVTensor
import GSVWeights
import Logging

/// The text-to-semantic GPT (`Text2SemanticDecoder`): phones + BERT + prompt tokens → semantic tokens.
///
/// Immutable and `Sendable`: one instance serves concurrent requests; each decode
/// (``T2SDecodeSession``) owns its KV caches and RNG.
public struct Text2SemanticDecoder: Sendable {
    /// Hyper-parameters.
    public let config: T2SConfig
    /// `bert_proj.weight` `[E, bertDim]`.
    public let bertProj: WeightMatrix
    /// `bert_proj.bias` `[E]`.
    public let bertProjBias: Tensor
    /// `ar_text_embedding.word_embeddings.weight` `[phonemeVocab, E]`.
    public let textEmbedding: Tensor
    /// `ar_text_position` (`alpha` `[1]`).
    public let textPosition: SinePositionalEmbedding
    /// `ar_audio_embedding.word_embeddings.weight` `[vocab, E]`.
    public let audioEmbedding: Tensor
    /// `ar_audio_position` (`alpha` `[1]`).
    public let audioPosition: SinePositionalEmbedding
    /// `h.layers.<i>`.
    public let blocks: [T2SBlock]
    /// `ar_predict_layer.weight` `[vocab, d]` (no bias).
    public let predictLayer: WeightMatrix

    /// Opens a GPT checkpoint (`.ckpt`) and loads it (`TTS.init_t2s_weights`).
    public static func load(path: String) throws -> Text2SemanticDecoder {
        let archive = try WeightArchive.open(path)
        let model = try Text2SemanticDecoder(archive: archive)
        archive.releaseResidentPages()
        return model
    }

    /// Loads from an opened checkpoint: config from its `config`, weights from `model.*`; fails on
    /// missing or unexpected keys.
    public init(archive: WeightArchive) throws {
        guard let cfg = archive.config else {
            throw T2SError.invalidConfig("\(archive.path) has no 'config' entry (not a GPT-SoVITS GPT checkpoint?)")
        }
        try self.init(tensors: archive.tensors, config: try T2SConfig(checkpointConfig: cfg))
    }

    /// Loads from a GPT state dict (`model.*` keys, as the Lightning checkpoint stores them).
    /// - Throws: `WeightsError.missingKey` / `.shapeMismatch` / `.unexpectedKeys` naming the key.
    public init(tensors: [String: TensorData], config: T2SConfig) throws {
        let root = WeightReader(tensors: tensors)
        try self.init(reader: root.scoped("model"), config: config)
        try root.verifyAllConsumed()
    }

    /// Reads the weights from `r` (scoped at the `model.` prefix of the Lightning state dict).
    /// Does not check for unexpected keys; ``init(archive:)`` does.
    public init(reader r: WeightReader, config c: T2SConfig) throws {
        try self.init(ParameterSource(reader: r), config: c)
    }

    /// Declares the network through `p` (scoped at the `model.` keys): matrices in their stored
    /// precision (random: fp16, torch's default law), embeddings U(−1, 1), positional scales 1.
    /// - Throws: ``T2SError/invalidConfig(_:)`` for an inconsistent config, `WeightsError` for a
    ///   missing key or a wrong shape.
    init(_ p: ParameterSource, config c: T2SConfig) throws {
        try c.validate()
        config = c
        let e = c.embeddingDim, d = c.hiddenDim
        let gain = 1 / Float(3).squareRoot()  // torch's Linear init: U(±1/√fan-in)
        bertProj = try WeightMatrix(p, "bert_proj.weight", rows: e, cols: c.bertDim, initial: .fanIn(gain: gain))
        bertProjBias = try p.tensor("bert_proj.bias", shape: [e], initial: .std(gain / Float(c.bertDim).squareRoot()))
        let uniform = ParameterInit.std(1 / Float(3).squareRoot())  // U(−1, 1)
        textEmbedding = try p.tensor("ar_text_embedding.word_embeddings.weight", shape: [c.phonemeVocabSize, e],
                                     initial: uniform)
        textPosition = try SinePositionalEmbedding(p.scoped("ar_text_position"), dim: e)
        audioEmbedding = try p.tensor("ar_audio_embedding.word_embeddings.weight", shape: [c.vocabSize, e], initial: uniform)
        audioPosition = try SinePositionalEmbedding(p.scoped("ar_audio_position"), dim: e)
        blocks = try (0..<c.layers).map { try T2SBlock(p.scoped("h.layers.\($0)"), config: c) }
        predictLayer = try WeightMatrix(p, "ar_predict_layer.weight", rows: c.vocabSize, cols: d, initial: .fanIn(gain: gain))
    }

    /// A model with random weights for `config` (benchmarks and shape tests; no download needed),
    /// declared as a checkpoint is.
    /// - Throws: ``T2SError/invalidConfig(_:)`` for an inconsistent config.
    public static func random(config c: T2SConfig, seed: UInt64) throws -> Text2SemanticDecoder {
        try Text2SemanticDecoder(ParameterSource(randomSeed: seed), config: c)
    }

    /// The official v2 dimensions (24 layers × 512, 16 heads, FFN 2048, phonemes 732, vocab 1025)
    /// with random weights.
    public static func randomV2(seed: UInt64) throws -> Text2SemanticDecoder {
        try random(config: .v2, seed: seed)
    }

    // MARK: - Inputs

    /// Checks one input and names what is wrong.
    func validate(_ input: T2SInput, item: Int) throws {
        let c = config
        let n = input.phoneIDs.count
        guard n > 0 else { throw T2SError.invalidInput("item \(item): no phones") }
        if let bad = input.phoneIDs.first(where: { $0 < 0 || $0 >= c.phonemeVocabSize }) {
            throw T2SError.invalidInput("item \(item): phone id \(bad) outside 0..<\(c.phonemeVocabSize)")
        }
        guard input.bert.shape == [c.bertDim, n] else {
            throw T2SError.invalidInput("item \(item): BERT features \(input.bert.shape), expected [\(c.bertDim), \(n)]")
        }
        if let bad = input.promptTokens.first(where: { $0 < 0 || $0 >= c.vocabSize - 1 }) {
            throw T2SError.invalidInput("item \(item): prompt token \(bad) outside 0..<\(c.vocabSize - 1)")
        }
    }

    /// The text side `x` `[T, E]`: `ar_text_embedding(phones) + bert_proj(bertᵀ)`, then
    /// `+ alpha_text · PE[0..<T]`.
    /// - Throws: ``T2SError/invalidInput(_:)`` for out-of-range phones or a wrong BERT shape.
    public func embedText(phoneIDs: [Int], bert: Tensor) throws -> Tensor {
        try validate(T2SInput(phoneIDs: phoneIDs, bert: bert, promptTokens: []), item: 0)
        return textRows(phoneIDs: phoneIDs, bert: bert)
    }

    func textRows(phoneIDs: [Int], bert: Tensor) -> Tensor {
        let e = config.embeddingDim, n = phoneIDs.count
        var x = bertProj.linear(bert.transposed(0, 1), bias: bertProjBias)  // [T, E]
        x.scalars.withUnsafeMutableBufferPointer { xp in
            textEmbedding.scalars.withUnsafeBufferPointer { tp in
                guard let x0 = xp.baseAddress, let t0 = tp.baseAddress else { return }
                for (i, id) in phoneIDs.enumerated() {
                    // embedding + projection, in the official order of addition
                    for j in 0..<e { x0[i * e + j] = t0[id * e + j] + x0[i * e + j] }
                }
                textPosition.add(to: x0, rows: n, startPosition: 0)
            }
        }
        return x
    }

    /// Writes `audio_emb(token) + alpha_audio · PE[position]` (`E` floats) to `row`.
    func writeAudioRow(_ token: Int, position: Int, into row: UnsafeMutablePointer<Float>) {
        let e = config.embeddingDim
        audioEmbedding.scalars.withUnsafeBufferPointer { ap in
            guard let a0 = ap.baseAddress else { return }
            row.update(from: a0 + token * e, count: e)
        }
        audioPosition.add(to: row, rows: 1, startPosition: position)
    }

    /// Rows `audio_emb(tokens) + alpha_audio · PE[start ..< start+count]`, `[count, E]`.
    func audioRows(_ tokens: [Int], startPosition: Int) -> Tensor {
        let e = config.embeddingDim
        var out = [Float](repeating: 0, count: tokens.count * e)
        out.withUnsafeMutableBufferPointer { op in
            guard let o0 = op.baseAddress else { return }
            for (i, t) in tokens.enumerated() { writeAudioRow(t, position: startPosition + i, into: o0 + i * e) }
        }
        return Tensor(shape: [tokens.count, e], scalars: out)
    }

    /// Cosine similarity of every semantic token's audio embedding to `token`'s (the official
    /// `mute_emb_sim_matrix` for the mute token 486: `F.cosine_similarity` over
    /// `ar_audio_embedding.weight`, eps 1e-8). One value per vocabulary entry, EOS included.
    /// - Throws: ``T2SError/invalidInput(_:)`` when `token` is outside the vocabulary.
    public func tokenSimilarity(to token: Int) throws -> [Float] {
        let rows = audioEmbedding.shape[0], e = audioEmbedding.shape[1]
        guard token >= 0, token < rows else {
            throw T2SError.invalidInput("token \(token) is outside the audio vocabulary 0..<\(rows)")
        }
        let w = audioEmbedding.scalars
        var refNorm: Double = 0
        for j in 0..<e { let v = Double(w[token * e + j]); refNorm += v * v }
        return (0..<rows).map { r in
            var dot: Double = 0, norm: Double = 0
            for j in 0..<e {
                let a = Double(w[r * e + j])
                dot += a * Double(w[token * e + j])
                norm += a * a
            }
            return Float(dot / max((refNorm * norm).squareRoot(), 1e-8))
        }
    }
}

/// The T2S module's logger.
enum T2SLog {
    static let logger = Logger(label: "GSVModels.T2S")
}
