// Follows GPT_SoVITS/module/models.py: SynthesizerTrn.forward (training), TextEncoder.forward,
// PosteriorEncoder, ResidualCouplingBlock (forward direction), Generator; module/modules.py: WN,
// ResBlock1, ResidualCouplingLayer (mean_only), Flip, MelStyleEncoder (Conv1dGLU, Mish, masked
// MultiHeadAttention, temporal average pooling); module/attentions.py: Encoder (masked), FFN,
// MultiHeadAttention; module/mrte_model.py: MRTE; module/commons.py: sequence_mask,
// rand_slice_segments, slice_segments, fused_add_tanh_sigmoid_multiply.
// Dropout is not applied (see the README's training notes); the quantizer is frozen (eval mode),
// so its output is a constant computed outside the tape.

import Foundation
import GSVModels
import GSVTensor

/// One collated SoVITS training batch (`TextAudioSpeakerCollate`: items sorted by spectrogram length,
/// descending; SSL and spectrogram padded to `2·(max/2 + 1)` frames, audio to the longest).
public struct SoVITSBatch: Sendable {
    /// Quantizer codes (frozen `ssl_proj` + codebook, layer 0) of each item's padded SSL
    /// features: `[B][Ts/2]`.
    public var codes: [[Int]]
    /// Linear spectrograms `[B, bins, T]`.
    public var spec: Tensor
    /// Valid frames per item.
    public var specLengths: [Int]
    /// Audio `[B, N]`.
    public var wav: Tensor
    /// Phone ids `[B][Tt]`, zero-padded.
    public var text: [[Int]]
    /// Phones per item.
    public var textLengths: [Int]
    /// v2Pro speaker embeddings `[B, 20480]` (nil for v2).
    public var speakerEmbedding: Tensor?

    public init(codes: [[Int]], spec: Tensor, specLengths: [Int], wav: Tensor, text: [[Int]], textLengths: [Int],
                speakerEmbedding: Tensor? = nil) {
        self.codes = codes
        self.spec = spec
        self.specLengths = specLengths
        self.wav = wav
        self.text = text
        self.textLengths = textLengths
        self.speakerEmbedding = speakerEmbedding
    }

    public var count: Int { specLengths.count }
    public var frames: Int { spec.shape[2] }
}

/// The random draws of one SoVITS forward: the posterior noise (`randn_like`) and the slice
/// positions (`torch.rand([B])` of `rand_slice_segments`).
public struct SoVITSDraws: Sendable {
    /// `[B, inter, T]`.
    public var noise: Tensor
    /// `[B]` uniform values in [0, 1).
    public var sliceUniform: [Float]

    public init(noise: Tensor, sliceUniform: [Float]) {
        self.noise = noise
        self.sliceUniform = sliceUniform
    }

    /// Draws from a seeded generator.
    public static func seeded(_ rng: inout SeededRNG, batch: Int, interChannels: Int, frames: Int) -> SoVITSDraws {
        SoVITSDraws(noise: rng.gaussian(shape: [batch, interChannels, frames]),
                    sliceUniform: (0..<batch).map { _ in Float(rng.nextUniform()) })
    }
}

/// Everything `SynthesizerTrn.forward` returns (and what the losses need).
public struct SoVITSForward {
    public let audio: Var            // y_hat [B, 1, segment]
    public let sliceStarts: [Int]    // ids_slice
    public let mask: Tensor          // z_mask [B, 1, T]
    public let z: Var, zP: Var, mP: Var, logsP: Var, mQ: Var, logsQ: Var
    public let ge: Var               // [B, gin, 1]
    public let quantized: Tensor     // [B, ssl, T]
}

/// Shapes of the discriminator, read from its state dict (channel widths and groups are not
/// stored in hyper-parameters; the official classes hard-code them).
public struct DiscriminatorLayout: Sendable, Equatable {
    /// Periods of the `DiscriminatorP`s (v2: 2, 3, 5, 7, 11; v2Pro: + 17, 23).
    public var periods: [Int]
    /// Official `DiscriminatorS` strides/paddings per conv, with groups inferred from the shapes.
    public var scaleGroups: [Int]

    public static let v2Periods = [2, 3, 5, 7, 11]
    public static let v2ProPeriods = [2, 3, 5, 7, 11, 17, 23]
}

