import Foundation
import GSVAudio
import GSVTestSupport
import Testing

/// Builds WAV bytes by hand so the reader is tested against the format, not against our writer.
struct WAVBuilder {
    var chunks: [(String, [UInt8])] = []
    var riffSize: UInt32?
    var magic = "RIFF"

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }

    static func fmt(tag: Int, channels: Int, rate: Int, bits: Int, extensibleSubformat: Int? = nil) -> [UInt8] {
        let block = channels * bits / 8
        var b = le16(extensibleSubformat == nil ? tag : 0xFFFE) + le16(channels) + le32(UInt32(rate))
            + le32(UInt32(rate * block)) + le16(block) + le16(bits)
        if let sub = extensibleSubformat {
            b += le16(22) + le16(bits) + le32(0)  // cbSize, valid bits, channel mask
            b += le16(sub) + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        }
        return b
    }

    /// Chunk bytes; `declaredSize` overrides the size field (body bytes are still written as given).
    func bytes(declaredSizes: [String: UInt32] = [:]) -> Data {
        var body: [UInt8] = Array("WAVE".utf8)
        for (id, payload) in chunks {
            body += Array(id.utf8) + Self.le32(declaredSizes[id] ?? UInt32(payload.count)) + payload
            if payload.count % 2 == 1 { body.append(0) }
        }
        return Data(Array(magic.utf8) + Self.le32(riffSize ?? UInt32(body.count)) + body)
    }
}

