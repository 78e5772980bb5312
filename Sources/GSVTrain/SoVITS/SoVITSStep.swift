// Follows GPT_SoVITS/s2_train.py: train_and_evaluate (one iteration: generator forward, mel of the
// whole spectrogram and of the generated slice, discriminator loss and AdamW step, then the
// generator losses against the updated discriminator and the generator AdamW step with the
// text-part learning-rate ratio) and module/mel_processing.py: spec_to_mel_torch, mel_spectrogram_torch.

import Foundation
import GSVAudio
import GSVModels
import GSVTensor

/// The frozen quantizer of SoVITS training (`freeze_quantizer`: `ssl_proj` and the codebook in eval
/// mode): SSL features → codes → codebook rows, upsampled ×2 (nearest). No gradient.
public struct FrozenQuantizer: Sendable {
    let weight: Tensor, bias: Tensor
    let quantizer: ResidualVectorQuantizer

    /// From the generator's `ssl_proj.*` and `quantizer.vq.layers.0._codebook.embed`.
    /// - Throws: ``TrainingError/invalidCheckpoint(_:)`` when they are missing.
    public init(_ g: ParameterSet) throws {
        guard let w = g["ssl_proj.weight"], let b = g["ssl_proj.bias"], w.rank == 3,
              let e = g["quantizer.vq.layers.0._codebook.embed"], e.rank == 2, e.shape[1] == w.shape[0] else {
            throw TrainingError.invalidCheckpoint("the generator has no ssl_proj / quantizer codebook")
        }
        weight = w
        bias = b
        quantizer = ResidualVectorQuantizer(codebooks: [e])
    }

    /// Codes of one item's SSL features `[768, T]` (layer 0; `T/2` codes with stride 2).
    public func codes(_ ssl: Tensor) throws -> [Int] {
        let x = conv1d(ssl, weight: weight, bias: bias, stride: weight.shape[2])
        return try quantizer.encode(x)[0]
    }

    /// `quantized` of a batch `[B, 768, T]` (each item's codes looked up, every frame twice).
    public func quantized(_ ssl: Tensor) throws -> (codes: [[Int]], quantized: Tensor) {
        let (b, c, t) = (ssl.shape[0], ssl.shape[1], ssl.shape[2])
        var all: [[Int]] = []
        var parts: [Tensor] = []
        for i in 0..<b {
            let item = ssl.slice(axis: 0, i..<(i + 1)).reshaped([c, t])
            let k = try codes(item)
            all.append(k)
            parts.append(try quantizer.decode([k]).repeatInterleave(2, axis: 1).unsqueezed(0))
        }
        return (all, Tensor.concat(parts, axis: 0))
    }
}

/// The losses and statistics of one SoVITS iteration (what s2_train logs).
public struct SoVITSStepResult: Sendable {
    public var lossDisc: Float, lossesDiscReal: [Float], lossesDiscGenerated: [Float]
    public var lossGen: Float, lossesGen: [Float]
    public var lossFM: Float, lossMel: Float, lossKL: Float, lossGenAll: Float
    /// `clip_grad_value_(…, None)` norms (no clipping).
    public var gradNormD: Double, gradNormG: Double
    /// Generated audio `[B, 1, segment]` and the slice starts (for checks).
    public var audio: Tensor
    public var sliceStarts: [Int]
    /// Real and generated log-mels of the slice `[B, nMels, segment frames]`.
    public var realMel: Tensor, generatedMel: Tensor
    /// The gradients of the step (only when asked for: they hold a copy of every parameter's size).
    public var gradientsG: GradientBuffer?, gradientsD: GradientBuffer?
}

/// One model pair being trained: parameters and optimizer states.
public struct SoVITSTrainingState: Sendable {
    public var generator: ParameterSet
    public var discriminator: ParameterSet
    public var optimizerG: AdamW
    public var optimizerD: AdamW

    public init(generator: ParameterSet, discriminator: ParameterSet) {
        self.generator = generator
        self.discriminator = discriminator
        optimizerG = AdamW(count: generator.count)
        optimizerD = AdamW(count: discriminator.count)
    }
}

/// Runs SoVITS training iterations with the official losses and optimizers.
public struct SoVITSStepper: Sendable {
    public let model: SoVITSTrainingModel
    public let discriminator: MultiPeriodDiscriminator
    public let spectrogram: Spectrogram
    public let mel: MelFilterbank
    /// Loss weights (`c_mel` 45, `c_kl` 1).
    public var melWeight: Float = 45, klWeight: Float = 1
    /// `learning_rate` (1e-4), `text_low_lr_rate` (0.4), `lr_decay` (0.999875).
    public var learningRate: Double = 1e-4, textLearningRateRatio: Double = 0.4, decay: Double = 0.999875
    /// Adds up where the time of each step goes (benchmarks); nil = not measured.
    public var profile: TapeProfile?

    /// Key prefixes trained at `learningRate · textLearningRateRatio` (the three text groups).
    public static let textGroups = ["enc_p.text_embedding.", "enc_p.encoder_text.", "enc_p.mrte."]
    /// Frozen prefixes (no gradient reaches them).
    public static let frozen = ["ssl_proj.", "quantizer."]

    public init(model: SoVITSTrainingModel, discriminator: MultiPeriodDiscriminator, melBins: Int = 128) throws {
        self.model = model
        self.discriminator = discriminator
        let c = model.config
        spectrogram = try Spectrogram(config: STFTConfig(nFFT: c.filterLength, hopSize: c.hopLength, winSize: c.filterLength))
        mel = try MelFilterbank(sampleRate: c.samplingRate, nFFT: c.filterLength, nMels: melBins)
    }

