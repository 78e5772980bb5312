// Follows GPT_SoVITS/s1_train.py (Trainer loop, checkpoint callback: fp16 `GPT_weights_<ver>/<exp>-e<N>.ckpt`
// every `save_every_n_epoch` epochs) and AR/models/t2s_lightning_module.py: training_step (manual
// optimisation: backward on every batch; optimizer step, zero_grad and scheduler step only when
// `batch_idx > 0 and batch_idx % 4 == 0`, so gradients of several batches accumulate and leftovers
// carry into the next epoch).

import Foundation
import GSVModels
import GSVTensor
import GSVWeights

/// GPT training settings (WebUI `open1Bb` defaults).
public struct GPTTrainingOptions: Sendable, Codable, Equatable {
    /// Epochs (UI default 15).
    public var epochs = 15
    /// Requested batch size (capped at a quarter of the data set, halved for DPO).
    public var batchSize = 8
    /// Write the fp16 weights every this many epochs (UI default 5), and after the last.
    public var saveEveryEpochs = 5
    /// Add the DPO loss (`if_dpo`).
    public var dpo = false
    /// Seed of the batch order and the DPO draws.
    public var seed: UInt64 = 1234
    /// `data.max_sec` (54).
    public var maxSec: Double = 54

    public init() {}
}

/// Progress of one GPT batch.
public struct GPTProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var optimizerSteps: Int
    public var loss: Float
    public var accuracy: Double
    public var learningRate: Double
}

/// Trains the text-to-semantic GPT on one voice's data set.
public final class GPTTrainer {
    public let model: T2STrainingModel
    public let options: GPTTrainingOptions
    public let dataset: GPTDataset
    /// The checkpoint's own training config (written back into every `.ckpt`).
    public let trainConfig: ConfigValue
    public private(set) var params: ParameterSet
    public private(set) var optimizer: ScaledAdam
    /// Gradients accumulated since the last optimizer step.
    public private(set) var pending: GradientBuffer
    /// Epochs finished.
    public private(set) var epochsDone = 0
    /// Adds up where the time of each batch goes (benchmarks); nil = not measured.
    public var profile: TapeProfile?

    /// A trainer starting from a pretrained GPT checkpoint (`{weight, config}`); the inference
    /// loader checks every key and shape first.
    public convenience init(pretrained archive: WeightArchive, dataset: GPTDataset, options: GPTTrainingOptions) throws {
        guard let cfg = archive.config else {
            throw TrainingError.invalidCheckpoint("\(archive.path) has no 'config' (not a GPT-SoVITS GPT checkpoint)")
        }
        let config = try T2SConfig(checkpointConfig: cfg)
        _ = try Text2SemanticDecoder(archive: archive)
        try self.init(parameters: try ParameterSet(archive: archive), config: config, trainConfig: cfg, dataset: dataset, options: options)
    }

    /// A trainer from a state dict (`model.…` keys) and its configuration.
    public init(parameters: ParameterSet, config: T2SConfig, trainConfig: ConfigValue, dataset: GPTDataset,
                options: GPTTrainingOptions) throws {
        try config.validate()
        model = T2STrainingModel(config: config)
        params = parameters
        optimizer = ScaledAdam(count: params.count)
        pending = GradientBuffer(count: params.count)
        self.dataset = dataset
        self.options = options
        self.trainConfig = trainConfig
    }

    /// The batch size actually used.
    public var batchSize: Int { dataset.effectiveBatchSize(options.batchSize, dpo: options.dpo) }

    /// The batches of epoch `e` (0-based), reproducible from the seed.
    public func batches(epoch e: Int) -> [[Int]] {
        var rng = SeededRNG(seed: options.seed &+ UInt64(e))
        return dataset.batches(batchSize: batchSize, rng: &rng)
    }

