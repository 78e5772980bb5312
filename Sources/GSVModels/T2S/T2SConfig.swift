// Follows GPT_SoVITS/AR/models/t2s_model.py: Text2SemanticDecoder.__init__ (hyper-parameters read
// from the checkpoint's `config["model"]`) and GPT_SoVITS/TTS_infer_pack/TTS.py: TTS_Config
// (`max_sec` from `config["data"]`, `hz = 50`).

import GSVWeights

/// Hyper-parameters of the text-to-semantic GPT (``Text2SemanticDecoder``).
///
/// Read from a GPT checkpoint's own `config` dict (``init(checkpointConfig:)``); ``v2`` holds the
/// official v2 values (`configs/s1longer-v2.yaml`).
public struct T2SConfig: Codable, Sendable, Equatable {
    /// Semantic vocabulary including EOS (`model.vocab_size`, official 1025).
    public var vocabSize: Int
    /// Phoneme vocabulary (`model.phoneme_vocab_size`: 512 for v1, 732 for v2).
    public var phonemeVocabSize: Int
    /// Width of the token embeddings and of `bert_proj` (`model.embedding_dim`).
    public var embeddingDim: Int
    /// Transformer width (`model.hidden_dim`); must equal ``embeddingDim``.
    public var hiddenDim: Int
    /// Attention heads (`model.head`).
    public var heads: Int
    /// Transformer layers (`model.n_layer`).
    public var layers: Int
    /// End-of-sequence token (`model.EOS`); the official model asserts `EOS == vocab_size - 1`.
    public var eos: Int
    /// Width of the BERT features (fixed at 1024 by the official `nn.Linear(1024, embedding_dim)`).
    public var bertDim: Int
    /// `data.max_sec` of the training config; `TTS.run` stops decoding after `hz · max_sec` tokens.
    public var maxSec: Double?
    /// LayerNorm epsilon of the transformer layers (torch default).
    public var layerNormEps: Float

    /// The FFN width: always `4 · hidden_dim` (`model.linear_units` is not read by the official model).
    public var ffnDim: Int { 4 * hiddenDim }
    /// Per-head width.
    public var headDim: Int { hiddenDim / max(heads, 1) }

    /// Token rate `TTS_Config.hz` used for the early-stop limit (50, although tokens are 25 Hz).
    public static let officialHz = 50

    /// The `early_stop_num` that `TTS.run` passes: `hz · max_sec` (nil when the config has no `max_sec`).
    public var officialEarlyStopNum: Int? {
        guard let s = maxSec, s.isFinite, s >= 0 else { return nil }
        // `generated > hz·max_sec` ⇔ `generated > ⌊hz·max_sec⌋` for integer counts.
        return Int((Double(T2SConfig.officialHz) * s).rounded(.down))
    }

    /// Creates a configuration; defaults are the official v2 values.
    public init(vocabSize: Int = 1025, phonemeVocabSize: Int = 732, embeddingDim: Int = 512,
                hiddenDim: Int = 512, heads: Int = 16, layers: Int = 24, eos: Int = 1024,
                bertDim: Int = 1024, maxSec: Double? = 54, layerNormEps: Float = 1e-5) {
        self.vocabSize = vocabSize
        self.phonemeVocabSize = phonemeVocabSize
        self.embeddingDim = embeddingDim
        self.hiddenDim = hiddenDim
        self.heads = heads
        self.layers = layers
        self.eos = eos
        self.bertDim = bertDim
        self.maxSec = maxSec
        self.layerNormEps = layerNormEps
    }

    /// The official v2 GPT (`s1longer-v2.yaml`): 24 layers × 512, 16 heads, FFN 2048, phonemes 732.
    public static let v2 = T2SConfig()

    /// Reads the hyper-parameters from a GPT checkpoint's `config` (`model.*`, `data.max_sec`).
    /// - Throws: ``T2SError/invalidConfig(_:)`` naming a missing or inconsistent field.
    public init(checkpointConfig config: ConfigValue) throws {
        guard let model = config["model"] else {
            throw T2SError.invalidConfig("checkpoint config has no 'model' section")
        }
        func int(_ key: String) throws -> Int {
            guard let v = model[key]?.intValue else {
                throw T2SError.invalidConfig("checkpoint config 'model.\(key)' is missing or not an integer")
            }
            return v
        }
        self.init(vocabSize: try int("vocab_size"), phonemeVocabSize: try int("phoneme_vocab_size"),
                  embeddingDim: try int("embedding_dim"), hiddenDim: try int("hidden_dim"),
                  heads: try int("head"), layers: try int("n_layer"), eos: try int("EOS"),
                  maxSec: config.value(at: "data.max_sec")?.doubleValue)
        try validate()
    }

    /// Checks the invariants the model relies on.
    /// - Throws: ``T2SError/invalidConfig(_:)``.
    public func validate() throws {
        for (name, v) in [("vocab_size", vocabSize), ("phoneme_vocab_size", phonemeVocabSize),
                          ("embedding_dim", embeddingDim), ("hidden_dim", hiddenDim), ("head", heads),
                          ("n_layer", layers), ("bert dim", bertDim)] where v <= 0 {
            throw T2SError.invalidConfig("\(name) must be positive, got \(v)")
        }
        guard vocabSize >= 2 else { throw T2SError.invalidConfig("vocab_size \(vocabSize) leaves no room for EOS") }
        guard eos == vocabSize - 1 else {
            throw T2SError.invalidConfig("EOS \(eos) must be vocab_size - 1 = \(vocabSize - 1)")
        }
        guard embeddingDim == hiddenDim else {
            throw T2SError.invalidConfig("embedding_dim \(embeddingDim) must equal hidden_dim \(hiddenDim)")
        }
        guard hiddenDim % heads == 0 else {
            throw T2SError.invalidConfig("hidden_dim \(hiddenDim) is not divisible by head \(heads)")
        }
        guard hiddenDim % 2 == 0 else {
            throw T2SError.invalidConfig("hidden_dim \(hiddenDim) must be even for the sine positional encoding")
        }
    }
}
