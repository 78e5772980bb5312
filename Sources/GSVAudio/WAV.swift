import Foundation

/// Sample encodings a WAV file can hold.
public enum WAVSampleFormat: Sendable, Equatable {
    /// Integer PCM of 8 (unsigned), 16, 24 or 32 (signed) bits.
    case pcm(bits: Int)
    /// IEEE float of 32 or 64 bits.
    case float(bits: Int)

    /// Bytes per sample of one channel.
    public var bytesPerSample: Int {
        switch self {
        case let .pcm(bits), let .float(bits): return bits / 8
        }
    }
}

/// A decoded WAV file: interleaved samples scaled to [-1, 1] plus the header facts.
public struct WAVFile: Sendable, Equatable {
    /// Interleaved samples (`frame * channels + channel`), scaled to [-1, 1]
    /// (int PCM divided by 2^(bits-1); 8-bit is unsigned and offset by 128 first).
    public var interleaved: [Float]
    /// Number of channels (≥ 1).
    public var channels: Int
    /// Frames per second.
    public var sampleRate: Int
    /// How the samples were stored.
    public var format: WAVSampleFormat
    /// The LIST/INFO metadata entries (e.g. `"ICMT"`), if any.
    public var metadata: [String: String]

    /// Number of frames (samples per channel).
    public var frameCount: Int { channels > 0 ? interleaved.count / channels : 0 }

    /// The mono mix: the mean of the channels of every frame (what `librosa.load(mono=True)` and
    /// the official reference path `audio.mean(0)` compute).
    public var mono: AudioBuffer {
        if channels == 1 { return AudioBuffer(samples: interleaved, sampleRate: sampleRate) }
        let frames = frameCount
        var out = [Float](repeating: 0, count: frames)
        let scale = Float(channels)
        interleaved.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for f in 0..<frames {
                    var sum: Float = 0
                    let base = f * channels
                    for c in 0..<channels { sum += src[base + c] }
                    dst[f] = sum / scale
                }
            }
        }
        return AudioBuffer(samples: out, sampleRate: sampleRate)
    }
}

/// How float samples become 16-bit integers when writing PCM16.
public enum PCM16Conversion: Sendable, Equatable {
    /// `x * 32768`, truncated toward zero, then clamped to [-32768, 32767]. Identical to the
    /// official output for every sample in (-1, 1) and ≥ -1; an exact 1.0 becomes 32767
    /// instead of wrapping.
    case truncateClamp
    /// Bit-for-bit what the official `(audio * 32768).astype(np.int16)` yields on x86-64:
    /// `x * 32768` in float32, truncated toward zero to a 32-bit integer (out-of-range and NaN
    /// give Int32.min, as `cvttss2si` does), then the low 16 bits kept — so an exact 1.0 wraps
    /// to -32768. Use this only to reproduce official files exactly.
    case numpyWrap
    /// `x * 32767` rounded to nearest and clamped: symmetric, the conventional choice.
    case roundClamp

    /// Converts one sample.
    @inlinable
    public func convert(_ x: Float) -> Int16 {
        switch self {
        case .truncateClamp:
            let v = x * 32768
            if v.isNaN { return 0 }
            if v >= 32767 { return 32767 }
            if v <= -32768 { return -32768 }
            return Int16(v.rounded(.towardZero))
        case .numpyWrap:
            let v = x * 32768
            // cvttss2si: NaN or out of Int32 range → 0x80000000.
            guard v.isFinite, v >= -2_147_483_648, v < 2_147_483_648 else { return 0 }  // low 16 bits of 0x80000000
            return Int16(truncatingIfNeeded: Int32(v.rounded(.towardZero)))
        case .roundClamp:
            let v = (x * 32767).rounded()
            if v.isNaN { return 0 }
            return Int16(max(-32768, min(32767, v)))
        }
    }
}