/// The differentiable SoVITS training forward and the discriminator, reading parameters by the
/// official keys; hyper-parameters from ``GSVModels/SoVITSConfig``.
public struct SoVITSTrainingModel: Sendable {
    public let config: SoVITSConfig
    /// `segment_size / hop_length` (32 frames officially).
    public let segmentFrames: Int
    /// Whether `ge` gets the v2Pro speaker-embedding path (`sv_emb`, `prelu`, `ge_to512`).
    public let isPro: Bool
    /// Width `ge` is projected to for the MRTE (v2Pro: 512; v2: `gin`).
    public let mrteGeWidth: Int

    public init(config: SoVITSConfig, segmentFrames: Int = 32, isPro: Bool = false, mrteGeWidth: Int? = nil) {
        self.config = config
        self.segmentFrames = segmentFrames
        self.isPro = isPro
        self.mrteGeWidth = mrteGeWidth ?? config.ginChannels
    }

    // MARK: Masks

    static func sequenceMask(_ lengths: [Int], _ t: Int) -> Tensor {
        var m = [Float](repeating: 0, count: lengths.count * t)
        for (b, l) in lengths.enumerated() { for j in 0..<min(l, t) { m[b * t + j] = 1 } }
        return Tensor(shape: [lengths.count, 1, t], scalars: m)
    }

    static func validity(_ lengths: [Int], _ t: Int) -> [[Bool]] { lengths.map { l in (0..<t).map { $0 < l } } }

    // MARK: Layers

    func conv(_ p: ParameterScope, _ name: String, _ x: Var, in cin: Int, out cout: Int, kernel k: Int = 1,
              padding: (Int, Int) = (0, 0), dilation: Int = 1, weightNorm: Bool = false, bias: Bool = true) throws -> Var {
        let w = weightNorm ? try p.weightNormed(name, shape: [cout, cin, k]) : try p(name + ".weight", shape: [cout, cin, k])
        let b = bias ? try p(name + ".bias", shape: [cout]) : nil
        return p.tape.conv1d(x, weight: w, bias: b, padding: padding, dilation: dilation)
    }

    /// `attentions.MultiHeadAttention(x, c, mask)` (window 4 for self-attention encoders).
    func multiHeadAttention(_ p: ParameterScope, _ x: Var, _ c: Var, channels: Int, heads: Int, window: Int?,
                            mask: AttentionMask) throws -> Var {
        let tape = p.tape
        let q = try conv(p, "conv_q", x, in: channels, out: channels)
        let k = try conv(p, "conv_k", c, in: channels, out: channels)
        let v = try conv(p, "conv_v", c, in: channels, out: channels)
        let d = channels / heads
        var rel: RelativeEmbeddings?
        if let window {
            rel = RelativeEmbeddings(keys: try p("emb_rel_k", shape: [1, 2 * window + 1, d]),
                                     values: try p("emb_rel_v", shape: [1, 2 * window + 1, d]), window: window)
        }
        let a = tape.attention(q: q, k: k, v: v, heads: heads, scale: 1 / Float(d).squareRoot(), layout: .channelFirst,
                               relative: rel, mask: mask)
        return try conv(p, "conv_o", a, in: channels, out: channels)
    }

    /// `attentions.Encoder(x, x_mask)`.
    func encoder(_ p: ParameterScope, _ input: Var, mask: Tensor, lengths: [Int], layers: Int) throws -> Var {
        let tape = p.tape
        let c = config, h = c.hiddenChannels
        let t = input.shape[2]
        let valid = Self.validity(lengths, t)
        let attnMask = AttentionMask.outer(queryValid: valid, keyValid: valid, fill: -1e4)
        var x = tape.mul(input, constant: mask)
        let k = c.kernelSize, pad = ((k - 1) / 2, k / 2)
        for i in 0..<layers {
            let y = try multiHeadAttention(p.scoped("attn_layers.\(i)"), x, x, channels: h, heads: c.nHeads,
                                           window: c.attentionWindow, mask: attnMask)
            x = try channelNorm(p.scoped("norm_layers_1.\(i)"), tape.add(x, y), channels: h)
            let f = p.scoped("ffn_layers.\(i)")
            var z = try conv(f, "conv_1", tape.mul(x, constant: mask), in: h, out: c.filterChannels, kernel: k, padding: pad)
            z = tape.relu(z)
            z = try conv(f, "conv_2", tape.mul(z, constant: mask), in: c.filterChannels, out: h, kernel: k, padding: pad)
            z = tape.mul(z, constant: mask)
            x = try channelNorm(p.scoped("norm_layers_2.\(i)"), tape.add(x, z), channels: h)
        }
        return tape.mul(x, constant: mask)
    }

