// Follows GPT_SoVITS/module/models.py: SynthesizerTrn (inference parts: extract_latent, decode) and
// GPT_SoVITS/process_ckpt.py: load_sovits_new / GPT_SoVITS/TTS_infer_pack/TTS.py: init_vits_weights
// (version from the header bytes and the symbol count).

import GSVNN
import GSVTensor
import GSVWeights

/// Where the prior noise `ε ~ N(0, 1)` of one decode comes from.
public enum SoVITSNoise: Sendable {
    /// Drawn from ``GSVTensor/SeededRNG`` with this seed (row-major over `[inter, T']`).
    /// The stream differs from PyTorch's; use `.injected` for parity with recorded noise.
    case seeded(UInt64)
    /// A given tensor shaped like the prior mean `[inter, T']` (e.g. the official `randn_like` output).
    case injected(Tensor)
}

/// Every intermediate of one ``SynthesizerTrn/decodeTrace(codes:phones:ge:speed:noiseScale:noise:)``.
public struct SoVITSDecodeTrace: Sendable {
    /// `quantizer.decode(codes)` `[sslDim, T25]` (before the ×2 upsampling).
    public var quantized: Tensor
    /// Text-encoder output (hidden, prior mean / log-std, mask).
    public var prior: TextEncoder.Output
    /// Flow input `z_p = m + ε·exp(logs)·noiseScale` `[inter, T']`.
    public var zP: Tensor
    /// Flow output (decoder input) `[inter, T']`.
    public var z: Tensor
    /// Waveform `[T' · hop]` at ``SoVITSConfig/samplingRate``.
    public var audio: Tensor
}

