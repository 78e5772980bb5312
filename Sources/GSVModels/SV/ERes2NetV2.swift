// Follows GPT_SoVITS/eres2net/ERes2NetV2.py: ERes2NetV2 (forward3), BasicBlockERes2NetV2,
// BasicBlockERes2NetV2AFF, ReLU (= Hardtanh(0, 20)); GPT_SoVITS/eres2net/fusion.py: AFF;
// GPT_SoVITS/sv.py: SV (the model GPT-SoVITS builds: baseWidth 24, scale 4, expansion 4, and
// the file it loads, `sv/pretrained_eres2netv2w24s4ep4.ckpt`).
//
// Every BatchNorm follows a convolution and is folded into it at load (eval-mode BatchNorm is an
// affine map of the convolution's output channels). Feature maps are channel-first `[C, F, T]`
// (frequency × time, as the official `[B, 1, F, T]` after its permute), so channel slices — the
// Res2Net splits and their concatenation — are contiguous ranges that convolutions read and write
// in place.

import Foundation
import GSVNN
import GSVTensor
import GSVWeights

/// Errors raised while building or running the speaker-verification model.
public enum SpeakerModelError: Error, LocalizedError, Sendable, Equatable {
    /// The input features have the wrong shape or are too short.
    case invalidInput(String)
    /// A configuration value is inconsistent.
    case invalidConfig(String)
    /// The file holds another kind of model (`kind`: what ``ModelIdentity`` recognised).
    case notASpeakerModel(path: String, kind: String)

    public var errorDescription: String? {
        switch self {
        case let .notASpeakerModel(path, kind):
            return "\(path) is a \(kind) model, not the ERes2NetV2 speaker-verification model (\(ERes2NetV2.officialFileName))"
        case let .invalidInput(m): return "invalid speaker-model input: \(m)"
        case let .invalidConfig(m): return "invalid speaker-model config: \(m)"
        }
    }
}

/// Hyper-parameters of ``ERes2NetV2``. Nothing of it is stored in the checkpoint (a bare
/// `state_dict`); the defaults are what `GPT_SoVITS/sv.py` builds.
public struct ERes2NetV2Config: Codable, Sendable, Equatable {
    /// `baseWidth`: block width = ⌊planes · baseWidth / 64⌋.
    public var baseWidth = 24
    /// `scale`: Res2Net groups per block.
    public var scale = 4
    /// `expansion`: block output = planes · expansion.
    public var expansion = 4
    /// `num_blocks` of the four stages.
    public var numBlocks = [3, 4, 6, 3]
    /// `m_channels`: stem width (stage planes are 1, 2, 4, 8 × this).
    public var mChannels = 64
    /// `feat_dim`: filter-bank bins.
    public var featDim = 80
    /// `embedding_size`: width of the unused `seg_1` head (checked for shape only).
    public var embeddingSize = 192

    /// The network GPT-SoVITS builds (`ERes2NetV2(baseWidth=24, scale=4, expansion=4)`).
    public init() {}

    /// Output width of the stage with `planes` planes.
    func outChannels(planes: Int) -> Int { planes * expansion }
    /// Res2Net group width of a block with `planes` planes.
    func width(planes: Int) -> Int { Int((Double(planes) * Double(baseWidth) / 64).rounded(.down)) }
    /// Frequency bins after the three stride-2 stages.
    public var finalFrequencyBins: Int {
        var f = featDim
        for _ in 0..<3 { f = (f - 1) / 2 + 1 }
        return f
    }
    /// Width of the `forward3` embedding: `fuse34` channels × final frequency bins (20480).
    public var embeddingDim: Int { outChannels(planes: mChannels * 8) * finalFrequencyBins }

    /// Checks for values the network cannot be built with.
    public func validate() throws {
        guard baseWidth > 0, scale >= 1, expansion >= 1, mChannels >= 1, featDim >= 8, embeddingSize >= 1,
              numBlocks.count == 4, numBlocks.allSatisfy({ $0 >= 1 }), width(planes: mChannels) >= 1,
              outChannels(planes: mChannels * 8) % 4 == 0 else {
            throw SpeakerModelError.invalidConfig("\(self)")
        }
    }
}