    /// `modules.LayerNorm` over channels (`gamma`, `beta`).
    func channelNorm(_ p: ParameterScope, _ x: Var, channels: Int) throws -> Var {
        p.tape.layerNorm(x, weight: try p("gamma", shape: [channels]), bias: try p("beta", shape: [channels]), axis: 1)
    }

    /// `modules.WN(x, x_mask, g)`.
    func waveNet(_ p: ParameterScope, _ input: Var, mask: Tensor, g: Var?, hidden h: Int, kernel k: Int, layers: Int) throws -> Var {
        let tape = p.tape
        var x = input
        var output: Var?
        var cond: Var?
        if let g {
            cond = try conv(p, "cond_layer", g, in: config.ginChannels, out: 2 * h * layers, weightNorm: true)
        }
        for i in 0..<layers {
            let pad = (k - 1) / 2
            var xIn = try conv(p, "in_layers.\(i)", x, in: h, out: 2 * h, kernel: k, padding: (pad, pad), weightNorm: true)
            if let cond { xIn = tape.add(xIn, tape.slice(cond, axis: 1, (2 * h * i)..<(2 * h * (i + 1)))) }
            let acts = tape.mul(tape.tanh(tape.slice(xIn, axis: 1, 0..<h)), tape.sigmoid(tape.slice(xIn, axis: 1, h..<(2 * h))))
            let last = i == layers - 1
            let rs = try conv(p, "res_skip_layers.\(i)", acts, in: h, out: last ? h : 2 * h, weightNorm: true)
            if !last {
                x = tape.mul(tape.add(x, tape.slice(rs, axis: 1, 0..<h)), constant: mask)
                let skip = tape.slice(rs, axis: 1, h..<(2 * h))
                output = output.map { tape.add($0, skip) } ?? skip
            } else {
                output = output.map { tape.add($0, rs) } ?? rs
            }
        }
        return tape.mul(output!, constant: mask)
    }

    // MARK: Sub-networks

    /// `ref_enc(spec[:, :bins] * mask, mask)` → `ge` `[B, gin, 1]` (`MelStyleEncoder`).
    func referenceEncoder(_ p: ParameterScope, spec: Tensor, mask: Tensor, lengths: [Int]) throws -> Var {
        let tape = p.tape
        let c = config, hid = c.styleHidden, bins = c.styleInputBins
        let (b, t) = (spec.shape[0], spec.shape[2])
        let input = Var.constant(spec.slice(axis: 1, 0..<bins) * mask)
        var x = tape.transpose(input, 1, 2)                                         // [B, T, bins]
        x = tape.mish(tape.linear(x, weight: try p("spectral.0.fc.weight", shape: [hid, bins]), bias: try p("spectral.0.fc.bias", shape: [hid])))
        x = tape.mish(tape.linear(x, weight: try p("spectral.3.fc.weight", shape: [hid, hid]), bias: try p("spectral.3.fc.bias", shape: [hid])))
        var y = tape.transpose(x, 1, 2)                                              // [B, hid, T]
        let k = c.styleKernelSize
        for i in 0..<2 {
            let glu = try conv(p.scoped("temporal.\(i)"), "conv1.conv", y, in: hid, out: 2 * hid, kernel: k, padding: ((k - 1) / 2, (k - 1) / 2))
            y = tape.add(y, tape.mul(tape.slice(glu, axis: 1, 0..<hid), tape.sigmoid(tape.slice(glu, axis: 1, hid..<(2 * hid)))))
        }
        // [B, T, hid], padded frames zeroed, then self-attention with padded keys at −∞.
        let rowMask = Tensor(shape: [b, t, 1], scalars: mask.scalars)
        x = tape.mul(tape.transpose(y, 1, 2), constant: rowMask)
        let a = p.scoped("slf_attn")
        let heads = c.styleHeads, dk = hid / heads
        let q = tape.linear(x, weight: try a("w_qs.weight", shape: [heads * dk, hid]), bias: try a("w_qs.bias", shape: [heads * dk]))
        let kk = tape.linear(x, weight: try a("w_ks.weight", shape: [heads * dk, hid]), bias: try a("w_ks.bias", shape: [heads * dk]))
        let v = tape.linear(x, weight: try a("w_vs.weight", shape: [heads * dk, hid]), bias: try a("w_vs.bias", shape: [heads * dk]))
        let keyMask = AttentionMask.keys(keyValid: Self.validity(lengths, t), queries: t, fill: -.infinity)
        let att = tape.attention(q: q, k: kk, v: v, heads: heads, scale: 1 / Float(hid).squareRoot(), layout: .rows, mask: keyMask)
        x = tape.add(tape.linear(att, weight: try a("fc.weight", shape: [hid, heads * dk]), bias: try a("fc.bias", shape: [hid])), x)
        x = tape.linear(x, weight: try p("fc.fc.weight", shape: [c.ginChannels, hid]), bias: try p("fc.fc.bias", shape: [c.ginChannels]))
        // temporal_avg_pool: Σ over valid frames of x / length.
        var pool = [Float](repeating: 0, count: b * t)
        for (item, l) in lengths.enumerated() { for j in 0..<min(l, t) { pool[item * t + j] = 1 / Float(l) } }
        let weighted = tape.mul(x, constant: Tensor(shape: [b, t, 1], scalars: pool))   // [B, T, gin]
        let summed = tape.sumOverAxis1(weighted)                                     // [B, gin]
        return tape.reshape(summed, [b, c.ginChannels, 1])
    }

