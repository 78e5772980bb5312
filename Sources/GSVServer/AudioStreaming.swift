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

extension StreamEncoding {
    /// The encoder of this framing for chunks at `sampleRate`.
    func streamEncoder(sampleRate: Int) throws -> AudioStreamEncoder {
        switch self {
        case let .pcm16(target):
            return try AudioStreamEncoder(encoder: AudioEncoder(format: .raw), sampleRate: sampleRate, resampleTo: target)
        case .wavStream:
            return try AudioStreamEncoder(encoder: AudioEncoder(format: .wav), sampleRate: sampleRate)
        case let .filePerChunk(format):
            return try AudioStreamEncoder(encoder: AudioEncoder(format: .encoded(format)), packaging: .filePerChunk, sampleRate: sampleRate)
        case let .ffmpeg(format):
            return try AudioStreamEncoder(encoder: AudioEncoder(format: .encoded(format)), sampleRate: sampleRate)
        }
    }
}

/// Pulls the rest of a synthesis from `source` (after `first`), encodes it and yields the bytes as
/// soon as they exist. Cancelling the consumer (dropping the stream) cancels the synthesis and
/// closes ffmpeg's input.
enum ChunkPacker {
    static func parts(source: EventSource, first: AudioChunk, encoding: StreamEncoding,
                      executor: BlockingWorkExecutor = .shared) throws -> AsyncThrowingStream<StreamPart, Error> {
        let encoder = try encoding.streamEncoder(sampleRate: first.sampleRate)
        let (stream, continuation) = AsyncThrowingStream<StreamPart, Error>.makeStream()
        let producer = Task {
            do {
                let report = try await withThrowingTaskGroup(of: Void.self) { group -> SynthesisReport? in
                    if let output = encoder.ffmpegOutput {
                        group.addTask {
                            for try await data in output { continuation.yield(.bytes(data)) }
                        }
                    }
                    do {
                        var report: SynthesisReport?
                        var chunk: AudioChunk? = first
                        while let c = chunk {
                            try Task.checkCancellation()
                            // Encoding may block on ffmpeg: tracked blocking work.
                            for data in try await executor.perform({ try encoder.encode(c.samples) }) { continuation.yield(.bytes(data)) }
                            chunk = try await source.nextAudio(report: &report)
                        }
                        try Task.checkCancellation()
                        for data in try encoder.finish() { continuation.yield(.bytes(data)) }
                        try await group.waitForAll()
                        return report
                    } catch {
                        encoder.abandon()
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
