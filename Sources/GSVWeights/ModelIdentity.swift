import Foundation
@_exported import GSVCore
import GSVTensor

/// The official pretrained SoVITS generators, by MD5 of their first 8192 bytes.
///
/// Follows GPT_SoVITS/process_ckpt.py: `hash_pretrained_dict` (data: the hashes and versions, from
/// GPT-SoVITS, MIT licence).
let officialPretrainedSoVITS: [String: (file: String, version: ModelVersion)] = [
    "dc3c97e17592963677a4a1681f30c653": ("s2G488k.pth", .v1),
    "6642b37f3dbb1f76882b69937c95a5f3": ("s2G2333k.pth", .v2),
    "43797be674a37c1c83ee81081941ed0f": ("s2Gv3.pth", .v3),
    "4f26b9476d0c5033e04162c486074374": ("s2Gv4.pth", .v4),
    "c7e9fce2223f3db685cdfa1e6368728a": ("s2Gv2Pro.pth", .v2Pro),
    "66b313e39455b57ab1b0bc0b239c9d0a": ("s2Gv2ProPlus.pth", .v2ProPlus),
]

/// What a weight file holds.
public enum ModelKind: String, Sendable, Codable {
    /// Text-to-semantic GPT (`.ckpt`, keys `model.…`).
    case t2sGPT = "gpt"
    /// SoVITS generator (`.pth`), any version, full or LoRA.
    case sovits
    /// SoVITS multi-period discriminator (training only).
    case sovitsDiscriminator = "sovits-discriminator"
    /// Chinese HuBERT (Hugging Face `HubertModel`).
    case cnHubert = "cn-hubert"
    /// BERT (Hugging Face `BertForMaskedLM` / `BertForSequenceClassification` / `BertModel`).
    case bert
    /// ERes2NetV2 speaker-verification model (`sv/pretrained_eres2netv2w24s4ep4.ckpt`, v2Pro/v2ProPlus).
    case speakerVerification = "speaker-verification"
    /// Not recognised.
    case unknown
}

/// The identification of a weight archive: its kind, version and the evidence used.
public struct ModelIdentity: Sendable, Equatable, Codable {
    /// The model family.
    public var kind: ModelKind
    /// SoVITS version (SoVITS files only).
    public var sovitsVersion: ModelVersion?
    /// The phone table's version: ``ModelVersion/v1`` (322 phones) or ``ModelVersion/v2`` (732, every
    /// later version too) — SoVITS and GPT.
    public var symbolVersion: ModelVersion?
    /// Whether the file is a LoRA delta that needs the pretrained base model.
    public var isLoRA: Bool
    /// Human-readable reasons, e.g. `"header 05"`, `"enc_p.text_embedding has 732 rows"`.
    public var evidence: [String]

