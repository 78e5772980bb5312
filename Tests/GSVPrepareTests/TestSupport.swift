import Foundation
import GPTSoVITS
import GSVAudio
import GSVTestSupport

/// A temporary folder removed by `cleanup()`.
typealias TempFolder = TemporaryFolder

extension TemporaryFolder {
    init() throws { try self.init(prefix: "gsv-prepare") }
}

/// Reads a JSON fixture file as a dictionary.
func fixtureJSON(_ relative: String) throws -> [String: Any] {
    let data = try Data(contentsOf: Fixtures.url(relative))
    guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw FixtureError.malformed(relative)
    }
    return obj
}

enum FixtureError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self {
        case let .malformed(what): return "malformed fixture: \(what)"
        }
    }
}

/// SHA-256 hex digest of a file.
func sha256(ofFile path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    var d = SHA256Digest()
    d.update(data)
    return d.hexDigest()
}

/// Whether ffmpeg is installed (tests that decode FLAC or video need it).
let ffmpegAvailable = FFmpeg.isAvailable

/// Whether `python3 -c <code>` exits 0.
func pythonCanRun(_ code: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", code]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// The repository root (for scripts).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