/// Hardtanh(0, 20) in place (the blocks' "ReLU"); NaN stays NaN.
@inline(__always)
private func hardtanh20(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { let v = p[i]; p[i] = v < 0 ? 0 : (v > 20 ? 20 : v) }
}

/// `AFF`: attentional feature fusion of two maps with the same shape.
///
/// Follows GPT_SoVITS/eres2net/fusion.py: AFF.
struct AFF: Sendable {
    /// `local_att.0` + `local_att.1`: Conv2d(2C → C/r, 1×1, bias) with its BatchNorm folded.
    let squeeze: Conv2d
    /// `local_att.3` + `local_att.4`: Conv2d(C/r → C, 1×1, bias) with its BatchNorm folded.
    let expand: Conv2d
    let channels: Int

    init(_ p: ParameterSource, channels c: Int, r: Int = 4) throws {
        let inter = c / r
        let a = p.scoped("local_att")
        squeeze = try BatchNorm(a.scoped("1"), channels: inter).folded(into: Conv2d(a.scoped("0"), in: 2 * c, out: inter, kernel: 1, bias: true))
        expand = try BatchNorm(a.scoped("4"), channels: c).folded(into: Conv2d(a.scoped("3"), in: inter, out: c, kernel: 1, bias: true))
        channels = c
    }

    /// `x·a + y·(2 − a)`, `a = 1 + tanh(expand(SiLU(squeeze(cat(x, y)))))`, over `positions` each;
    /// writes `out` (which may alias neither input).
    func callAsFunction(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, positions n: Int,
                        height h: Int, width w: Int, into out: UnsafeMutablePointer<Float>) {
        let c = channels
        let cat = UnsafeMutablePointer<Float>.allocate(capacity: 2 * c * n)
        defer { cat.deallocate() }
        cat.update(from: x, count: c * n)
        (cat + c * n).update(from: y, count: c * n)
        let inter = squeeze.outChannels
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: inter * n)
        defer { hidden.deallocate() }
        squeeze.apply(input: cat, height: h, width: w, output: hidden)
        for i in 0..<(inter * n) { let v = hidden[i]; hidden[i] = v / (1 + Foundation.exp(-v)) }
        // The attention logits reuse the concatenation buffer.
        expand.apply(input: hidden, height: h, width: w, output: cat)
        Parallel.forRanges(c * n, grain: 16_384) { r in
            for i in r {
                let a = 1 + Foundation.tanh(cat[i])
                out[i] = x[i] * a + y[i] * (2 - a)
            }
        }
    }
}

/// `BasicBlockERes2NetV2` (`fused == false`) and `BasicBlockERes2NetV2AFF` (`fused == true`).
///
/// Follows GPT_SoVITS/eres2net/ERes2NetV2.py: BasicBlockERes2NetV2, BasicBlockERes2NetV2AFF.
struct ERes2NetV2Block: Sendable {
    /// `conv1` (1×1, stride) + `bn1`.
    let conv1: Conv2d
    /// `convs[i]` (3×3) + `bns[i]`.
    let convs: [Conv2d]
    /// `fuse_models[i]` (AFF blocks only): fuses the previous group's output with split `i + 1`.
    let fuse: [AFF]
    /// `conv3` (1×1) + `bn3`.
    let conv3: Conv2d
    /// `shortcut.0` + `shortcut.1` when the shape changes.
    let shortcut: Conv2d?
    let width: Int
    let scale: Int

    init(_ p: ParameterSource, inPlanes: Int, planes: Int, stride: Int, fused: Bool, config c: ERes2NetV2Config) throws {
        let w = c.width(planes: planes), s = c.scale, out = c.outChannels(planes: planes)
        width = w
        scale = s
        conv1 = try BatchNorm(p.scoped("bn1"), channels: w * s)
            .folded(into: Conv2d(p.scoped("conv1"), in: inPlanes, out: w * s, kernel: 1, stride: stride))
        convs = try (0..<s).map { i in
            try BatchNorm(p.scoped("bns.\(i)"), channels: w).folded(into: Conv2d(p.scoped("convs.\(i)"), in: w, out: w, kernel: 3, padding: 1))
        }
        fuse = fused ? try (0..<(s - 1)).map { try AFF(p.scoped("fuse_models.\($0)"), channels: w) } : []
        conv3 = try BatchNorm(p.scoped("bn3"), channels: out).folded(into: Conv2d(p.scoped("conv3"), in: w * s, out: out, kernel: 1))
        if stride != 1 || inPlanes != out {
            shortcut = try BatchNorm(p.scoped("shortcut.1"), channels: out)
                .folded(into: Conv2d(p.scoped("shortcut.0"), in: inPlanes, out: out, kernel: 1, stride: stride))
        } else {
            shortcut = nil
        }
    }

