import Foundation
import GSVAudio

/// Step 1 — any audio or video file (or a folder of them) → mono float32 WAV files.
///
/// Decoding goes through ffmpeg exactly as the official tools load audio
/// (`tools/my_utils.py: load_audio`, `-ac 1 -ar <rate>`), at 32 kHz by default — the rate the
/// official slicer works at — and the result is stored as float32 WAV, so nothing is lost between
/// this step and the next: slicing the extracted file gives the samples the official slicer sees
/// when it decodes the original.
public struct AudioExtractor: Sendable {
    /// Output sample rate.
    public var sampleRate: Int

    /// Creates an extractor (32 kHz by default).
    public init(sampleRate: Int = 32000) {
        self.sampleRate = sampleRate
    }

    /// Result of one input file.
    public struct Item: Sendable, Equatable {
        /// The input file.
        public var input: String
        /// The WAV written (nil when the input failed).
        public var output: String?
        /// Seconds of audio (0 on failure).
        public var seconds: Double
        /// Whether an up-to-date output from an earlier run was kept.
        public var reused: Bool
        /// The error, for a failed input.
        public var error: String?
    }

    /// The files of `input`: the file itself, or a folder's regular, non-hidden files sorted by name
    /// (as the official slicer lists a folder).
    public static func inputFiles(_ input: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw PrepareError.missingInput(input) }
        guard isDir.boolValue else { return [input] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: input) } catch {
            throw PrepareError.unreadable(path: input, reason: error.localizedDescription)
        }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { URL(fileURLWithPath: input).appendingPathComponent($0).path }
            .filter { p in
                var d: ObjCBool = false
                return FileManager.default.fileExists(atPath: p, isDirectory: &d) && !d.boolValue
            }
    }

    /// The output path for `input`: `<folder>/<input name without extension>.wav`.
    public static func outputPath(for input: String, in folder: String) -> String {
        let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        return URL(fileURLWithPath: folder).appendingPathComponent(stem + ".wav").path
    }

    /// Decodes one file to mono samples at ``sampleRate``.
    /// - Throws: ``PrepareError/noAudioStream(path:)`` for a file without audio,
    ///   `AudioError.ffmpegMissing` when ffmpeg is not installed, `AudioError.ffmpegFailed` otherwise.
    public func decode(_ input: String) throws -> AudioBuffer {
        guard FileManager.default.fileExists(atPath: input) else { throw PrepareError.missingInput(input) }
        do {
            return try FFmpeg.decodeLikeOfficial(path: input, sampleRate: sampleRate)
        } catch let AudioError.ffmpegFailed(path, _, message) where Self.meansNoAudio(message) {
            throw PrepareError.noAudioStream(path: path)
        }
    }

    /// Whether an ffmpeg error message says the input has no (usable) audio stream.
    static func meansNoAudio(_ message: String) -> Bool {
        let m = message.lowercased()
        return m.contains("matches no streams") || m.contains("does not contain any stream")
            || m.contains("output file does not contain any stream") || m.contains("invalid data found when processing input")
    }

    /// Extracts every file of `input` into `outputFolder`. A file that fails (no audio stream,
    /// unreadable) is reported in its item and the others go on. An output newer than its input is
    /// kept (resumable).
    /// - Throws: only for a missing input or an output folder that cannot be created; ffmpeg missing
    ///   is thrown at the first file (it would fail every file).
    public func extract(_ input: String, to outputFolder: String, progress: StepProgress? = nil) throws -> [Item] {
        let files = try Self.inputFiles(input)
        try PrepareFiles.makeFolder(outputFolder)
        var items: [Item] = []
        var seen: [String: String] = [:]
        progress?.begin(step: "extract", total: files.count, unit: "files")
        for file in files {
            try Task.checkCancellation()
            let out = Self.outputPath(for: file, in: outputFolder)
            defer { progress?.advance(by: 1, detail: URL(fileURLWithPath: file).lastPathComponent) }
            if let other = seen[out] {
                items.append(Item(input: file, output: nil, seconds: 0, reused: false,
                                  error: "\(URL(fileURLWithPath: out).lastPathComponent) is already made from \(other); rename one of them"))
                continue
            }
            seen[out] = file
            if PrepareFiles.isUpToDate(out, comparedTo: file), let wav = try? WAV.read(path: out), wav.sampleRate == sampleRate {
                items.append(Item(input: file, output: out, seconds: Double(wav.frameCount) / Double(sampleRate), reused: true, error: nil))
                continue
            }
            do {
                let audio = try decode(file)
                try AtomicFile.write(try WAV.encode(audio.samples, sampleRate: sampleRate, format: .float32), to: out)
                items.append(Item(input: file, output: out, seconds: audio.duration, reused: false, error: nil))
            } catch AudioError.ffmpegMissing(let path) {
                throw AudioError.ffmpegMissing(path: path)
            } catch {
                items.append(Item(input: file, output: nil, seconds: 0, reused: false, error: PrepareFiles.describe(error)))
            }
        }
        progress?.end()
        return items
    }
}

/// File helpers shared by the steps.
enum PrepareFiles {
    /// Creates `path` (and parents) when missing.
    static func makeFolder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw PrepareError.unwritable(path: path, reason: error.localizedDescription)
        }
    }

    /// Whether `output` exists and was modified no earlier than `input`.
    static func isUpToDate(_ output: String, comparedTo input: String) -> Bool {
        let fm = FileManager.default
        guard let o = try? fm.attributesOfItem(atPath: output)[.modificationDate] as? Date,
              let i = try? fm.attributesOfItem(atPath: input)[.modificationDate] as? Date else { return false }
        return o >= i
    }

    /// A one-line description of an error.
    static func describe(_ error: any Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }
}