    /// `enc_p(quantized, y_lengths, text, text_lengths, ge)` → `(m_p, logs_p)`.
    func priorEncoder(_ p: ParameterScope, quantized: Tensor, mask: Tensor, lengths: [Int], text: [[Int]],
                      textLengths: [Int], ge: Var) throws -> (Var, Var) {
        let tape = p.tape
        let c = config, h = c.hiddenChannels
        let b = quantized.shape[0]
        var y = try conv(p, "ssl_proj", Var.constant(quantized * mask), in: c.sslDim, out: h)
        y = tape.mul(y, constant: mask)
        y = try encoder(p.scoped("encoder_ssl"), y, mask: mask, lengths: lengths, layers: c.halfLayers)
        let tt = text.first?.count ?? 0
        let textMask = Self.sequenceMask(textLengths, tt)
        let emb = tape.embedding(try p("text_embedding.weight", shape: [c.symbolCount, h]), ids: text.flatMap { $0 })
        var x = tape.transpose(tape.reshape(emb, [b, tt, h]), 1, 2)
        x = try encoder(p.scoped("encoder_text"), x, mask: textMask, lengths: textLengths, layers: c.nLayers)
        y = try mrte(p.scoped("mrte"), ssl: y, sslMask: mask, sslLengths: lengths, text: x, textMask: textMask,
                     textLengths: textLengths, ge: ge)
        y = try encoder(p.scoped("encoder2"), y, mask: mask, lengths: lengths, layers: c.halfLayers)
        let stats = tape.mul(try conv(p, "proj", y, in: h, out: 2 * c.interChannels), constant: mask)
        return (tape.slice(stats, axis: 1, 0..<c.interChannels), tape.slice(stats, axis: 1, c.interChannels..<(2 * c.interChannels)))
    }

    /// `MRTE(ssl_enc, ssl_mask, text, text_mask, ge)`.
    func mrte(_ p: ParameterScope, ssl: Var, sslMask: Tensor, sslLengths: [Int], text: Var, textMask: Tensor,
              textLengths: [Int], ge: Var) throws -> Var {
        let tape = p.tape
        let c = config, h = c.hiddenChannels, hid = c.mrteHidden
        let mask = AttentionMask.outer(queryValid: Self.validity(sslLengths, ssl.shape[2]),
                                       keyValid: Self.validity(textLengths, text.shape[2]), fill: -1e4)
        let s = try conv(p, "c_pre", tape.mul(ssl, constant: sslMask), in: h, out: hid)
        let t = try conv(p, "text_pre", tape.mul(text, constant: textMask), in: h, out: hid)
        let att = try multiHeadAttention(p.scoped("cross_attention"), tape.mul(s, constant: sslMask), tape.mul(t, constant: textMask),
                                         channels: hid, heads: c.mrteHeads, window: nil, mask: mask)
        let x = tape.add(tape.add(att, s), ge)
        return try conv(p, "c_post", tape.mul(x, constant: sslMask), in: hid, out: h)
    }

