// The one place synthesized audio becomes output bytes: for the CLI, the server and streaming. The
// framings follow api_v2.py: pack_wav / pack_raw / pack_ogg / pack_aac (whole files, and per chunk
// when streaming) and wave_header_chunk (a WAV header before streamed PCM); there is no official
// counterpart for the continuous ffmpeg stream or for finishing a streamed WAV file.

import Foundation

/// A delivery format of synthesized audio.
public enum AudioOutputFormat: Sendable, Hashable {
    /// 16-bit PCM WAV, written natively (streamed: a header with unknown sizes, then PCM).
    case wav
    /// 16-bit little-endian PCM samples, no header.
    case raw
    /// A compressed or other container format, through ffmpeg.
    case encoded(EncodedAudioFormat)

    /// Every format, by its name: `wav`, `raw`, then ffmpeg's `flac`, `mp3`, `ogg`, `aac`, `opus`.
    public static let all: [AudioOutputFormat] = [.wav, .raw] + EncodedAudioFormat.allCases.filter { $0 != .wav }.map { .encoded($0) }

    /// The format called `name` (case-insensitive: `wav`, `raw`, `flac`, `mp3`, `ogg`, `aac`, `opus`);
    /// nil when unknown.
    public init?(name: String) {
        guard let f = Self.all.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = f
    }

    /// The format's name (also its usual file extension, except `raw`).
    public var name: String {
        switch self {
        case .wav: return "wav"
        case .raw: return "raw"
        case let .encoded(f): return f.rawValue
        }
    }

    /// The MIME type to serve the bytes with.
    public var mimeType: String {
        switch self {
        case .wav: return "audio/wav"
        case .raw: return "audio/pcm"
        case let .encoded(f): return f.mimeType
        }
    }

    /// Whether ffmpeg is needed to produce it.
    public var needsFFmpeg: Bool {
        if case .encoded = self { return true }
        return false
    }
}

/// Descriptive tags stored in the output (WAV LIST/INFO chunk, or the container tags ffmpeg writes).
public struct AudioMetadata: Sendable, Equatable {
    /// A comment (WAV `ICMT`, ffmpeg `comment`).
    public var comment: String?
    /// The software that made the audio (WAV `ISFT`, ffmpeg `encoder`).
    public var software: String?

    /// Tags; none by default.
    public init(comment: String? = nil, software: String? = nil) {
        self.comment = comment
        self.software = software
    }

    /// The tags of everything this package synthesises (the CLI's files, the studio's downloads):
    /// it is AI-generated speech, and which software made it.
    public static let aiGenerated = AudioMetadata(
        comment: "AI-generated speech (synthesised with swift-gpt-sovits, a GPT-SoVITS implementation)", software: "swift-gpt-sovits")

    /// The WAV INFO entries.
    var wavInfo: [String: String] {
        var m: [String: String] = [:]
        if let comment { m["ICMT"] = comment }
        if let software { m["ISFT"] = software }
        return m
    }

    /// The ffmpeg `-metadata` entries.
    var ffmpegTags: [String: String] {
        var m: [String: String] = [:]
        if let comment { m["comment"] = comment }
        if let software { m["encoder"] = software }
        return m
    }
}

/// Encodes mono float audio (nominally in [-1, 1]) into one output format, as one whole file.
///
/// WAV and raw PCM are written natively as 16-bit samples with the official conversion
/// (`x · 32768` truncated, clamped; see ``PCM16Conversion/truncateClamp``); the other formats go
/// through ffmpeg (``FFmpeg/encode(_:sampleRate:format:bitrate:metadata:)``). For audio that arrives
/// in pieces, see ``AudioStreamEncoder``.
public struct AudioEncoder: Sendable, Equatable {
    /// The format produced.
    public var format: AudioOutputFormat
    /// Tags written into the file (raw PCM has nowhere to keep them).
    public var metadata: AudioMetadata
    /// Bits per second for the lossy ffmpeg formats (ffmpeg's default when nil).
    public var bitrate: Int?

