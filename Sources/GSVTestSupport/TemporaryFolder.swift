import Foundation

/// A fresh folder under the system's temporary directory for one test, removed by ``cleanup()``.
public struct TemporaryFolder: Sendable {
    /// The folder.
    public let url: URL

    /// Creates `<tmp>/<prefix>-<UUID>`.
    public init(prefix: String = "gsv-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The folder's path.
    public var path: String { url.path }

    /// Removes the folder and everything in it.
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}
