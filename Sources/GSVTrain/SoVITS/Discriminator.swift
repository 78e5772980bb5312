// Follows GPT_SoVITS/module/models.py: MultiPeriodDiscriminator, DiscriminatorS, DiscriminatorP
// (weight-normed convolutions, leaky ReLU 0.1, feature maps) and GPT_SoVITS/module/losses.py:
// discriminator_loss, generator_loss, feature_loss.

import GSVTensor

/// The outputs of one discriminator on one waveform batch.
public struct DiscriminatorOutput {
    /// The flattened score map `[B, n]`.
    public let score: Var
    /// Every feature map (after each conv's leaky ReLU, and the final conv's output).
    public let features: [Var]
}

/// The multi-period discriminator, reading parameters by their official keys
/// (`discriminators.<i>.convs.<j>.weight_g/_v/bias`, `…conv_post…`); channel widths and groups
/// follow from the stored shapes (the official classes hard-code them: 16…1024 channels).
public struct MultiPeriodDiscriminator: Sendable {
    /// `DiscriminatorP` periods (v2: 2, 3, 5, 7, 11; v2Pro/ProPlus: + 17, 23).
    public let periods: [Int]

    public init(periods: [Int]) { self.periods = periods }

    /// Official strides and paddings of `DiscriminatorS`'s convolutions (kernels 15, 41, 41, 41, 41, 5).
    static let scaleStrides = [1, 4, 4, 4, 4, 1]
    static let scalePaddings = [7, 20, 20, 20, 20, 2]

    /// Runs discriminator `index` (0 = `DiscriminatorS`, then one per period) on `y` `[B, 1, T]`.
    public func callAsFunction(_ index: Int, _ y: Var, parameters root: ParameterScope) throws -> DiscriminatorOutput {
        let p = root.scoped("discriminators.\(index)")
        let tape = p.tape
        var features: [Var] = []
        if index == 0 {
            var x = y
            var channels = 1
            for j in 0..<Self.scaleStrides.count {
                let shape = try storedShape(p, "convs.\(j).weight_v")
                guard shape.count == 3, channels % shape[1] == 0 else {
                    throw TrainingError.invalidCheckpoint("\(p.key("convs.\(j).weight_v")) has shape \(shape) after \(channels) channels")
                }
                let w = try p.weightNormed("convs.\(j)", shape: shape)
                let b = try p("convs.\(j).bias", shape: [shape[0]])
                x = tape.leakyReLU(tape.conv1d(x, weight: w, bias: b, stride: Self.scaleStrides[j],
                                               padding: (Self.scalePaddings[j], Self.scalePaddings[j]),
                                               groups: channels / shape[1]), 0.1)
                features.append(x)
                channels = shape[0]
            }
            let w = try p.weightNormed("conv_post", shape: [1, channels, 3])
            x = tape.conv1d(x, weight: w, bias: try p("conv_post.bias", shape: [1]), padding: (1, 1))
            features.append(x)
            return DiscriminatorOutput(score: tape.reshape(x, [x.shape[0], -1]), features: features)
        }
        let period = periods[index - 1]
        let (b, c, t) = (y.shape[0], y.shape[1], y.shape[2])
        var x = y
        var length = t
        if t % period != 0 {
            let pad = period - t % period
            x = tape.reflectPad(x, left: 0, right: pad)
            length += pad
        }
        x = tape.reshape(x, [b, c, length / period, period])
        var channels = c
        for j in 0..<5 {
            let shape = try storedShape(p, "convs.\(j).weight_v")
            guard shape.count == 4, shape[1] == channels, shape[3] == 1 else {
                throw TrainingError.invalidCheckpoint("\(p.key("convs.\(j).weight_v")) has shape \(shape) after \(channels) channels")
            }
            let w = try p.weightNormed("convs.\(j)", shape: shape)
            x = tape.leakyReLU(tape.conv2dColumns(x, weight: w, bias: try p("convs.\(j).bias", shape: [shape[0]]),
                                                  stride: j < 4 ? 3 : 1, padding: 2), 0.1)
            features.append(x)
            channels = shape[0]
        }
        let w = try p.weightNormed("conv_post", shape: [1, channels, 3, 1])
        x = tape.conv2dColumns(x, weight: w, bias: try p("conv_post.bias", shape: [1]), stride: 1, padding: 1)
        features.append(x)
        return DiscriminatorOutput(score: tape.reshape(x, [b, -1]), features: features)
    }