    /// An encoder for `format`.
    public init(format: AudioOutputFormat, metadata: AudioMetadata = AudioMetadata(), bitrate: Int? = nil) {
        self.format = format
        self.metadata = metadata
        self.bitrate = bitrate
    }

    /// The 16-bit sample conversion of the native formats.
    static let pcm16 = WAVWriteFormat.pcm16(.truncateClamp)

    /// The complete file for `samples` at `sampleRate`.
    /// - Throws: `AudioError.invalidArgument` for a bad rate or tag, `AudioError.ffmpegMissing` /
    ///   `.ffmpegFailed` for the ffmpeg formats.
    public func encode(_ samples: [Float], sampleRate: Int) throws -> Data {
        switch format {
        case .wav, .raw: return try encodeNatively(samples, sampleRate: sampleRate)
        case let .encoded(f):
            return try FFmpeg.encode(samples, sampleRate: sampleRate, format: f, bitrate: bitrate, metadata: metadata.ffmpegTags)
        }
    }

    /// ``encode(_:sampleRate:)`` off the cooperative thread pool when it needs ffmpeg.
    public func encode(_ samples: [Float], sampleRate: Int) async throws -> Data {
        switch format {
        case .wav, .raw: return try encodeNatively(samples, sampleRate: sampleRate)
        case let .encoded(f):
            return try await FFmpeg.encode(samples, sampleRate: sampleRate, format: f, bitrate: bitrate, metadata: metadata.ffmpegTags)
        }
    }

    /// WAV or raw PCM, written here.
    private func encodeNatively(_ samples: [Float], sampleRate: Int) throws -> Data {
        if format == .wav { return try WAV.encode(samples, sampleRate: sampleRate, format: Self.pcm16, metadata: metadata.wavInfo) }
        return WAV.encodeSamples(samples, format: Self.pcm16)
    }
}

/// Encodes audio that arrives chunk by chunk (as it is synthesized) into the bytes to send or write
/// at once.
///
/// - `.continuous` packaging makes one file: WAV is a header with unknown sizes (0xFFFFFFFF, which
///   readers take as "to the end") followed by 16-bit PCM per chunk — a seekable file is finished
///   by overwriting the header with ``finishedWAVHeader()``; raw is 16-bit PCM per chunk,
///   optionally resampled on the way (one resampler across chunks, so the stream equals the
///   resampled whole); the ffmpeg formats feed one long-running ffmpeg whose bytes arrive on
///   ``ffmpegOutput`` as it produces them.
/// - `.filePerChunk` packaging (api_v2 streaming `ogg`/`aac`) makes every chunk a complete file.
///
/// Used from one task at a time.
public final class AudioStreamEncoder: @unchecked Sendable {
    // @unchecked: the mutable state (resampler, counters) is touched by the one task that calls
    // encode/finish; the ffmpeg encoder is itself thread-safe.

    /// How the chunks are packaged.
    public enum Packaging: Sendable, Equatable {
        /// One continuous stream (one file).
        case continuous
        /// Every chunk a complete file of its own.
        case filePerChunk
    }

    /// The whole-file encoder (format, tags, bitrate).
    public let encoder: AudioEncoder
    /// How chunks are packaged.
    public let packaging: Packaging
    /// The rate of the incoming samples.
    public let sampleRate: Int
    /// The rate of the output (`sampleRate` unless raw PCM is resampled).
    public let outputSampleRate: Int
    /// For continuous ffmpeg formats, the encoded bytes in order as ffmpeg produces them (finishes
    /// after ``finish()``); nil for the others, whose bytes ``encode(_:)`` and ``finish()`` return.
    public let ffmpegOutput: AsyncThrowingStream<Data, Error>?

    private let ffmpeg: FFmpegEncoder?
    private var resampler: StreamingResampler?
    private var started = false
    /// Sample bytes written after the WAV header.
    public private(set) var dataBytes = 0

