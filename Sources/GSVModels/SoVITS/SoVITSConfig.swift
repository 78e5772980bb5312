// Follows GPT_SoVITS/module/models.py: SynthesizerTrn (constructor arguments) and
// GPT_SoVITS/TTS_infer_pack/TTS.py: init_vits_weights (how `hps` becomes those arguments).

import Foundation
import GSVWeights

/// Errors raised while building or running the SoVITS synthesizer. Every case names what was wrong.
public enum SoVITSError: Error, LocalizedError, Sendable, Equatable {
    /// The checkpoint is a SoVITS family this port does not run (v3, v4, LoRA …).
    case unsupportedVersion(String)
    /// A configuration value is missing, malformed or inconsistent.
    case invalidConfig(String)
    /// A request argument is invalid (empty sequence, wrong tensor shape …).
    case invalidInput(String)
    /// A semantic token is outside the codebook.
    case codeOutOfRange(position: Int, value: Int, codebookSize: Int)
    /// A phone id is outside the text embedding table.
    case phoneOutOfRange(position: Int, value: Int, symbolCount: Int)
    /// Injected noise does not have the shape of the prior mean.
    case noiseShapeMismatch(expected: [Int], actual: [Int])

    public var errorDescription: String? {
        switch self {
        case let .unsupportedVersion(v): return "unsupported SoVITS model: \(v)"
        case let .invalidConfig(m): return "invalid SoVITS config: \(m)"
        case let .invalidInput(m): return "invalid SoVITS input: \(m)"
        case let .codeOutOfRange(p, v, n):
            return "semantic token \(v) at position \(p) is outside the codebook of \(n) entries"
        case let .phoneOutOfRange(p, v, n):
            return "phone id \(v) at position \(p) is outside the symbol table of \(n) entries"
        case let .noiseShapeMismatch(e, a): return "injected noise has shape \(a), expected \(e)"
        }
    }
}

/// Hyper-parameters of the SoVITS `SynthesizerTrn` (v1 / v2), read from the checkpoint's own
/// `config` (`hps.model` and `hps.data`). Defaults are the official v2 values (`configs/s2.json`).
///
/// Values the official code hard-codes (not stored in `hps`) are fields with their official
/// defaults: the flow shape (4 coupling layers, WaveNet 4 layers, kernel 5), the MRTE widths
/// (512 wide, 4 heads), the style encoder (128 wide, 2 heads, kernel 5), the SSL width (768) and
/// the relative attention window (4).
public struct SoVITSConfig: Codable, Sendable, Equatable {
    /// `v1` (322 symbols, style encoder on all spectrogram bins) or `v2` (732 symbols, first 704 bins).
    public var version: ModelVersion = .v2
    /// Rows of `enc_p.text_embedding` (322 for v1, 732 for v2).
    public var symbolCount: Int = 732
    /// `hps.model.inter_channels`: channels of the prior / flow / decoder input.
    public var interChannels: Int = 192
    /// `hps.model.hidden_channels`: width of the text encoder and flow WaveNet.
    public var hiddenChannels: Int = 192
    /// `hps.model.filter_channels`: FFN width in the attention encoders.
    public var filterChannels: Int = 768
    /// `hps.model.n_heads`: heads of the relative-position self-attention.
    public var nHeads: Int = 2
    /// `hps.model.n_layers`: layers of `encoder_text` (`encoder_ssl` and `encoder2` have half).
    public var nLayers: Int = 6
    /// `hps.model.kernel_size`: FFN convolution kernel.
    public var kernelSize: Int = 3
    /// `hps.model.resblock`: only `"1"` (ResBlock1) is used by v1/v2.
    public var resblock: String = "1"
    /// `hps.model.resblock_kernel_sizes`.
    public var resblockKernelSizes: [Int] = [3, 7, 11]
    /// `hps.model.resblock_dilation_sizes`.
    public var resblockDilationSizes: [[Int]] = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    /// `hps.model.upsample_rates` (product = hop length).
    public var upsampleRates: [Int] = [10, 8, 2, 2, 2]
    /// `hps.model.upsample_initial_channel`.
    public var upsampleInitialChannel: Int = 512
    /// `hps.model.upsample_kernel_sizes`.
    public var upsampleKernelSizes: [Int] = [16, 16, 8, 2, 2]
    /// `hps.model.gin_channels`: width of the timbre embedding `ge`.
    public var ginChannels: Int = 512
    /// `hps.data.filter_length` (spectrogram bins = filter_length / 2 + 1).
    public var filterLength: Int = 2048
    /// `hps.data.hop_length` (samples per SoVITS frame).
    public var hopLength: Int = 640
    /// `hps.data.sampling_rate`.
    public var samplingRate: Int = 32000
    /// SSL feature width (HuBERT base), hard-coded 768.
    public var sslDim: Int = 768
    /// Codebook entries of the quantizer (`bins`), hard-coded 1024.
    public var codebookSize: Int = 1024
    /// Residual quantizer layers (`n_q`), hard-coded 1.
    public var quantizerLayers: Int = 1
    /// Relative attention window of `attentions.Encoder`, hard-coded 4.
    public var attentionWindow: Int = 4
    /// MRTE hidden width (`MRTE.hidden_size`), 512.
    public var mrteHidden: Int = 512
    /// MRTE cross-attention heads, 4.
    public var mrteHeads: Int = 4
    /// Style encoder hidden width (`MelStyleEncoder.style_hidden`), 128.
    public var styleHidden: Int = 128
    /// Style encoder attention heads, 2.
    public var styleHeads: Int = 2
    /// Style encoder `Conv1dGLU` kernel, 5.
    public var styleKernelSize: Int = 5
    /// Spectrogram bins the v2 style encoder reads (`spec[:, :704]`), hard-coded 704.
    public var v2StyleBins: Int = 704
    /// Coupling layers of the flow (`n_flows`), 4.
    public var flowCount: Int = 4
    /// WaveNet layers per coupling layer, 4.
    public var flowWNLayers: Int = 4
    /// WaveNet kernel, 5.
    public var flowKernelSize: Int = 5