    /// `enc_q(spec, lengths, g=ge.detach())` → `(z, m_q, logs_q)`.
    func posteriorEncoder(_ p: ParameterScope, spec: Tensor, mask: Tensor, g: Var, noise: Tensor) throws -> (Var, Var, Var) {
        let tape = p.tape
        let c = config, h = c.hiddenChannels
        var x = tape.mul(try conv(p, "pre", Var.constant(spec), in: c.spectrogramBins, out: h), constant: mask)
        x = try waveNet(p.scoped("enc"), x, mask: mask, g: g, hidden: h, kernel: 5, layers: 16)
        let stats = tape.mul(try conv(p, "proj", x, in: h, out: 2 * c.interChannels), constant: mask)
        let m = tape.slice(stats, axis: 1, 0..<c.interChannels)
        let logs = tape.slice(stats, axis: 1, c.interChannels..<(2 * c.interChannels))
        let z = tape.mul(tape.add(m, tape.mul(tape.exp(logs), constant: noise)), constant: mask)
        return (z, m, logs)
    }

    /// `flow(z, mask, g)` in the forward direction: per coupling layer `x1 ← post(WN(pre(x0))) + x1·mask`, then flip.
    func flowForward(_ p: ParameterScope, _ z: Var, mask: Tensor, g: Var) throws -> Var {
        let tape = p.tape
        let c = config, half = c.interChannels / 2, h = c.hiddenChannels
        var x = z
        for i in 0..<c.flowCount {
            let f = p.scoped("flows.\(2 * i)")
            let x0 = tape.slice(x, axis: 1, 0..<half), x1 = tape.slice(x, axis: 1, half..<(2 * half))
            var hh = tape.mul(try conv(f, "pre", x0, in: half, out: h), constant: mask)
            hh = try waveNet(f.scoped("enc"), hh, mask: mask, g: g, hidden: h, kernel: c.flowKernelSize, layers: c.flowWNLayers)
            let m = tape.mul(try conv(f, "post", hh, in: h, out: half), constant: mask)
            x = tape.flip(tape.concat([x0, tape.add(m, tape.mul(x1, constant: mask))], axis: 1), axis: 1)
        }
        return x
    }

    /// `dec(z, g)` (HiFi-GAN `Generator`).
    func generator(_ p: ParameterScope, _ z: Var, g: Var) throws -> Var {
        let tape = p.tape
        let c = config, c0 = c.upsampleInitialChannel
        var x = tape.add(try conv(p, "conv_pre", z, in: c.interChannels, out: c0, kernel: 7, padding: (3, 3)),
                         try conv(p, "cond", g, in: c.ginChannels, out: c0))
        var ch = c0
        let kernels = c.resblockKernelSizes.count
        for (i, (u, k)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
            let cin = c0 >> i, cout = c0 >> (i + 1)
            x = tape.leakyReLU(x, 0.1)
            x = tape.convTranspose1d(x, weight: try p.weightNormed("ups.\(i)", shape: [cin, cout, k]),
                                     bias: try p("ups.\(i).bias", shape: [cout]), stride: u, padding: (k - u) / 2)
            ch = cout
            var sum: Var?
            for (j, (rk, rd)) in zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated() {
                let r = try resBlock(p.scoped("resblocks.\(i * kernels + j)"), x, channels: ch, kernel: rk, dilations: rd)
                sum = sum.map { tape.add($0, r) } ?? r
            }
            x = tape.scale(sum!, 1 / Float(kernels))
        }
        x = tape.leakyReLU(x, 0.01)
        let postBias = p.contains("conv_post.bias")
        x = try conv(p, "conv_post", x, in: ch, out: 1, kernel: 7, padding: (3, 3), bias: postBias)
        return tape.tanh(x)
    }

