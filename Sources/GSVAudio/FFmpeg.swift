import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Audio formats `FFmpeg.encode` can produce.
public enum EncodedAudioFormat: String, Sendable, CaseIterable, Codable {
    /// 16-bit PCM WAV.
    case wav
    /// FLAC (lossless).
    case flac
    /// MP3 (libmp3lame).
    case mp3
    /// Ogg Vorbis (libvorbis).
    case ogg
    /// AAC in an ADTS stream (the official api_v2 `aac` media type).
    case aac
    /// Opus in Ogg (libopus; encoded at 48 kHz, the rate Opus is defined at).
    case opus

    /// The MIME type to serve the bytes with.
    public var mimeType: String {
        switch self {
        case .wav: return "audio/wav"
        case .flac: return "audio/flac"
        case .mp3: return "audio/mpeg"
        case .ogg: return "audio/ogg"
        case .aac: return "audio/aac"
        case .opus: return "audio/ogg; codecs=opus"
        }
    }

    /// ffmpeg output arguments (codec, bitrate, container) for this format.
    func outputArguments(bitrate: Int?) -> [String] {
        var args: [String]
        switch self {
        case .wav: args = ["-c:a", "pcm_s16le", "-f", "wav"]
        case .flac: args = ["-c:a", "flac", "-f", "flac"]
        case .mp3: args = ["-c:a", "libmp3lame", "-f", "mp3"]
        case .ogg: args = ["-c:a", "libvorbis", "-f", "ogg"]
        case .aac: args = ["-c:a", "aac", "-f", "adts"]
        case .opus: args = ["-c:a", "libopus", "-ar", "48000", "-f", "ogg"]
        }
        if let bitrate, self != .wav, self != .flac { args += ["-b:a", String(bitrate)] }
        return args
    }
}

/// Decoding and encoding through the `ffmpeg` command-line tool.
///
/// Inputs are opened as plain files (`file:` prefix, protocol whitelist `file`) or read from stdin
/// (whitelist `pipe`), so a user-supplied name can never make ffmpeg fetch a URL. The synchronous
/// calls block until ffmpeg exits; from async code the `async` overloads run them off the
/// cooperative pool.
///
/// ffmpeg is found through the `GSV_FFMPEG` environment variable (a path) or else the `PATH`;
/// when it is absent every call throws `AudioError.ffmpegMissing`. Audio crosses the pipe as raw
/// float32, so no quality is lost in transit. Writing to a pipe whose reader has exited would raise
/// SIGPIPE; the first use therefore sets SIGPIPE to be ignored process-wide (a write then fails
/// with an error instead of killing the process).
public enum FFmpeg {
    static let logger = Logger(label: "GSVAudio.FFmpeg")

    /// The ffmpeg executable, or nil when it cannot be found.
    public static func executable() -> URL? {
        executable(environment: ProcessInfo.processInfo.environment)
    }

    /// The ffmpeg executable named by `environment` (`GSV_FFMPEG`, else a `PATH` search), or nil.
    public static func executable(environment env: [String: String]) -> URL? {
        let fm = FileManager.default
        if let custom = env["GSV_FFMPEG"], !custom.isEmpty {
            return fm.isExecutableFile(atPath: custom) ? URL(fileURLWithPath: custom) : nil
        }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("ffmpeg")
            if fm.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Whether ffmpeg can be used.
    public static var isAvailable: Bool { executable() != nil }

    /// The ffmpeg executable, or `AudioError.ffmpegMissing(path: name)` when there is none.
    public static func requireExecutable(for name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        guard let exe = executable(environment: environment) else { throw AudioError.ffmpegMissing(path: name) }
        return exe
    }

    /// Decodes the first audio stream of any file ffmpeg understands (audio or video) to mono
    /// float samples: channels are averaged by us (not by ffmpeg's downmix matrix), and when
    /// `sampleRate` is given the result is resampled with `KaiserResampler`.
    public static func decode(path: String, sampleRate: Int? = nil) throws -> AudioBuffer {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AudioError.unreadable(path: path, reason: "no such file")
        }
        return try decode(input: .file(path), name: path, sampleRate: sampleRate)
    }