    /// Width of the speaker-verification embedding `sv_emb` reads (v2Pro/v2ProPlus), hard-coded 20480.
    public var speakerEmbeddingDim: Int = 20480

    /// The official v2 configuration (`configs/s2.json`, v2 symbol table).
    public init() {}

    /// The official v2Pro configuration (`configs/s2v2Pro.json`: gin 1024, dropout 0, decoder as v2).
    public static var v2Pro: SoVITSConfig {
        var c = SoVITSConfig()
        c.version = .v2Pro
        c.ginChannels = 1024
        return c
    }

    /// The official v2ProPlus configuration (`configs/s2v2ProPlus.json`: v2Pro with the decoder
    /// 768 channels wide and a first upsampling kernel of 20).
    public static var v2ProPlus: SoVITSConfig {
        var c = SoVITSConfig.v2Pro
        c.version = .v2ProPlus
        c.upsampleInitialChannel = 768
        c.upsampleKernelSizes = [20, 16, 8, 2, 2]
        return c
    }

    /// Whether the network has the speaker-verification head (`sv_emb`, `prelu`, `ge_to512`):
    /// v2Pro and v2ProPlus (`SynthesizerTrn.is_v2pro`).
    public var usesSpeakerEmbedding: Bool { version.usesSpeakerVerification }

    /// Spectrogram bins (`filter_length / 2 + 1`).
    public var spectrogramBins: Int { filterLength / 2 + 1 }
    /// Bins the style encoder reads: all of them for v1, the first ``v2StyleBins`` for v2.
    public var styleInputBins: Int { version == .v1 ? spectrogramBins : v2StyleBins }
    /// Layers of `encoder_ssl` and `encoder2` (`n_layers // 2`).
    public var halfLayers: Int { nLayers / 2 }

    /// Reads `hps.model` / `hps.data` from a checkpoint config. Missing entries keep the official
    /// default; present entries must have the right type. `version` and `symbolCount` are not
    /// taken from the config (the official loader ignores stored versions); pass them in.
    /// `validating: false` leaves ``validate()`` to the caller (who sets the widths the official
    /// classes hard-code, e.g. from a state dict's shapes, first).
    public init(checkpointConfig config: ConfigValue?, version: ModelVersion, symbolCount: Int,
                validating: Bool = true) throws {
        self.init()
        self.version = version
        self.symbolCount = symbolCount
        let model = config?["model"]
        let data = config?["data"]
        func int(_ c: ConfigValue?, _ key: String, _ into: inout Int) throws {
            guard let v = c?[key], v != .null else { return }
            guard let i = v.intValue else { throw SoVITSError.invalidConfig("\(key) is \(v), expected an integer") }
            into = i
        }
        func ints(_ key: String, _ into: inout [Int]) throws {
            guard let v = model?[key], v != .null else { return }
            guard let a = v.arrayValue, case let i = a.compactMap(\.intValue), i.count == a.count else {
                throw SoVITSError.invalidConfig("\(key) is \(v), expected a list of integers")
            }
            into = i
        }
        try int(model, "inter_channels", &interChannels)
        try int(model, "hidden_channels", &hiddenChannels)
        try int(model, "filter_channels", &filterChannels)
        try int(model, "n_heads", &nHeads)
        try int(model, "n_layers", &nLayers)
        try int(model, "kernel_size", &kernelSize)
        try int(model, "upsample_initial_channel", &upsampleInitialChannel)
        try int(model, "gin_channels", &ginChannels)
        try ints("resblock_kernel_sizes", &resblockKernelSizes)
        try ints("upsample_rates", &upsampleRates)
        try ints("upsample_kernel_sizes", &upsampleKernelSizes)
        if let v = model?["resblock_dilation_sizes"], v != .null {
            guard let rows = v.arrayValue else {
                throw SoVITSError.invalidConfig("resblock_dilation_sizes is \(v), expected a list of lists")
            }
            resblockDilationSizes = try rows.map { row in
                guard let a = row.arrayValue, case let i = a.compactMap(\.intValue), i.count == a.count else {
                    throw SoVITSError.invalidConfig("resblock_dilation_sizes row \(row) is not a list of integers")
                }
                return i
            }
        }
        if let v = model?["resblock"], v != .null {
            if let s = v.stringValue { resblock = s } else if let i = v.intValue { resblock = String(i) } else {
                throw SoVITSError.invalidConfig("resblock is \(v)")
            }
        }
        // semantic_frame_rate is forced to "25hz" by TTS.init_vits_weights, so it is not read.
        try int(data, "filter_length", &filterLength)
        try int(data, "hop_length", &hopLength)
        try int(data, "sampling_rate", &samplingRate)
        if validating { try validate() }
    }

