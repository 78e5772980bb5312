import ArgumentParser
import Foundation
import GPTSoVITS
import GSVAudio
import GSVModels
import GSVTensor
import GSVText
import GSVTrain
import GSVWeights

/// `gpt-sovits train sovits|gpt|all`: fine-tunes a voice on the folder `prepare format` writes.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune SoVITS and/or the GPT on a prepared voice folder, writing the official weight files.",
        discussion: """
            Example: gpt-sovits train all --dataset voices/alice --name alice
            The dataset is the official training folder (2-name2text.txt, 3-bert/, 4-cnhubert/, 5-wav32k/, \
            6-name2semantic.tsv). Defaults are the official WebUI ones: SoVITS 8 epochs (weights every 4), GPT 15 \
            epochs (weights every 5). Training resumes from <output>/logs/<name>/ after an interruption. At the end, \
            <output>/<name>_sample.wav says one sentence in the new voice (reference: a 3–10 s clip of the data set, \
            or --sample-ref), made with the files just written through the engine `say` and `serve` use.
            """
    )

    @Argument(help: "What to train: sovits, gpt or all.")
    var target: String

    @Option(name: .long, help: "The prepared training folder.")
    var dataset: String

    @Option(name: .long, help: "Name of the voice (file names: <name>_e<E>_s<S>.pth, <name>-e<E>.ckpt).")
    var name: String

    @Option(name: .long, help: "Epochs (default: SoVITS 8, GPT 15).")
    var epochs: Int?

    @Option(name: .long, help: "SoVITS epochs (overrides --epochs).")
    var sovitsEpochs: Int?

    @Option(name: .long, help: "GPT epochs (overrides --epochs).")
    var gptEpochs: Int?

    @Option(name: .long, help: "Batch size (default: SoVITS 4, GPT 8; the GPT caps it at a quarter of the items).")
    var batchSize: Int?

    @Option(name: .long, help: "Write weights every N epochs (default: SoVITS 4, GPT 5); the last epoch always writes.")
    var saveEvery: Int?

    @Option(name: .long, help: "SoVITS text-part learning-rate ratio (text_low_lr_rate).")
    var textLrRatio: Double = 0.4

    @Flag(name: .long, help: "Add the GPT DPO loss (halves the GPT batch size, as official).")
    var dpo = false

    @Option(name: .long, help: "Seed of batch order and random draws.")
    var seed: UInt64 = 1234

    @Option(name: .long, help: "Output folder (SoVITS_weights_v2/, GPT_weights_v2/, logs/<name>/).")
    var output: String = "."

    @Option(name: .long, help: "Folder in the official pretrained_models layout (default: the download cache).")
    var models: String?

    @Option(name: .long, help: "Pretrained GPT .ckpt (default: the one in --models).")
    var pretrainedGpt: String?

    @Option(name: .long, help: "Pretrained SoVITS generator .pth (default: the one in --models).")
    var pretrainedSovits: String?

    @Option(name: .long, help: "Pretrained SoVITS discriminator .pth (default: s2D… beside the generator).")
    var pretrainedSovitsD: String?

    @Option(name: .long, help: "SoVITS hyper-parameters as JSON (configs/s2.json layout; default: the pretrained file's own config, else s2.json values).")
    var sovitsConfig: String?

    @Option(name: .long, help: "Start from full-size random weights (\"v2\") instead of files: benchmarks.")
    var randomWeights: String?

    @Option(name: .long, help: "Stop after this many batches per model (benchmarks and smoke tests).")
    var maxSteps: Int?

    @Flag(name: .long, help: "Ignore a saved training state and start from the pretrained weights.")
    var restart = false

    @Option(name: .long, help: ArgumentHelp(
        "Benchmark: after one warm-up batch, run this many batches of each model and print the CPU time per batch, where it goes, the estimated time of the full run and the peak RSS; writes no files.",
        valueName: "batches"))
    var bench: Int?

    @Flag(name: .long, help: "Do not synthesise the sample at the end.")
    var noSample = false

    @Option(name: .long, help: "Text of the sample (default: the text of a data-set clip).")
    var sampleText: String?

    @Option(name: .long, help: "Reference clip of the sample (default: the data-set clip of 3–10 s closest to 5 s).")
    var sampleRef: String?

    @Option(name: .long, help: "Transcript of --sample-ref.")
    var sampleRefText: String?

    @Option(name: .long, help: "CN-HuBERT folder for the sample (default: the one in --models).")
    var hubert: String?

    @Option(name: .long, help: "Chinese RoBERTa (bert) folder for the sample (default: the one in --models).")
    var bert: String?

    func validate() throws {
        guard ["sovits", "gpt", "all"].contains(target) else { throw ValidationError("target must be sovits, gpt or all (got '\(target)')") }
        guard !name.isEmpty, !name.contains("/") else { throw ValidationError("--name must be a plain name") }
        for (label, v) in [("epochs", epochs), ("sovits-epochs", sovitsEpochs), ("gpt-epochs", gptEpochs), ("batch-size", batchSize),
                           ("save-every", saveEvery), ("max-steps", maxSteps), ("bench", bench)] {
            if let v, v < 1 { throw ValidationError("--\(label) must be at least 1") }
        }
        if bench != nil, maxSteps != nil { throw ValidationError("--bench and --max-steps do not go together") }
        if (sampleRef == nil) != (sampleRefText == nil) { throw ValidationError("--sample-ref and --sample-ref-text go together") }
        if let t = sampleText, t.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--sample-text is empty") }
        guard textLrRatio > 0, textLrRatio <= 1 else { throw ValidationError("--text-lr-ratio must be in (0, 1]") }
        if let r = randomWeights, r.lowercased() != "v2" { throw ValidationError("--random-weights supports v2 only") }
    }

    func run() async throws {
        let start = Date()
        let folder = try DatasetFolder(path: dataset)
        let out = URL(fileURLWithPath: output, isDirectory: true)
        let logs = out.appendingPathComponent("logs/\(name)")
        if let bench {
            try runBench(folder, batches: bench)
            return
        }
        var written: [String] = []
        let progress = TrainingProgressLog(logsFolder: logs)
        do {
            if target == "sovits" || target == "all" { written += try trainSoVITS(folder, out: out, logs: logs) }
            if target == "gpt" || target == "all" { written += try trainGPT(folder, out: out, logs: logs) }
        } catch {
            record(TrainingProgress(.failed, message: "\(error)"), to: progress)
            throw error
        }
        record(TrainingProgress(.done, message: "peak RSS \(String(format: "%.2f", Self.peakRSSGB)) GB"), to: progress)
        say("done in \(Self.duration(Date().timeIntervalSince(start))), peak RSS \(String(format: "%.2f", Self.peakRSSGB)) GB")
        for w in written { print("wrote \(w)") }
        if !noSample, randomWeights == nil, let path = try await writeSample(folder, out: out) { print("wrote \(path)") }
    }

    // MARK: Sample

    /// The newest weight file of this voice in `folder` (`prefix…suffix`), if any.
    private func newest(_ folder: URL, prefix: String, suffix: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }
            .map { folder.appendingPathComponent($0).path }
            .max { a, b in
                let da = (try? FileManager.default.attributesOfItem(atPath: a)[.modificationDate] as? Date) ?? .distantPast
                let db = (try? FileManager.default.attributesOfItem(atPath: b)[.modificationDate] as? Date) ?? .distantPast
                return da < db
            }
    }

    /// Writes `<output>/<name>_sample.wav` with this voice's newest weight files (the pretrained one
    /// for a model not trained yet); says why when it cannot (no reference clip, no HuBERT/BERT).
    private func writeSample(_ folder: DatasetFolder, out: URL) async throws -> String? {
        let request: TrainSample.Request
        if let ref = sampleRef, let refText = sampleRefText {
            let text = sampleText ?? refText
            request = TrainSample.Request(refPath: ref, refText: refText, refLanguage: TrainSample.language(of: refText), text: text,
                                          language: TrainSample.language(of: text))
        } else if let r = try TrainSample.request(from: folder, text: sampleText) {
            request = r
        } else {
            say("sample: skipped — no clip of 3–10 s in the data set to use as the reference (pass --sample-ref and --sample-ref-text)")
            return nil
        }
        let gpt = try newest(out.appendingPathComponent("GPT_weights_v2"), prefix: "\(name)-e", suffix: ".ckpt")
            ?? pretrainedGpt ?? pretrainedPaths().gpt
        let sovits = try newest(out.appendingPathComponent("SoVITS_weights_v2"), prefix: "\(name)_e", suffix: ".pth")
            ?? pretrainedSovits ?? pretrainedPaths().sovits
        let hubertPath = try hubert ?? pretrainedPaths().hubert, bertPath = try bert ?? pretrainedPaths().bert
        for (label, path) in [("CN-HuBERT", hubertPath), ("BERT", bertPath)] where !FileManager.default.fileExists(atPath: path) {
            say("sample: skipped — no \(label) at \(path) (pass --models, or --hubert and --bert)")
            return nil
        }
        let path = out.appendingPathComponent("\(name)_sample.wav").path
        say("sample: \"\(request.text)\" with \((gpt as NSString).lastPathComponent) + \((sovits as NSString).lastPathComponent), reference \(request.refPath)")
        let seconds = try await TrainSample.write(request, paths: ModelPaths(gpt: gpt, sovits: sovits, hubert: hubertPath, bert: bertPath),
                                                  to: path)
        say(String(format: "sample: %.1f s of audio", seconds))
        return path
    }

    // MARK: SoVITS

    private func pretrainedPaths() throws -> ModelPaths {
        let folder = models.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ModelCache.defaultDirectory()
        return try ModelPaths(pretrainedFolder: folder, version: .v2)
    }

    private func makeSoVITSTrainer(_ folder: DatasetFolder) throws -> (SoVITSTrainer, ConfigValue) {
        let (g, d, config, hps) = try sovitsStart()
        var options = SoVITSTrainingOptions()
        options.epochs = sovitsEpochs ?? epochs ?? options.epochs
        options.batchSize = batchSize ?? options.batchSize
        options.saveEveryEpochs = saveEvery ?? options.saveEveryEpochs
        options.textLearningRateRatio = textLrRatio
        options.seed = seed
        let model = SoVITSTrainingModel(config: config)
        let spec = try Spectrogram(config: STFTConfig(nFFT: config.filterLength, hopSize: config.hopLength, winSize: config.filterLength))
        let data = try SoVITSDataset(folder: folder, symbols: try SymbolTable.v2, spectrogram: spec)
        say("sovits: \(data.unique.count) clips (\(data.order.count) per epoch after replication, \(data.dropped) dropped)")
        let trainer = try SoVITSTrainer(generator: g, discriminator: d, model: model, periods: DiscriminatorLayout.v2Periods,
                                        dataset: data, options: options)
        return (trainer, hps)
    }

    private func trainSoVITS(_ folder: DatasetFolder, out: URL, logs: URL) throws -> [String] {
        let (trainer, hps) = try makeSoVITSTrainer(folder)
        let options = trainer.options
        let statePath = logs.appendingPathComponent("sovits.state").path
        if !restart, FileManager.default.fileExists(atPath: statePath) {
            try trainer.restore(try StateFile.read(statePath))
            say("sovits: resumed after epoch \(trainer.epochsDone) (step \(trainer.globalStep))")
        }
        var written: [String] = []
        let progress = TrainingProgressLog(logsFolder: logs)
        record(TrainingProgress(.start, model: "sovits", epoch: trainer.epochsDone, epochs: options.epochs), to: progress)
        let clock = ProgressClock(total: options.epochs * max(1, trainer.batches(epoch: 0).count), done: trainer.globalStep)
        var steps = 0
        while trainer.epochsDone < options.epochs {
            if let m = maxSteps, steps >= m { break }
            try trainer.runEpochLimited(maxBatches: maxSteps.map { $0 - steps }) { p in
                steps += 1
                clock.advance()
                let r = p.result
                record(TrainingProgress(.step, model: "sovits", epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
                                        values: ["loss_g": r.lossGenAll, "loss_mel": r.lossMel, "loss_kl": r.lossKL, "loss_fm": r.lossFM,
                                                 "loss_gen": r.lossGen, "loss_d": r.lossDisc].mapValues(Double.init),
                                        learningRate: Double(p.learningRate), etaSeconds: clock.etaSeconds), to: progress)
                say(String(format: "sovits epoch %d/%d batch %d/%d  loss_g %.3f (mel %.3f kl %.3f fm %.3f gen %.3f)  loss_d %.3f  lr %.3g  eta %@",
                             p.epoch, p.epochs, p.batch, p.batches, r.lossGenAll, r.lossMel, r.lossKL, r.lossFM, r.lossGen, r.lossDisc,
                             p.learningRate, clock.eta))
            }
            try trainer.savedState().write(to: statePath)
            if trainer.weightsDue || (maxSteps != nil && steps >= maxSteps!) {
                let path = out.appendingPathComponent("SoVITS_weights_v2/\(name)_e\(trainer.epochsDone)_s\(trainer.globalStep).pth").path
                try OfficialExport.writeSoVITS(trainer.state.generator, hps: hps, epoch: trainer.epochsDone, steps: trainer.globalStep,
                                               version: "v2", to: path)
                written.append(path)
                record(TrainingProgress(.weights, model: "sovits", epoch: trainer.epochsDone, epochs: options.epochs, file: path), to: progress)
            }
        }
        return written
    }

    /// Generator, discriminator, configuration and `hps` to start from.
    private func sovitsStart() throws -> (ParameterSet, ParameterSet, SoVITSConfig, ConfigValue) {
        if randomWeights != nil {
            let config = SoVITSConfig()
            let g = try SoVITSTrainingModel(config: config).randomParameters(seed: seed)
            let d = try MultiPeriodDiscriminator(periods: DiscriminatorLayout.v2Periods).randomParameters(seed: seed &+ 1)
            return (g, d, config, Self.defaultHParams(name: name))
        }
        let gPath = try pretrainedSovits ?? pretrainedPaths().sovits
        let gArchive = try WeightArchive.open(gPath)
        guard let emb = gArchive.tensors["enc_p.text_embedding.weight"], emb.shape.count == 2 else {
            throw CLIError("\(gPath) is not a SoVITS generator (no enc_p.text_embedding.weight)")
        }
        var hps = gArchive.config ?? Self.defaultHParams(name: name)
        if let file = sovitsConfig {
            do {
                hps = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw CLIError("--sovits-config \(file) is not readable JSON: \(error.localizedDescription)")
            }
        }
        var config = try SoVITSConfig(checkpointConfig: hps, version: emb.shape[0] == 322 ? .v1 : .v2, symbolCount: emb.shape[0],
                                      validating: false)
        guard config.version == .v2 else { throw CLIError("only v2 SoVITS training is supported (\(gPath) is v1)") }
        // Widths the official classes hard-code follow from the state dict.
        if let w = gArchive.tensors["enc_p.mrte.c_pre.weight"], w.shape.count == 3 { config.mrteHidden = w.shape[0] }
        if let w = gArchive.tensors["ref_enc.spectral.0.fc.weight"], w.shape.count == 2 { config.styleHidden = w.shape[0] }
        try config.validate()
        var g = try ParameterSet(archive: gArchive)
        if !g.names.contains(where: { $0.hasPrefix("enc_q.") }) {
            // Inference files leave the posterior encoder out; the official loader (strict=False)
            // then keeps the freshly initialised one, and so do we.
            let fresh = try SoVITSTrainingModel(config: config).randomParameters(seed: seed)
            g = ParameterSet((g.entries + fresh.entries.filter { $0.0.hasPrefix("enc_q.") }).sorted { $0.0 < $1.0 })
            say("sovits: \(gPath) has no posterior encoder (enc_q): initialised at random, as the official loader leaves it")
        }
        let dPath = pretrainedSovitsD ?? ((gPath as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent((gPath as NSString).lastPathComponent.replacingOccurrences(of: "s2G", with: "s2D"))
        guard FileManager.default.fileExists(atPath: dPath), dPath != gPath else {
            throw CLIError("pretrained discriminator \(dPath) not found; pass --pretrained-sovits-d")
        }
        let d = try ParameterSet(archive: try WeightArchive.open(dPath))
        var h = hps
        if case var .object(o) = h { o["name"] = .string(name); h = .object(o) }
        return (g, d, config, h)
    }

    /// `configs/s2.json` values (the `hps` written into weight files when the pretrained file has none).
    static func defaultHParams(name: String) -> ConfigValue {
        let c = SoVITSConfig()
        return .object([
            "train": .object(["segment_size": .int(20480), "learning_rate": .double(1e-4), "c_mel": .int(45), "c_kl": .double(1),
                              "text_low_lr_rate": .double(0.4), "lr_decay": .double(0.999875), "fp16_run": .bool(false)]),
            "data": .object(["max_wav_value": .double(32768), "sampling_rate": .int(c.samplingRate), "filter_length": .int(c.filterLength),
                             "hop_length": .int(c.hopLength), "win_length": .int(c.filterLength), "n_mel_channels": .int(128),
                             "mel_fmin": .double(0), "mel_fmax": .null, "add_blank": .bool(true), "n_speakers": .int(300),
                             "cleaned_text": .bool(true)]),
            "model": .object(["inter_channels": .int(c.interChannels), "hidden_channels": .int(c.hiddenChannels),
                              "filter_channels": .int(c.filterChannels), "n_heads": .int(c.nHeads), "n_layers": .int(c.nLayers),
                              "kernel_size": .int(c.kernelSize), "p_dropout": .double(0.1), "resblock": .string(c.resblock),
                              "resblock_kernel_sizes": .array(c.resblockKernelSizes.map { .int($0) }),
                              "resblock_dilation_sizes": .array(c.resblockDilationSizes.map { .array($0.map { .int($0) }) }),
                              "upsample_rates": .array(c.upsampleRates.map { .int($0) }),
                              "upsample_initial_channel": .int(c.upsampleInitialChannel),
                              "upsample_kernel_sizes": .array(c.upsampleKernelSizes.map { .int($0) }), "n_layers_q": .int(3),
                              "use_spectral_norm": .bool(false), "gin_channels": .int(c.ginChannels), "semantic_frame_rate": .string("25hz"),
                              "freeze_quantizer": .bool(true), "version": .string("v2")]),
            "name": .string(name), "version": .string("v2"),
        ])
    }

    // MARK: GPT

    private func makeGPTTrainer(_ folder: DatasetFolder) throws -> GPTTrainer {
        var options = GPTTrainingOptions()
        options.epochs = gptEpochs ?? epochs ?? options.epochs
        options.batchSize = batchSize ?? options.batchSize
        options.saveEveryEpochs = saveEvery ?? options.saveEveryEpochs
        options.dpo = dpo
        options.seed = seed
        let data = try GPTDataset(folder: folder, symbols: try SymbolTable.v2, maxSec: options.maxSec)
        say("gpt: \(data.uniqueCount) items (\(data.items.count) per epoch after replication, \(data.dropped) dropped)")
        let trainer: GPTTrainer
        if randomWeights != nil {
            let model = T2STrainingModel(config: .v2)
            trainer = try GPTTrainer(parameters: try model.randomParameters(seed: seed), config: .v2,
                                     trainConfig: model.checkpointConfig(maxSec: options.maxSec), dataset: data, options: options)
        } else {
            trainer = try GPTTrainer(pretrained: try WeightArchive.open(try pretrainedGpt ?? pretrainedPaths().gpt), dataset: data, options: options)
        }
        return trainer
    }

    private func trainGPT(_ folder: DatasetFolder, out: URL, logs: URL) throws -> [String] {
        let trainer = try makeGPTTrainer(folder)
        let options = trainer.options
        let statePath = logs.appendingPathComponent("gpt.state").path
        if !restart, FileManager.default.fileExists(atPath: statePath) {
            try trainer.restore(try StateFile.read(statePath))
            say("gpt: resumed after epoch \(trainer.epochsDone)")
        }
        say("gpt: batch size \(trainer.batchSize)")
        var written: [String] = []
        let progress = TrainingProgressLog(logsFolder: logs)
        record(TrainingProgress(.start, model: "gpt", epoch: trainer.epochsDone, epochs: options.epochs,
                                message: "batch size \(trainer.batchSize)"), to: progress)
        let perEpoch = max(1, trainer.batches(epoch: 0).count)
        let clock = ProgressClock(total: options.epochs * perEpoch, done: trainer.epochsDone * perEpoch)
        var steps = 0
        while trainer.epochsDone < options.epochs {
            if let m = maxSteps, steps >= m { break }
            try trainer.runEpochLimited(maxBatches: maxSteps.map { $0 - steps }) { p in
                steps += 1
                clock.advance()
                record(TrainingProgress(.step, model: "gpt", epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
                                        values: ["loss": Double(p.loss), "top3": Double(p.accuracy)],
                                        learningRate: Double(p.learningRate), etaSeconds: clock.etaSeconds), to: progress)
                say(String(format: "gpt epoch %d/%d batch %d/%d  loss %.3f  top3 %.3f  steps %d  lr %.3g  eta %@",
                             p.epoch, p.epochs, p.batch, p.batches, p.loss, p.accuracy, p.optimizerSteps, p.learningRate, clock.eta))
            }
            try trainer.state().write(to: statePath)
            if trainer.weightsDue || (maxSteps != nil && steps >= maxSteps!) {
                let path = out.appendingPathComponent("GPT_weights_v2/\(name)-e\(trainer.epochsDone).ckpt").path
                try OfficialExport.writeGPT(trainer.params, config: trainer.trainConfig, epoch: trainer.epochsDone, to: path)
                written.append(path)
                record(TrainingProgress(.weights, model: "gpt", epoch: trainer.epochsDone, epochs: options.epochs, file: path), to: progress)
            }
        }
        return written
    }

    // MARK: Benchmark

    /// `--bench N`: per model, one warm-up batch, then `N` batches measured (process CPU seconds of
    /// every thread, and wall seconds), the operations they spent it on, and the full run estimated
    /// as the mean batch times the batches of the official schedule (epochs × batches per epoch).
    private func runBench(_ folder: DatasetFolder, batches n: Int) throws {
        say("bench: \(Parallel.threadCount) threads, kernel level \(Tuning.cpuLevel), BLAS \(BLAS.kernelDescription)")
        var estimated = 0.0
        if target == "sovits" || target == "all" {
            let t0 = TapeProfile.now()
            let (trainer, _) = try makeSoVITSTrainer(folder)
            let t1 = TapeProfile.now()
            say(String(format: "sovits: setup %.1f s CPU (%.1f s wall)", t1.cpu - t0.cpu, t1.wall - t0.wall))
            let list = trainer.batches(epoch: 0)
            let total = trainer.options.epochs * list.count
            _ = try trainer.trainBatch(list[0], epoch: 1)
            let profile = TapeProfile()
            trainer.stepper.profile = profile
            var cpu = 0.0, wall = 0.0
            for i in 0..<n {
                let a = TapeProfile.now()
                _ = try trainer.trainBatch(list[(i + 1) % list.count], epoch: 1)
                let b = TapeProfile.now()
                cpu += b.cpu - a.cpu
                wall += b.wall - a.wall
                say(String(format: "sovits batch %d: %.2f s CPU, %.2f s wall (%d items, %d frames)", i + 1, b.cpu - a.cpu, b.wall - a.wall,
                           list[(i + 1) % list.count].count, trainer.dataset.collate(list[(i + 1) % list.count]).0.frames))
            }
            let per = cpu / Double(n)
            estimated += per * Double(total)
            say(String(format: "sovits: %.2f s CPU per batch (%.2f s wall); %d batches (%d epochs × %d) ≈ %@ CPU", per, wall / Double(n),
                       total, trainer.options.epochs, list.count, Self.duration(per * Double(total))))
            for line in profile.report() { say("  " + line) }
        }
        if target == "gpt" || target == "all" {
            let t0 = TapeProfile.now()
            let trainer = try makeGPTTrainer(folder)
            let t1 = TapeProfile.now()
            say(String(format: "gpt: setup %.1f s CPU (%.1f s wall), batch size %d", t1.cpu - t0.cpu, t1.wall - t0.wall, trainer.batchSize))
            let list = trainer.batches(epoch: 0)
            let total = trainer.options.epochs * list.count
            _ = try trainer.trainBatch(list[0], batchIndex: 0, epoch: 0)
            let profile = TapeProfile()
            trainer.profile = profile
            var cpu = 0.0, wall = 0.0
            for i in 0..<n {
                let index = (i + 1) % list.count
                let a = TapeProfile.now()
                _ = try trainer.trainBatch(list[index], batchIndex: index, epoch: 0)
                let b = TapeProfile.now()
                cpu += b.cpu - a.cpu
                wall += b.wall - a.wall
                say(String(format: "gpt batch %d: %.2f s CPU, %.2f s wall (%d items)", i + 1, b.cpu - a.cpu, b.wall - a.wall, list[index].count))
            }
            // Optimizer steps run at every fourth batch: count them at that rate.
            let opt = profile.forward["ScaledAdam"]
            let perBatch = (cpu - (opt?.cpu ?? 0)) / Double(n)
            let perStep = opt.map { $0.cpu / Double(max(1, $0.calls)) } ?? 0
            let est = perBatch * Double(total) + perStep * Double(total / 4)
            estimated += est
            say(String(format: "gpt: %.2f s CPU per batch (%.2f s wall) + %.2f s per optimizer step; %d batches (%d epochs × %d) ≈ %@ CPU",
                       perBatch, wall / Double(n), perStep, total, trainer.options.epochs, list.count, Self.duration(est)))
            for line in profile.report() { say("  " + line) }
        }
        say("estimated full run: \(Self.duration(estimated)) CPU (÷ \(Parallel.threadCount) threads ≈ \(Self.duration(estimated / Double(Parallel.threadCount))) on a quiet machine), peak RSS \(String(format: "%.2f", Self.peakRSSGB)) GB")
    }

    // MARK: Helpers

    /// Prints a progress line at once (also when stdout is a file or a pipe).
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Appends `event` to the run's progress file (what the studio's Training page shows); a
    /// failure to write it is reported and does not stop training.
    private func record(_ event: TrainingProgress, to log: TrainingProgressLog) {
        do { try log.append(event) } catch {
            FileHandle.standardError.write(Data("warning: could not write \(log.url.path): \(error)\n".utf8))
        }
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\((t % 3600) / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }

    /// Peak resident set size of this process (`VmHWM`), in GB.
    static var peakRSSGB: Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1_048_576
    }
}

/// Estimates the time left from the pace so far.
final class ProgressClock {
    let total: Int
    private var done: Int
    private let startDone: Int
    private let start = Date()

    init(total: Int, done: Int) {
        self.total = total
        self.done = done
        startDone = done
    }

    func advance() { done += 1 }

    var eta: String { etaSeconds.map(TrainCommand.duration) ?? "?" }

    /// Seconds left at the pace so far (nil before the first step).
    var etaSeconds: Double? {
        let ran = done - startDone
        guard ran > 0 else { return nil }
        let per = Date().timeIntervalSince(start) / Double(ran)
        return per * Double(max(0, total - done))
    }
}
