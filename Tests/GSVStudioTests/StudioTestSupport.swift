import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport
import GSVTrain
import Hummingbird
@testable import GSVServer

/// The tiny fixture models and a server configuration for studio tests.
enum StudioFixtures {
    static let paths = ModelPaths(
        gpt: Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path,
        sovits: Fixtures.url("v2/models/sovits_v2_tiny.pth").path,
        hubert: Fixtures.url("v2/models/chinese-hubert-base-tiny").path,
        bert: Fixtures.url("v2/models/chinese-roberta-wwm-ext-large-tiny").path
    )
    static let engineResult: Result<TTSEngine, any Error> = Result { TTSEngine(bundle: try ModelBundle.load(paths)) }
    static func engine() throws -> TTSEngine { try engineResult.get() }

    /// The fixture reference clip and its transcript (from the fixture's own ref.json).
    static let refWAV = Fixtures.url("v2/ref/ref.wav")
    static var refText: String {
        guard let data = try? Data(contentsOf: Fixtures.url("v2/ref/ref.json")),
              let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return "" }
        return (obj["text"] as? String) ?? ""
    }

    /// A fresh temporary folder (removed by the caller with `cleanUp`).
    static func temporaryFolder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-studio-\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A roles folder for one test: a copy of the fixture roles (when the fixture set has them).
    static func rolesFolder() throws -> URL {
        let dir = try temporaryFolder("roles")
        let fixture = Fixtures.url("roles/role")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: fixture.path) {
            for name in names where !name.hasPrefix(".") {
                try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: dir.appendingPathComponent(name))
            }
        }
        return dir
    }

    /// A configuration over the tiny models with a private roles folder and studio folder.
    static func configuration(token: String? = nil) throws -> (ServerConfiguration, cleanUp: @Sendable () -> Void) {
        var c = ServerConfiguration(engine: try engine(), modelPaths: paths)
        c.host = "127.0.0.1"
        c.port = 0
        let roles = try rolesFolder()
        let studio = try temporaryFolder("uploads")
        let training = try temporaryFolder("training")
        c.studio.trainingFolders = [training]
        c.rolesDirectory = roles
        c.allowedRoots = [Fixtures.url("v2/ref"), Fixtures.url("v2/models")]
        c.studio.directory = studio
        c.bearerToken = token
        c.maxConcurrent = 1
        return (c, { for u in [roles, studio, training] { try? FileManager.default.removeItem(at: u) } })
    }

    /// Writes the progress log of a run `name` under `folder` as `gpt-sovits train` would: SoVITS
    /// trained for `steps` of 2 epochs × `batches` batches, a weights file, then GPT started.
    static func writeTrainingRun(_ name: String, in folder: URL, steps: Int, batches: Int) throws -> TrainingProgressLog {
        let log = TrainingProgressLog(logsFolder: folder.appendingPathComponent("logs").appendingPathComponent(name))
        let t0 = Date().addingTimeInterval(-Double(steps))
        try log.append(TrainingProgress(.start, model: "sovits", epoch: 0, epochs: 2, message: "4 clips", time: t0))
        for i in 0..<steps {
            try log.append(TrainingProgress(.step, model: "sovits", epoch: i / batches + 1, epochs: 2, batch: i % batches + 1, batches: batches,
                                            values: ["loss_g": 40 - Double(i), "loss_d": 3], learningRate: 1e-4,
                                            etaSeconds: Double(2 * batches - i - 1) * 10, time: t0.addingTimeInterval(Double(i))))
        }
        try log.append(TrainingProgress(.weights, model: "sovits", epoch: 1, epochs: 2, file: folder.appendingPathComponent("SoVITS_weights_v2/\(name)_e1_s\(batches).pth").path))
        try log.append(TrainingProgress(.start, model: "gpt", epoch: 0, epochs: 15, message: "4 items"))
        return log
    }

    /// A mono WAV of `seconds` of a quiet tone.
    static func toneWAV(seconds: Double, rate: Int = 32000) throws -> Data {
        let n = Int(seconds * Double(rate))
        let samples = (0..<n).map { Float(0.2 * sin(Double($0) * 2 * Double.pi * 220 / Double(rate))) }
        return try WAV.encode(samples, sampleRate: rate)
    }
}

func jsonObject(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

/// Percent-encodes a path segment or query value.
func q(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
