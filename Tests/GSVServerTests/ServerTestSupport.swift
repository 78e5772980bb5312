import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
@testable import GSVServer

/// The tiny fixture models, loaded once per test process.
enum Shared {
    static let paths = ModelPaths(
        gpt: Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path,
        sovits: Fixtures.url("v2/models/sovits_v2_tiny.pth").path,
        hubert: Fixtures.url("v2/models/chinese-hubert-base-tiny").path,
        bert: Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny").path
    )
    static let bundle: Result<ModelBundle, any Error> = Result { try ModelBundle.load(paths) }
    static let engineResult: Result<TTSEngine, any Error> = bundle.map { TTSEngine(bundle: $0) }

    static func engine() throws -> TTSEngine { try engineResult.get() }

    static let refPath = Fixtures.url("v2/ref/ref.wav").standardizedFileURL.resolvingSymlinksInPath().path
    static let refText = "今天天气很好，我们去散步吧。"
    static let refVoice = VoiceReference(audioPath: refPath, promptText: refText, promptLanguage: .zh)
    static let rolesDir = Fixtures.url("roles/role")
    static let roleDir = Fixtures.url("roles/role/小明").standardizedFileURL

    /// A configuration over the shared engine, allowing the fixture reference and model folders.
    static func configuration() throws -> ServerConfiguration {
        var c = ServerConfiguration(engine: try engine(), modelPaths: paths)
        c.host = "127.0.0.1"
        c.port = 0
        c.rolesDirectory = rolesDir
        c.allowedRoots = [Fixtures.url("v2/ref"), Fixtures.url("v2/models")]
        c.maxConcurrent = 2
        c.queueLength = 32
        return c
    }

    /// Deterministic options: top_k 1 and a fixed seed.
    static func options(seed: Int64, language: TextLanguage = .zh, streaming: StreamingMode = .off) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.textLanguage = language
        o.topK = 1
        o.seed = seed
        o.streamingMode = streaming
        return o
    }

    /// The WAV bytes `/tts` must answer for this synthesis.
    static func expectedWAV(_ text: String, voice: VoiceReference, seed: Int64) async throws -> Data {
        let r = try await engine().synthesizeAll(text, voice: voice, options: options(seed: seed))
        return try WAV.encode(r.samples, sampleRate: r.sampleRate)
    }

    /// The audio chunks of a fragment-mode synthesis.
    static func expectedChunks(_ text: String, voice: VoiceReference, seed: Int64, language: TextLanguage = .zh) async throws -> [[Float]] {
        var chunks: [[Float]] = []
        for try await e in try engine().synthesize(text, voice: voice, options: options(seed: seed, language: language, streaming: .fragments)) {
            if case let .audio(s, _) = e { chunks.append(s) }
        }
        return chunks
    }

    static func roleVoice(emotion: String?) -> VoiceReference {
        if let emotion, let folder = try? FileManager.default.contentsOfDirectory(atPath: roleDir.appendingPathComponent("refAudio/\(emotion)").path),
           let file = folder.sorted().first {
            let url = roleDir.appendingPathComponent("refAudio/\(emotion)/\(file)")
            return VoiceReference(audioPath: url.path, promptText: (file as NSString).deletingPathExtension, promptLanguage: .zh)
        }
        return VoiceReference(audioPath: roleDir.appendingPathComponent("小明.wav").path, promptText: refText, promptLanguage: .zh)
    }
}

func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

func bytes(_ buffer: ByteBuffer) -> Data { Data(buffer.readableBytesView) }

func jsonObject(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: bytes(buffer))) as? [String: Any] ?? [:]
}

/// Percent-encodes a query value.
func q(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}

