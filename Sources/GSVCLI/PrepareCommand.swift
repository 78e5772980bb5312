import ArgumentParser
import Foundation
import GPTSoVITS
import GSVModels
import GSVPrepare
import GSVServer
import Hummingbird

/// `gpt-sovits prepare …`: from a video or a long recording to a training set.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Prepare a voice: extract audio, slice it, drop non-speech, transcribe, review, format for training.",
        discussion: """
        Every step can be run on its own and resumes where an interrupted run stopped:
          gpt-sovits prepare all talk.mp4 --name alice --language zh --asr-url http://127.0.0.1:8000
        runs extract → slice → vad → transcribe → format into prepare/alice/ and prints what to run next.
        """,
        subcommands: [PrepareAllCommand.self, PrepareExtractCommand.self, PrepareSliceCommand.self, PrepareVADCommand.self,
                      PrepareTranscribeCommand.self, PrepareReviewCommand.self, PrepareFormatCommand.self]
    )
}

/// Slicing options (the official web UI defaults).
struct SliceOptions: ParsableArguments {
    @Option(help: "Silence threshold in dBFS.") var threshold: Double = -34
    @Option(help: "Shortest clip in ms.") var minLength: Int = 4000
    @Option(help: "Shortest silence that may be cut, in ms.") var minInterval: Int = 300
    @Option(help: "RMS hop in ms.") var hopSize: Int = 10
    @Option(help: "Longest silence kept around a cut, in ms.") var maxSilKept: Int = 500
    @Option(help: "Peak level of the clip mix (official _max).") var maxLevel: Double = 0.9
    @Option(help: "Share of the peak-normalised signal in the mix (official alpha).") var alpha: Double = 0.25
    @Option(help: "Also normalise each clip to this loudness in LUFS (not official; off by default).") var lufs: Double?

    var settings: SliceSettings {
        var s = SliceSettings()
        s.thresholdDB = threshold; s.minLengthMs = minLength; s.minIntervalMs = minInterval; s.hopSizeMs = hopSize
        s.maxSilenceKeptMs = maxSilKept; s.maxLevel = maxLevel; s.alpha = alpha; s.targetLUFS = lufs
        return s
    }
}

/// Voice-activity options.
struct VADOptions: ParsableArguments {
    @Option(help: "Least seconds of speech a kept clip holds.") var minSpeech: Double = 0.5
    @Option(help: "Least share of a kept clip that is speech.") var minSpeechRatio: Double = 0.3
    @Option(help: "Silero speech threshold.") var vadThreshold: Double = 0.5

    func filter() throws -> VADFilter {
        var o = SpeechTimestampOptions()
        o.threshold = vadThreshold
        return VADFilter(model: try SileroVAD.bundled(), options: o, minSpeechSeconds: minSpeech, minSpeechRatio: minSpeechRatio)
    }
}

/// Recogniser options.
struct RecognizerOptions: ParsableArguments {
    @Option(help: "OpenAI-compatible server (base URL or …/v1/audio/transcriptions).") var asrUrl: String?
    @Option(help: "Model name sent to --asr-url.") var asrModel: String = "whisper-1"
    @Option(help: "API key for --asr-url (also read from $OPENAI_API_KEY).") var asrKey: String?
    @Option(help: "External recogniser command; {wav} is replaced by the clip path, {lang} by the language.") var asrCommand: String?
    @Option(help: "Clips recognised at the same time.") var asrJobs: Int = 1
    @Option(help: "Language of the speech: zh, en, ja, ko, yue (default: what the recogniser detects).") var language: String?

    func recognizer() throws -> any SpeechRecognizer {
        switch (asrUrl, asrCommand) {
        case let (url?, nil):
            guard let u = URL(string: url), u.scheme == "http" || u.scheme == "https" else { throw ValidationError("--asr-url must be an http(s) URL, got '\(url)'") }
            return OpenAITranscriber(endpoint: u, model: asrModel, apiKey: asrKey ?? ProcessInfo.processInfo.environment["OPENAI_API_KEY"])
        case let (nil, command?):
            return try CommandTranscriber(template: command)
        case (nil, nil):
            throw ValidationError("choose a recogniser: --asr-url URL (OpenAI-compatible) or --asr-command 'CMD {wav}'")
        default:
            throw ValidationError("give either --asr-url or --asr-command, not both")
        }
    }
}

