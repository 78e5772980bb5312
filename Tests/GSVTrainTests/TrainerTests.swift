import Foundation
import GSVAudio
import GSVModels
import GSVTensor
import GSVTestSupport
import GSVText
import GSVWeights
import Testing
@testable import GSVTrain

// The data sets and training loops on the tiny training folder (`v2/train/dataset`, written by
// scripts/data/make_train_dataset.py in the official layout) with the tiny pretrained models.

@Suite("Training loops", .serialized)
struct TrainerTests {
    static var folder: DatasetFolder { get throws { try DatasetFolder(path: TrainFixtures.path("dataset")) } }

    @Test func gptDatasetFollowsTheOfficialRules() throws {
        let ds = try GPTDataset(folder: try Self.folder, symbols: try SymbolTable.v2)
        let semantic = try (try Self.folder).semanticEntries()
        #expect(ds.uniqueCount == semantic.count)
        // Fewer than 100 items: replicated max(2, 100/n) times.
        #expect(ds.items.count == semantic.count * max(2, 100 / semantic.count))
        #expect(ds.effectiveBatchSize(64, dpo: false) == ds.items.count / 4)
        var rng = SeededRNG(seed: 1)
        let batches = ds.batches(batchSize: 8, rng: &rng)
        #expect(batches.flatMap { $0 }.sorted() == Array(ds.items.indices))
        let b = ds.collate(batches[0])
        #expect(b.bert.shape == [batches[0].count, 1024, b.textLength])
        #expect(b.semanticIDs.allSatisfy { $0.count == b.semanticLength })
    }

    @Test func gptTrainingLowersTheLossAndResumes() throws {
        let archive = try WeightArchive.open(TrainFixtures.path("gpt/gpt_pretrained_tiny.ckpt"))
        let ds = try GPTDataset(folder: try Self.folder, symbols: try SymbolTable.v2)
        var options = GPTTrainingOptions()
        options.batchSize = 8
        options.epochs = 2
        let trainer = try GPTTrainer(pretrained: archive, dataset: ds, options: options)
        var losses: [Float] = []
        try trainer.runEpoch { losses.append($0.loss / Float($0.batch > 0 ? 1 : 1)) }
        #expect(trainer.optimizer.step == (losses.count - 1) / 4, "optimizer steps at batch indices 4, 8, …")
        let saved = trainer.state()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gpt.state").path
        try saved.write(to: path)
        try trainer.runEpoch { _ in }
        let resumed = try GPTTrainer(pretrained: archive, dataset: ds, options: options)
        try resumed.restore(try StateFile.read(path))
        #expect(resumed.epochsDone == 1)
        try resumed.runEpoch { _ in }
        for i in 0..<trainer.params.count {
            let c = Comparison(resumed.params.values[i].scalars, trainer.params.values[i].scalars)
            #expect(c.maxAbs == 0, "resumed \(trainer.params.names[i]) differs: \(c)")
        }
        // Per-token loss falls over the epochs on this tiny set.
        let first = losses.first ?? 0, last = losses.last ?? 0
        print("GPT losses, epoch 1: \(losses.map { String(format: "%.1f", $0) }.joined(separator: " "))")
        #expect(last < first, "loss did not fall: \(first) → \(last)")
    }

