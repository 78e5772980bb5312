import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Errors of the model downloader. Every case names the URL or file.
public enum DownloadError: Error, LocalizedError, Sendable, Equatable {
    /// The server could not be reached (no network, DNS failure, refused, timed out).
    case offline(url: String, reason: String)
    /// The server answered with an HTTP error.
    case httpStatus(url: String, status: Int)
    /// The downloaded size differs from the size the server announced.
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    /// The SHA-256 of the file differs from the one the server announced.
    case hashMismatch(path: String, expected: String, actual: String)
    /// The file could not be written.
    case io(path: String, reason: String)
    /// The version or source name is unknown.
    case unknownVersion(String)
    /// The downloaded file is not what it should be (it was removed).
    case invalidFile(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .offline(url, reason):
            return "cannot reach \(url): \(reason). Check the network connection, or choose another source (--source hf-mirror, --source modelscope, or set HF_ENDPOINT)."
        case let .httpStatus(url, status): return "\(url) answered HTTP \(status)"
        case let .sizeMismatch(path, expected, actual): return "\(path): downloaded \(actual) bytes, the server announced \(expected)"
        case let .hashMismatch(path, expected, actual): return "\(path): SHA-256 is \(actual), the server announced \(expected); the file was removed"
        case let .io(path, reason): return "cannot write \(path): \(reason)"
        case let .unknownVersion(v): return "unknown model version '\(v)' (choose one of \(PretrainedCatalog.versions.joined(separator: ", ")))"
        case let .invalidFile(path, reason): return "\(path) is not usable (\(reason)); the file was removed"
        }
    }
}

/// Progress of one file download.
public struct DownloadProgress: Sendable {
    /// The file being downloaded (path relative to the models folder).
    public let file: String
    /// Bytes on disk so far (including a resumed part).
    public let bytes: Int64
    /// Total size when known.
    public let total: Int64?
}

/// What a download did.
public struct DownloadOutcome: Sendable, Equatable {
    /// The final file.
    public let destination: URL
    /// Bytes transferred in this run (0 when the file was already complete).
    public let transferred: Int64
    /// Whether an earlier partial download was resumed.
    public let resumed: Bool
    /// Whether the file was already complete and verified.
    public let alreadyPresent: Bool
    /// The verified SHA-256, when the server announced one.
    public let sha256: String?
}

/// Downloads files over HTTP(S) with resume (`Range`), size and SHA-256 checks and progress.
///
/// Partial data is kept in `<file>.part` and resumed on the next run; a finished file is moved into
/// place only after its size (and, when the server reports one, its SHA-256 — Hugging Face sends it
/// for LFS files as `X-Linked-Etag`) has been checked.
public struct Downloader: Sendable {
    /// Seconds without progress before a request fails.
    public var timeout: TimeInterval
    let logger = Logger(label: "gpt-sovits.download")

    /// Creates a downloader.
    public init(timeout: TimeInterval = 60) { self.timeout = timeout }

    /// Size and SHA-256 the server announces for `url` (a `HEAD` request that does not follow
    /// redirects, so Hugging Face's `X-Linked-*` headers on the redirect are seen).
    public func probe(_ url: URL) async throws -> (size: Int64?, sha256: String?) {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "HEAD"
        let delegate = NoRedirectDelegate()
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let response: URLResponse
        do {
            (_, response) = try await session.data(for: request)
        } catch {
            throw Self.classify(error, url: url)
        }
        guard let http = response as? HTTPURLResponse else { return (nil, nil) }
        guard (200..<400).contains(http.statusCode) else { throw DownloadError.httpStatus(url: url.absoluteString, status: http.statusCode) }
        let size = (header(http, "X-Linked-Size") ?? (http.statusCode == 200 ? header(http, "Content-Length") : nil)).flatMap { Int64($0) }
        let sha = [header(http, "X-Linked-Etag"), header(http, "ETag")].compactMap { $0.flatMap(Self.sha256(fromETag:)) }.first
        return (size, sha)
    }