extension ModelOptions {
    /// Loads the networks formatting needs (SoVITS, CN-HuBERT, BERT; the GPT is not used) when called:
    /// the files these options name, or full-size random weights.
    func formatModelLoader() throws -> @Sendable () throws -> FormatModels {
        if let r = randomWeights {
            guard r.lowercased() == "v2" else { throw ValidationError("--random-weights supports v2 only (got '\(r)')") }
            return { try FormatModels.randomV2() }
        }
        let p = try paths(), fromCache = models == nil, version = modelVersion
        return {
            do {
                return try FormatModels.load(sovits: p.sovits, hubert: p.hubert, bert: p.bert)
            } catch let e as SynthesisError {
                var message = e.errorDescription ?? "\(e)"
                if case .missingModel = e, fromCache {
                    message += " (download the official models with `gpt-sovits models download \(version)`, or pass --models / --sovits --hubert --bert)"
                }
                throw CLIError(message)
            }
        }
    }
}

func printProblems(_ problems: [String], limit: Int = 20) {
    guard !problems.isEmpty else { return }
    FileHandle.standardError.write(Data("\(problems.count) problem(s):\n".utf8))
    for p in problems.prefix(limit) { FileHandle.standardError.write(Data("  \(p)\n".utf8)) }
    if problems.count > limit { FileHandle.standardError.write(Data("  … and \(problems.count - limit) more\n".utf8)) }
}

struct PrepareAllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Run extract, slice, vad, transcribe and format; print the next commands.")

    @Argument(help: "Audio or video file, or a folder of them.") var input: String
    @Option(help: "Voice name (folder and list name).") var name: String
    @Option(help: "Folder that receives <name>/.") var root: String = "prepare"
    @Flag(help: "Keep every clip (skip the Silero VAD filter).") var noVad = false
    @Flag(help: "Stop after the list is written (no formatting).") var noFormat = false
    @OptionGroup var slice: SliceOptions
    @OptionGroup var vad: VADOptions
    @OptionGroup var asr: RecognizerOptions
    @OptionGroup var model: ModelOptions

    func run() async throws {
        let layout = try PrepareLayout(root: root, name: name)
        let pipeline = PreparePipeline(
            layout: layout, slice: slice.settings, vad: noVad ? nil : try vad.filter(),
            transcription: TranscriptionStep(recognizer: try asr.recognizer(), language: asr.language, speaker: name, concurrency: asr.asrJobs),
            formatModels: noFormat ? nil : try model.formatModelLoader())
        let summary = try await pipeline.run(input: input, progress: StepProgressBar())
        printProblems(summary.problems)
        print(String(format: "input %.1f s → %d clips → %d with speech → %d transcribed → %d utterances",
                     summary.inputSeconds, summary.clips, summary.keptClips, summary.listedClips, summary.utterances))
        let total = summary.seconds.reduce(0) { $0 + $1.seconds }
        for (step, s) in summary.seconds + [("total", total)] {
            let label = step.padding(toLength: max(18, step.count), withPad: " ", startingAt: 0)
            print("  " + label + String(format: " %8.2f s  (%.3f × real time)", s, summary.inputSeconds > 0 ? s / summary.inputSeconds : 0))
        }
        print("""

        Next:
          1. proofread the transcripts:   gpt-sovits prepare review \(layout.list)
          2. format again after review:   gpt-sovits prepare format \(layout.list) -o \(layout.dataset)
          3. train:                       gpt-sovits train all --dataset \(layout.dataset) --name \(name)
        """)
    }
}

struct PrepareExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "extract", abstract: "Audio or video file(s) → mono 32 kHz WAV through ffmpeg.")
    @Argument(help: "File or folder.") var input: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Option(help: "Sample rate.") var sampleRate: Int = 32000

    func run() async throws {
        let items = try AudioExtractor(sampleRate: sampleRate).extract(input, to: output, progress: StepProgressBar())
        printProblems(items.compactMap { i in i.error.map { "\(i.input): \($0)" } })
        for i in items { if let o = i.output { print(String(format: "%@\t%.2f s%@", o, i.seconds, i.reused ? "\t(kept)" : "")) } }
        if items.allSatisfy({ $0.output == nil }) { throw ExitCode.failure }
    }
}

struct PrepareSliceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slice", abstract: "Cut recordings at silences into clips (the official slicer).")
    @Argument(help: "File or folder.") var input: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @OptionGroup var slice: SliceOptions

    func run() async throws {
        let items = try DatasetSlicer(settings: slice.settings).slice(inputs: try AudioExtractor.inputFiles(input), to: output, progress: StepProgressBar())
        printProblems(items.compactMap { i in i.error.map { "\(i.input): \($0)" } })
        for c in items.flatMap({ $0.clips }) { print(String(format: "%@\t%.2f s", c.path, c.seconds)) }
    }
}