    /// Identifies `archive` from its header marker, keys, shapes and config.
    ///
    /// Follows GPT_SoVITS/process_ckpt.py: `get_sovits_version_from_path_fast` (MD5 of the first
    /// 8192 bytes for the official pretrained files, then the header bytes) and
    /// GPT_SoVITS/TTS_infer_pack/TTS.py: `init_vits_weights` (symbol count of
    /// `enc_p.text_embedding`; LoRA files have none). Where the official loader falls back to the
    /// file size (plain `PK` files) this reads the structure instead: `cfm.*` keys → v3/v4, `sv_emb`
    /// → v2Pro, and a v2Pro decoder with the ProPlus shape (first upsampling kernel 20 or width ≥ 768)
    /// → v2ProPlus. Other full v3 and v4 files cannot be told apart by structure; like the official
    /// loader they are called v3 unless the stored config says v4.
    public init(archive: WeightArchive) {
        let keys = archive.tensors.keys
        func has(_ prefix: String) -> Bool { keys.contains { $0.hasPrefix(prefix) } }
        func hasInfix(_ s: String) -> Bool { keys.contains { $0.contains(s) } }
        kind = .unknown
        isLoRA = false
        evidence = []
        let modelType = archive.config?["model_type"]?.stringValue
        let architectures = archive.config?["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []

        let pretrained = archive.leadingMD5.flatMap { officialPretrainedSoVITS[$0] }
        if let pretrained {
            kind = .sovits
            sovitsVersion = pretrained.version
            evidence.append("MD5 of the first 8192 bytes matches the official \(pretrained.file)")
        } else if let marker = archive.headerMarker {
            kind = .sovits
            sovitsVersion = marker.modelVersion
            isLoRA = marker.isLoRA
            evidence.append("header \(marker.rawValue)")
        } else if has("model.ar_text_embedding.") || has("model.ar_audio_embedding.") {
            kind = .t2sGPT
            evidence.append("keys model.ar_*")
        } else if has("enc_p.") || has("cfm.") || has("dec.ups.") {
            kind = .sovits
        } else if has("discriminators.") {
            kind = .sovitsDiscriminator
            evidence.append("keys discriminators.*")
        } else if has("layer3_ds.") && has("fuse34.") {
            kind = .speakerVerification
            evidence.append("keys layer3_ds.*, fuse34.* (ERes2NetV2)")
        } else if modelType == "hubert" || architectures.contains(where: { $0.hasPrefix("Hubert") })
                    || has("feature_extractor.conv_layers.") {
            kind = .cnHubert
            evidence.append(modelType == "hubert" ? "config model_type hubert" : "keys feature_extractor.conv_layers.*")
        } else if modelType == "bert" || architectures.contains(where: { $0.hasPrefix("Bert") })
                    || has("bert.embeddings.") || has("embeddings.word_embeddings.") {
            kind = .bert
            evidence.append(modelType == "bert" ? "config model_type bert" : "keys *embeddings.word_embeddings")
        }

        switch kind {
        case .sovits:
            let emb = archive.tensors["enc_p.text_embedding.weight"]
            if let emb, let rows = emb.shape.first {
                symbolVersion = rows == 322 ? .v1 : .v2
                evidence.append("enc_p.text_embedding has \(rows) rows")
            } else {
                symbolVersion = .v2
            }
            if hasInfix("lora_A") || hasInfix("lora_B") || archive.object?["lora_rank"] != nil {
                isLoRA = true
                evidence.append("LoRA keys")
            }
            if pretrained != nil, sovitsVersion == .v1 || sovitsVersion == .v2 {
                // As TTS.init_vits_weights: for v1/v2 the symbol table decides (s2G488k is hashed as v2).
                sovitsVersion = symbolVersion == .v1 ? .v1 : .v2
            }
            if sovitsVersion == nil {
                if has("cfm.") {
                    let stored = archive.config?.value(at: "model.version")?.stringValue
                    sovitsVersion = stored == "v4" ? .v4 : .v3
                    evidence.append("cfm.* keys" + (stored == "v4" ? ", config says v4" : ""))
                } else if has("sv_emb.") {
                    let convPre = archive.tensors["dec.conv_pre.weight"]?.shape.first ?? 0
                    let ups0 = archive.tensors["dec.ups.0.weight_v"]?.shape.last
                        ?? archive.tensors["dec.ups.0.weight"]?.shape.last ?? 0
                    let plus = ups0 == 20 || convPre >= 768
                    sovitsVersion = plus ? .v2ProPlus : .v2Pro
                    evidence.append("sv_emb present, decoder width \(convPre), first upsampling kernel \(ups0)")
                } else {
                    sovitsVersion = symbolVersion == .v1 ? .v1 : .v2
                }
            }
        case .t2sGPT:
            if let p = archive.config?.value(at: "model.phoneme_vocab_size")?.intValue {
                symbolVersion = p == 512 ? .v1 : .v2
                evidence.append("phoneme_vocab_size \(p)")
            } else if let rows = archive.tensors["model.ar_text_embedding.word_embeddings.weight"]?.shape.first {
                symbolVersion = rows == 512 ? .v1 : .v2
                evidence.append("ar_text_embedding has \(rows) rows")
            }
        default:
            break
        }
    }
}

/// Everything `gpt-sovits inspect` reports about a weight archive.
public struct WeightSummary: Sendable, Codable, Equatable {
    /// The path that was opened.
    public var path: String
    /// The container format.
    public var format: WeightFormat
    /// Kind, version and evidence.
    public var identity: ModelIdentity
    /// The GPT-SoVITS two-byte header marker, if present (`"05"` …).
    public var headerMarker: String?
    /// Where the state dict was found inside a checkpoint (`weight`), if not at the top level.
    public var stateDictKey: String?
    /// Number of tensor entries.
    public var tensorCount: Int
    /// Number of distinct storage records (PyTorch) or tensors (safetensors).
    public var storageCount: Int
    /// Elements over all tensor entries.
    public var parameterCount: Int
    /// Elements over distinct views (entries sharing the same bytes count once).
    public var uniqueParameterCount: Int
    /// Tensor entries per dtype name.
    public var dtypes: [String: Int]
    /// A few configuration values that matter for the model kind.
    public var config: [String: ConfigValue]
    /// The checkpoint's `info` string (GPT-SoVITS: `"GPT-e15"`, `"8epoch_1000iteration"`).
    public var info: String?

    /// Summarises `archive`.
    public init(archive: WeightArchive) {
        let identity = ModelIdentity(archive: archive)
        path = archive.path
        format = archive.format
        self.identity = identity
        headerMarker = archive.headerMarker?.rawValue
        stateDictKey = archive.stateDictKey
        tensorCount = archive.tensors.count
        storageCount = archive.storageCount
        parameterCount = archive.parameterCount
        uniqueParameterCount = archive.uniqueParameterCount
        dtypes = Dictionary(uniqueKeysWithValues: archive.dtypeHistogram.map { ($0.key.rawValue, $0.value) })
        info = archive.object?["info"]?.stringValue
        var c: [String: ConfigValue] = [:]
        func pick(_ path: String, as name: String? = nil) {
            if let v = archive.config?.value(at: path) { c[name ?? path] = v }
        }
        switch identity.kind {
        case .t2sGPT:
            for k in ["vocab_size", "phoneme_vocab_size", "embedding_dim", "hidden_dim", "head", "n_layer", "EOS"] {
                pick("model.\(k)")
            }
            pick("data.max_sec")
        case .sovits, .sovitsDiscriminator:
            for k in ["version", "inter_channels", "hidden_channels", "filter_channels", "n_heads", "n_layers",
                      "gin_channels", "upsample_initial_channel", "upsample_rates", "semantic_frame_rate"] {
                pick("model.\(k)")
            }
            for k in ["sampling_rate", "filter_length", "hop_length", "win_length"] { pick("data.\(k)") }
            if let rank = archive.object?["lora_rank"]?.intValue { c["lora_rank"] = .int(rank) }
        case .speakerVerification:
            break
        case .cnHubert, .bert, .unknown:
            for k in ["model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "intermediate_size", "vocab_size"] {
                pick(k)
            }
        }
        config = c
    }
}