    /// `ResBlock1` without a mask: `x += conv2(lrelu(conv1_d(lrelu(x))))` per dilation.
    func resBlock(_ p: ParameterScope, _ input: Var, channels: Int, kernel k: Int, dilations: [Int]) throws -> Var {
        let tape = p.tape
        var x = input
        for (i, d) in dilations.enumerated() {
            let pad1 = (k * d - d) / 2, pad2 = (k - 1) / 2
            var xt = tape.leakyReLU(x, 0.1)
            xt = try conv(p, "convs1.\(i)", xt, in: channels, out: channels, kernel: k, padding: (pad1, pad1), dilation: d, weightNorm: true)
            xt = tape.leakyReLU(xt, 0.1)
            xt = try conv(p, "convs2.\(i)", xt, in: channels, out: channels, kernel: k, padding: (pad2, pad2), weightNorm: true)
            x = tape.add(xt, x)
        }
        return x
    }

    // MARK: Forward

    /// `SynthesizerTrn.forward(ssl, spec, spec_lengths, text, text_lengths[, sv_emb])`.
    /// - Parameters:
    ///   - quantized: the frozen quantizer output, upsampled ×2: `[B, ssl, T]`.
    public func forward(_ batch: SoVITSBatch, quantized: Tensor, draws: SoVITSDraws, parameters p: ParameterScope) throws -> SoVITSForward {
        let tape = p.tape
        let c = config
        let (b, t) = (batch.count, batch.frames)
        guard quantized.shape == [b, c.sslDim, t] else {
            throw TrainingError.invalidInput("quantized content \(quantized.shape), expected [\(b), \(c.sslDim), \(t)]")
        }
        guard draws.noise.shape == [b, c.interChannels, t], draws.sliceUniform.count == b else {
            throw TrainingError.invalidInput("random draws do not match the batch")
        }
        guard batch.specLengths.allSatisfy({ $0 >= segmentFrames && $0 <= t }) else {
            throw TrainingError.invalidInput("spectrogram lengths \(batch.specLengths) must be in \(segmentFrames)…\(t) frames")
        }
        let mask = Self.sequenceMask(batch.specLengths, t)
        var ge = try referenceEncoder(p.scoped("ref_enc"), spec: batch.spec, mask: mask, lengths: batch.specLengths)
        var geText = ge
        if isPro {
            guard let sv = batch.speakerEmbedding, sv.rank == 2, sv.shape[0] == b else {
                throw TrainingError.invalidInput("v2Pro training needs speaker embeddings [\(b), 20480]")
            }
            let svDim = sv.shape[1]
            let proj = tape.linear(Var.constant(sv), weight: try p("sv_emb.weight", shape: [c.ginChannels, svDim]),
                                   bias: try p("sv_emb.bias", shape: [c.ginChannels]))
            ge = tape.add(ge, tape.reshape(proj, [b, c.ginChannels, 1]))
            ge = tape.prelu(ge, weight: try p("prelu.weight", shape: [c.ginChannels]))
            let g512 = tape.linear(tape.transpose(ge, 1, 2), weight: try p("ge_to512.weight", shape: [mrteGeWidth, c.ginChannels]),
                                   bias: try p("ge_to512.bias", shape: [mrteGeWidth]))
            geText = tape.transpose(g512, 1, 2)
        }
        let (mP, logsP) = try priorEncoder(p.scoped("enc_p"), quantized: quantized, mask: mask, lengths: batch.specLengths,
                                           text: batch.text, textLengths: batch.textLengths, ge: geText)
        let (z, mQ, logsQ) = try posteriorEncoder(p.scoped("enc_q"), spec: batch.spec, mask: mask, g: Var.constant(ge.value),
                                                  noise: draws.noise)
        let zP = try flowForward(p.scoped("flow"), z, mask: mask, g: ge)
        let starts = zip(draws.sliceUniform, batch.specLengths).map { u, l in Int(u * Float(l - segmentFrames + 1)) }
        let zSlice = tape.sliceSegments(z, starts: starts, length: segmentFrames)
        let audio = try generator(p.scoped("dec"), zSlice, g: ge)
        return SoVITSForward(audio: audio, sliceStarts: starts, mask: mask, z: z, zP: zP, mP: mP, logsP: logsP, mQ: mQ,
                             logsQ: logsQ, ge: ge, quantized: quantized)
    }