/// How `WAV.encode` stores samples.
public enum WAVWriteFormat: Sendable, Equatable {
    /// 16-bit signed PCM with the given float-to-int conversion.
    case pcm16(PCM16Conversion)
    /// 32-bit IEEE float (format tag 3), samples written as given.
    case float32

    var formatTag: UInt16 {
        switch self {
        case .pcm16: return 1
        case .float32: return 3
        }
    }
    var bitsPerSample: Int {
        switch self {
        case .pcm16: return 16
        case .float32: return 32
        }
    }
}

/// WAV (RIFF/WAVE) reading and writing.
///
/// Reading accepts RIFF little-endian files (also RF64 and streaming headers whose sizes are 0 or
/// 0xFFFFFFFF: the data then runs to the end of the file), `fmt ` chunks of 14, 16, 18 or 40 bytes
/// including WAVE_FORMAT_EXTENSIBLE, odd-sized chunks with their pad byte, any unknown chunks, and
/// integer PCM of 8/16/24/32 bits or float of 32/64 bits with any number of channels. Declared sizes
/// are never trusted for allocation: only bytes actually present are read.
public enum WAV {
    /// Reads and decodes the WAV file at `path`.
    public static func read(path: String) throws -> WAVFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw AudioError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try decode(data, name: path)
    }

    /// Reads the WAV file at `path` as mono (channels averaged).
    public static func readMono(path: String) throws -> AudioBuffer {
        try read(path: path).mono
    }

    /// Whether `data` starts like a RIFF/RF64 WAVE file.
    public static func looksLikeWAV(_ data: Data) -> Bool {
        guard data.count >= 12 else { return false }
        let head = [UInt8](data.prefix(12))
        let riff = head[0] == 0x52 && head[1] == 0x49 && head[2] == 0x46 && head[3] == 0x46  // RIFF
        let rf64 = head[0] == 0x52 && head[1] == 0x46 && head[2] == 0x36 && head[3] == 0x34  // RF64
        let wave = head[8] == 0x57 && head[9] == 0x41 && head[10] == 0x56 && head[11] == 0x45
        return (riff || rf64) && wave
    }

    /// Decodes WAV bytes; `name` appears in error messages.
    public static func decode(_ data: Data, name: String = "<memory>") throws -> WAVFile {
        try data.withUnsafeBytes { raw in
            try decode(UnsafeRawBufferPointer(raw), name: name)
        }
    }

    private struct FormatChunk {
        var tag: UInt16
        var channels: Int
        var sampleRate: Int
        var blockAlign: Int
        var bits: Int
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, name: String) throws -> WAVFile {
        func fail(_ reason: String) -> AudioError { .invalidWAV(path: name, reason: reason) }
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 {
            UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        func tag(_ o: Int) -> String {
            String(decoding: (0..<4).map { bytes[o + $0] }, as: UTF8.self)
        }

        let total = bytes.count
        guard total >= 12 else { throw fail("file is \(total) bytes, shorter than a RIFF header (12)") }
        let magic = tag(0)
        if magic == "RIFX" { throw fail("big-endian RIFX files are not supported") }
        guard magic == "RIFF" || magic == "RF64" else {
            throw fail("does not start with RIFF (found \(magic.debugDescription))")
        }
        guard tag(8) == "WAVE" else { throw fail("RIFF form type is \(tag(8).debugDescription), not WAVE") }

        var format: FormatChunk?
        var dataRange: Range<Int>?
        var rf64DataSize: UInt64?
        var metadata: [String: String] = [:]
        var offset = 12
        while offset + 8 <= total {
            let id = tag(offset)
            let declared = u32(offset + 4)
            let bodyStart = offset + 8
            let remaining = total - bodyStart
            if id == "data" {
                var size: Int
                if let big = rf64DataSize, declared == 0xFFFF_FFFF {
                    size = big > UInt64(remaining) ? remaining : Int(big)
                    if big > UInt64(remaining) { throw fail("data chunk declares \(big) bytes but only \(remaining) remain (truncated)") }
                } else if declared == 0 || declared == 0xFFFF_FFFF {
                    size = remaining  // streaming header: data runs to the end
                } else if Int(declared) > remaining {
                    throw fail("data chunk declares \(declared) bytes but only \(remaining) remain (truncated)")
                } else {
                    size = Int(declared)
                }
                dataRange = bodyStart..<(bodyStart + size)
                if format != nil, dataRange != nil, size == remaining { break }
                offset = bodyStart + size + (size & 1)
                continue
            }
            guard Int(declared) <= remaining else {
                if id == "fmt " || id == "ds64" {
                    throw fail("\(id.debugDescription) chunk declares \(declared) bytes but only \(remaining) remain (truncated)")
                }
                break  // a truncated trailing chunk we do not need
            }
            let size = Int(declared)
            switch id {
            case "fmt ":
                guard size >= 14 else { throw fail("fmt chunk is \(size) bytes, need at least 14") }
                var tagValue = u16(bodyStart)
                let channels = Int(u16(bodyStart + 2))
                let rate = Int(u32(bodyStart + 4))
                let blockAlign = Int(u16(bodyStart + 12))
                var bits = size >= 16 ? Int(u16(bodyStart + 14)) : (channels > 0 ? blockAlign / channels * 8 : 0)
                if tagValue == 0xFFFE {
                    guard size >= 40 else { throw fail("WAVE_FORMAT_EXTENSIBLE fmt chunk is \(size) bytes, need 40") }
                    tagValue = u16(bodyStart + 24)  // first two bytes of the SubFormat GUID
                    if bits == 0 { bits = Int(u16(bodyStart + 18)) }
                }
                format = FormatChunk(tag: tagValue, channels: channels, sampleRate: rate, blockAlign: blockAlign, bits: bits)
            case "ds64":
                guard size >= 24 else { throw fail("ds64 chunk is \(size) bytes, need at least 24") }
                rf64DataSize = u64(bodyStart + 8)
            case "LIST":
                if size >= 4, tag(bodyStart) == "INFO" {
                    metadata = parseInfo(bytes, from: bodyStart + 4, to: bodyStart + size)
                }
            default:
                break
            }
            offset = bodyStart + size + (size & 1)
        }

        guard let fmt = format else { throw fail("no fmt chunk before the end of the file") }
        guard let range = dataRange else { throw fail("no data chunk") }
        guard fmt.channels > 0 else { throw fail("fmt chunk declares 0 channels") }
        guard fmt.channels <= 1024 else { throw fail("fmt chunk declares \(fmt.channels) channels (more than 1024)") }
        guard fmt.sampleRate > 0 else { throw fail("fmt chunk declares sample rate 0") }
        guard fmt.sampleRate <= AudioBuffer.maximumSampleRate else { throw fail("fmt chunk declares an absurd sample rate \(fmt.sampleRate)") }

        let sampleFormat: WAVSampleFormat
        switch (fmt.tag, fmt.bits) {
        case (1, 8), (1, 16), (1, 24), (1, 32): sampleFormat = .pcm(bits: fmt.bits)
        case (3, 32), (3, 64): sampleFormat = .float(bits: fmt.bits)
        case (1, _), (3, _): throw fail("unsupported bit depth \(fmt.bits) for format tag \(fmt.tag)")
        default: throw fail("unsupported format tag 0x\(String(fmt.tag, radix: 16)) (only PCM 1, IEEE float 3, extensible)")
        }
        let bytesPerSample = sampleFormat.bytesPerSample
        let frameBytes = bytesPerSample * fmt.channels
        if fmt.blockAlign != 0 && fmt.blockAlign != frameBytes {
            throw fail("block align \(fmt.blockAlign) does not match \(fmt.channels) channels × \(bytesPerSample) bytes")
        }
        let frames = range.count / frameBytes  // a trailing partial frame is ignored
        let count = frames * fmt.channels
        var out = [Float](repeating: 0, count: count)
        let base = range.lowerBound
        out.withUnsafeMutableBufferPointer { dst in
            switch sampleFormat {
            case .pcm(bits: 8):
                for i in 0..<count { dst[i] = (Float(bytes[base + i]) - 128) / 128 }
            case .pcm(bits: 16):
                for i in 0..<count {
                    let o = base + 2 * i
                    dst[i] = Float(Int16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)) / 32768
                }
            case .pcm(bits: 24):
                for i in 0..<count {
                    let o = base + 3 * i
                    let v = Int32(bitPattern: UInt32(bytes[o]) << 8 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 24) >> 8
                    dst[i] = Float(v) / 8_388_608
                }
            case .pcm(bits: _):
                for i in 0..<count {
                    dst[i] = Float(Double(Int32(bitPattern: u32(base + 4 * i))) / 2_147_483_648)
                }
            case .float(bits: 32):
                for i in 0..<count { dst[i] = Float(bitPattern: u32(base + 4 * i)) }
            case .float(bits: _):
                for i in 0..<count { dst[i] = Float(Double(bitPattern: u64(base + 8 * i))) }
            }
        }
        return WAVFile(interleaved: out, channels: fmt.channels, sampleRate: fmt.sampleRate, format: sampleFormat, metadata: metadata)
    }

    private static func parseInfo(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> [String: String] {
        var result: [String: String] = [:]
        var o = start
        while o + 8 <= end {
            let key = String(decoding: (0..<4).map { bytes[o + $0] }, as: UTF8.self)
            let size = Int(UInt32(bytes[o + 4]) | UInt32(bytes[o + 5]) << 8 | UInt32(bytes[o + 6]) << 16 | UInt32(bytes[o + 7]) << 24)
            let body = o + 8
            guard size <= end - body else { break }
            var text = Array(UnsafeRawBufferPointer(rebasing: bytes[body..<(body + size)]))
            while let last = text.last, last == 0 { text.removeLast() }
            result[key] = String(decoding: text, as: UTF8.self)
            o = body + size + (size & 1)
        }
        return result
    }

    // MARK: - Writing

    /// Encodes mono samples as a complete WAV file.
    ///
    /// - Parameters:
    ///   - samples: mono samples, nominally in [-1, 1].
    ///   - sampleRate: frames per second (1 … 10 000 000).
    ///   - format: `.pcm16(.truncateClamp)` (the official conversion without the 1.0 wrap) by default.
    ///   - metadata: LIST/INFO entries keyed by four-character ASCII ids, e.g.
    ///     `["ISFT": "swift-gpt-sovits", "ICMT": "AI-generated speech"]`.
    public static func encode(
        _ samples: [Float], sampleRate: Int, format: WAVWriteFormat = .pcm16(.truncateClamp),
        metadata: [String: String] = [:]
    ) throws -> Data {
        let info = try infoChunk(metadata)
        let dataBytes = samples.count * format.bitsPerSample / 8
        let riffSize = 4 + 24 + info.count + 8 + dataBytes + (dataBytes & 1)
        guard riffSize <= Int(UInt32.max) else {
            throw AudioError.invalidArgument("WAV too large: \(samples.count) samples exceed the 4 GiB RIFF limit")
        }
        var out = try header(sampleRate: sampleRate, format: format, dataBytes: dataBytes, infoChunk: info)
        out.append(encodeSamples(samples, format: format))
        if dataBytes & 1 == 1 { out.append(0) }
        return out
    }

    /// Writes mono samples to a WAV file at `path` (see `encode`).
    public static func write(
        _ samples: [Float], sampleRate: Int, to path: String, format: WAVWriteFormat = .pcm16(.truncateClamp),
        metadata: [String: String] = [:]
    ) throws {
        let data = try encode(samples, sampleRate: sampleRate, format: format, metadata: metadata)
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AudioError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// A mono WAV header. With `dataBytes == nil` the RIFF and data sizes are 0xFFFFFFFF — the
    /// streaming form for audio whose length is not known yet (readers then read to the end);
    /// follow it with `encodeSamples` chunks.
    public static func header(
        sampleRate: Int, format: WAVWriteFormat = .pcm16(.truncateClamp), dataBytes: Int? = nil,
        metadata: [String: String] = [:]
    ) throws -> Data {
        try header(sampleRate: sampleRate, format: format, dataBytes: dataBytes, infoChunk: infoChunk(metadata))
    }

    private static func header(sampleRate: Int, format: WAVWriteFormat, dataBytes: Int?, infoChunk: Data) throws -> Data {
        guard sampleRate > 0, sampleRate <= AudioBuffer.maximumSampleRate else {
            throw AudioError.invalidArgument("sample rate must be in 1…10000000, got \(sampleRate)")
        }
        let bytesPerSample = format.bitsPerSample / 8
        var out = Data()
        out.reserveCapacity(44 + infoChunk.count)
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: Array("RIFF".utf8))
        if let n = dataBytes {
            put32(UInt32(truncatingIfNeeded: 4 + 24 + infoChunk.count + 8 + n + (n & 1)))
        } else {
            put32(0xFFFF_FFFF)
        }
        out.append(contentsOf: Array("WAVEfmt ".utf8))
        put32(16)
        put16(format.formatTag)
        put16(1)
        put32(UInt32(sampleRate))
        put32(UInt32(sampleRate * bytesPerSample))
        put16(UInt16(bytesPerSample))
        put16(UInt16(format.bitsPerSample))
        out.append(infoChunk)
        out.append(contentsOf: Array("data".utf8))
        put32(dataBytes.map { UInt32(truncatingIfNeeded: $0) } ?? 0xFFFF_FFFF)
        return out
    }

    /// The sample bytes of `samples` in `format` (little-endian), without any header.
    public static func encodeSamples(_ samples: [Float], format: WAVWriteFormat) -> Data {
        switch format {
        case let .pcm16(conversion):
            var bytes = [UInt8](repeating: 0, count: samples.count * 2)
            for (i, s) in samples.enumerated() {
                let v = UInt16(bitPattern: conversion.convert(s))
                bytes[2 * i] = UInt8(v & 0xFF)
                bytes[2 * i + 1] = UInt8(v >> 8)
            }
            return Data(bytes)
        case .float32:
            var bytes = [UInt8](repeating: 0, count: samples.count * 4)
            for (i, s) in samples.enumerated() {
                let v = s.bitPattern
                bytes[4 * i] = UInt8(v & 0xFF)
                bytes[4 * i + 1] = UInt8((v >> 8) & 0xFF)
                bytes[4 * i + 2] = UInt8((v >> 16) & 0xFF)
                bytes[4 * i + 3] = UInt8(v >> 24)
            }
            return Data(bytes)
        }
    }

    /// The LIST/INFO chunk for `metadata` (empty data when there is none). Keys must be four
    /// printable ASCII characters; values are stored as UTF-8, NUL-terminated, padded to even size.
    static func infoChunk(_ metadata: [String: String]) throws -> Data {
        guard !metadata.isEmpty else { return Data() }
        var body = Data(Array("INFO".utf8))
        for key in metadata.keys.sorted() {
            let keyBytes = Array(key.utf8)
            guard keyBytes.count == 4, keyBytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw AudioError.invalidArgument("WAV INFO key \(key.debugDescription) must be 4 printable ASCII characters (e.g. ICMT, ISFT)")
            }
            let value = Array((metadata[key] ?? "").utf8).filter { $0 != 0 } + [0]
            guard value.count < 1 << 24 else { throw AudioError.invalidArgument("WAV INFO value for \(key) is too long") }
            body.append(contentsOf: keyBytes)
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { body.append(contentsOf: $0) }
            body.append(contentsOf: value)
            if value.count & 1 == 1 { body.append(0) }
        }
        var chunk = Data(Array("LIST".utf8))
        withUnsafeBytes(of: UInt32(body.count).littleEndian) { chunk.append(contentsOf: $0) }
        chunk.append(body)
        return chunk
    }
}
