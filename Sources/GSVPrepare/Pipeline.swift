import Foundation
import GSVModels

/// Where `prepare all` puts each step's output, under `<root>/<name>/`.
public struct PrepareLayout: Sendable, Equatable {
    /// `<root>/<name>`.
    public var folder: String
    /// The voice name.
    public var name: String

    /// The layout of voice `name` under `root`.
    public init(root: String, name: String) throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), DatasetEntry.isWritableField(name) else {
            throw PrepareError.invalidArgument("the voice name must be a plain file name (no '/', '|' or leading '.'), got '\(name)'")
        }
        self.name = name
        folder = URL(fileURLWithPath: root).appendingPathComponent(name).standardizedFileURL.path
    }

    private func sub(_ s: String) -> String { URL(fileURLWithPath: folder).appendingPathComponent(s).path }
    /// Step 1: mono 32 kHz WAVs.
    public var extracted: String { sub("extracted") }
    /// Steps 2–3: the clips (rejected ones in `rejected/`).
    public var clips: String { sub("clips") }
    /// Step 4: the list.
    public var list: String { sub("\(name).list") }
    /// Step 6: the official training folder.
    public var dataset: String { sub("dataset") }
}

/// `prepare all`: extract → slice → VAD → transcribe → format, each step resumable.
public struct PreparePipeline: Sendable {
    /// Output layout.
    public var layout: PrepareLayout
    /// Slicing settings.
    public var slice: SliceSettings
    /// The VAD filter (nil: keep every clip).
    public var vad: VADFilter?
    /// The transcription step.
    public var transcription: TranscriptionStep
    /// Loads the formatting models when the format step starts (nil: stop after transcribing).
    public var formatModels: (@Sendable () throws -> FormatModels)?

    /// Creates the pipeline.
    public init(layout: PrepareLayout, slice: SliceSettings = SliceSettings(), vad: VADFilter?, transcription: TranscriptionStep,
                formatModels: (@Sendable () throws -> FormatModels)?) {
        self.layout = layout
        self.slice = slice
        self.vad = vad
        self.transcription = transcription
        self.formatModels = formatModels
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Seconds per step, in run order (`extract`, `slice`, `vad`, `transcribe`, `load models`,
        /// `format: text`, `format: audio`, `format: semantic`).
        public var seconds: [(step: String, seconds: Double)] = []
        /// Seconds of input audio.
        public var inputSeconds: Double = 0
        /// Clips after slicing / after the VAD / in the list.
        public var clips = 0, keptClips = 0, listedClips = 0
        /// Utterances in the training folder.
        public var utterances = 0
        /// Problems (failed files, skipped clips and rows), one line each.
        public var problems: [String] = []
    }

    /// Runs every step on `input` (a file or a folder).
    public func run(input: String, progress: StepProgress? = nil) async throws -> Summary {
        var summary = Summary()
        func timed<T>(_ step: String, _ body: () async throws -> T) async rethrows -> T {
            let t0 = Date()
            let v = try await body()
            summary.seconds.append((step, Date().timeIntervalSince(t0)))
            return v
        }
        let extracted = try await timed("extract") { try AudioExtractor().extract(input, to: layout.extracted, progress: progress) }
        summary.inputSeconds = extracted.reduce(0) { $0 + $1.seconds }
        summary.problems += extracted.compactMap { i in i.error.map { "extract \(i.input): \($0)" } }
        let sources = extracted.compactMap(\.output)
        guard !sources.isEmpty else { throw PrepareError.invalidArgument("no audio could be extracted from \(input)") }

        let sliced = try await timed("slice") { try DatasetSlicer(settings: slice).slice(inputs: sources, to: layout.clips, progress: progress) }
        summary.problems += sliced.compactMap { i in i.error.map { "slice \(i.input): \($0)" } }
        var clips = sliced.flatMap(\.clips).map(\.path)
        summary.clips = clips.count
        if let vad {
            let (kept, decisions) = try await timed("vad") { try vad.filter(folder: layout.clips, progress: progress) }
            let keptSet = Set(kept)
            clips = clips.filter { keptSet.contains($0) }
            for d in decisions where !d.kept {
                summary.problems.append(String(format: "vad: dropped %@ (%.1f s of speech in %.1f s)", d.clip, d.speechSeconds, d.seconds))
            }
        }
        summary.keptClips = clips.count
        let items = try await timed("transcribe") { try await transcription.run(clips: clips, listPath: layout.list, progress: progress) }
        summary.listedClips = items.filter { $0.entry != nil }.count
        summary.problems += items.compactMap { i in i.problem.map { "transcribe \(URL(fileURLWithPath: i.clip).lastPathComponent): \($0)" } }

        guard let formatModels else { return summary }
        let models = try await timed("load models") { try formatModels() }
        let report = try DatasetFormatter(models: models).run(listPath: layout.list, outputFolder: layout.dataset, progress: progress)
        for phase in ["text", "audio", "semantic"] { summary.seconds.append(("format: \(phase)", report.seconds[phase] ?? 0)) }
        summary.utterances = report.utterances.count
        summary.problems += report.skipped.map { "format row \($0.row) (\($0.name)): \($0.reason)" }
        return summary
    }
}