    /// Runs one batch: forward, backward into the pending gradients, and (at the official batch
    /// indices) the optimizer step.
    public func trainBatch(_ indices: [Int], batchIndex: Int, epoch: Int) throws -> (loss: Float, accuracy: Double) {
        profile?.mark()
        let batch = dataset.collate(indices, bertDim: model.config.bertDim, pad: model.config.eos)
        profile?.lap("collate")
        let tape = Tape(profile: profile)
        let scope = ParameterScope(params, tape: tape).scoped("model")
        let loss: Var, forward: T2SForward
        if options.dpo {
            var draws = SeededRejectionDraws(seed: options.seed &+ UInt64(epoch) &* 1_000_003 &+ UInt64(batchIndex))
            let r = try model.preferenceLoss(batch, draws: &draws, parameters: scope)
            (loss, forward) = (r.total, r.chosen)
        } else {
            (loss, forward) = try model.loss(batch, parameters: scope)
        }
        let accuracy = model.topKAccuracy(forward)
        guard loss.value.scalars[0].isFinite else {
            throw TrainingError.invalidInput("GPT loss is not finite at epoch \(epoch + 1), batch \(batchIndex)")
        }
        tape.backward(from: loss) { pending.add($0, $1) }
        if batchIndex > 0 && batchIndex % 4 == 0 {
            let step = { [self] in
                optimizer.step(&params, grads: pending, lr: gptLearningRate(optimizerStep: optimizer.step + 1))
                pending.clear()
            }
            if let profile { profile.section("ScaledAdam", step) } else { step() }
        }
        return (loss.value.scalars[0], accuracy)
    }

    /// Runs epoch `epochsDone + 1`, reporting each batch.
    public func runEpoch(progress: (GPTProgress) -> Void) throws {
        try runEpochLimited(maxBatches: nil, progress: progress)
    }

    /// Runs at most `maxBatches` batches of the current epoch (all when nil); the epoch counts as
    /// done only when every batch ran.
    public func runEpochLimited(maxBatches: Int?, progress: (GPTProgress) -> Void) throws {
        let e = epochsDone
        let list = batches(epoch: e)
        for (i, b) in list.enumerated() {
            if let m = maxBatches, i >= m { return }
            try Task.checkCancellation()
            let (loss, acc) = try trainBatch(b, batchIndex: i, epoch: e)
            progress(GPTProgress(epoch: e + 1, epochs: options.epochs, batch: i + 1, batches: list.count,
                                 optimizerSteps: optimizer.step, loss: loss, accuracy: acc,
                                 learningRate: gptLearningRate(optimizerStep: max(1, optimizer.step))))
        }
        epochsDone += 1
    }

    /// Whether the fp16 weights are due after the epoch just finished (`(epoch) % save_every == 0`, or the last).
    public var weightsDue: Bool {
        epochsDone > 0 && (epochsDone % max(1, options.saveEveryEpochs) == 0 || epochsDone == options.epochs)
    }

    // MARK: State

    /// The resumable state (parameters, optimizer, pending gradients, epochs done).
    public func state() -> StateFile {
        var s = StateFile()
        s.store(params, prefix: "param.")
        optimizer.store(into: &s, prefix: "opt.", names: params.names)
        for (i, g) in pending.values.enumerated() { if let g { s.tensors["pending." + params.names[i]] = g } }
        s.metadata["kind"] = "gpt"
        s.metadata["epochs_done"] = String(epochsDone)
        s.metadata["seed"] = String(options.seed)
        return s
    }

    /// Restores a state written by ``state()`` for the same model.
    public func restore(_ s: StateFile) throws {
        guard s.metadata["kind"] == "gpt" else { throw TrainingError.invalidCheckpoint("not a GPT training state") }
        params = try s.restore(params, prefix: "param.")
        var opt = ScaledAdam(count: params.count)
        try opt.restore(from: s, prefix: "opt.", names: params.names)
        optimizer = opt
        pending = GradientBuffer(count: params.count)
        for (i, k) in params.names.enumerated() { if let g = s.tensors["pending." + k] { pending.values[i] = g } }
        epochsDone = try s.int("epochs_done")
    }
}
