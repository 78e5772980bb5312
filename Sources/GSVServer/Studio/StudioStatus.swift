// The Status page's figures that /metrics does not carry: which model files are loaded and how
// much their weights take. The queue, memory, model cache and recent syntheses come from
// GET /metrics?format=json itself, so the page shows the operators' numbers.
import Foundation
import GPTSoVITS
import Hummingbird

extension Studio {
    struct Status: Codable {
        struct Models: Codable {
            var source: String
            var version: String
            var sampleRate: Int
            var gpt: String?
            var sovits: String?
            var weightBytes: Int
            enum CodingKeys: String, CodingKey {
                case source, version, gpt, sovits
                case sampleRate = "sample_rate", weightBytes = "weight_bytes"
            }
        }
        var models: Models
        var uptimeSeconds: Double
        enum CodingKeys: String, CodingKey {
            case models
            case uptimeSeconds = "uptime_seconds"
        }
    }

    func status() async throws -> Response {
        let snapshot = await core.holder.snapshot()
        let bundle = snapshot.engine.bundle
        let weightBytes = weightBytesCache.bytes(for: snapshot.engine)
        return try Self.json(Status(
            models: .init(source: bundle.source, version: bundle.version.rawValue, sampleRate: bundle.sampleRate,
                          gpt: snapshot.paths?.gpt, sovits: snapshot.paths?.sovits, weightBytes: weightBytes),
            uptimeSeconds: Date().timeIntervalSince(started)))
    }
}

/// The weight bytes of the current engine, measured once per engine (walking the networks takes a while).
final class WeightBytesCache: @unchecked Sendable {
    private let lock = NSLock()
    private var engine: ObjectIdentifier?
    private var bytes = 0

    func bytes(for engine: TTSEngine) -> Int {
        let id = ObjectIdentifier(engine)
        lock.lock()
        if self.engine == id { defer { lock.unlock() }; return bytes }
        lock.unlock()
        let bundle = engine.bundle
        let b = bundle.gptBytes + bundle.sovitsBytes + ModelMemory.bytes(of: bundle.hubert) + ModelMemory.bytes(of: bundle.bert)
        lock.lock()
        self.engine = id
        bytes = b
        lock.unlock()
        return b
    }
}
