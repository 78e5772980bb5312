import Foundation
import GSVAudio
import GSVTestSupport
import Testing

@Suite("ffmpeg decode and encode")
struct FFmpegTests {
    @Test("a missing ffmpeg is reported as ffmpegMissing with an actionable message")
    func missing() throws {
        let env = ["PATH": "/nonexistent-bin"]
        #expect(FFmpeg.executable(environment: env) == nil)
        #expect(FFmpeg.executable(environment: ["GSV_FFMPEG": "/nonexistent/ffmpeg"]) == nil)
        #expect(throws: AudioError.ffmpegMissing(path: "voice.mp3")) {
            _ = try FFmpeg.requireExecutable(for: "voice.mp3", environment: env)
        }
        let text = AudioError.ffmpegMissing(path: "voice.mp3").localizedDescription
        #expect(text.contains("voice.mp3") && text.contains("apt-get install ffmpeg"))
    }

    static let enabled = FFmpeg.isAvailable

    static func tempURL(_ ext: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("gsvaudio-\(UUID().uuidString).\(ext)")
    }

    static func reference() throws -> AudioBuffer { try WAV.readMono(path: Fixtures.url("v2/ref/ref.wav").path) }

    @Test("FLAC round trip through ffmpeg is lossless for 16-bit audio", .enabled(if: enabled, "ffmpeg is not installed"))
    func flacLossless() throws {
        let ref = try Self.reference()
        let flac = try FFmpeg.encode(ref.samples, sampleRate: ref.sampleRate, format: .flac)
        #expect(flac.prefix(4) == Data("fLaC".utf8))
        let back = try FFmpeg.decode(data: flac, name: "ref.flac")
        #expect(back.sampleRate == 22050)
        #expect(back.samples == ref.samples)
    }

    @Test("every output format encodes and decodes back to the same duration",
          .enabled(if: enabled, "ffmpeg is not installed"), arguments: EncodedAudioFormat.allCases)
    func formats(format: EncodedAudioFormat) throws {
        let rate = 32000
        let tone = (0..<rate).map { Float(0.4 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
        let bytes = try FFmpeg.encode(tone, sampleRate: rate, format: format, metadata: ["comment": "AI-generated"])
        #expect(bytes.count > 100)
        let magic = [UInt8](bytes.prefix(4))
        switch format {
        case .wav: #expect(magic == Array("RIFF".utf8))
        case .flac: #expect(magic == Array("fLaC".utf8))
        case .ogg, .opus: #expect(magic == Array("OggS".utf8))
        case .mp3: #expect(magic == Array("ID3".utf8) + [magic[3]] || (magic[0] == 0xFF && magic[1] & 0xE0 == 0xE0))
        case .aac: #expect(magic[0] == 0xFF && magic[1] & 0xF0 == 0xF0)  // ADTS sync word
        }
        let back = try FFmpeg.decode(data: bytes, name: "tone.\(format.rawValue)", sampleRate: rate)
        #expect(back.sampleRate == rate)
        #expect(abs(back.duration - 1.0) < 0.1, "\(format): \(back.duration) s")
        #expect(abs(Double(back.rms) - 0.4 / 2.0.squareRoot()) < 0.05, "\(format): rms \(back.rms)")
    }

    @Test("the audio track of a video file is decoded, mixed to mono and resampled",
          .enabled(if: enabled, "ffmpeg is not installed"))
    func videoInput() throws {
        let url = Self.tempURL("mkv")
        defer { try? FileManager.default.removeItem(at: url) }
        let exe = try FFmpeg.requireExecutable(for: "test")
        let p = Process()
        p.executableURL = exe
        // 1 s of a 16×16 test picture plus stereo audio at 44.1 kHz: left a 440 Hz tone
        // (ffmpeg's sine source, amplitude 1/8), right silence.
        p.arguments = ["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=16x16:rate=5:duration=1",
                       "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1",
                       "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
                       "-filter_complex", "[1:a][2:a]amerge=inputs=2[a]", "-map", "0:v", "-map", "[a]",
                       "-c:v", "mpeg4", "-c:a", "flac", url.path]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let audio = try AudioLoader.load(path: url.path, sampleRate: 16000)
        #expect(audio.sampleRate == 16000)
        #expect(abs(audio.duration - 1.0) < 0.05)
        // Mean of (tone, silence): half the tone's 1/8 amplitude.
        #expect(abs(audio.peak - 0.0625) < 0.005, "peak \(audio.peak)")
    }

    @Test("garbage input gives ffmpegFailed with ffmpeg's message", .enabled(if: enabled, "ffmpeg is not installed"))
    func garbage() throws {
        do {
            _ = try FFmpeg.decode(data: Data(repeating: 0x42, count: 1000), name: "junk.bin")
            Issue.record("decoded garbage")
        } catch let AudioError.ffmpegFailed(path, status, message) {
            #expect(path == "junk.bin" && status != 0 && !message.isEmpty)
        }
        #expect(throws: AudioError.self) { _ = try FFmpeg.decode(path: "/nonexistent/file.mp3") }
        #expect(throws: AudioError.self) { _ = try FFmpeg.decode(path: "http://127.0.0.1:9/remote.mp3") }
        #expect(throws: AudioError.self) { _ = try FFmpeg.encode([0], sampleRate: 0, format: .mp3) }
    }

    @Test("streaming encoder: chunks in, bytes out, decodable result", .enabled(if: enabled, "ffmpeg is not installed"))
    func streaming() async throws {
        let rate = 32000
        let encoder = try FFmpegEncoder(sampleRate: rate, format: .mp3)
        for k in 0..<4 {
            let chunk = (0..<8000).map { Float(0.3 * sin(2 * Double.pi * 330 * Double(k * 8000 + $0) / Double(rate))) }
            try encoder.write(chunk)
        }
        let bytes = try await encoder.finishAndCollect()
        #expect(throws: AudioError.self) { try encoder.write([0]) }
        let back = try await FFmpeg.decode(data: bytes, name: "stream.mp3")  // async overload
        #expect(abs(back.duration - 1.0) < 0.1)
    }

    @Test("AudioLoader reads WAV natively and other formats through ffmpeg", .enabled(if: enabled, "ffmpeg is not installed"))
    func loader() throws {
        let ref = try Self.reference()
        let wavPath = Fixtures.url("v2/ref/ref.wav").path
        #expect(try AudioLoader.load(path: wavPath) == ref)
        // A name ffmpeg could mistake for a protocol ("x:...") is still opened as a plain file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gsv:\(UUID().uuidString).ogg")
        defer { try? FileManager.default.removeItem(at: url) }
        try FFmpeg.encode(ref.samples, sampleRate: ref.sampleRate, format: .ogg).write(to: url)
        let ogg = try AudioLoader.load(path: url.path, sampleRate: 16000)
        #expect(ogg.sampleRate == 16000)
        #expect(abs(ogg.duration - ref.duration) < 0.05)
    }
}