/// Little-endian int16 samples of raw PCM bytes.
func int16Samples(_ data: Data) -> [Int16] {
    let bytes = [UInt8](data)
    return stride(from: 0, to: bytes.count - 1, by: 2).map { Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
}

/// A response read off a real socket by ``RawHTTP``.
struct RawHTTPResponse: Sendable {
    /// Status code.
    var status: Int
    /// Headers, names lower-cased.
    var headers: [String: String]
    /// Body pieces as the chunked transfer encoding framed them (one piece without chunking).
    var chunks: [Data]
    /// When each piece had fully arrived, in seconds after the request was sent.
    var arrivals: [Double]
    /// Whether the client closed the connection early (``RawHTTP/send`` with `closeAfterChunks`).
    var closedEarly: Bool

    var body: Data { chunks.reduce(Data(), +) }
}

struct RawHTTPError: Error, CustomStringConvertible {
    var description: String
}

/// A minimal blocking HTTP/1.1 client over a POSIX socket, run on its own thread: it records when
/// each body chunk arrives (to see streaming over the wire) and can hang up mid-response.
enum RawHTTP {
    /// Sends one request. `closeAfterChunks`: hang up after that many body chunks; `hangUpAfter`:
    /// hang up that many seconds after sending, without reading anything.
    static func send(port: Int, method: String = "POST", path: String, body: Data? = nil, json: [String: Any]? = nil,
                     closeAfterChunks: Int? = nil, hangUpAfter: Double? = nil, timeout: Double = 300) async throws -> RawHTTPResponse {
        let payload = json.map { (try? JSONSerialization.data(withJSONObject: $0)) ?? Data() } ?? body
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result {
                    try sendBlocking(port: port, method: method, path: path, body: payload, closeAfterChunks: closeAfterChunks,
                                     hangUpAfter: hangUpAfter, timeout: timeout)
                })
            }
            thread.start()
        }
    }

    static func sendBlocking(port: Int, method: String, path: String, body: Data?, closeAfterChunks: Int?, hangUpAfter: Double?,
                             timeout: Double) throws -> RawHTTPResponse {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        request += "\r\n"
        var out = Data(request.utf8)
        if let body { out += body }
        try out.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = write(fd, raw.baseAddress! + sent, raw.count - sent)
                guard n > 0 else { throw RawHTTPError(description: "write failed: errno \(errno)") }
                sent += n
            }
        }
        if let hangUpAfter {
            Thread.sleep(forTimeInterval: hangUpAfter)
            return RawHTTPResponse(status: 0, headers: [:], chunks: [], arrivals: [], closedEarly: true)
        }
        let start = Date()
        let deadline = start.addingTimeInterval(timeout)
        var buffer = [UInt8]()
        var eof = false
        func fill() throws {
            guard !eof else { throw RawHTTPError(description: "connection closed mid-response") }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw RawHTTPError(description: "timed out after \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, 1) * 1000))
            if ready <= 0 { return }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { eof = true; return }
            buffer += chunk[0..<n]
        }
        func line() throws -> String {
            while true {
                if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let l = String(decoding: buffer[0..<i], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                    buffer.removeFirst(i + 1)
                    return l
                }
                try fill()
            }
        }
        func take(_ n: Int) throws -> Data {
            while buffer.count < n { try fill() }
            let d = Data(buffer[0..<n])
            buffer.removeFirst(n)
            return d
        }
        let statusLine = try line()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw RawHTTPError(description: "bad status line '\(statusLine)'") }
        var headers: [String: String] = [:]
        while true {
            let l = try line()
            if l.isEmpty { break }
            if let colon = l.firstIndex(of: ":") {
                headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        var chunks: [Data] = [], arrivals: [Double] = []
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try line()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw RawHTTPError(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 { break }
                chunks.append(try take(size))
                arrivals.append(Date().timeIntervalSince(start))
                _ = try line()
                if let stop = closeAfterChunks, chunks.count >= stop {
                    return RawHTTPResponse(status: status, headers: headers, chunks: chunks, arrivals: arrivals, closedEarly: true)
                }
            }
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            chunks.append(try take(length))
            arrivals.append(Date().timeIntervalSince(start))
        }
        return RawHTTPResponse(status: status, headers: headers, chunks: chunks, arrivals: arrivals, closedEarly: false)
    }

    /// Connects, sends `bytes` (an incomplete request head), then waits up to `wait` seconds for the
    /// server to close the connection. Returns the seconds until it did, or nil if it stayed open.
    static func secondsUntilClosed(port: Int, sending bytes: String, wait: Double) async throws -> Double? {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let fd = try connectLoopback(port: port)
                    defer { close(fd) }
                    let data = Array(bytes.utf8)
                    _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    let start = Date()
                    while Date().timeIntervalSince(start) < wait {
                        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        if poll(&pfd, 1, 100) > 0 {
                            var buf = [UInt8](repeating: 0, count: 4096)
                            if read(fd, &buf, buf.count) <= 0 { return Date().timeIntervalSince(start) }
                        }
                    }
                    return nil
                })
            }.start()
        }
    }

    /// A TCP socket connected to 127.0.0.1:`port` (the caller closes it).
    static func connectLoopback(port: Int) throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawHTTPError(description: "socket() failed: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw RawHTTPError(description: "connect to port \(port) failed: errno \(errno)")
        }
        return fd
    }
}
