import Foundation
import GSVAudio
import Testing

@Suite("one audio encoder: whole files and streams")
struct AudioEncoderTests {
    static func tone(_ n: Int, rate: Int = 32000) -> [Float] {
        (0..<n).map { Float(0.4 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
    }

    static let metadata = AudioMetadata(comment: "AI-generated", software: "swift-gpt-sovits")

    @Test func formatNames() {
        #expect(AudioOutputFormat.all.map(\.name) == ["wav", "raw", "flac", "mp3", "ogg", "aac", "opus"])
        for f in AudioOutputFormat.all { #expect(AudioOutputFormat(name: f.name.uppercased()) == f) }
        #expect(AudioOutputFormat(name: "wav") == .wav && AudioOutputFormat(name: "mp3") == .encoded(.mp3))
        #expect(AudioOutputFormat(name: "mp4") == nil)
        #expect(!AudioOutputFormat.wav.needsFFmpeg && !AudioOutputFormat.raw.needsFFmpeg && AudioOutputFormat.encoded(.ogg).needsFFmpeg)
    }

    @Test func wholeWAVAndRawAreSixteenBitWithTheTags() throws {
        let s = Self.tone(1000)
        let wav = try AudioEncoder(format: .wav, metadata: Self.metadata).encode(s, sampleRate: 32000)
        let file = try WAV.decode(wav)
        #expect(file.sampleRate == 32000 && file.frameCount == 1000 && file.format == .pcm(bits: 16))
        #expect(file.metadata["ICMT"] == "AI-generated" && file.metadata["ISFT"] == "swift-gpt-sovits")
        #expect(file.interleaved.map(PCM16Conversion.truncateClamp.convert) == s.map(PCM16Conversion.truncateClamp.convert))
        let raw = try AudioEncoder(format: .raw, metadata: Self.metadata).encode(s, sampleRate: 32000)
        #expect(raw == WAV.encodeSamples(s, format: .pcm16(.truncateClamp)))
    }

    /// A streamed WAV (header with unknown sizes, PCM per chunk) whose header is then overwritten
    /// with the finished one is byte for byte the whole-file encoding.
    @Test func streamedWAVFinishesIntoTheWholeFile() async throws {
        let chunks = [Self.tone(700), Self.tone(1), Self.tone(2999)]
        let encoder = AudioEncoder(format: .wav, metadata: Self.metadata)
        let stream = try AudioStreamEncoder(encoder: encoder, sampleRate: 32000)
        var bytes = Data()
        for (i, c) in chunks.enumerated() {
            let parts = try stream.encode(c)
            #expect(parts.count == (i == 0 ? 2 : 1))
            for p in parts { bytes += p }
        }
        bytes += try stream.finish().reduce(Data(), +)
        let streamed = try WAV.decode(bytes)
        #expect(streamed.frameCount == 3700 && streamed.metadata["ICMT"] == "AI-generated")
        let header = try #require(try stream.finishedWAVHeader())
        bytes.replaceSubrange(0..<header.count, with: header)
        let whole = try await encoder.encode(chunks.flatMap { $0 }, sampleRate: 32000)
        #expect(bytes == whole)
        #expect(stream.dataBytes == 2 * 3700)
    }

    /// Raw PCM resampled on the way: one resampler across chunks, the tail at `finish`.
    @Test func rawStreamResamples() async throws {
        let stream = try AudioStreamEncoder(encoder: AudioEncoder(format: .raw), sampleRate: 32000, resampleTo: 24000)
        #expect(stream.outputSampleRate == 24000)
        var count = 0
        for c in [Self.tone(16000), Self.tone(16000)] { count += try stream.encode(c).reduce(0) { $0 + $1.count } }
        count += try stream.finish().reduce(0) { $0 + $1.count }
        #expect(count == 2 * 24000)
        #expect(try stream.finishedWAVHeader() == nil)
        #expect(throws: AudioError.self) {
            _ = try AudioStreamEncoder(encoder: AudioEncoder(format: .wav), sampleRate: 32000, resampleTo: 24000)
        }
        #expect(throws: AudioError.self) { _ = try AudioStreamEncoder(encoder: AudioEncoder(format: .raw), sampleRate: 0) }
    }

    @Test(.enabled(if: FFmpeg.isAvailable, "ffmpeg is not installed"))
    func ffmpegFormatsWholeAndPerChunk() async throws {
        let s = Self.tone(16000)
        let ogg = try await AudioEncoder(format: .encoded(.ogg)).encode(s, sampleRate: 32000)
        #expect(ogg.prefix(4) == Data("OggS".utf8))
        let perChunk = try AudioStreamEncoder(encoder: AudioEncoder(format: .encoded(.ogg)), packaging: .filePerChunk, sampleRate: 32000)
        #expect(perChunk.ffmpegOutput == nil)
        let files = try perChunk.encode(s)
        #expect(files.count == 1 && files[0].prefix(4) == Data("OggS".utf8))
        let continuous = try AudioStreamEncoder(encoder: AudioEncoder(format: .encoded(.flac)), sampleRate: 32000)
        let output = try #require(continuous.ffmpegOutput)
        let collected = Task { var all = Data(); for try await d in output { all += d }; return all }
        #expect(try continuous.encode(s).isEmpty)
        #expect(try continuous.encode(s).isEmpty)
        #expect(try continuous.finish().isEmpty)
        let flac = try await collected.value
        #expect(try await FFmpeg.decode(data: flac, name: "stream.flac").samples.count == 32000)
    }
}
