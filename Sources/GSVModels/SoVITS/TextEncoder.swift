// Follows GPT_SoVITS/module/models.py: TextEncoder (enc_p) — ssl_proj, encoder_ssl, text_embedding,
// encoder_text, mrte, encoder2, speed interpolation, proj.

import Foundation
import GSVNN
import GSVTensor

/// The prior encoder: SSL content (decoded semantic tokens) and phones, conditioned on the timbre
/// embedding, give the prior mean and log-std of the latent.
public struct TextEncoder: Sendable {
    /// The prior encoder's output for one sequence.
    public struct Output: Sendable {
        /// Hidden sequence after `encoder2`, before the speed interpolation: `[hidden, T]`.
        public var hidden: Tensor
        /// Prior mean `[inter, T']` (`T' = int(T / speed) + 1` when speed ≠ 1, else `T`).
        public var mean: Tensor
        /// Prior log standard deviation `[inter, T']`.
        public var logStd: Tensor
        /// Frame mask `[T']` (all ones: one unpadded sequence).
        public var mask: Tensor
    }

    let sslProj: Conv1d                // enc_p.ssl_proj
    let encoderSSL: AttentionEncoder   // enc_p.encoder_ssl
    /// `enc_p.text_embedding.weight` `[symbols, hidden]`.
    let textEmbedding: Tensor
    let encoderText: AttentionEncoder  // enc_p.encoder_text
    let mrte: MRTE                     // enc_p.mrte
    let encoder2: AttentionEncoder     // enc_p.encoder2
    let proj: Conv1d                   // enc_p.proj
    let outChannels: Int

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        let h = c.hiddenChannels
        sslProj = try Conv1d(p.scoped("ssl_proj"), in: c.sslDim, out: h, kernel: 1)
        encoderSSL = try AttentionEncoder(p.scoped("encoder_ssl"), channels: h, filterChannels: c.filterChannels,
                                          heads: c.nHeads, layers: c.halfLayers, kernelSize: c.kernelSize,
                                          window: c.attentionWindow)
        textEmbedding = try p.tensor("text_embedding.weight", shape: [c.symbolCount, h], initial: .std(1))
        encoderText = try AttentionEncoder(p.scoped("encoder_text"), channels: h, filterChannels: c.filterChannels,
                                           heads: c.nHeads, layers: c.nLayers, kernelSize: c.kernelSize,
                                           window: c.attentionWindow)
        mrte = try MRTE(p.scoped("mrte"), contentChannels: h, hidden: c.mrteHidden, heads: c.mrteHeads, outChannels: h)
        encoder2 = try AttentionEncoder(p.scoped("encoder2"), channels: h, filterChannels: c.filterChannels,
                                        heads: c.nHeads, layers: c.halfLayers, kernelSize: c.kernelSize,
                                        window: c.attentionWindow)
        proj = try Conv1d(p.scoped("proj"), in: h, out: 2 * c.interChannels, kernel: 1)
        outChannels = c.interChannels
    }

    /// Number of rows of the phone embedding table.
    public var symbolCount: Int { textEmbedding.shape[0] }

    /// Runs the encoder.
    ///
    /// - Parameters:
    ///   - content: upsampled quantizer output `[sslDim, T]` (50 Hz).
    ///   - phones: phone ids (validated by the caller).
    ///   - ge: timbre embedding `[gin, 1]`.
    ///   - speed: latent speed factor (> 0); ≠ 1 resamples the hidden sequence linearly.
    ///   - window: streaming only: keep the last `resultFrames` frames after `encoder2` and cross-fade
    ///     the first frames with the previous chunk's latent (see ``StreamingLatentWindow``).
    func callAsFunction(content: Tensor, phones: [Int], ge: Tensor, speed: Double,
                        window: StreamingLatentWindow? = nil) -> Output {
        var y = sslProj(content)
        y = encoderSSL(y)
        var text = embedding(ids: phones, table: textEmbedding).transposed()
        text = encoderText(text)
        y = mrte(ssl: y, text: text, ge: ge)
        y = encoder2(y)
        if let window { y = window.apply(to: y) }
        let hidden = y
        if speed != 1 {
            let n = Int(Double(y.shape[1]) / speed) + 1
            y = interpolateLinear(y, .size(n))
        }
        let stats = proj(y)
        let t = stats.shape[1]
        return Output(hidden: hidden,
                      mean: stats.slice(axis: 0, 0..<outChannels),
                      logStd: stats.slice(axis: 0, outChannels..<(2 * outChannels)),
                      mask: Tensor(repeating: 1, shape: [t]))
    }
}

/// The streaming crop and cross-fade of `TextEncoder.forward(result_length, overlap_frames)`.
public struct StreamingLatentWindow: Sendable {
    /// Frames (50 Hz) kept from the end of the encoded sequence; nil keeps all.
    public var resultFrames: Int?
    /// The previous chunk's latent tail `[hidden, L]`, cross-faded into the first `L` kept frames.
    public var overlap: Tensor?

    /// A window keeping `resultFrames` frames and fading in from `overlap`.
    public init(resultFrames: Int?, overlap: Tensor?) {
        self.resultFrames = resultFrames
        self.overlap = overlap
    }

    /// The fade weights `sin(π·k / 2L)`, k = 0..<2L: the new frames get the first `L`, the old the
    /// last `L` (they do not sum to one, as official).
    static func weights(_ l: Int) -> [Float] {
        (0..<(2 * l)).map { Float(sin(Double($0) * Double.pi / Double(2 * l))) }
    }

    /// Crops `y` `[C, T]` and cross-fades its head with ``overlap``.
    func apply(to y: Tensor) -> Tensor {
        var out = y
        let c = y.shape[0], t = y.shape[1]
        if let r = resultFrames, r < t { out = y.slice(axis: 1, (t - r)..<t) }
        guard let old = overlap, old.rank == 2, old.shape[0] == c else { return out }
        let n = out.shape[1]
        let l = min(old.shape[1], n)
        guard l > 0 else { return out }
        let w = Self.weights(old.shape[1])
        let oldStart = old.shape[1] - l
        var s = out.scalars
        let o = old.scalars
        for ch in 0..<c {
            for k in 0..<l {
                s[ch * n + k] = w[k] * s[ch * n + k] + w[old.shape[1] + k] * o[ch * old.shape[1] + oldStart + k]
            }
        }
        return Tensor(shape: [c, n], scalars: s)
    }
}