struct PrepareVADCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vad", abstract: "Move clips without enough speech (Silero VAD) to <folder>/rejected/.")
    @Argument(help: "Folder of clips.") var folder: String
    @OptionGroup var vad: VADOptions

    func run() async throws {
        let (kept, decisions) = try vad.filter().filter(folder: folder, progress: StepProgressBar())
        for d in decisions {
            print(String(format: "%@\t%@\tspeech %.2f of %.2f s", d.kept ? "keep" : "drop", d.clip, d.speechSeconds, d.seconds))
        }
        print("\(kept.count) of \(decisions.count) clips kept; report: \(VADFilter.reportPath(in: folder))")
    }
}

struct PrepareTranscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transcribe", abstract: "Transcribe clips into an official .list (wav_path|speaker|language|text).")
    @Argument(help: "Folder of clips (.wav) or one clip.") var input: String
    @Option(name: .shortAndLong, help: "The .list to write.") var output: String
    @Option(help: "Speaker name written in every row (default: the folder's name).") var speaker: String?
    @OptionGroup var asr: RecognizerOptions

    func run() async throws {
        let clips = try AudioExtractor.inputFiles(input).filter { $0.lowercased().hasSuffix(".wav") }
        let speaker = speaker ?? URL(fileURLWithPath: input).standardizedFileURL.lastPathComponent
        let step = TranscriptionStep(recognizer: try asr.recognizer(), language: asr.language, speaker: speaker, concurrency: asr.asrJobs)
        let items = try await step.run(clips: clips, listPath: output, progress: StepProgressBar())
        printProblems(items.compactMap { i in i.problem.map { "\(i.clip): \($0)" } })
        print("\(items.filter { $0.entry != nil }.count) of \(clips.count) clips transcribed into \(output)")
    }
}

struct PrepareFormatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "format", abstract: "Format a .list into the official training folder (2-name2text.txt, 3-bert/, 4-cnhubert/, 5-wav32k/, 6-name2semantic.tsv).")
    @Argument(help: "The .list file.") var list: String
    @Option(name: .shortAndLong, help: "Training folder to write.") var output: String
    @Option(help: "Audio folder: a row's audio is <folder>/<file name> (the official 'audio dir').") var audioDir: String?
    @Flag(help: "Write float16 feature files, as the official scripts do on a GPU.") var half = false
    @OptionGroup var model: ModelOptions

    func run() async throws {
        let t0 = Date()
        let models = try model.formatModelLoader()()
        let load = Date().timeIntervalSince(t0)
        let report = try DatasetFormatter(models: models, audioFolder: audioDir, halfPrecision: half).run(listPath: list, outputFolder: output, progress: StepProgressBar())
        printProblems(report.skipped.map { "row \($0.row) (\($0.name)): \($0.reason)" })
        print("\(report.utterances.count) of \(report.rows) rows formatted into \(output) (\(report.reusedFiles) feature files kept from an earlier run)")
        print(String(format: "  load models %.2f s, text %.2f s, audio %.2f s, semantic %.2f s", load,
                     report.seconds["text"] ?? 0, report.seconds["audio"] ?? 0, report.seconds["semantic"] ?? 0))
        if report.utterances.isEmpty { throw ExitCode.failure }
    }
}

struct PrepareReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Proofread a .list in the browser: play each clip, edit text and language, delete, merge or split rows, undo, save.",
        discussion: "Needs no models. Saves replace the file atomically and keep the previous one as <list>.bak."
    )
    @Argument(help: "The .list file.") var list: String
    @Option(help: "Audio folder: a row's audio is <folder>/<file name> (the official 'audio dir').") var audioDir: String?
    @Option(name: [.customShort("a"), .long], help: "Address to bind.") var bindAddr: String = "127.0.0.1"
    @Option(name: .shortAndLong, help: "Port to listen on (0 picks a free one).") var port: Int = 9881
    @Option(name: .long, help: "Require this token (the page asks for it once; also read from $GSV_SERVER_TOKEN).") var token: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0…65535 (got \(port))") }
    }

    func run() async throws {
        var config = ReviewServerConfiguration(review: try ReviewRoutes(listPath: URL(fileURLWithPath: list).standardizedFileURL.path, audioFolder: audioDir))
        config.host = bindAddr
        config.port = port
        config.token = token ?? ProcessInfo.processInfo.environment["GSV_SERVER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if config.token == nil && bindAddr != "127.0.0.1" && bindAddr != "localhost" && bindAddr != "::1" {
            FileHandle.standardError.write(Data("warning: listening on \(bindAddr) without --token\n".utf8))
        }
        let rows = await config.review.session.state().rows.count
        print("reviewing \(list) (\(rows) rows): open http://\(bindAddr.contains(":") ? "[\(bindAddr)]" : bindAddr):\(port)/ in a browser")
        try await buildReviewApplication(configuration: config).runService()
    }
}
