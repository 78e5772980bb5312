import ArgumentParser
import Foundation
import GPTSoVITS

/// `gpt-sovits models list|download`: the official pretrained sets and the local cache.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List or download the official pretrained models.",
        subcommands: [List.self, Download.self]
    )

    struct CacheOptions: ParsableArguments {
        @Option(name: .long, help: "Models folder (default: $GSV_CACHE_DIR, else the user cache folder). Uses the official pretrained_models layout.")
        var cacheDir: String?

        var directory: URL {
            cacheDir.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? ModelCache.defaultDirectory()
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pretrained sets and which files are present locally.")
        @OptionGroup var cache: CacheOptions

        func run() throws {
            let dir = cache.directory
            print("models folder: \(dir.path)")
            for version in PretrainedCatalog.versions {
                guard let files = PretrainedCatalog.files(for: version) else { continue }
                let present = files.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0.path).path) }
                let state = present.count == files.count ? "complete" : present.isEmpty ? "not downloaded" : "partial (\(present.count)/\(files.count) files)"
                print("\(version.padding(toLength: 10, withPad: " ", startingAt: 0)) \(state)")
                for f in files {
                    let mark = present.contains(f) ? "✓" : " "
                    print("   \(mark) \(f.role.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.path)")
                }
            }
            let lid = FileManager.default.fileExists(atPath: dir.appendingPathComponent(LanguageModelDownload.relativePath).path)
            print("\("lid".padding(toLength: 10, withPad: " ", startingAt: 0)) \(lid ? "complete" : "not downloaded (the bundled lite model is used)")")
            print("   \(lid ? "✓" : " ") lid     \(LanguageModelDownload.relativePath)")
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an official pretrained set (resumes partial downloads, verifies size and SHA-256).",
            discussion: "Sources: hf (huggingface.co, or $HF_ENDPOINT when set), hf-mirror (hf-mirror.com), modelscope."
        )
        @Argument(help: "Version: \(PretrainedCatalog.versions.joined(separator: ", ")); or 'lid' for the full fastText language-ID model only (every version also fetches it).")
        var version: String

        @Option(name: .long, help: "Where to fetch the full language-ID model lid.176.bin from (default: fastText's download site).")
        var lidURL: String?

        @Flag(name: .long, help: "Do not fetch the full language-ID model with a version's files.")
        var noLid = false

        @Option(name: .long, help: "Where to download from: hf, hf-mirror or modelscope.")
        var source: String = "hf"

        @Option(name: .long, help: "Repository on the source.")
        var repo: String = PretrainedCatalog.repository

        @OptionGroup var cache: CacheOptions

        func validate() throws {
            guard ModelSource(rawValue: source.lowercased()) != nil else {
                throw ValidationError("unknown source '\(source)' (choose hf, hf-mirror or modelscope)")
            }
            guard version.lowercased() == "lid" || PretrainedCatalog.files(for: version) != nil else {
                throw ValidationError("unknown version '\(version)' (choose one of \(PretrainedCatalog.versions.joined(separator: ", ")), or lid)")
            }
            if let lidURL, URL(string: lidURL)?.scheme == nil { throw ValidationError("--lid-url: '\(lidURL)' is not a URL") }
        }

        /// Fetches lid.176.bin; `required` makes a failure an error, else a warning.
        func downloadLanguageModel(into dir: URL, required: Bool) async throws {
            let bar = ProgressBar()
            let url = lidURL.flatMap { URL(string: $0) } ?? LanguageModelDownload.defaultURL
            do {
                let outcome = try await LanguageModelDownload.download(from: url, into: dir) { p in bar.update(p) }
                bar.finish()
                print("language-ID model: \(outcome.destination.path)" + (outcome.alreadyPresent ? " (already present)" : ""))
            } catch let e as DownloadError {
                bar.finish()
                let message = e.errorDescription ?? "\(e)"
                if required { throw CLIError(message) }
                FileHandle.standardError.write(Data("warning: the full language-ID model was not downloaded (\(message)); 'auto' text uses the bundled lite model. Retry with: gpt-sovits models download lid\n".utf8))
            }
        }

        func run() async throws {
            let src = ModelSource(rawValue: source.lowercased()) ?? .huggingFace
            let dir = cache.directory
            if version.lowercased() == "lid" {
                try await downloadLanguageModel(into: dir, required: true)
                return
            }
            let bar = ProgressBar()
            let downloader = PretrainedDownloader(source: src, repository: repo)
            do {
                let outcomes = try await downloader.download(version: version, into: dir) { p in bar.update(p) }
                bar.finish()
                let fresh = outcomes.filter { !$0.alreadyPresent }
                print("\(version): \(outcomes.count) files in \(dir.path) (\(fresh.count) downloaded, \(outcomes.count - fresh.count) already present)")
            } catch let e as DownloadError {
                bar.finish()
                throw CLIError(e.errorDescription ?? "\(e)")
            }
            if !noLid { try await downloadLanguageModel(into: dir, required: false) }
        }
    }
}

/// A one-line progress bar on standard error (plain lines when not a terminal).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var lastFile = ""
    private var lastDraw = Date.distantPast
    private let isTTY = isatty(STDERR_FILENO) != 0

    func update(_ p: DownloadProgress) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let newFile = p.file != lastFile
        if !newFile && now.timeIntervalSince(lastDraw) < 0.1 && p.bytes != p.total { return }
        lastDraw = now
        if newFile {
            if isTTY && !lastFile.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
            if !isTTY { FileHandle.standardError.write(Data("downloading \(p.file)\n".utf8)) }
            lastFile = p.file
        }
        guard isTTY else { return }
        let mb = Double(p.bytes) / 1_048_576
        var line = "\r\(p.file) "
        if let t = p.total, t > 0 {
            let frac = min(1, Double(p.bytes) / Double(t))
            let width = 30
            let filled = Int(frac * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += String(format: "%5.1f%% %.1f/%.1f MB", frac * 100, mb, Double(t) / 1_048_576)
        } else {
            line += String(format: "%.1f MB", mb)
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if isTTY && !lastFile.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A user-facing failure: printed as `Error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
