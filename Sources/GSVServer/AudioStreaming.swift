// Encodes a synthesis stream into response bytes as the audio is produced. Follows api_v2.py:
// streaming_generator / pack_audio / wave_header_chunk for the api_v2 framings; the OpenAI framings
// (24 kHz pcm, one continuous encoded file) follow OpenAI's published audio/speech behaviour.
import Foundation
import GPTSoVITS
import GSVAudio

/// The end-of-synthesis report (per-fragment reports and timings), when the engine sent one.
struct SynthesisReport: Sendable {
    var fragments: [FragmentReport]
    var timings: SynthesisTimings
}

/// A piece of audio the engine produced.
struct AudioChunk: Sendable {
    var samples: [Float]
    var sampleRate: Int
}

/// How synthesized chunks become response bytes.
enum StreamEncoding: Sendable, Equatable {
    /// Raw int16 little-endian PCM at the model rate, or resampled to `resampleTo` Hz (one
    /// resampler across chunks, so the stream equals the resampled whole).
    case pcm16(resampleTo: Int?)
    /// A WAV header with unknown length, then raw int16 PCM at the model rate.
    case wavStream
    /// api_v2 streaming `ogg`/`aac`: every chunk a complete file of its own.
    case filePerChunk(EncodedAudioFormat)
    /// One continuous file produced by a long-running ffmpeg fed chunk by chunk.
    case ffmpeg(EncodedAudioFormat)
}

/// What ``ChunkPacker`` hands the response writer.
enum StreamPart: Sendable {
    /// Encoded bytes, in order.
    case bytes(Data)
    /// The synthesis ended normally.
    case end(SynthesisReport?)
}

/// Pulls the rest of a synthesis from `source` (after `first`), encodes it and yields the bytes as
/// soon as they exist. Cancelling the consumer (dropping the stream) cancels the synthesis and
/// closes ffmpeg's input.
enum ChunkPacker {
    static func parts(source: EventSource, first: AudioChunk, encoding: StreamEncoding,
                      executor: BlockingWorkExecutor = .shared) throws -> AsyncThrowingStream<StreamPart, Error> {
        let encoder: FFmpegEncoder?
        if case let .ffmpeg(format) = encoding {
            encoder = try FFmpegEncoder(sampleRate: first.sampleRate, format: format)
        } else {
            encoder = nil
        }
        let (stream, continuation) = AsyncThrowingStream<StreamPart, Error>.makeStream()
        let producer = Task {
            do {
                var packer = try ChunkState(encoding: encoding)
                let report = try await withThrowingTaskGroup(of: Void.self) { group -> SynthesisReport? in
                    if let encoder {
                        group.addTask {
                            for try await data in encoder.output { continuation.yield(.bytes(data)) }
                        }
                    }
                    do {
                        var report: SynthesisReport?
                        var chunk: AudioChunk? = first
                        while let c = chunk {
                            try Task.checkCancellation()
                            for data in try await packer.encode(c) { continuation.yield(.bytes(data)) }
                            if let encoder { try await executor.perform { try encoder.write(c.samples) } }
                            chunk = try await source.nextAudio(report: &report)
                        }
                        try Task.checkCancellation()
                        for data in packer.finish() { continuation.yield(.bytes(data)) }
                        try encoder?.finish()
                        try await group.waitForAll()
                        return report
                    } catch {
                        try? encoder?.finish()
                        group.cancelAll()
                        throw error
                    }
                }
                continuation.yield(.end(report))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }
}

/// Per-response packing state (resampler, whether the header went out).
struct ChunkState {
    let encoding: StreamEncoding
    private var resampler: StreamingResampler?
    private var first = true

    init(encoding: StreamEncoding) throws {
        self.encoding = encoding
    }

    /// Bytes for one chunk (nothing for `.ffmpeg`, whose bytes come from the encoder).
    mutating func encode(_ chunk: AudioChunk) async throws -> [Data] {
        defer { first = false }
        switch encoding {
        case let .pcm16(target):
            var samples = chunk.samples
            if let target, target != chunk.sampleRate {
                if resampler == nil { resampler = try StreamingResampler(from: chunk.sampleRate, to: target) }
                samples = resampler!.push(samples)
            }
            return samples.isEmpty ? [] : [WAV.encodeSamples(samples, format: .pcm16(.truncateClamp))]
        case .wavStream:
            let pcm = WAV.encodeSamples(chunk.samples, format: .pcm16(.truncateClamp))
            return first ? [try WAV.header(sampleRate: chunk.sampleRate, dataBytes: nil), pcm] : [pcm]
        case let .filePerChunk(format):
            return [try await FFmpeg.encode(chunk.samples, sampleRate: chunk.sampleRate, format: format)]
        case .ffmpeg:
            return []
        }
    }

    /// Bytes after the last chunk (the resampler's tail).
    mutating func finish() -> [Data] {
        guard var r = resampler else { return [] }
        let tail = r.finish()
        resampler = r
        return tail.isEmpty ? [] : [WAV.encodeSamples(tail, format: .pcm16(.truncateClamp))]
    }
}
