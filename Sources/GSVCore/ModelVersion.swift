// Follows GPT_SoVITS/process_ckpt.py (`head2version`, the version names) and
// GPT_SoVITS/TTS_infer_pack/TTS.py: TTS_Config (`v1_languages` / `v2_languages`, which symbol table
// and languages a version uses).

/// A GPT-SoVITS model generation: the one version type of the package.
///
/// The SoVITS checkpoint decides it (the official loaders read it from the SoVITS file; the GPT
/// file only tells its phone table apart). Text frontends pick their phone table and languages from
/// it, model detection reports it, the model catalog downloads by it.
public enum ModelVersion: String, Sendable, Codable, CaseIterable {
    /// 322-phone table, languages zh/en/ja.
    case v1
    /// 732-phone table (every later version too), adds Cantonese and Korean.
    case v2
    /// v2 plus a speaker-verification embedding (`sv_emb`) joining the timbre.
    case v2Pro
    /// v2Pro with the wider decoder.
    case v2ProPlus
    /// A flow-matching (CFM) acoustic model with a 24 kHz BigVGAN vocoder.
    case v3
    /// A flow-matching (CFM) acoustic model with a 48 kHz HiFi-GAN vocoder.
    case v4

    /// Parses a version name case-insensitively (`"v2pro"`, `"V2ProPlus"`); nil when unknown.
    public init?(name: String) {
        let key = name.lowercased()
        guard let v = Self.allCases.first(where: { $0.rawValue.lowercased() == key }) else { return nil }
        self = v
    }

    /// The version whose phone table this one uses: ``v1`` for v1, ``v2`` for every later version.
    public var symbolVersion: ModelVersion { self == .v1 ? .v1 : .v2 }

    /// The phone table's name: `"v1"` (322 symbols) or `"v2"` (732).
    public var symbolTableName: String { symbolVersion.rawValue }

    /// Whether the timbre also takes a speaker-verification embedding (ERes2NetV2): v2Pro and
    /// v2ProPlus (`TTS.is_v2pro`).
    public var usesSpeakerVerification: Bool { self == .v2Pro || self == .v2ProPlus }
}