    private func storedShape(_ p: ParameterScope, _ name: String) throws -> [Int] {
        if p.factory != nil, let shape = Self.officialShape(p.key(name)) { return shape }
        guard let i = p.set.index(of: p.key(name)) else { throw TrainingError.invalidCheckpoint("missing parameter '\(p.key(name))'") }
        return p.set.values[i].shape
    }

    /// The official (full-width) shape of `discriminators.<i>.convs.<j>.weight_v`.
    static func officialShape(_ key: String) -> [Int]? {
        let parts = key.split(separator: ".")
        guard parts.count >= 4, let i = Int(parts[1]), let j = Int(parts[3]) else { return nil }
        if i == 0 {
            let shapes = [[16, 1, 15], [64, 4, 41], [256, 4, 41], [1024, 4, 41], [1024, 4, 41], [1024, 1024, 5]]
            return j < shapes.count ? shapes[j] : nil
        }
        let shapes = [[32, 1, 5, 1], [128, 32, 5, 1], [512, 128, 5, 1], [1024, 512, 5, 1], [1024, 1024, 5, 1]]
        return j < shapes.count ? shapes[j] : nil
    }

    /// A discriminator with the official widths and random weights (benchmarks).
    public func randomParameters(seed: UInt64) throws -> ParameterSet {
        let factory = ParameterFactory(seed: seed)
        let tape = Tape()
        _ = try all(.constant(Tensor.zeros([1, 1, 4096])), parameters: ParameterScope(creatingWith: factory, tape: tape))
        return factory.parameters
    }

    /// Every discriminator on `y` `[B, 1, T]`.
    public func all(_ y: Var, parameters p: ParameterScope) throws -> [DiscriminatorOutput] {
        try (0...periods.count).map { try self($0, y, parameters: p) }
    }
}

extension Tape {
    /// `mean((1 − x)²)`.
    public func meanSquaredFromOne(_ x: Var) -> Var { mean(square(addScalar(scale(x, -1), 1))) }

    /// `discriminator_loss`: `Σ_i mean((1 − D_i(y))²) + mean(D_i(ŷ)²)`, with the per-discriminator terms.
    public func discriminatorLoss(real: [DiscriminatorOutput], generated: [DiscriminatorOutput]) -> (Var, [Float], [Float]) {
        var total: Var?
        var r: [Float] = [], g: [Float] = []
        for (dr, dg) in zip(real, generated) {
            let lr = meanSquaredFromOne(dr.score), lg = mean(square(dg.score))
            r.append(lr.value.scalars[0])
            g.append(lg.value.scalars[0])
            let s = add(lr, lg)
            total = total.map { add($0, s) } ?? s
        }
        return (total!, r, g)
    }

    /// `generator_loss`: `Σ_i mean((1 − D_i(ŷ))²)`.
    public func generatorLoss(_ generated: [DiscriminatorOutput]) -> (Var, [Float]) {
        var total: Var?
        var terms: [Float] = []
        for d in generated {
            let l = meanSquaredFromOne(d.score)
            terms.append(l.value.scalars[0])
            total = total.map { add($0, l) } ?? l
        }
        return (total!, terms)
    }

    /// `feature_loss`: `2·Σ_i Σ_j mean|fmap_r − fmap_g|` (real maps are constants).
    public func featureLoss(real: [DiscriminatorOutput], generated: [DiscriminatorOutput]) -> Var {
        var total: Var?
        for (dr, dg) in zip(real, generated) {
            for (fr, fg) in zip(dr.features, dg.features) {
                let l = mean(abs(sub(Var.constant(fr.value), fg)))
                total = total.map { add($0, l) } ?? l
            }
        }
        return scale(total!, 2)
    }
}