    /// A stream encoder for chunks at `sampleRate`.
    /// - Parameter resampleTo: an output rate for continuous raw PCM (the OpenAI `pcm` format is
    ///   24 kHz); not supported for the other formats.
    /// - Throws: `AudioError.invalidArgument` for a bad rate or combination; ffmpeg errors when it
    ///   cannot start.
    public init(encoder: AudioEncoder, packaging: Packaging = .continuous, sampleRate: Int, resampleTo: Int? = nil) throws {
        guard sampleRate > 0, sampleRate <= AudioBuffer.maximumSampleRate else {
            throw AudioError.invalidArgument("sample rate must be in 1…10000000, got \(sampleRate)")
        }
        self.encoder = encoder
        self.packaging = packaging
        self.sampleRate = sampleRate
        if let target = resampleTo, target != sampleRate {
            guard encoder.format == .raw, packaging == .continuous else {
                throw AudioError.invalidArgument("only continuous raw PCM can be resampled while streaming (format \(encoder.format.name))")
            }
            resampler = try StreamingResampler(from: sampleRate, to: target)
            outputSampleRate = target
        } else {
            outputSampleRate = sampleRate
        }
        if case let .encoded(f) = encoder.format, packaging == .continuous {
            let e = try FFmpegEncoder(sampleRate: sampleRate, format: f, bitrate: encoder.bitrate, metadata: encoder.metadata.ffmpegTags)
            ffmpeg = e
            ffmpegOutput = e.output
        } else {
            ffmpeg = nil
            ffmpegOutput = nil
        }
    }

    /// The bytes for the next chunk, in order (empty when nothing is due yet; for continuous ffmpeg
    /// formats the bytes come on ``ffmpegOutput`` instead). Blocks while ffmpeg works (a per-chunk
    /// file, or a full pipe): from async code run it where blocking work belongs.
    public func encode(_ samples: [Float]) throws -> [Data] {
        defer { started = true }
        switch (encoder.format, packaging) {
        case (.wav, .continuous):
            let pcm = pcmBytes(samples)
            return started ? [pcm] : [try WAV.header(sampleRate: sampleRate, format: AudioEncoder.pcm16, dataBytes: nil,
                                                     metadata: encoder.metadata.wavInfo), pcm]
        case (.raw, .continuous):
            let out = resampler?.push(samples) ?? samples
            return out.isEmpty ? [] : [pcmBytes(out)]
        case (.encoded, .continuous):
            try ffmpeg?.write(samples)
            return []
        case (_, .filePerChunk):
            return [try encoder.encode(samples, sampleRate: sampleRate)]
        }
    }

    /// The bytes after the last chunk (the resampler's tail), and the end of ffmpeg's input.
    public func finish() throws -> [Data] {
        try ffmpeg?.finish()
        guard var r = resampler else { return [] }
        let tail = r.finish()
        resampler = r
        return tail.isEmpty ? [] : [pcmBytes(tail)]
    }

    /// Ends ffmpeg's input after a failure (nothing else to do for the other formats).
    public func abandon() {
        try? ffmpeg?.finish()
    }

    /// For a continuous WAV stream: the header with the exact sizes of everything encoded so far,
    /// the same length as the streamed one — written over the start of a finished seekable file it
    /// makes the file ``AudioEncoder/encode(_:sampleRate:)`` would have written. Nil for the other
    /// formats.
    public func finishedWAVHeader() throws -> Data? {
        guard encoder.format == .wav, packaging == .continuous else { return nil }
        return try WAV.header(sampleRate: sampleRate, format: AudioEncoder.pcm16, dataBytes: dataBytes,
                              metadata: encoder.metadata.wavInfo)
    }

    private func pcmBytes(_ samples: [Float]) -> Data {
        let data = WAV.encodeSamples(samples, format: AudioEncoder.pcm16)
        dataBytes += data.count
        return data
    }
}