    /// Checks the configuration for values the network cannot be built with.
    public func validate() throws {
        func need(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw SoVITSError.invalidConfig(message()) }
        }
        try need([.v1, .v2, .v2Pro, .v2ProPlus].contains(version),
                 "version \(version.rawValue) is not a v1/v2/v2Pro/v2ProPlus SynthesizerTrn")
        for (name, v) in [("inter_channels", interChannels), ("hidden_channels", hiddenChannels),
                          ("filter_channels", filterChannels), ("n_heads", nHeads), ("n_layers", nLayers),
                          ("kernel_size", kernelSize), ("upsample_initial_channel", upsampleInitialChannel),
                          ("gin_channels", ginChannels), ("filter_length", filterLength),
                          ("hop_length", hopLength), ("sampling_rate", samplingRate), ("symbols", symbolCount),
                          ("ssl dim", sslDim), ("codebook size", codebookSize), ("quantizer layers", quantizerLayers),
                          ("mrte hidden", mrteHidden), ("mrte heads", mrteHeads), ("style hidden", styleHidden),
                          ("style heads", styleHeads), ("style kernel", styleKernelSize), ("flows", flowCount),
                          ("flow WN layers", flowWNLayers), ("flow kernel", flowKernelSize)] {
            try need(v > 0, "\(name) must be positive, got \(v)")
        }
        try need(attentionWindow >= 0, "attention window must be ≥ 0")
        try need(hiddenChannels % nHeads == 0, "hidden_channels \(hiddenChannels) not divisible by n_heads \(nHeads)")
        try need(mrteHidden % mrteHeads == 0, "MRTE width \(mrteHidden) not divisible by \(mrteHeads) heads")
        try need(styleHidden % styleHeads == 0, "style width \(styleHidden) not divisible by \(styleHeads) heads")
        try need(interChannels % 2 == 0, "inter_channels \(interChannels) must be even for the coupling flow")
        try need(flowKernelSize % 2 == 1, "flow kernel \(flowKernelSize) must be odd")
        try need(styleKernelSize % 2 == 1, "style kernel \(styleKernelSize) must be odd")
        // v1/v2 add ge to the MRTE output directly; v2Pro/ProPlus map it to the MRTE width (ge_to512).
        try need(usesSpeakerEmbedding || ginChannels == mrteHidden,
                 "gin_channels \(ginChannels) must equal the MRTE width \(mrteHidden) for \(version.rawValue)")
        try need(speakerEmbeddingDim > 0, "speaker embedding width must be positive")
        try need(resblock == "1", "resblock \"\(resblock)\" is not supported (v1/v2 use \"1\")")
        try need(!upsampleRates.isEmpty && upsampleRates.count == upsampleKernelSizes.count,
                 "upsample_rates \(upsampleRates) and upsample_kernel_sizes \(upsampleKernelSizes) differ in length")
        try need(zip(upsampleRates, upsampleKernelSizes).allSatisfy { $0 > 0 && $1 >= $0 },
                 "upsample kernels \(upsampleKernelSizes) must be ≥ rates \(upsampleRates)")
        try need(upsampleInitialChannel >> upsampleRates.count > 0,
                 "upsample_initial_channel \(upsampleInitialChannel) too small for \(upsampleRates.count) stages")
        try need(!resblockKernelSizes.isEmpty && resblockKernelSizes.count == resblockDilationSizes.count,
                 "resblock kernels \(resblockKernelSizes) and dilations \(resblockDilationSizes) differ in length")
        try need(resblockDilationSizes.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 > 0 } },
                 "resblock dilations \(resblockDilationSizes) must be positive")
        try need(spectrogramBins >= styleInputBins,
                 "spectrogram has \(spectrogramBins) bins, the style encoder needs \(styleInputBins)")
    }
}