    /// `[Cin, H, W] → [Cout, H', W']`.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (h, w) = (x.shape[1], x.shape[2])
        guard let (ho, wo) = conv1.outputSize(height: h, width: w) else { preconditionFailure("block input \(x.shape)") }
        let n = ho * wo, gw = width, s = scale
        var split = [Float](repeating: 0, count: gw * s * n)
        var joined = [Float](repeating: 0, count: gw * s * n)
        var out = [Float](repeating: 0, count: conv3.outChannels * n)
        x.scalars.withUnsafeBufferPointer { xp in
            split.withUnsafeMutableBufferPointer { sp in
                joined.withUnsafeMutableBufferPointer { jp in
                    let spx = sp.baseAddress!, cat = jp.baseAddress!
                    conv1.apply(input: xp.baseAddress!, height: h, width: w, output: spx)
                    hardtanh20(spx, gw * s * n)
                    let mixed = UnsafeMutablePointer<Float>.allocate(capacity: gw * n)
                    defer { mixed.deallocate() }
                    for i in 0..<s {
                        let part = spx + i * gw * n
                        let input: UnsafePointer<Float>
                        if i == 0 {
                            input = UnsafePointer(part)
                        } else {
                            let previous = UnsafePointer(cat + (i - 1) * gw * n)
                            if fuse.isEmpty {
                                for j in 0..<(gw * n) { mixed[j] = previous[j] + part[j] }
                            } else {
                                fuse[i - 1](previous, part, positions: n, height: ho, width: wo, into: mixed)
                            }
                            input = UnsafePointer(mixed)
                        }
                        let dst = cat + i * gw * n
                        convs[i].apply(input: input, height: ho, width: wo, output: dst)
                        hardtanh20(dst, gw * n)
                    }
                    out.withUnsafeMutableBufferPointer { op in
                        let o = op.baseAddress!
                        conv3.apply(input: cat, height: ho, width: wo, output: o)
                        let count = conv3.outChannels * n
                        if let shortcut {
                            let residual = UnsafeMutablePointer<Float>.allocate(capacity: count)
                            defer { residual.deallocate() }
                            shortcut.apply(input: xp.baseAddress!, height: h, width: w, output: residual)
                            for j in 0..<count { o[j] += residual[j] }
                        } else {
                            for j in 0..<count { o[j] += xp[j] }
                        }
                        hardtanh20(o, count)
                    }
                }
            }
        }
        return Tensor(shape: [conv3.outChannels, ho, wo], scalars: out)
    }
}

/// Stage outputs of one ``ERes2NetV2/forward3Trace(features:)`` (each `[C, F, T]`).
public struct ERes2NetV2Trace: Sendable {
    /// Stem BatchNorm output, before its ReLU `[64, 80, T]`.
    public var bn1: Tensor
    /// `layer1` … `layer4` outputs.
    public var layer1: Tensor
    public var layer2: Tensor
    public var layer3: Tensor
    public var layer4: Tensor
    /// `layer3_ds(layer3)`.
    public var layer3Downsampled: Tensor
    /// `fuse34(layer4, layer3_ds)`.
    public var fuse34: Tensor
    /// `forward3`: `fuse34` flattened over (channel, frequency), averaged over time `[C·F]`.
    public var embedding: Tensor
}

