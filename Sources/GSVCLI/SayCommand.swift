import ArgumentParser
import Foundation
import GPTSoVITS
import GSVAudio
import GSVText

/// `gpt-sovits say`: synthesise text with a reference voice.
struct SayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "say",
        abstract: "Speak text in the voice of a reference clip.",
        discussion: """
            Example: gpt-sovits say "你好，世界。" --ref examples/reference_zh.wav --ref-text "今天天气很好，我们去散步吧。" -o hello.wav
            Text comes from the argument, --file, or standard input. Options are the official api_v2 request \
            parameters in kebab-case, with the official defaults.
            """
    )

    @Argument(help: "Text to speak (omit to read --file or standard input).")
    var text: String?

    @Option(name: .long, help: "Read the text from this file.")
    var file: String?

    @Option(name: .long, help: "Reference clip (3–10 s).")
    var ref: String

    @Option(name: .long, help: "Transcript of the reference clip (empty: reference-free mode).")
    var refText: String = ""

    @Option(name: .long, help: "Language of the reference transcript.")
    var refLang: String = "zh"

    @Option(name: .long, help: "Auxiliary reference clips whose timbre is averaged in (repeatable).")
    var auxRef: [String] = []

    @Option(name: .long, help: "Language of the text (text_lang): zh, en, all_zh, auto, … or a web-UI label.")
    var lang: String = "zh"

    @Option(name: .shortAndLong, help: "Output file ('-' for standard output).")
    var output: String = "out.wav"

    @Option(name: .long, help: "Output format: wav, raw (16-bit PCM), flac, mp3, ogg (non-WAV through ffmpeg).")
    var format: String = "wav"

    @Flag(name: .long, help: "Write audio as each sentence group is ready (streaming_mode 1) instead of at the end.")
    var stream = false

    @Option(name: .long, help: "Write a JSON report: per GPT sequence norm_text, phones, phone_ids, semantic_tokens, seconds; stage timings.")
    var report: String?

    @OptionGroup(title: "Request options (api_v2)") var request: SynthesisOptionGroup

    @OptionGroup var model: ModelOptions

    func readText() throws -> String {
        if let text { return text }
        if let file {
            guard let t = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read text file \(file)") }
            return t
        }
        var data = Data()
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 16), !chunk.isEmpty { data.append(chunk) }
        guard let t = String(data: data, encoding: .utf8) else { throw CLIError("standard input is not UTF-8 text") }
        return t
    }

    func options() throws -> SynthesisOptions {
        var base = SynthesisOptions()
        base.textLanguage = try parseLanguage(lang, option: "--lang")
        if model.randomWeights != nil { base.maxTokensPerSentence = 100 }
        var o = try request.options(over: base)
        if stream && o.streamingMode == .off { o.streamingMode = .fragments }
        return o
    }

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("give either TEXT or --file, not both") }
        if let text, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the text is empty") }
        _ = try options()
        _ = try parseLanguage(refLang, option: "--ref-lang")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ref, isDirectory: &isFolder) else { throw ValidationError("--ref: \(ref) not found") }
        if isFolder.boolValue { throw ValidationError("--ref: \(ref) is a folder, not an audio file") }
        for aux in auxRef where !FileManager.default.fileExists(atPath: aux) { throw ValidationError("--aux-ref: \(aux) not found") }
        guard ["wav", "raw", "flac", "mp3", "ogg"].contains(format.lowercased()) else {
            throw ValidationError("--format must be wav, raw, flac, mp3 or ogg (got '\(format)')")
        }
    }

    /// The metadata written into every output: it is AI-generated speech.
    static let metadata = AudioMetadata.aiGenerated

    func run() async throws {
        try await waitingForAbandonedSynthesis { try await runCommand() }
    }

    private func runCommand() async throws {
        let text = try readText()
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw CLIError("the text is empty") }
        guard text.unicodeScalars.count <= 100_000 else { throw CLIError("the text has \(text.unicodeScalars.count) characters; split it into files of at most 100000") }
        guard let outputFormat = AudioOutputFormat(name: format) else {
            throw ValidationError("--format must be wav, raw, flac, mp3 or ogg (got '\(format)')")
        }
        if outputFormat.needsFFmpeg && !FFmpeg.isAvailable {
            throw CLIError("--format \(outputFormat.name) needs ffmpeg, which is not installed (apt-get install ffmpeg), or use --format wav")
        }
        let opts = try options()
        let started = Date()
        let bundle = try model.loadBundle()
        let loadSeconds = Date().timeIntervalSince(started)
        let engine = TTSEngine(bundle: bundle)
        let voice = VoiceReference(audioPath: ref, promptText: refText, promptLanguage: try parseLanguage(refLang, option: "--ref-lang"),
                                   auxiliaryAudioPaths: auxRef)
        let sink = AudioSink(path: output, format: outputFormat, progressive: opts.streamingMode != .off, metadata: Self.metadata)
        let progress = SentenceProgress()
        var fragments: [FragmentReport] = []
        var timings = SynthesisTimings()
        do {
            for try await event in engine.synthesize(text, voice: voice, options: opts) {
                switch event {
                case let .audio(samples, rate): try sink.append(samples, sampleRate: rate)
                case let .progress(done, total): progress.update(done: done, total: total)
                case let .finished(f, t): fragments = f; timings = t
                }
            }
        } catch let e as SynthesisError {
            progress.finish()
            throw CLIError(e.errorDescription ?? "\(e)")
        }
        progress.finish()
        let seconds = try await sink.finish()
        if let report {
            struct Report: Encodable {
                let fragments: [FragmentReport]
                let timings: [String: Double]
            }
            var t: [String: Double] = ["load": loadSeconds, "reference": timings.reference, "frontend": timings.frontend,
                                       "gpt": timings.gpt, "sovits": timings.sovits, "total": timings.total,
                                       "gpt_tokens": Double(timings.gptTokens), "audio_seconds": seconds]
            if timings.gpt > 0 { t["gpt_tokens_per_s"] = Double(timings.gptTokens) / timings.gpt }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            do {
                try enc.encode(Report(fragments: fragments, timings: t)).write(to: URL(fileURLWithPath: report))
            } catch {
                throw CLIError("cannot write the report \(report): \(error.localizedDescription)")
            }
        }
        if output != "-" {
            let rtf = seconds > 0 ? timings.total / seconds : 0
            FileHandle.standardError.write(Data(String(format: "wrote %@ (%.2f s of audio, %.2f s to synthesise, RTF %.2f)\n", output, seconds, timings.total, rtf).utf8))
        }
    }
}

/// A sentence progress bar on standard error when it is a terminal.
final class SentenceProgress {
    private let isTTY = isatty(STDERR_FILENO) != 0
    private var drawn = false

    func update(done: Int, total: Int) {
        guard isTTY, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let line = "\rsynthesising [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] \(done)/\(total) sentences"
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
