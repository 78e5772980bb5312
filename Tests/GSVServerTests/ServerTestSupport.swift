import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
@testable import GSVServer

/// The tiny fixture models, loaded once per test process.
enum Shared {
    static let paths = ModelPaths(
        gpt: Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path,
        sovits: Fixtures.url("v2/models/sovits_v2_tiny.pth").path,
        hubert: Fixtures.url("v2/models/chinese-hubert-base-tiny").path,
        bert: Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny").path
    )
    static let bundle: Result<ModelBundle, any Error> = Result { try ModelBundle.load(paths) }
    static let engineResult: Result<TTSEngine, any Error> = bundle.map { TTSEngine(bundle: $0) }

    static func engine() throws -> TTSEngine { try engineResult.get() }

    static let refPath = Fixtures.url("v2/ref/ref.wav").standardizedFileURL.resolvingSymlinksInPath().path
    static let refText = "今天天气很好，我们去散步吧。"
    static let refVoice = VoiceReference(audioPath: refPath, promptText: refText, promptLanguage: "zh")
    static let rolesDir = Fixtures.url("roles/role")
    static let roleDir = Fixtures.url("roles/role/小明").standardizedFileURL

    /// A configuration over the shared engine, allowing the fixture reference and model folders.
    static func configuration() throws -> ServerConfiguration {
        var c = ServerConfiguration(engine: try engine(), modelPaths: paths)
        c.host = "127.0.0.1"
        c.port = 0
        c.rolesDirectory = rolesDir
        c.allowedRoots = [Fixtures.url("v2/ref"), Fixtures.url("v2/models")]
        c.maxConcurrent = 2
        c.queueLength = 32
        return c
    }

    /// Deterministic options: top_k 1 and a fixed seed.
    static func options(seed: Int64, language: String = "zh", streaming: StreamingMode = .off) -> SynthesisOptions {
        var o = SynthesisOptions()
        o.textLanguage = language
        o.topK = 1
        o.seed = seed
        o.streamingMode = streaming
        return o
    }

    /// The WAV bytes `/tts` must answer for this synthesis.
    static func expectedWAV(_ text: String, voice: VoiceReference, seed: Int64) async throws -> Data {
        let r = try await engine().synthesizeAll(text, voice: voice, options: options(seed: seed))
        return try WAV.encode(r.samples, sampleRate: r.sampleRate)
    }

    /// The audio chunks of a fragment-mode synthesis.
    static func expectedChunks(_ text: String, voice: VoiceReference, seed: Int64, language: String = "zh") async throws -> [[Float]] {
        var chunks: [[Float]] = []
        for try await e in try engine().synthesize(text, voice: voice, options: options(seed: seed, language: language, streaming: .fragments)) {
            if case let .audio(s, _) = e { chunks.append(s) }
        }
        return chunks
    }

    static func roleVoice(emotion: String?) -> VoiceReference {
        if let emotion, let folder = try? FileManager.default.contentsOfDirectory(atPath: roleDir.appendingPathComponent("refAudio/\(emotion)").path),
           let file = folder.sorted().first {
            let url = roleDir.appendingPathComponent("refAudio/\(emotion)/\(file)")
            return VoiceReference(audioPath: url.path, promptText: (file as NSString).deletingPathExtension, promptLanguage: "zh")
        }
        return VoiceReference(audioPath: roleDir.appendingPathComponent("小明.wav").path, promptText: refText, promptLanguage: "zh")
    }
}

func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

func bytes(_ buffer: ByteBuffer) -> Data { Data(buffer.readableBytesView) }

func jsonObject(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: bytes(buffer))) as? [String: Any] ?? [:]
}

/// Percent-encodes a query value.
func q(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