/// The ERes2NetV2 speaker encoder of v2Pro / v2ProPlus, run as `forward3`: 80-bin Kaldi
/// filter-bank frames → the 20480-d fused stage-3/4 feature averaged over time, which SoVITS's
/// `sv_emb` projects into the timbre embedding.
///
/// Immutable after load: one value serves concurrent requests.
public struct ERes2NetV2: Sendable {
    /// The hyper-parameters the network was built with.
    public let config: ERes2NetV2Config
    /// `conv1` + `bn1` (stem).
    let stem: Conv2d
    /// `layer1` … `layer4`.
    let layers: [[ERes2NetV2Block]]
    /// `layer3_ds`: Conv2d 3×3, stride 2, no bias, no BatchNorm.
    let layer3Downsample: Conv2d
    /// `fuse34`.
    let fuse34: AFF

    /// The file name the official code loads (`GPT_SoVITS/pretrained_models/sv/…`).
    public static let officialFileName = "pretrained_eres2netv2w24s4ep4.ckpt"
    /// The folder of ``officialFileName`` under `pretrained_models`.
    public static let officialFolder = "sv"

    init(_ p: ParameterSource, config c: ERes2NetV2Config) throws {
        try c.validate()
        config = c
        let m = c.mChannels
        // The x-vector head exists in the file but forward3 never reaches it: shape-checked only.
        let statsDim = (c.featDim / 8) * m * 8
        try p.declareUnused("seg_1.weight", shape: [c.embeddingSize, statsDim * c.expansion * 2])
        try p.declareUnused("seg_1.bias", shape: [c.embeddingSize])
        stem = try BatchNorm(p.scoped("bn1"), channels: m).folded(into: Conv2d(p.scoped("conv1"), in: 1, out: m, kernel: 3, padding: 1))
        var inPlanes = m
        var layers: [[ERes2NetV2Block]] = []
        for (stage, blocks) in c.numBlocks.enumerated() {
            let planes = m << stage
            var stageBlocks: [ERes2NetV2Block] = []
            for i in 0..<blocks {
                stageBlocks.append(try ERes2NetV2Block(p.scoped("layer\(stage + 1).\(i)"), inPlanes: inPlanes, planes: planes,
                                                       stride: i == 0 && stage > 0 ? 2 : 1, fused: stage >= 2, config: c))
                inPlanes = c.outChannels(planes: planes)
            }
            layers.append(stageBlocks)
        }
        self.layers = layers
        let c3 = c.outChannels(planes: m * 4), c4 = c.outChannels(planes: m * 8)
        layer3Downsample = try Conv2d(p.scoped("layer3_ds"), in: c3, out: c4, kernel: 3, stride: 2, padding: 1)
        fuse34 = try AFF(p.scoped("fuse34"), channels: c4)
    }

    /// Loads the speaker model from its checkpoint (a plain `state_dict` saved by `torch.save`),
    /// every tensor shape-checked against ``ERes2NetV2Config`` and any unknown key refused.
    /// - Throws: ``SpeakerModelError/notASpeakerModel(path:kind:)`` for a file recognised as another
    ///   model (GPT, SoVITS, HuBERT, BERT); `WeightsError` naming the missing, misshapen or
    ///   unexpected tensor.
    public static func load(path: String, config: ERes2NetV2Config = ERes2NetV2Config()) throws -> ERes2NetV2 {
        let archive = try WeightArchive.open(path)
        let kind = ModelIdentity(archive: archive).kind
        guard kind == .speakerVerification || kind == .unknown else {
            throw SpeakerModelError.notASpeakerModel(path: path, kind: kind.rawValue)
        }
        let model = try ERes2NetV2(reader: WeightReader(archive), config: config)
        archive.releaseResidentPages()
        return model
    }

    /// Builds the network from a state dict and fails on any key it did not read.
    public init(reader: WeightReader, config: ERes2NetV2Config = ERes2NetV2Config()) throws {
        try self.init(ParameterSource(reader: reader), config: config)
        try reader.verifyAllConsumed()
    }

    /// A full-size network with seeded random weights (benchmarks, shape tests).
    public static func random(config: ERes2NetV2Config = ERes2NetV2Config(), seed: UInt64) throws -> ERes2NetV2 {
        try ERes2NetV2(ParameterSource(randomSeed: seed), config: config)
    }

