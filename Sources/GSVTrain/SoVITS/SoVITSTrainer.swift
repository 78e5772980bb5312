// Follows GPT_SoVITS/s2_train.py: run (pretrained G/D loaded, AdamW with the text groups,
// ExponentialLR stepped once before epoch 1 and after each epoch, saving every `save_every_epoch`
// epochs) and train_and_evaluate (the per-batch iteration, ``SoVITSStepper``).

import Foundation
import GSVModels
import GSVTensor
import GSVWeights

/// SoVITS training settings (WebUI `open1Ba` defaults).
public struct SoVITSTrainingOptions: Sendable, Codable, Equatable {
    /// Epochs (UI default 8).
    public var epochs = 8
    /// Batch size.
    public var batchSize = 4
    /// Write the fp16 weights every this many epochs (UI default 4), and after the last.
    public var saveEveryEpochs = 4
    /// `text_low_lr_rate` (UI default 0.4).
    public var textLearningRateRatio = 0.4
    /// `learning_rate` (1e-4).
    public var learningRate = 1e-4
    /// Seed of the batch order, posterior noise and slice positions.
    public var seed: UInt64 = 1234

    public init() {}
}

/// Progress of one SoVITS batch.
public struct SoVITSProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var globalStep: Int
    public var result: SoVITSStepResult
    public var learningRate: Double
}

/// Trains the SoVITS generator and discriminator on one voice's data set.
public final class SoVITSTrainer {
    public var stepper: SoVITSStepper
    public let options: SoVITSTrainingOptions
    public let dataset: SoVITSDataset
    public let quantizer: FrozenQuantizer
    public private(set) var state: SoVITSTrainingState
    /// Epochs finished.
    public private(set) var epochsDone = 0
    /// Iterations run (`global_step`).
    public private(set) var globalStep = 0

    /// A trainer from pretrained generator and discriminator state dicts.
    /// - Throws: ``TrainingError`` for inconsistent files.
    public init(generator: ParameterSet, discriminator: ParameterSet, model: SoVITSTrainingModel, periods: [Int],
                dataset: SoVITSDataset, options: SoVITSTrainingOptions) throws {
        var stepper = try SoVITSStepper(model: model, discriminator: MultiPeriodDiscriminator(periods: periods))
        stepper.learningRate = options.learningRate
        stepper.textLearningRateRatio = options.textLearningRateRatio
        self.stepper = stepper
        self.options = options
        self.dataset = dataset
        quantizer = try FrozenQuantizer(generator)
        state = SoVITSTrainingState(generator: generator, discriminator: discriminator)
    }

    /// The batches of epoch `e` (0-based), reproducible from the seed.
    public func batches(epoch e: Int) -> [[Int]] {
        var rng = SeededRNG(seed: options.seed &+ UInt64(e))
        return dataset.batches(batchSize: options.batchSize, rng: &rng)
    }

    /// One iteration on items `indices` (of the unique items).
    public func trainBatch(_ indices: [Int], epoch: Int) throws -> SoVITSStepResult {
        let (batch, quantized) = try stepper.timed("collate + frozen quantizer") {
            let (batch, ssl) = dataset.collate(indices)
            return (batch, try quantizer.quantized(ssl).quantized)
        }
        let c = stepper.model.config
        var rng = SeededRNG(seed: options.seed &* 0x9E37_79B9 &+ UInt64(globalStep))
        let draws = SoVITSDraws.seeded(&rng, batch: batch.count, interChannels: c.interChannels, frames: batch.frames)
        let r = try stepper.step(batch, quantized: quantized, draws: draws, state: &state, epoch: epoch)
        guard r.lossGenAll.isFinite, r.lossDisc.isFinite else {
            throw TrainingError.invalidInput("SoVITS loss is not finite at step \(globalStep)")
        }
        globalStep += 1
        return r
    }

    /// Runs epoch `epochsDone + 1`.
    public func runEpoch(progress: (SoVITSProgress) -> Void) throws {
        try runEpochLimited(maxBatches: nil, progress: progress)
    }

    /// Runs at most `maxBatches` batches of the current epoch (all when nil); the epoch counts as
    /// done only when every batch ran.
    public func runEpochLimited(maxBatches: Int?, progress: (SoVITSProgress) -> Void) throws {
        let e = epochsDone + 1
        let list = batches(epoch: epochsDone)
        for (i, b) in list.enumerated() {
            if let m = maxBatches, i >= m { return }
            try Task.checkCancellation()
            let r = try trainBatch(b, epoch: e)
            progress(SoVITSProgress(epoch: e, epochs: options.epochs, batch: i + 1, batches: list.count, globalStep: globalStep,
                                    result: r, learningRate: exponentialLearningRate(base: options.learningRate, gamma: stepper.decay, epoch: e)))
        }
        epochsDone += 1
    }

    /// Whether the fp16 weights are due after the epoch just finished.
    public var weightsDue: Bool {
        epochsDone > 0 && (epochsDone % max(1, options.saveEveryEpochs) == 0 || epochsDone == options.epochs)
    }

    // MARK: State

    /// The resumable state.
    public func savedState() -> StateFile {
        var s = StateFile()
        s.store(state.generator, prefix: "g.")
        s.store(state.discriminator, prefix: "d.")
        state.optimizerG.store(into: &s, prefix: "optg.", names: state.generator.names)
        state.optimizerD.store(into: &s, prefix: "optd.", names: state.discriminator.names)
        s.metadata["kind"] = "sovits"
        s.metadata["epochs_done"] = String(epochsDone)
        s.metadata["global_step"] = String(globalStep)
        return s
    }

    /// Restores a state written by ``savedState()``.
    public func restore(_ s: StateFile) throws {
        guard s.metadata["kind"] == "sovits" else { throw TrainingError.invalidCheckpoint("not a SoVITS training state") }
        var st = state
        st.generator = try s.restore(state.generator, prefix: "g.")
        st.discriminator = try s.restore(state.discriminator, prefix: "d.")
        try st.optimizerG.restore(from: s, prefix: "optg.", names: st.generator.names)
        try st.optimizerD.restore(from: s, prefix: "optd.", names: st.discriminator.names)
        state = st
        epochsDone = try s.int("epochs_done")
        globalStep = try s.int("global_step")
    }
}
