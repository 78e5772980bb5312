import Foundation

/// Locates the golden fixture folder used by the test suites.
///
/// Tests read the folder named by the `GSV_FIXTURES` environment variable when it is set (same
/// layout as `shared/fixtures`: `v2/models`, `v2/golden`, …), otherwise the copy shipped in the
/// repository under `Tests/Fixtures`.
public enum Fixtures {
    /// The fixture root folder.
    public static var root: URL {
        if let env = ProcessInfo.processInfo.environment["GSV_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        // Sources/GSVTestSupport/Fixtures.swift → repository root.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("Tests/Fixtures", isDirectory: true)
    }

    /// A path inside the fixture root, e.g. `Fixtures.url("v2/ref/ref.wav")`.
    public static func url(_ relative: String) -> URL {
        root.appendingPathComponent(relative)
    }

    /// Whether a fixture file exists (some fixture sets may omit optional parts).
    public static func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: url(relative).path)
    }
}