/// The SoVITS synthesizer (v1 / v2): semantic tokens + phones + timbre → 32 kHz waveform, and SSL
/// features → prompt semantic tokens.
///
/// Immutable after load: one value serves concurrent requests; per-request state (noise) is passed in.
public struct SynthesizerTrn: Sendable {
    /// The hyper-parameters the network was built with.
    public let config: SoVITSConfig
    /// `ssl_proj`: Conv1d(768, 768, k=2, stride 2), 50 Hz → 25 Hz (code extraction only).
    let sslProj: Conv1d
    /// `quantizer`.
    public let quantizer: ResidualVectorQuantizer
    /// `enc_p`.
    public let encP: TextEncoder
    /// `flow`.
    public let flow: ResidualCouplingBlock
    /// `dec`.
    public let dec: Generator
    /// `ref_enc`.
    public let refEnc: MelStyleEncoder
    /// `sv_emb`, `prelu`, `ge_to512` (v2Pro/v2ProPlus only).
    public let speakerConditioning: SpeakerConditioning?

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        try c.validate()
        config = c
        sslProj = try Conv1d(p.scoped("ssl_proj"), in: c.sslDim, out: c.sslDim, kernel: 2, stride: 2)
        quantizer = try ResidualVectorQuantizer(p.scoped("quantizer"), config: c)
        encP = try TextEncoder(p.scoped("enc_p"), config: c)
        flow = try ResidualCouplingBlock(p.scoped("flow"), config: c)
        dec = try Generator(p.scoped("dec"), config: c)
        refEnc = try MelStyleEncoder(p.scoped("ref_enc"), inputBins: c.styleInputBins, hidden: c.styleHidden,
                                     outDim: c.ginChannels, kernelSize: c.styleKernelSize, heads: c.styleHeads)
        speakerConditioning = c.usesSpeakerEmbedding ? try SpeakerConditioning(p, config: c) : nil
    }

    /// Loads a SoVITS `.pth` (any header: `PK` or the 2-byte version marker).
    public static func load(path: String) throws -> SynthesizerTrn {
        let archive = try WeightArchive.open(path)
        let model = try SynthesizerTrn(archive: archive)
        archive.releaseResidentPages()
        return model
    }

    /// Builds the network from an opened checkpoint: version from the header / symbol count, config
    /// from the checkpoint's `config` (`hps`), every weight shape-checked, weight norm folded, and
    /// any key the network does not use (other than the training-only `enc_q.*`) rejected.
    ///
    /// - Throws: ``SoVITSError/unsupportedVersion(_:)`` for non-SoVITS files, LoRA, v3/v4;
    ///   ``SoVITSError/invalidConfig(_:)``; `WeightsError` for missing, misshapen or unexpected keys.
    public init(archive: WeightArchive) throws {
        let id = ModelIdentity(archive: archive)
        guard id.kind == .sovits else {
            throw SoVITSError.unsupportedVersion("\(archive.path) is a \(id.kind.rawValue) file, not a SoVITS model")
        }
        guard !id.isLoRA else { throw SoVITSError.unsupportedVersion("\(archive.path) is a LoRA delta") }
        guard let version = id.sovitsVersion, [.v1, .v2, .v2Pro, .v2ProPlus].contains(version) else {
            throw SoVITSError.unsupportedVersion(
                "\(archive.path): \(id.sovitsVersion?.rawValue ?? "unknown") (\(id.evidence.joined(separator: ", "))); only v1/v2/v2Pro/v2ProPlus SynthesizerTrn")
        }
        guard let emb = archive.tensors["enc_p.text_embedding.weight"], emb.shape.count == 2 else {
            throw WeightsError.missingKey("enc_p.text_embedding.weight")
        }
        // TTS.init_vits_weights: Pro files keep the detected version (it switches on the speaker
        // head); otherwise 322 symbols → v1, else v2 (the header/size guess is refined here).
        let modelVersion: ModelVersion = version.usesSpeakerVerification ? version : (emb.shape[0] == 322 ? .v1 : .v2)
        let config = try SoVITSConfig(checkpointConfig: archive.config, version: modelVersion, symbolCount: emb.shape[0])
        try self.init(reader: WeightReader(archive), config: config)
    }

    /// Builds the network from a state dict and fails on any key it did not read (except `enc_q.*`).
    init(reader: WeightReader, config: SoVITSConfig) throws {
        try self.init(ParameterSource(reader: reader), config: config)
        try reader.verifyAllConsumed(ignoring: ["enc_q."])
    }

    /// A network with the given configuration and seeded random weights (benchmarks, shape tests).
    public static func random(config: SoVITSConfig, seed: UInt64) throws -> SynthesizerTrn {
        try SynthesizerTrn(ParameterSource(randomSeed: seed), config: config)
    }

    /// The official v2 network (`configs/s2.json`: hidden 192, filter 768, 2 heads, 6 layers,
    /// upsample initial 512, gin 512, 732 symbols) with seeded random weights.
    public static func randomV2(seed: UInt64) throws -> SynthesizerTrn {
        try random(config: SoVITSConfig(), seed: seed)
    }

    // MARK: - Reference side

    /// `extract_latent`: SSL features `[sslDim, T50]` → semantic codes, one row per quantizer layer
    /// (`ssl_proj` halves the frame rate: `T25 = (T50 − 2) / 2 + 1`).
    /// - Throws: ``SoVITSError/invalidInput(_:)`` for a wrong shape or fewer than 2 frames.
    public func extractLatent(ssl: Tensor) throws -> [[Int]] {
        guard ssl.rank == 2, ssl.shape[0] == config.sslDim, ssl.shape[1] >= 2 else {
            throw SoVITSError.invalidInput("SSL features have shape \(ssl.shape), expected [\(config.sslDim), T ≥ 2]")
        }
        return try quantizer.encode(sslProj(ssl))
    }

    /// The prompt semantic tokens of a reference: the first quantizer layer of ``extractLatent(ssl:)``.
    public func promptTokens(ssl: Tensor) throws -> [Int] {
        try extractLatent(ssl: ssl)[0]
    }

    /// Whether the timbre embedding needs each reference's speaker-verification embedding
    /// (v2Pro/v2ProPlus).
    public var needsSpeakerEmbedding: Bool { speakerConditioning != nil }

    /// The timbre embedding `ge` `[gin]` of one reference: `ref_enc(spec[:, :704])` (v1: all
    /// bins), and for v2Pro/v2ProPlus `PReLU(that + sv_emb(speaker embedding))`.
    /// - Throws: ``SoVITSError/invalidInput(_:)`` for a wrong spectrogram, a missing speaker
    ///   embedding (Pro) or one given to a model without the speaker head, or a wrong width.
    public func referenceEmbedding(_ reference: TimbreReference) throws -> Tensor {
        let styleGe = try referenceEmbedding(spectrogram: reference.spectrogram)
        switch (speakerConditioning, reference.speakerEmbedding) {
        case (nil, nil): return styleGe
        case (nil, .some):
            throw SoVITSError.invalidInput("a speaker embedding was given to a \(config.version.rawValue) model, which has no sv_emb")
        case (.some, nil):
            throw SoVITSError.invalidInput("\(config.version.rawValue) needs each reference's speaker-verification embedding")
        case let (head?, sv?):
            guard sv.count == head.speakerEmbeddingDim, sv.rank == 1 || sv.shape == [1, sv.count] else {
                throw SoVITSError.invalidInput("speaker embedding has shape \(sv.shape), expected [\(head.speakerEmbeddingDim)]")
            }
            guard sv.scalars.allSatisfy(\.isFinite) else {
                throw SoVITSError.invalidInput("speaker embedding contains NaN or infinity")
            }
            return head.combine(styleGe: styleGe, speakerEmbedding: sv)
        }
    }

    /// The mean of the per-reference embeddings (`decode` with a list of references; for
    /// v2Pro/v2ProPlus the mean is taken after each reference's PReLU).
    public func referenceEmbedding(references: [TimbreReference]) throws -> Tensor {
        guard !references.isEmpty else { throw SoVITSError.invalidInput("no reference spectrogram") }
        var sum = try referenceEmbedding(references[0])
        for r in references.dropFirst() { sum = sum + (try referenceEmbedding(r)) }
        return sum / Float(references.count)
    }

    /// The timbre the text encoder's MRTE adds: `ge` itself (v1/v2) or `ge_to512(ge)`
    /// (v2Pro/v2ProPlus), `[mrteHidden, 1]`.
    public func textEncoderTimbre(_ ge: Tensor) -> Tensor {
        speakerConditioning.map { $0.mrteTimbre(ge) } ?? ge.reshaped([ge.count, 1])
    }

    /// The style encoder's embedding `ref_enc(spec[:, :704])` `[gin]` of one reference linear
    /// spectrogram `[bins, frames]` (all bins for v1) — the whole timbre for v1/v2.
    /// - Throws: ``SoVITSError/invalidInput(_:)`` for a wrong number of bins or no frames.
    public func referenceEmbedding(spectrogram spec: Tensor) throws -> Tensor {
        guard spec.rank == 2, spec.shape[0] == config.spectrogramBins, spec.shape[1] > 0 else {
            throw SoVITSError.invalidInput(
                "reference spectrogram has shape \(spec.shape), expected [\(config.spectrogramBins), frames ≥ 1]")
        }
        guard spec.scalars.allSatisfy(\.isFinite) else {
            throw SoVITSError.invalidInput("reference spectrogram contains NaN or infinity")
        }
        return refEnc(spec)
    }

    /// The mean of the per-reference style embeddings (v1/v2 `decode` with a list of references).
    public func referenceEmbedding(spectrograms: [Tensor]) throws -> Tensor {
        try referenceEmbedding(references: spectrograms.map { TimbreReference(spectrogram: $0) })
    }

    // MARK: - Decode

    /// `decode(codes, text, refer, noise_scale, speed)` returning the waveform `[T' · hop]` in (−1, 1).
    ///
    /// - Parameters:
    ///   - codes: semantic tokens (25 Hz), each in `0..<codebookSize`.
    ///   - phones: phone ids, each in `0..<symbolCount`.
    ///   - ge: timbre embedding `[gin]` (or `[gin, 1]`) from ``referenceEmbedding(spectrogram:)``.
    ///   - speed: latent speed factor, > 0 (official default 1).
    ///   - noiseScale: prior noise scale (official default 0.5; 0 = deterministic).
    ///   - noise: the source of `ε` (ignored when `noiseScale` is 0).
    public func decode(codes: [Int], phones: [Int], ge: Tensor, speed: Double = 1, noiseScale: Float = 0.5,
                       noise: SoVITSNoise) throws -> Tensor {
        try decodeTrace(codes: codes, phones: phones, ge: ge, speed: speed, noiseScale: noiseScale, noise: noise).audio
    }

    /// ``decode(codes:phones:ge:speed:noiseScale:noise:)`` keeping every intermediate.
    public func decodeTrace(codes: [Int], phones: [Int], ge: Tensor, speed: Double = 1, noiseScale: Float = 0.5,
                            noise: SoVITSNoise) throws -> SoVITSDecodeTrace {
        try decodeTrace(codes: codes, phones: phones, ge: ge, speed: speed, noiseScale: noiseScale, noise: noise, window: nil)
    }

    /// `decode_streaming`: decodes the whole token history `codes` (the encoders are not causal, so
    /// every call re-encodes it) but keeps only the last `resultTokens` tokens' frames (nil = all,
    /// the first chunk), cross-fading their first frames with `overlap` — the previous call's
    /// ``SoVITSStreamingOutput/latent`` tail.
    ///
    /// - Returns: the audio of the kept frames and their latent (after the cross-fade, before the
    ///   speed interpolation), which the next call takes its `overlap` from.
    public func decodeStreaming(codes: [Int], phones: [Int], ge: Tensor, speed: Double = 1, noiseScale: Float = 0.5,
                                noise: SoVITSNoise, resultTokens: Int?, overlap: Tensor?) throws -> SoVITSStreamingOutput {
        if let r = resultTokens, r < 1 { throw SoVITSError.invalidInput("result length \(r) must be positive") }
        if let o = overlap, o.rank != 2 || o.shape[0] != config.hiddenChannels {
            throw SoVITSError.invalidInput("overlap latent has shape \(o.shape), expected [\(config.hiddenChannels), frames]")
        }
        let window = StreamingLatentWindow(resultFrames: resultTokens.map { 2 * $0 }, overlap: overlap)
        let trace = try decodeTrace(codes: codes, phones: phones, ge: ge, speed: speed, noiseScale: noiseScale,
                                    noise: noise, window: window)
        return SoVITSStreamingOutput(audio: trace.audio, latent: trace.prior.hidden)
    }

    private func decodeTrace(codes: [Int], phones: [Int], ge: Tensor, speed: Double, noiseScale: Float,
                             noise: SoVITSNoise, window: StreamingLatentWindow?) throws -> SoVITSDecodeTrace {
        guard !phones.isEmpty else { throw SoVITSError.invalidInput("no phones") }
        for (i, ph) in phones.enumerated() where ph < 0 || ph >= encP.symbolCount {
            throw SoVITSError.phoneOutOfRange(position: i, value: ph, symbolCount: encP.symbolCount)
        }
        guard speed > 0, speed.isFinite else { throw SoVITSError.invalidInput("speed \(speed) must be a positive number") }
        guard noiseScale.isFinite, noiseScale >= 0 else {
            throw SoVITSError.invalidInput("noise scale \(noiseScale) must be ≥ 0")
        }
        guard ge.count == config.ginChannels, ge.shape == [ge.count] || ge.shape == [ge.count, 1] else {
            throw SoVITSError.invalidInput("ge has shape \(ge.shape), expected [\(config.ginChannels)]")
        }
        let g = ge.reshaped([config.ginChannels, 1])
        let quantized = try quantizer.decode([codes])
        // 25 Hz → 50 Hz: F.interpolate(nearest, size = 2·T) = repeat every frame twice.
        let content = quantized.repeatInterleave(2, axis: 1)
        let prior = encP(content: content, phones: phones, ge: textEncoderTimbre(g), speed: speed, window: window)
        var zP = prior.mean
        if noiseScale != 0 {
            let eps: Tensor
            switch noise {
            case .injected(let t):
                guard t.shape == prior.mean.shape else {
                    throw SoVITSError.noiseShapeMismatch(expected: prior.mean.shape, actual: t.shape)
                }
                eps = t
            case .seeded(let seed):
                var rng = SeededRNG(seed: seed)
                eps = Tensor(shape: prior.mean.shape) { _ in Float(rng.nextGaussian()) }
            }
            zP = prior.mean + eps * prior.logStd.exp() * noiseScale
        }
        let z = flow.reverse(zP, g: g)
        let audio = dec(z, g: g)
        return SoVITSDecodeTrace(quantized: quantized, prior: prior, zP: zP, z: z, audio: audio)
    }
}

/// One ``SynthesizerTrn/decodeStreaming(codes:phones:ge:speed:noiseScale:noise:resultTokens:overlap:)`` result.
public struct SoVITSStreamingOutput: Sendable {
    /// The waveform of the kept frames.
    public var audio: Tensor
    /// The kept latent `[hidden, frames]` (cross-faded, before the speed interpolation).
    public var latent: Tensor

    /// An output from its parts.
    public init(audio: Tensor, latent: Tensor) {
        self.audio = audio
        self.latent = latent
    }
}