    /// The learning rate of generator parameter `name` in `epoch` (1-based).
    public func generatorLearningRate(_ name: String, epoch: Int) -> Double {
        let base = Self.textGroups.contains { name.hasPrefix($0) } ? learningRate * textLearningRateRatio : learningRate
        return exponentialLearningRate(base: base, gamma: decay, epoch: epoch)
    }

    /// Runs `body`, charging its time to `label` in ``profile``.
    func timed<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        guard let profile else { return try body() }
        return try profile.section(label, body)
    }

    /// `spec_to_mel_torch(spec)`: `log(clamp(mel · spec, 1e-5))` per item, `[B, nMels, T]`.
    public func melOfSpectrogram(_ spec: Tensor) throws -> Tensor {
        let b = spec.shape[0]
        var parts: [Tensor] = []
        for i in 0..<b { parts.append(try mel.logMel(spec.slice(axis: 0, i..<(i + 1)).squeezed(0)).unsqueezed(0)) }
        return Tensor.concat(parts, axis: 0)
    }

    /// One iteration of `train_and_evaluate`, updating `state` in place.
    public func step(_ batch: SoVITSBatch, quantized: Tensor, draws: SoVITSDraws, state: inout SoVITSTrainingState,
                     epoch: Int, keepGradients: Bool = false) throws -> SoVITSStepResult {
        let c = model.config
        let seg = model.segmentFrames, hop = c.hopLength
        let b = batch.count
        // Generator forward.
        profile?.mark()
        let tapeG = Tape(profile: profile)
        let scopeG = ParameterScope(state.generator, tape: tapeG, frozen: Self.frozen)
        let f = try model.forward(batch, quantized: quantized, draws: draws, parameters: scopeG)
        let melFull = try timed("mel of spectrogram") { try melOfSpectrogram(batch.spec) }
        let yMel = Tensor.concat((0..<b).map { i in
            melFull.slice(axis: 0, i..<(i + 1)).slice(axis: 2, f.sliceStarts[i]..<(f.sliceStarts[i] + seg))
        }, axis: 0)
        let audio2D = tapeG.reshape(f.audio, [b, f.audio.shape[2]])
        let yHatMel = try tapeG.logMelSpectrogram(audio2D, spectrogram: spectrogram, filterbank: mel)
        let segment = seg * hop
        guard batch.wav.shape[1] >= (f.sliceStarts.max() ?? 0) * hop + segment else {
            throw TrainingError.invalidInput("audio of \(batch.wav.shape[1]) samples is shorter than its spectrogram")
        }
        let y = Tensor.concat((0..<b).map { i in
            batch.wav.slice(axis: 0, i..<(i + 1)).slice(axis: 1, (f.sliceStarts[i] * hop)..<(f.sliceStarts[i] * hop + segment))
        }, axis: 0).reshaped([b, 1, segment])
        // Discriminator step on (y, ŷ.detach()).
        let tapeD = Tape(profile: profile)
        let scopeD = ParameterScope(state.discriminator, tape: tapeD)
        let real = try discriminator.all(.constant(y), parameters: scopeD)
        let fake = try discriminator.all(.constant(f.audio.value), parameters: scopeD)
        let (lossD, discR, discG) = tapeD.discriminatorLoss(real: real, generated: fake)
        var gradsD = GradientBuffer(count: state.discriminator.count)
        tapeD.backward(from: lossD) { gradsD.add($0, $1) }
        let lrD = exponentialLearningRate(base: learningRate, gamma: decay, epoch: epoch)
        timed("AdamW (D)") { state.optimizerD.step(&state.discriminator, grads: gradsD, learningRate: { _ in lrD }) }
        // Generator losses against the updated discriminator (its parameters are constants here).
        let scopeFrozenD = ParameterScope(state.discriminator, tape: tapeG, frozen: [""])
        let real2 = try discriminator.all(.constant(y), parameters: scopeFrozenD)
        let fake2 = try discriminator.all(f.audio, parameters: scopeFrozenD)
        let lossMel = tapeG.scale(tapeG.mean(tapeG.abs(tapeG.sub(.constant(yMel), yHatMel))), melWeight)
        let lossKL = tapeG.scale(model.klLoss(f, tape: tapeG), klWeight)
        let lossFM = tapeG.featureLoss(real: real2, generated: fake2)
        let (lossGen, gens) = tapeG.generatorLoss(fake2)
        let total = tapeG.add(tapeG.add(tapeG.add(lossGen, lossFM), lossMel), lossKL)
        var gradsG = GradientBuffer(count: state.generator.count)
        tapeG.backward(from: total) { gradsG.add($0, $1) }
        let names = state.generator.names
        timed("AdamW (G)") {
            state.optimizerG.step(&state.generator, grads: gradsG, learningRate: { generatorLearningRate(names[$0], epoch: epoch) })
        }
        return SoVITSStepResult(lossDisc: lossD.value.scalars[0], lossesDiscReal: discR, lossesDiscGenerated: discG,
                                lossGen: lossGen.value.scalars[0], lossesGen: gens, lossFM: lossFM.value.scalars[0],
                                lossMel: lossMel.value.scalars[0], lossKL: lossKL.value.scalars[0],
                                lossGenAll: total.value.scalars[0], gradNormD: gradsD.norm, gradNormG: gradsG.norm,
                                audio: f.audio.value, sliceStarts: f.sliceStarts, realMel: yMel, generatedMel: yHatMel.value,
                                gradientsG: keepGradients ? gradsG : nil, gradientsD: keepGradients ? gradsD : nil)
    }
}