    /// Downloads `url` to `destination`, resuming `destination.part` when present.
    ///
    /// - Parameters:
    ///   - label: the name reported in progress events.
    ///   - progress: called from a background thread as bytes arrive.
    public func download(
        _ url: URL, to destination: URL, label: String,
        progress: (@Sendable (DownloadProgress) -> Void)? = nil
    ) async throws -> DownloadOutcome {
        let fm = FileManager.default
        let (announcedSize, announcedHash) = try await probe(url)
        let sidecar = destination.appendingPathExtension("sha256")
        if fm.fileExists(atPath: destination.path) {
            let size = (try? fm.attributesOfItem(atPath: destination.path)[.size] as? NSNumber)?.int64Value ?? -1
            let known = try? String(contentsOf: sidecar, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            if announcedSize == nil || announcedSize == size, announcedHash == nil || announcedHash == known {
                progress?(DownloadProgress(file: label, bytes: size, total: size))
                return DownloadOutcome(destination: destination, transferred: 0, resumed: false, alreadyPresent: true, sha256: known)
            }
            logger.info("\(label): local copy differs from the server's, downloading again")
        }
        do {
            try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw DownloadError.io(path: destination.path, reason: error.localizedDescription)
        }
        let part = destination.appendingPathExtension("part")
        var offset: Int64 = 0
        if let attrs = try? fm.attributesOfItem(atPath: part.path), let n = (attrs[.size] as? NSNumber)?.int64Value {
            offset = n
            if let total = announcedSize, offset > total { offset = 0 }
        }
        if offset == 0 { _ = fm.createFile(atPath: part.path, contents: nil) }
        // Hash what is already on disk so the digest covers the whole file.
        var digest = SHA256Digest()
        if offset > 0 {
            guard let h = FileHandle(forReadingAtPath: part.path) else {
                throw DownloadError.io(path: part.path, reason: "cannot reopen the partial download")
            }
            while true {
                let chunk = h.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                digest.update(chunk)
            }
            try? h.close()
        }
        var transferred: Int64 = 0
        var resumed = false
        if let total = announcedSize, offset == total, total > 0 {
            // The previous run got every byte but stopped before moving the file into place.
            resumed = true
        } else {
            var request = URLRequest(url: url, timeoutInterval: timeout)
            if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
            let receiver = StreamingReceiver(path: part.path, offset: offset, digest: digest, label: label,
                                             announcedTotal: announcedSize, progress: progress)
            let session = URLSession(configuration: .ephemeral, delegate: receiver, delegateQueue: nil)
            defer { session.finishTasksAndInvalidate() }
            let result = await receiver.run(session: session, request: request)
            switch result {
            case let .failure(error):
                throw Self.classify(error, url: url)
            case let .success(state):
                if state.status >= 400 { throw DownloadError.httpStatus(url: url.absoluteString, status: state.status) }
                digest = state.digest
                resumed = state.status == 206
                transferred = state.bytesOnDisk - (resumed ? offset : 0)
            }
        }
        let finalSize = ((try? fm.attributesOfItem(atPath: part.path)[.size]) as? NSNumber)?.int64Value ?? -1
        if let total = announcedSize, total != finalSize {
            throw DownloadError.sizeMismatch(path: part.path, expected: total, actual: finalSize)
        }
        let hex = digest.hexDigest()
        if let expected = announcedHash, expected != hex {
            try? fm.removeItem(at: part)
            throw DownloadError.hashMismatch(path: destination.path, expected: expected, actual: hex)
        }
        do {
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.moveItem(at: part, to: destination)
            try hex.write(to: sidecar, atomically: true, encoding: .utf8)
        } catch {
            throw DownloadError.io(path: destination.path, reason: error.localizedDescription)
        }
        return DownloadOutcome(destination: destination, transferred: transferred, resumed: resumed,
                               alreadyPresent: false, sha256: hex)
    }

    private func header(_ r: HTTPURLResponse, _ name: String) -> String? {
        for (k, v) in r.allHeaderFields {
            if let ks = k as? String, ks.caseInsensitiveCompare(name) == .orderedSame { return v as? String }
        }
        return nil
    }

    /// The SHA-256 inside an ETag value (`"<64 hex>"`, possibly weak), or nil.
    static func sha256(fromETag raw: String) -> String? {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("W/") { s.removeFirst(2) }
        s = s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let lower = s.lowercased()
        guard lower.count == 64, lower.allSatisfy({ $0.isHexDigit }) else { return nil }
        return lower
    }

    static func classify(_ error: Error, url: URL) -> Error {
        if let e = error as? DownloadError { return e }
        if let u = error as? URLError {
            let reason: String
            switch u.code {
            case .notConnectedToInternet: reason = "no network connection"
            case .cannotFindHost, .dnsLookupFailed: reason = "the host name could not be resolved"
            case .cannotConnectToHost: reason = "the connection was refused"
            case .timedOut: reason = "the request timed out"
            case .networkConnectionLost: reason = "the connection was lost (run the command again to resume)"
            default: reason = u.localizedDescription
            }
            return DownloadError.offline(url: url.absoluteString, reason: reason)
        }
        return DownloadError.offline(url: url.absoluteString, reason: error.localizedDescription)
    }
}

/// Refuses redirects so `HEAD` sees the first response's headers.
private final class NoRedirectDelegate: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// Streams a response body to a file, hashing as it goes. All mutable state is touched only from
/// the session's serial delegate queue, then handed over once through the continuation.
private final class StreamingReceiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct State: Sendable {
        var status: Int
        var bytesOnDisk: Int64
        var digest: SHA256Digest
    }

    let path: String
    let label: String
    let announcedTotal: Int64?
    let progress: (@Sendable (DownloadProgress) -> Void)?
    private var handle: FileHandle?
    private var state: State
    private var continuation: CheckedContinuation<Result<State, Error>, Never>?
    private var ioError: Error?

    init(path: String, offset: Int64, digest: SHA256Digest, label: String, announcedTotal: Int64?,
         progress: (@Sendable (DownloadProgress) -> Void)?) {
        self.path = path
        self.label = label
        self.announcedTotal = announcedTotal
        self.progress = progress
        state = State(status: 0, bytesOnDisk: offset, digest: digest)
    }

    func run(session: URLSession, request: URLRequest) async -> Result<State, Error> {
        await withCheckedContinuation { c in
            continuation = c
            session.dataTask(with: request).resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 200
        state.status = status
        guard status < 400 else { completionHandler(.cancel); return }
        if status == 200 && state.bytesOnDisk > 0 {
            // The server ignored the Range request: start over.
            state.bytesOnDisk = 0
            state.digest = SHA256Digest()
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            ioError = DownloadError.io(path: path, reason: "cannot open for writing")
            completionHandler(.cancel)
            return
        }
        h.seekToEndOfFile()
        handle = h
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let handle else { return }
        handle.write(data)
        state.digest.update(data)
        state.bytesOnDisk += Int64(data.count)
        progress?(DownloadProgress(file: label, bytes: state.bytesOnDisk, total: announcedTotal))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? handle?.close()
        handle = nil
        let result: Result<State, Error>
        if let ioError {
            result = .failure(ioError)
        } else if let error, state.status < 400 {
            result = .failure(error)
        } else {
            result = .success(state)
        }
        continuation?.resume(returning: result)
        continuation = nil
    }
}