    /// Parameters held (after BatchNorm folding; the unused head is not kept).
    public var parameterCount: Int {
        func count(_ c: Conv2d) -> Int { c.weight.count + (c.bias?.count ?? 0) }
        func count(_ a: AFF) -> Int { count(a.squeeze) + count(a.expand) }
        var n = count(stem) + count(layer3Downsample) + count(fuse34)
        for stage in layers {
            for b in stage {
                n += count(b.conv1) + count(b.conv3) + (b.shortcut.map(count) ?? 0)
                n += b.convs.map(count).reduce(0, +) + b.fuse.map(count).reduce(0, +)
            }
        }
        return n
    }

    /// `forward3` of one utterance: features `[T, featDim]` (Kaldi fbank frames) → `[embeddingDim]`.
    /// - Throws: ``SpeakerModelError/invalidInput(_:)`` for a wrong width, fewer than 8 frames or
    ///   non-finite values.
    public func embedding(features: Tensor) throws -> Tensor {
        try forward3Trace(features: features, keepStages: false).embedding
    }

    /// ``embedding(features:)`` keeping every stage output.
    public func forward3Trace(features: Tensor) throws -> ERes2NetV2Trace {
        try forward3Trace(features: features, keepStages: true)
    }

    private func forward3Trace(features: Tensor, keepStages: Bool) throws -> ERes2NetV2Trace {
        guard features.rank == 2, features.shape[1] == config.featDim else {
            throw SpeakerModelError.invalidInput("features have shape \(features.shape), expected [frames, \(config.featDim)]")
        }
        let frames = features.shape[0]
        guard frames >= 1 else { throw SpeakerModelError.invalidInput("no feature frames") }
        guard features.scalars.allSatisfy(\.isFinite) else {
            throw SpeakerModelError.invalidInput("features contain NaN or infinity")
        }
        // [T, F] → [1, F, T] (the official permute + unsqueeze).
        let input = features.transposed().reshaped([1, config.featDim, frames])
        let bn1 = stem(input)
        var x = bn1.map { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) }
        var stages: [Tensor] = []
        for stage in layers {
            for block in stage { x = block(x) }
            stages.append(x)
        }
        let out3 = stages[2], out4 = stages[3]
        let ds = layer3Downsample(out3)
        guard ds.shape == out4.shape else {
            throw SpeakerModelError.invalidInput("\(frames) frames give layer4 \(out4.shape) but layer3_ds \(ds.shape)")
        }
        let (c, f, t) = (out4.shape[0], out4.shape[1], out4.shape[2])
        var fused = [Float](repeating: 0, count: c * f * t)
        out4.scalars.withUnsafeBufferPointer { a in
            ds.scalars.withUnsafeBufferPointer { b in
                fused.withUnsafeMutableBufferPointer { o in
                    fuse34(a.baseAddress!, b.baseAddress!, positions: f * t, height: f, width: t, into: o.baseAddress!)
                }
            }
        }
        // flatten(1, 2).mean(-1): one value per (channel, frequency), averaged over time.
        var embedding = [Float](repeating: 0, count: c * f)
        for r in 0..<(c * f) {
            var s: Float = 0
            for j in 0..<t { s += fused[r * t + j] }
            embedding[r] = s / Float(t)
        }
        let empty = Tensor.zeros([0])
        return ERes2NetV2Trace(bn1: keepStages ? bn1 : empty, layer1: keepStages ? stages[0] : empty,
                               layer2: keepStages ? stages[1] : empty, layer3: keepStages ? out3 : empty,
                               layer4: keepStages ? out4 : empty, layer3Downsampled: keepStages ? ds : empty,
                               fuse34: keepStages ? Tensor(shape: [c, f, t], scalars: fused) : empty,
                               embedding: Tensor(embedding))
    }
}

extension ParameterSource {
    /// Declares a stored entry the network never computes with (the unused `seg_1` head): when
    /// the checkpoint has it, its shape is checked and it is marked as consumed without being read.
    /// - Throws: `WeightsError.shapeMismatch` naming the tensor.
    func declareUnused(_ name: String, shape: [Int]) throws {
        if let stored = storedShape(name), stored != shape {
            throw WeightsError.shapeMismatch(key: fullKey(name), expected: shape, actual: stored)
        }
        skip(name)
    }
}