    @Test func sovitsTrainingRunsAndResumes() throws {
        let g = try ParameterSet(archive: try WeightArchive.open(TrainFixtures.path("s2/s2G_pretrained_tiny.pth")))
        let d = try ParameterSet(archive: try WeightArchive.open(TrainFixtures.path("s2/s2D_pretrained_tiny.pth")))
        let fx = try S2Fixture.load()
        let model = SoVITSTrainingModel(config: fx.config, segmentFrames: fx.segmentFrames)
        let spec = try Spectrogram(config: STFTConfig(nFFT: fx.config.filterLength, hopSize: fx.config.hopLength, winSize: fx.config.filterLength))
        let ds = try SoVITSDataset(folder: try Self.folder, symbols: try SymbolTable.v2, spectrogram: spec)
        #expect(ds.unique.count == 2)
        var options = SoVITSTrainingOptions()
        options.batchSize = 2
        let trainer = try SoVITSTrainer(generator: g, discriminator: d, model: model, periods: fx.periods, dataset: ds, options: options)
        let batches = trainer.batches(epoch: 0)
        let r1 = try trainer.trainBatch(batches[0], epoch: 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-s2-\(UUID().uuidString).state").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trainer.savedState().write(to: path)
        let r2 = try trainer.trainBatch(batches[1], epoch: 1)
        let resumed = try SoVITSTrainer(generator: g, discriminator: d, model: model, periods: fx.periods, dataset: ds, options: options)
        try resumed.restore(try StateFile.read(path))
        let r2b = try resumed.trainBatch(batches[1], epoch: 1)
        print("SoVITS step losses: \(r1.lossGenAll) then \(r2.lossGenAll) (resumed \(r2b.lossGenAll))")
        #expect(r2.lossGenAll == r2b.lossGenAll && r2.lossDisc == r2b.lossDisc, "a resumed step differs")
    }
}

@Suite("Official files out", .serialized)
struct ExportTests {
    @Test func gptCheckpointLoadsWithOurLoader() throws {
        let archive = try WeightArchive.open(TrainFixtures.path("gpt/gpt_pretrained_tiny.ckpt"))
        let params = try ParameterSet(archive: archive)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-export-\(UUID().uuidString).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try OfficialExport.writeGPT(params, config: archive.config ?? .null, epoch: 3, to: path)
        let back = try WeightArchive.open(path)
        #expect(back.headerMarker == nil)
        #expect(back.object?["info"]?.stringValue == "GPT-e3")
        _ = try Text2SemanticDecoder(archive: back)
        for (k, v) in params.entries {
            guard let t = back.tensors[k] else { Issue.record("missing \(k)"); continue }
            #expect(t.dtype == .float16, "\(k) is \(t.dtype)")
            let c = Comparison(try t.floatTensor().scalars, v.scalars)
            #expect(c.maxRel <= 1e-3, "\(k): \(c)")
        }
    }

    @Test func sovitsWeightsLoadWithOurLoader() throws {
        // The tiny v2 inference model (official hard-coded widths) as the trained generator, plus
        // posterior-encoder keys that the written file must leave out.
        let source = try WeightArchive.open(Fixtures.url("v2/models/sovits_v2_tiny.pth").path)
        let set = try ParameterSet(archive: source)
        let g = ParameterSet(set.entries + [("enc_q.proj.bias", Tensor(repeating: 0.5, shape: [4]))])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-export-\(UUID().uuidString).pth").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try OfficialExport.writeSoVITS(g, hps: source.config ?? .null, epoch: 2, steps: 50, version: "v2", to: path)
        let back = try WeightArchive.open(path)
        #expect(back.headerMarker == nil, "v2 files keep the PK header")
        #expect(back.object?["info"]?.stringValue == "2epoch_50iteration")
        #expect(!back.tensors.keys.contains { $0.contains("enc_q") })
        #expect(back.config?["model"]?["hidden_channels"]?.intValue == source.config?["model"]?["hidden_channels"]?.intValue)
        _ = try SynthesizerTrn(archive: back)
        for (k, v) in set.entries {
            guard let t = back.tensors[k] else { Issue.record("missing \(k)"); continue }
            #expect(t.dtype == .float16 && t.shape == v.shape, "\(k) is \(t.dtype) \(t.shape)")
            // The source is fp16 already, so the round trip is exact; values of the smaller tensors
            // are compared (the few large ones only cost time in a debug build).
            if v.count <= 1 << 16 { #expect(try t.floatTensor().scalars == v.scalars, "\(k) changed") }
        }
        // v2Pro files get the 05 header (read back as the v2Pro marker).
        #expect(OfficialExport.headerBytes(version: "v2Pro") == Array("05".utf8))
        #expect(OfficialExport.headerBytes(version: "v2ProPlus") == Array("06".utf8))
    }
}
