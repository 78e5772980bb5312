// The studio: a browser UI served by `gpt-sovits serve` at `/` (plain HTML/CSS/JS from this
// target's resources, no build step). It is a client of the server's own routes (POST /tts for
// synthesis, /set_*_weights for switching models) and adds only what a page needs: the model
// files it may load, uploads (reference clips, model files), role folders to create and edit,
// encoding a result for download, and the status figures.
import Foundation
import GPTSoVITS
import Hummingbird

/// The studio settings of a server.
public struct StudioConfiguration: Sendable {
    /// Whether `/` and `/studio/…` serve the studio.
    public var enabled = true
    /// Folder for uploaded reference clips (`references/`) and model files (`weights/`). Nil: a
    /// new temporary folder at start. It joins the allowed roots, so uploads can be used in requests.
    public var directory: URL?
    /// Folders whose GPT/SoVITS files the studio lists besides the allowed roots (e.g. the model
    /// cache). They join the allowed roots too, so the page can load what it lists.
    public var modelFolders: [URL] = []
    /// Largest model file upload, in bytes.
    public var maxWeightsUploadBytes = 4 << 30
    /// Largest reference clip or audio-to-encode upload, in bytes.
    public var maxAudioUploadBytes = 256 << 20
    /// Pages besides Speak, Voices, Status and Training that this server shows (e.g. `review`), in order.
    public var extraPages: [String] = []
    /// Training output folders (`gpt-sovits train --output`) whose runs the Training page shows.
    public var trainingFolders: [URL] = []

    /// The default settings (enabled, temporary upload folder).
    public init() {}
}

/// Errors of the studio's own routes (they reach the page as api_v2-shaped error bodies).
enum StudioError {
    static func notFound(_ what: String) -> APIError { APIError(status: 404, message: what, exception: nil) }
    static func conflict(_ what: String) -> APIError { APIError(status: 409, message: what, exception: nil) }
}

/// The studio's state: uploads, model listing, role writing. One per server.
final class Studio: Sendable {
    let core: ServerCore
    let uploads: StudioUploads
    let models: ModelLister
    let roleWriter: RoleWriter?
    let weightBytesCache = WeightBytesCache()
    let started = Date()

    init(core: ServerCore) throws {
        self.core = core
        let studio = core.config.studio
        guard let directory = studio.directory else {
            throw APIError(status: 500, message: "studio folder not prepared (call Studio.prepare(_:) first)", exception: nil)
        }
        uploads = try StudioUploads(root: directory)
        let studioFolder = directory.standardizedFileURL.path
        models = ModelLister(folders: [(uploads.weightsFolder, "uploaded")] + studio.modelFolders.map { ($0, "cache") }
                                + core.config.allowedRoots.filter { $0.standardizedFileURL.path != studioFolder }.map { ($0, "folder") })
        let uploads = self.uploads
        roleWriter = core.roles.map { RoleWriter(library: $0, uploads: uploads, policy: core.policy) }
    }

    /// Settles the studio folder (a temporary one when none is set) and adds it, the model
    /// folders and the startup model files to the allowed roots. Call before building the core.
    static func prepare(_ config: inout ServerConfiguration) {
        guard config.studio.enabled else { return }
        if config.studio.directory == nil {
            config.studio.directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("gpt-sovits-studio-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
        }
        var roots = config.allowedRoots
        if let dir = config.studio.directory { roots.append(dir) }
        roots += config.studio.modelFolders
        // The files the server started with may be chosen again after switching away from them.
        if let p = config.modelPaths { roots += [p.gpt, p.sovits].map { URL(fileURLWithPath: $0) } }
        config.allowedRoots = roots
    }

    /// A JSON response from an `Encodable` value (snake_case keys as written in the types).
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