@Suite("WAV reading and writing")
struct WAVTests {
    @Test("16-bit PCM mono decodes as int16 / 32768")
    func pcm16() throws {
        let values: [Int16] = [0, 1, -1, 32767, -32768, 16384]
        let data = values.flatMap { WAVBuilder.le16(Int(UInt16(bitPattern: $0))) }
        let wav = WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 22050, bits: 16)), ("data", data)]).bytes()
        let file = try WAV.decode(wav)
        #expect(file.sampleRate == 22050 && file.channels == 1 && file.format == .pcm(bits: 16))
        #expect(file.interleaved == values.map { Float($0) / 32768 })
    }

    @Test("8-bit unsigned, 24-bit and 32-bit PCM, float32 and float64 decode to the right values")
    func otherDepths() throws {
        let u8 = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 8000, bits: 8)), ("data", [0, 128, 255])]).bytes())
        #expect(u8.interleaved == [-1, 0, 127.0 / 128])
        // 24-bit: 0x7FFFFF, 0x800000, 0x000001 (little-endian)
        let s24 = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 8000, bits: 24)),
                                                     ("data", [0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00])]).bytes())
        #expect(s24.interleaved == [Float(8_388_607) / 8_388_608, -1, 1 / 8_388_608])
        let s32 = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 8000, bits: 32)),
                                                     ("data", WAVBuilder.le32(0x8000_0000) + WAVBuilder.le32(0x4000_0000))]).bytes())
        #expect(s32.interleaved == [-1, 0.5])
        let f32 = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 3, channels: 1, rate: 8000, bits: 32)),
                                                     ("data", WAVBuilder.le32(Float(0.25).bitPattern) + WAVBuilder.le32(Float(-1.5).bitPattern))]).bytes())
        #expect(f32.interleaved == [0.25, -1.5])
        #expect(f32.format == .float(bits: 32))
        let d = Double(-0.125).bitPattern
        let f64 = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 3, channels: 1, rate: 8000, bits: 64)),
                                                     ("data", WAVBuilder.le32(UInt32(d & 0xFFFF_FFFF)) + WAVBuilder.le32(UInt32(d >> 32)))]).bytes())
        #expect(f64.interleaved == [-0.125])
    }

    @Test("multi-channel audio is mixed to mono by averaging the channels")
    func stereoMean() throws {
        // frames: (0.5, -0.25), (1.0, 1.0) in float32; 3 channels for the extensible case
        let stereo = [Float(0.5), -0.25, 1, 1].flatMap { WAVBuilder.le32($0.bitPattern) }
        let file = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 3, channels: 2, rate: 44100, bits: 32)), ("data", stereo)]).bytes())
        #expect(file.frameCount == 2)
        #expect(file.mono.samples == [0.125, 1])
        let three = [Int16(300), 600, 900].flatMap { WAVBuilder.le16(Int($0)) }
        let ext = try WAV.decode(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 3, rate: 48000, bits: 16, extensibleSubformat: 1)), ("data", three)]).bytes())
        #expect(ext.channels == 3 && ext.format == .pcm(bits: 16))
        #expect(abs(ext.mono.samples[0] - 600.0 / 32768) < 1e-7)
    }

    @Test("unknown and odd-sized chunks are skipped with their pad byte; LIST/INFO is read")
    func chunkWalking() throws {
        var b = WAVBuilder()
        b.chunks = [("JUNK", [1, 2, 3]),  // odd: followed by a pad byte
                    ("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 16000, bits: 16)),
                    ("LIST", Array("INFO".utf8) + Array("ICMT".utf8) + WAVBuilder.le32(4) + Array("hey".utf8) + [0]),
                    ("data", WAVBuilder.le16(8192))]
        let file = try WAV.decode(b.bytes())
        #expect(file.interleaved == [0.25])
        #expect(file.metadata == ["ICMT": "hey"])
    }

    @Test("streaming headers (data size 0 or 0xFFFFFFFF) read to the end of the file")
    func streamingHeaders() throws {
        for size: UInt32 in [0, 0xFFFF_FFFF] {
            var b = WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 16000, bits: 16)),
                                        ("data", WAVBuilder.le16(16384) + WAVBuilder.le16(0xC000))])
            b.riffSize = size
            let file = try WAV.decode(b.bytes(declaredSizes: ["data": size]))
            #expect(file.interleaved == [0.5, -0.5])
        }
        // Our own streaming writer produces such a header.
        var stream = try WAV.header(sampleRate: 32000)
        stream.append(WAV.encodeSamples([0.5, -0.25], format: .pcm16(.truncateClamp)))
        #expect(try WAV.decode(stream).interleaved == [0.5, -0.25])
    }

    @Test("malformed files raise invalidWAV naming the problem", arguments: [
        ("not RIFF", Data("OggS0000WAVE".utf8), "RIFF"),
        ("too short", Data("RIFF".utf8), "shorter"),
        ("not WAVE", Data("RIFF\u{4}\0\0\0AVI ".utf8), "WAVE"),
    ])
    func malformedHeaders(label: String, data: Data, fragment: String) throws {
        do {
            _ = try WAV.decode(data, name: "x.wav")
            Issue.record("\(label): decoded without error")
        } catch let AudioError.invalidWAV(path, reason) {
            #expect(path == "x.wav")
            #expect(reason.contains(fragment), "\(label): \(reason)")
        }
    }

    @Test("truncated data, zero channels, missing chunks and unsupported encodings are rejected")
    func malformedBodies() throws {
        func reason(_ data: Data) -> String? {
            do { _ = try WAV.decode(data); return nil } catch let AudioError.invalidWAV(_, r) { return r } catch { return "\(error)" }
        }
        let fmt16 = WAVBuilder.fmt(tag: 1, channels: 1, rate: 16000, bits: 16)
        // data declares 2 GB but holds 4 bytes: no allocation, a clear error.
        let huge = WAVBuilder(chunks: [("fmt ", fmt16), ("data", [0, 0, 0, 0])]).bytes(declaredSizes: ["data": 0x7FFF_FFF0])
        #expect(reason(huge)?.contains("truncated") == true)
        #expect(reason(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 0, rate: 16000, bits: 16)), ("data", [0, 0])]).bytes())?.contains("0 channels") == true)
        #expect(reason(WAVBuilder(chunks: [("data", [0, 0])]).bytes())?.contains("no fmt") == true)
        #expect(reason(WAVBuilder(chunks: [("fmt ", fmt16)]).bytes())?.contains("no data") == true)
        #expect(reason(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 2, channels: 1, rate: 16000, bits: 4)), ("data", [0, 0])]).bytes())?.contains("unsupported") == true)
        #expect(reason(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 16000, bits: 12)), ("data", [0, 0])]).bytes())?.contains("bit depth") == true)
        #expect(reason(WAVBuilder(chunks: [("fmt ", WAVBuilder.fmt(tag: 1, channels: 1, rate: 0, bits: 16)), ("data", [0, 0])]).bytes())?.contains("sample rate 0") == true)
        // Truncated fmt chunk.
        let cut = WAVBuilder(chunks: [("fmt ", fmt16)]).bytes().prefix(30)
        #expect(reason(Data(cut))?.contains("truncated") == true)
        // A missing file is `unreadable`, not a crash.
        #expect(throws: AudioError.self) { _ = try WAV.read(path: "/nonexistent/definitely.wav") }
    }

    @Test("PCM16 round trip, float32 round trip and INFO metadata")
    func roundTrip() throws {
        let samples: [Float] = (0..<1001).map { sinf(Float($0) * 0.05) * 0.8 }
        let meta = ["ICMT": "AI-generated speech", "ISFT": "swift-gpt-sovits"]
        let pcm = try WAV.encode(samples, sampleRate: 32000, metadata: meta)
        let back = try WAV.decode(pcm)
        #expect(back.sampleRate == 32000 && back.format == .pcm(bits: 16) && back.metadata == meta)
        #expect(back.interleaved.count == samples.count)
        for (a, b) in zip(samples, back.interleaved) { #expect(abs(a - b) <= 1.0 / 32768) }
        let float = try WAV.decode(try WAV.encode(samples, sampleRate: 24000, format: .float32))
        #expect(float.interleaved == samples && float.format == .float(bits: 32))
        // RIFF size field = file size − 8; odd data length gets a pad byte.
        let odd = try WAV.encode([0.1, 0.2, 0.3], sampleRate: 8000, format: .pcm16(.truncateClamp))
        let riff = odd.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }
        #expect(Int(UInt32(littleEndian: riff)) == odd.count - 8)
        // Bad metadata keys and rates are rejected.
        #expect(throws: AudioError.self) { _ = try WAV.encode(samples, sampleRate: 32000, metadata: ["comment": "x"]) }
        #expect(throws: AudioError.self) { _ = try WAV.encode(samples, sampleRate: 0) }
    }

    @Test("PCM16 conversions: the official truncation, its 1.0 wrap, and the clamped variants")
    func pcm16Conversion() {
        // Reference values from numpy 2.x on x86-64:
        // (np.array([1.0, 1.5, 2.0, -1.5, -1.0000001, 1e10, nan, 0.99999, -0.00001, 0.5], np.float32) * 32768).astype(np.int16)
        //   → [-32768, -16384, 0, 16384, -32768, 0, 0, 32767, 0, 16384]
        let inputs: [Float] = [1.0, 1.5, 2.0, -1.5, -1.0000001, 1e10, .nan, 0.99999, -0.00001, 0.5]
        #expect(inputs.map { PCM16Conversion.numpyWrap.convert($0) } == [-32768, -16384, 0, 16384, -32768, 0, 0, 32767, 0, 16384])
        #expect(inputs.map { PCM16Conversion.truncateClamp.convert($0) } == [32767, 32767, 32767, -32768, -32768, 32767, 0, 32767, 0, 16384])
        #expect([Float(1), -1, 0.5, 0.00002].map { PCM16Conversion.roundClamp.convert($0) } == [32767, -32767, 16384, 1])
        // Truncation toward zero (not rounding, not flooring) inside the range.
        #expect(PCM16Conversion.truncateClamp.convert(-0.9 / 32768) == 0)
        #expect(PCM16Conversion.truncateClamp.convert(1.9 / 32768) == 1)
        #expect(PCM16Conversion.truncateClamp.convert(-1.9 / 32768) == -1)
    }

    @Test("re-encoding an official output WAV (soundfile PCM_16) reproduces its bytes exactly")
    func officialLayout() throws {
        let path = Fixtures.url("v2/e2e/zh_cut0.wav").path
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try WAV.decode(original, name: path)
        #expect(file.sampleRate == 32000 && file.channels == 1 && file.frameCount == 137_600)
        let again = try WAV.encode(file.interleaved, sampleRate: 32000, format: .pcm16(.numpyWrap))
        #expect(again == original)
        #expect(try WAV.encode(file.interleaved, sampleRate: 32000, format: .pcm16(.truncateClamp)) == original)
    }
}