    /// A generator with this configuration's shapes and random weights (benchmarks): one forward
    /// on a dummy batch declares every parameter; the frozen `ssl_proj` and codebook are added.
    public func randomParameters(seed: UInt64) throws -> ParameterSet {
        let c = config
        let factory = ParameterFactory(seed: seed)
        let t = segmentFrames + 2
        let batch = SoVITSBatch(codes: [], spec: Tensor.zeros([1, c.spectrogramBins, t]), specLengths: [t],
                                wav: Tensor.zeros([1, t * c.hopLength]), text: [[0, 1]], textLengths: [2],
                                speakerEmbedding: isPro ? Tensor.zeros([1, 20480]) : nil)
        let draws = SoVITSDraws(noise: Tensor.zeros([1, c.interChannels, t]), sliceUniform: [0])
        _ = try forward(batch, quantized: Tensor.zeros([1, c.sslDim, t]), draws: draws,
                        parameters: ParameterScope(creatingWith: factory, tape: Tape()))
        var rng = SeededRNG(seed: seed ^ 0x5157)
        factory.set("ssl_proj.weight", rng.gaussian(shape: [c.sslDim, c.sslDim, 2], std: 1 / Float(2 * c.sslDim).squareRoot()))
        factory.set("ssl_proj.bias", rng.gaussian(shape: [c.sslDim], std: 0.02))
        factory.set("quantizer.vq.layers.0._codebook.embed", rng.gaussian(shape: [c.codebookSize, c.sslDim]))
        return factory.parameters
    }

    /// `kl_loss(z_p, logs_q, m_p, logs_p, z_mask)`:
    /// `Σ((logs_p − logs_q − 0.5 + 0.5(z_p − m_p)²·exp(−2 logs_p))·mask) / Σ mask`.
    public func klLoss(_ f: SoVITSForward, tape: Tape) -> Var {
        let diff = tape.sub(f.zP, f.mP)
        var kl = tape.addScalar(tape.sub(f.logsP, f.logsQ), -0.5)
        kl = tape.add(kl, tape.scale(tape.mul(tape.square(diff), tape.exp(tape.scale(f.logsP, -2))), 0.5))
        let total = f.mask.scalars.reduce(0, +)
        return tape.scale(tape.sum(tape.mul(kl, constant: f.mask)), 1 / total)
    }
}

extension Tape {
    /// Sums `[B, T, C]` over `T`: `[B, C]`.
    public func sumOverAxis1(_ x: Var) -> Var {
        precondition(x.value.rank == 3, "sumOverAxis1: \(x.shape)")
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        var out = [Float](repeating: 0, count: b * c)
        x.value.scalars.withUnsafeBufferPointer { xp in
            for i in 0..<b { for j in 0..<t { for k in 0..<c { out[i * c + k] += xp[(i * t + j) * c + k] } } }
        }
        return record(Tensor(shape: [b, c], scalars: out), differentiable: x.requiresGrad) { g, tp in
            var d = [Float](repeating: 0, count: b * t * c)
            for i in 0..<b { for j in 0..<t { for k in 0..<c { d[(i * t + j) * c + k] = g.scalars[i * c + k] } } }
            tp.accumulate(x, Tensor(shape: x.shape, scalars: d))
        }
    }

    /// `nn.PReLU(num_parameters=C)` on `[B, C, T]`: `max(0, x) + a_c·min(0, x)`.
    public func prelu(_ x: Var, weight a: Var) -> Var {
        let (b, c, t) = (x.shape[0], x.shape[1], x.shape[2])
        var out = x.value.scalars
        for i in 0..<b { for ch in 0..<c { for j in 0..<t {
            let k = (i * c + ch) * t + j
            if out[k] < 0 { out[k] *= a.value.scalars[ch] }
        } } }
        return record(Tensor(shape: x.shape, scalars: out), differentiable: x.requiresGrad || a.requiresGrad) { g, tp in
            var dx = [Float](repeating: 0, count: x.value.count)
            var da = [Float](repeating: 0, count: c)
            for i in 0..<b { for ch in 0..<c { for j in 0..<t {
                let k = (i * c + ch) * t + j
                let v = x.value.scalars[k]
                if v > 0 { dx[k] = g.scalars[k] } else {
                    dx[k] = g.scalars[k] * a.value.scalars[ch]
                    da[ch] += g.scalars[k] * v
                }
            } } }
            tp.accumulate(x, Tensor(shape: x.shape, scalars: dx))
            tp.accumulate(a, Tensor(shape: a.shape, scalars: da))
        }
    }
}
