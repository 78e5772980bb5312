import Foundation

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
