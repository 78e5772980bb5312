// Files the studio page uploads: reference clips (checked 3–10 s, kept as WAV under a name made
// from their content, so the same clip uploaded twice is stored once) and model files.
import Foundation
import GPTSoVITS
import GSVAudio
import GSVWeights
import Hummingbird

/// A stored reference clip.
struct UploadedClip: Codable, Sendable {
    /// Its path on the server (inside the studio folder; usable as `ref_audio_path`).
    var path: String
    /// The name it was uploaded under.
    var name: String
    /// Its length.
    var seconds: Double
    var sampleRate: Int

    enum CodingKeys: String, CodingKey {
        case path, name, seconds
        case sampleRate = "sample_rate"
    }
}

/// A stored model file, identified.
struct UploadedWeights: Codable, Sendable {
    var path: String
    var name: String
    /// `gpt` or `sovits`.
    var kind: String
    var version: String?
}

/// The studio folder: `references/` and `weights/`.
final class StudioUploads: Sendable {
    let root: URL
    let referencesFolder: URL
    let weightsFolder: URL

    init(root: URL) throws {
        self.root = root.standardizedFileURL
        referencesFolder = self.root.appendingPathComponent("references", isDirectory: true)
        weightsFolder = self.root.appendingPathComponent("weights", isDirectory: true)
        for dir in [referencesFolder, weightsFolder] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw APIError(status: 500, message: "cannot create the studio folder \(dir.path): \(error.localizedDescription)", exception: nil)
            }
        }
    }

    /// Decodes `data` (WAV natively, other formats through ffmpeg), checks the official 3–10 s
    /// limit when `check` is set, and stores it. WAV uploads are kept byte for byte; others are
    /// stored as the mono float WAV the engine would decode them to.
    /// Blocking (decoding, resampling, writing): run it off the cooperative pool.
    func saveReference(_ data: Data, name: String, check: Bool) throws -> UploadedClip {
        guard !data.isEmpty else { throw APIError.badRequest("\(name): the file is empty") }
        let audio: AudioBuffer
        let stored: Data
        do {
            if WAV.looksLikeWAV(data), let wav = try? WAV.decode(data, name: name) {
                audio = wav.mono
                stored = data
            } else {
                audio = try FFmpeg.decode(data: data, name: name)
                stored = try WAV.encode(audio.samples, sampleRate: audio.sampleRate, format: .float32)
            }
        } catch let e as AudioError {
            throw APIError.badRequest("\(name): not an audio file this server can read", exception: e.errorDescription)
        }
        guard audio.sampleRate > 0, !audio.samples.isEmpty else { throw APIError.badRequest("\(name): the clip holds no audio") }
        if check {
            // A quick bound first, so a long recording is not resampled only to be refused.
            let seconds = audio.duration
            if seconds < 2.5 || seconds > 10.5 {
                throw APIError.badRequest(String(format: "%@ is %.2f s long; a reference must be 3–10 s", name, seconds))
            }
            do {
                _ = try ReferenceAudio.hubertInput(audio)
            } catch let e as AudioError {
                throw APIError.badRequest("\(name): \(e.errorDescription ?? "\(e)")")
            }
        }
        var digest = SHA256Digest()
        digest.update(stored)
        let url = referencesFolder.appendingPathComponent("\(digest.hexDigest().prefix(32)).wav")
        if !FileManager.default.fileExists(atPath: url.path) {
            do { try stored.write(to: url, options: .atomic) } catch {
                throw APIError(status: 500, message: "cannot store the clip: \(error.localizedDescription)", exception: nil)
            }
        }
        return UploadedClip(path: url.path, name: name, seconds: audio.duration, sampleRate: audio.sampleRate)
    }

    /// Whether `path` is a clip stored here.
    func isStoredClip(_ path: String) -> Bool {
        let url = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath()
        let folder = referencesFolder.resolvingSymlinksInPath().path
        return url.path.hasPrefix(folder + "/") && FileManager.default.fileExists(atPath: url.path)
    }

    /// Streams a model file to disk (at most `limit` bytes), identifies it, and keeps it only if
    /// it is a GPT or SoVITS checkpoint. The name is the upload's file name, made unique.
    func saveWeights(from body: RequestBody, name: String, limit: Int) async throws -> UploadedWeights {
        let base = URL(fileURLWithPath: name).lastPathComponent
        let ext = URL(fileURLWithPath: base).pathExtension.lowercased()
        guard !base.isEmpty, !base.hasPrefix("."), ext == "ckpt" || ext == "pth" else {
            throw APIError.badRequest("model files must be GPT .ckpt or SoVITS .pth files (got '\(name)')")
        }
        let partial = weightsFolder.appendingPathComponent(".upload-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let handle = try? FileHandle(forWritingTo: partial) else {
            throw APIError(status: 500, message: "cannot write to \(weightsFolder.path)", exception: nil)
        }
        var written = 0
        do {
            defer { try? handle.close() }
            for try await buffer in body {
                written += buffer.readableBytes
                guard written <= limit else { throw APIError(status: 413, message: "model file exceeds \(limit) bytes", exception: nil) }
                try handle.write(contentsOf: Data(buffer.readableBytesView))
            }
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        let identity: ModelIdentity
        do {
            identity = ModelIdentity(archive: try WeightArchive.open(partial.path))
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw APIError.badRequest("\(base) is not a checkpoint this server can read", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let kind: String
        switch identity.kind {
        case .t2sGPT: kind = "gpt"
        case .sovits: kind = "sovits"
        default:
            try? FileManager.default.removeItem(at: partial)
            throw APIError.badRequest("\(base) is a \(identity.kind.rawValue) file, not a GPT or SoVITS model")
        }
        var target = weightsFolder.appendingPathComponent(base)
        var n = 1
        let stem = target.deletingPathExtension().lastPathComponent
        while FileManager.default.fileExists(atPath: target.path) {
            n += 1
            target = weightsFolder.appendingPathComponent("\(stem)-\(n).\(ext)")
        }
        do { try FileManager.default.moveItem(at: partial, to: target) } catch {
            try? FileManager.default.removeItem(at: partial)
            throw APIError(status: 500, message: "cannot store \(base): \(error.localizedDescription)", exception: nil)
        }
        return UploadedWeights(path: target.path, name: target.lastPathComponent, kind: kind,
                               version: ModelLister.versionLabel(identity))
    }
}
