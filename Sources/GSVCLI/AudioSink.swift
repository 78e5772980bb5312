// Writes the audio of one `gpt-sovits say` to a file or standard output (no official counterpart).
import Foundation
import GSVAudio

/// Writes the audio of one synthesis through the one ``AudioEncoder``: as it arrives for WAV and
/// raw PCM when `progressive` (a WAV file gets its exact sizes written over the streamed header once
/// the audio is complete), otherwise encoded once at the end and written atomically.
final class AudioSink {
    let path: String
    let encoder: AudioEncoder
    let progressive: Bool
    private var samples: [Float] = []
    private var sampleRate = 32000
    private var stream: AudioStreamEncoder?
    private var handle: FileHandle?
    private var written = 0

    /// A sink writing `format` to `path` (`-` for standard output). Only WAV and raw PCM can be
    /// written as they arrive; other formats are encoded at the end.
    init(path: String, format: AudioOutputFormat, progressive: Bool, metadata: AudioMetadata) {
        self.path = path
        encoder = AudioEncoder(format: format, metadata: metadata)
        self.progressive = progressive && !format.needsFFmpeg
    }

    private func open() throws -> FileHandle {
        if let handle { return handle }
        let h: FileHandle
        if path == "-" {
            h = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let fh = FileHandle(forWritingAtPath: path) else {
                throw CLIError("cannot write \(path)")
            }
            h = fh
        }
        handle = h
        return h
    }

    private func write(_ data: [Data], to h: FileHandle) throws {
        do { for d in data { try h.write(contentsOf: d) } } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Takes the next piece of audio.
    func append(_ s: [Float], sampleRate rate: Int) throws {
        sampleRate = rate
        written += s.count
        guard progressive else { samples += s; return }
        let h = try open()
        let stream = try self.stream ?? AudioStreamEncoder(encoder: encoder, sampleRate: rate)
        self.stream = stream
        try write(try stream.encode(s), to: h)
    }

    /// Finishes the output; returns its duration in seconds.
    func finish() async throws -> Double {
        let seconds = Double(written) / Double(sampleRate)
        if progressive {
            guard let h = handle, let stream else { return seconds }
            try write(try stream.finish(), to: h)
            if path != "-" {
                if let header = try stream.finishedWAVHeader() {
                    do { try h.seek(toOffset: 0) } catch { throw CLIError("cannot finish \(path): \(error.localizedDescription)") }
                    try write([header], to: h)
                }
                try? h.close()
            }
            return seconds
        }
        let data = try await encoder.encode(samples, sampleRate: sampleRate)
        if path == "-" {
            try write([data], to: FileHandle.standardOutput)
        } else {
            do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw CLIError("cannot write \(path): \(error.localizedDescription)")
            }
        }
        return seconds
    }
}