    /// Decodes like the official `tools/my_utils.py: load_audio(file, sr)`: ffmpeg itself mixes the
    /// channels down and resamples (`-ac 1 -ar <sampleRate>`, float32 output), so the samples equal
    /// the official ones for the same ffmpeg build. Used where results must match the official
    /// dataset tools (slicing, formatting); other paths use ``decode(path:sampleRate:)``.
    public static func decodeLikeOfficial(path: String, sampleRate: Int) throws -> AudioBuffer {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AudioError.unreadable(path: path, reason: "no such file")
        }
        return try decode(input: .file(path), name: path, sampleRate: sampleRate, ffmpegResamples: true)
    }

    /// Decodes encoded audio held in memory (fed to ffmpeg on stdin); `name` appears in errors.
    public static func decode(data: Data, name: String = "<memory>", sampleRate: Int? = nil) throws -> AudioBuffer {
        try decode(input: .bytes(data), name: name, sampleRate: sampleRate)
    }

    private enum Input { case file(String), bytes(Data) }

    private static func decode(input: Input, name: String, sampleRate: Int?, ffmpegResamples: Bool = false) throws -> AudioBuffer {
        if let sampleRate, sampleRate <= 0 || sampleRate > AudioBuffer.maximumSampleRate {
            throw AudioError.invalidArgument("sample rate must be in 1…10000000, got \(sampleRate)")
        }
        let exe = try requireExecutable(for: name)
        var args = ["-nostdin", "-hide_banner", "-loglevel", "error"]
        let stdin: Data?
        switch input {
        case let .file(path):
            // "file:" keeps ffmpeg from reading the name as a protocol URL (http:, concat:, …),
            // and the whitelist stops playlists inside the file from reaching out.
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            args += ["-protocol_whitelist", "file", "-i", "file:" + absolute]
            stdin = nil
        case let .bytes(data):
            args = ["-hide_banner", "-loglevel", "error", "-protocol_whitelist", "pipe", "-i", "pipe:0"]
            stdin = data
        }
        args += ["-map", "0:a:0", "-vn", "-sn", "-dn"]
        if ffmpegResamples, let sampleRate { args += ["-ac", "1", "-ar", String(sampleRate)] }
        args += ["-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
        let result = try run(exe, args, stdin: stdin, name: name)
        guard result.status == 0 else {
            throw AudioError.ffmpegFailed(path: name, status: result.status, message: result.stderrText)
        }
        let wav: WAVFile
        do {
            wav = try WAV.decode(result.stdout, name: name)
        } catch {
            throw AudioError.ffmpegFailed(path: name, status: result.status, message: "unexpected ffmpeg output: \(error.localizedDescription)")
        }
        let mono = wav.mono
        if let sampleRate, !ffmpegResamples { return try mono.resampled(to: sampleRate) }
        return mono
    }

    /// Encodes mono samples into `format`, returning the complete file bytes.
    ///
    /// - Parameters:
    ///   - bitrate: bits per second for the lossy formats (ffmpeg's default when nil).
    ///   - metadata: container tags (e.g. `["comment": "AI-generated"]`), passed as `-metadata`.
    public static func encode(
        _ samples: [Float], sampleRate: Int, format: EncodedAudioFormat, bitrate: Int? = nil,
        metadata: [String: String] = [:]
    ) throws -> Data {
        let exe = try requireExecutable(for: "<\(format.rawValue) encoder>")
        let args = try encoderArguments(sampleRate: sampleRate, format: format, bitrate: bitrate, metadata: metadata)
        let result = try run(exe, args, stdin: floatBytes(samples), name: "<\(format.rawValue) encoder>")
        guard result.status == 0 else {
            throw AudioError.ffmpegFailed(path: "<\(format.rawValue) encoder>", status: result.status, message: result.stderrText)
        }
        return result.stdout
    }

    static func encoderArguments(sampleRate: Int, format: EncodedAudioFormat, bitrate: Int?, metadata: [String: String]) throws -> [String] {
        guard sampleRate > 0, sampleRate <= AudioBuffer.maximumSampleRate else {
            throw AudioError.invalidArgument("sample rate must be in 1…10000000, got \(sampleRate)")
        }
        if let bitrate, bitrate <= 0 { throw AudioError.invalidArgument("bitrate must be positive, got \(bitrate)") }
        var args = ["-hide_banner", "-loglevel", "error", "-protocol_whitelist", "pipe", "-f", "f32le", "-ar", String(sampleRate), "-ac", "1", "-i", "pipe:0"]
        for key in metadata.keys.sorted() {
            guard !key.isEmpty, !key.contains("="), let value = metadata[key] else {
                throw AudioError.invalidArgument("metadata key \(key.debugDescription) must be non-empty and contain no '='")
            }
            args += ["-metadata", "\(key)=\(value)"]
        }
        return args + format.outputArguments(bitrate: bitrate) + ["pipe:1"]
    }

    static func floatBytes(_ samples: [Float]) -> Data {
        var data = Data(count: samples.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, s) in samples.enumerated() {
                raw.storeBytes(of: s.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
        return data
    }

    // MARK: - Async forms

    /// `decode(path:sampleRate:)` run on a background queue, so a Swift concurrency caller does not
    /// block a cooperative thread while ffmpeg runs.
    public static func decode(path: String, sampleRate: Int? = nil) async throws -> AudioBuffer {
        try await background { try decode(path: path, sampleRate: sampleRate) }
    }

    /// `decode(data:name:sampleRate:)` run on a background queue.
    public static func decode(data: Data, name: String = "<memory>", sampleRate: Int? = nil) async throws -> AudioBuffer {
        try await background { try decode(data: data, name: name, sampleRate: sampleRate) }
    }

    /// `encode(_:sampleRate:format:bitrate:metadata:)` run on a background queue.
    public static func encode(
        _ samples: [Float], sampleRate: Int, format: EncodedAudioFormat, bitrate: Int? = nil,
        metadata: [String: String] = [:]
    ) async throws -> Data {
        try await background { try encode(samples, sampleRate: sampleRate, format: format, bitrate: bitrate, metadata: metadata) }
    }

    private static func background<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    // MARK: - Process plumbing

    struct RunResult {
        var status: Int32
        var stdout: Data
        var stderr: Data
        var stderrText: String {
            let text = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? "(no message)" : String(text.suffix(2000))
        }
    }

    static let ignoreSIGPIPE: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Runs `exe args`, feeding `stdin` and collecting stdout/stderr concurrently (no pipe deadlock).
    static func run(_ exe: URL, _ args: [String], stdin: Data?, name: String) throws -> RunResult {
        _ = ignoreSIGPIPE
        let process = Process()
        process.executableURL = exe
        process.arguments = args
        let outPipe = Pipe(), errPipe = Pipe()
        let inPipe: Pipe? = stdin == nil ? nil : Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe ?? FileHandle.nullDevice
        logger.debug("running ffmpeg", metadata: ["args": "\(args.joined(separator: " "))"])
        do {
            try process.run()
        } catch {
            throw AudioError.ffmpegFailed(path: name, status: -1, message: "cannot start \(exe.path): \(error.localizedDescription)")
        }
        let group = DispatchGroup()
        let errBox = DataBox()
        let errHandle = errPipe.fileHandleForReading
        group.enter()
        DispatchQueue.global().async {
            errBox.set(errHandle.readDataToEndOfFile())
            group.leave()
        }
        if let stdin, let inPipe {
            let writer = inPipe.fileHandleForWriting
            group.enter()
            DispatchQueue.global().async {
                // A write error means ffmpeg stopped reading; its exit status and stderr explain why.
                try? writer.write(contentsOf: stdin)
                try? writer.close()
                group.leave()
            }
        }
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RunResult(status: process.terminationStatus, stdout: out, stderr: errBox.get())
    }
}

/// A lock-protected byte buffer shared between a reader thread and its owner.
final class DataBox: @unchecked Sendable {
    // @unchecked: every access to `data` goes through `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A streaming ffmpeg encoder: push PCM as it is synthesised, receive encoded bytes as ffmpeg
/// produces them (e.g. to stream an HTTP response).
///
/// ```swift
/// let encoder = try FFmpegEncoder(sampleRate: 32000, format: .mp3)
/// Task { for try await chunk in encoder.output { send(chunk) } }
/// try encoder.write(fragment1); try encoder.write(fragment2)
/// try encoder.finish()
/// ```
public final class FFmpegEncoder: @unchecked Sendable {
    // @unchecked: `process` and the pipes are created in `init` and never reassigned; `write` and
    // `finish` serialise on `lock`; the reader thread only touches the stdout handle and the
    // stream continuation (which is thread-safe).
    private let process: Process
    private let stdin: FileHandle
    private let lock = NSLock()
    private var finished = false
    private let errBox = DataBox()
    private let done = DispatchGroup()
    /// The format being produced.
    public let format: EncodedAudioFormat
    /// Encoded bytes in order; finishes after `finish()` once ffmpeg exits (throwing
    /// `AudioError.ffmpegFailed` if it failed).
    public let output: AsyncThrowingStream<Data, Error>

    /// Starts ffmpeg for mono `sampleRate` input.
    public init(sampleRate: Int, format: EncodedAudioFormat, bitrate: Int? = nil, metadata: [String: String] = [:]) throws {
        let name = "<\(format.rawValue) encoder>"
        let exe = try FFmpeg.requireExecutable(for: name)
        var args = try FFmpeg.encoderArguments(sampleRate: sampleRate, format: format, bitrate: bitrate, metadata: metadata)
        // Streaming: start encoding without probing the input first (ffmpeg would wait for more
        // data), hand every muxed packet to the pipe at once (else up to 32 KiB stay buffered),
        // and close Ogg pages every 20 ms instead of every second.
        args.insert(contentsOf: ["-probesize", "32", "-analyzeduration", "0"], at: 0)
        var output = ["-flush_packets", "1"]
        if format == .ogg || format == .opus { output += ["-page_duration", "20000"] }
        args.insert(contentsOf: output, at: args.count - 1)
        _ = FFmpeg.ignoreSIGPIPE
        self.format = format
        let process = Process()
        process.executableURL = exe
        process.arguments = args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        do {
            try process.run()
        } catch {
            throw AudioError.ffmpegFailed(path: name, status: -1, message: "cannot start \(exe.path): \(error.localizedDescription)")
        }
        self.process = process
        self.stdin = inPipe.fileHandleForWriting
        let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        self.output = stream
        let errBox = self.errBox
        let errHandle = errPipe.fileHandleForReading
        let outHandle = outPipe.fileHandleForReading
        let done = self.done
        done.enter()
        DispatchQueue.global().async {
            errBox.set(errHandle.readDataToEndOfFile())
            done.leave()
        }
        done.enter()
        DispatchQueue.global().async {
            while true {
                let chunk = outHandle.availableData
                if chunk.isEmpty { break }
                continuation.yield(chunk)
            }
            done.leave()
            done.notify(queue: .global()) {
                process.waitUntilExit()
                let status = process.terminationStatus
                if status == 0 {
                    continuation.finish()
                } else {
                    let text = String(decoding: errBox.get(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    continuation.finish(throwing: AudioError.ffmpegFailed(path: name, status: status, message: text))
                }
            }
        }
    }

    /// Sends mono samples to the encoder.
    public func write(_ samples: [Float]) throws {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { throw AudioError.invalidArgument("FFmpegEncoder.write after finish()") }
        do {
            try stdin.write(contentsOf: FFmpeg.floatBytes(samples))
        } catch {
            throw AudioError.ffmpegFailed(path: "<\(format.rawValue) encoder>", status: -1, message: "ffmpeg stopped accepting input: \(error.localizedDescription)")
        }
    }

    /// Ends the input; `output` finishes once ffmpeg has flushed and exited.
    public func finish() throws {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        try? stdin.close()
    }

    /// Convenience: ends the input and waits for all remaining bytes.
    public func finishAndCollect() async throws -> Data {
        try finish()
        var all = Data()
        for try await chunk in output { all.append(chunk) }
        return all
    }

    deinit {
        if !finished { try? stdin.close() }
    }
}

/// Loads audio from any path: WAV natively, everything else through ffmpeg.
public enum AudioLoader {
    /// Loads `path` as mono; resampled with `KaiserResampler` when `sampleRate` is given.
    ///
    /// WAV files (detected by their header, not their name) are decoded without ffmpeg; other
    /// files need ffmpeg and raise `AudioError.ffmpegMissing` when it is not installed.
    public static func load(path: String, sampleRate: Int? = nil) throws -> AudioBuffer {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw AudioError.unreadable(path: path, reason: "it is a folder, not an audio file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw AudioError.unreadable(path: path, reason: error.localizedDescription)
        }
        if WAV.looksLikeWAV(data) {
            do {
                let mono = try WAV.decode(data, name: path).mono
                if let sampleRate { return try mono.resampled(to: sampleRate) }
                return mono
            } catch let AudioError.invalidWAV(_, reason) where reason.hasPrefix("unsupported") && FFmpeg.isAvailable {
                // A WAV with an encoding we do not decode ourselves (ADPCM, µ-law, …): let ffmpeg try.
                FFmpeg.logger.debug("falling back to ffmpeg", metadata: ["path": "\(path)", "reason": "\(reason)"])
            }
        }
        return try FFmpeg.decode(path: path, sampleRate: sampleRate)
    }
}
