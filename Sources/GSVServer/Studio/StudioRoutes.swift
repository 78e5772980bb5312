// The studio's routes: the page (`/`, `/studio/…` files) and the JSON the page needs under
// `/studio/api/`. Same auth (the bearer token, or the cookie POST /studio/login sets) and the same
// error shape (api_v2 `{"message", "Exception"}`) as the rest of the server.
import Foundation
import GPTSoVITS
import GSVAudio
import GSVText
import Hummingbird
import Logging

/// The studio's route group: the shell (page, files, sign-in, page list) and the JSON the pages
/// need under `/studio/api/`.
struct StudioRoutes: ServerRouteGroup {
    func register(_ routes: inout RouteTable, core: ServerCore) {
        guard core.config.studio.enabled else { return }
        let studio: Studio
        do { studio = try Studio(core: core) } catch {
            Logger(label: "gpt-sovits.server").error("studio disabled: \(ServerCore.apiError(error).message)")
            return
        }
        let shell = StudioShell(pages: ["speak", "voices", "status", "training"] + core.config.studio.extraPages, token: core.config.bearerToken)
        for r in shell.routes() {
            routes.on(r.path, method: r.method, access: r.open ? .open : .token) { req, ctx in await core.respond { try await r.handler(req, ctx) } }
        }
        routes.get("/studio/api/info") { _, _ in await core.respond { try await studio.info() } }
        routes.get("/studio/api/models") { _, _ in await core.respond { try await studio.listModels() } }
        routes.post("/studio/api/references") { req, _ in await core.respond { try await studio.uploadReference(req) } }
        routes.post("/studio/api/weights") { req, _ in await core.respond { try await studio.uploadWeights(req) } }
        routes.get("/studio/api/roles") { _, _ in await core.respond { try studio.listRoles() } }
        routes.post("/studio/api/roles") { req, _ in await core.respond { try await studio.createRole(req) } }
        routes.on("/studio/api/roles/{name}", method: .put) { req, ctx in await core.respond { try await studio.updateRole(req, ctx) } }
        routes.get("/studio/api/roles/{name}/clip") { req, ctx in await core.respond { try studio.roleClip(req, ctx) } }
        routes.post("/studio/api/encode") { req, _ in await core.respond { try await studio.encode(req) } }
        routes.get("/studio/api/status") { _, _ in await core.respond { try await studio.status() } }
        routes.get("/studio/api/training") { _, _ in await core.respond { try await studio.training() } }
    }
}

extension Studio {
    // MARK: - Info and models

    struct Info: Codable {
        var version: String
        var sampleRate: Int
        var languages: [String]
        var maxText: Int
        var defaultVoice: Bool
        var roles: Bool
        var ffmpeg: Bool
        var auth: Bool
        var maxConcurrent: Int

        enum CodingKeys: String, CodingKey {
            case version, languages, roles, ffmpeg, auth
            case sampleRate = "sample_rate", maxText = "max_text", defaultVoice = "default_voice", maxConcurrent = "max_concurrent"
        }
    }

    func info() async throws -> Response {
        let engine = await core.holder.engine
        let languages = TextLanguage.allCases.filter { $0.isSupported(by: engine.bundle.version) }.map(\.rawValue)
        return try Self.json(Info(version: engine.bundle.version.rawValue, sampleRate: engine.bundle.sampleRate, languages: languages,
                                  maxText: core.config.maxTextLength, defaultVoice: await core.holder.defaultVoice != nil,
                                  roles: core.roles != nil, ffmpeg: FFmpeg.isAvailable, auth: core.config.bearerToken != nil,
                                  maxConcurrent: core.config.maxConcurrent))
    }

    struct ModelList: Codable {
        struct Current: Codable {
            var gpt: String?
            var sovits: String?
            var version: String
        }
        var current: Current
        var gpt: [ListedModel]
        var sovits: [ListedModel]
    }

    func listModels() async throws -> Response {
        let snapshot = await core.holder.snapshot()
        let loaded = snapshot.paths.map { [$0.gpt, $0.sovits] } ?? []
        let models = self.models
        let found = try await core.executor.perform { models.list(loaded: loaded) }
        func resolved(_ p: String?) -> String? { p.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path } }
        let current = ModelList.Current(gpt: resolved(snapshot.paths?.gpt), sovits: resolved(snapshot.paths?.sovits),
                                        version: snapshot.engine.bundle.version.rawValue)
        return try Self.json(ModelList(current: current, gpt: found.gpt, sovits: found.sovits))
    }

    // MARK: - Uploads

    func uploadReference(_ request: Request) async throws -> Response {
        // (Queries as forms, like every route: the page's URLSearchParams sends spaces as '+'.)
        let q = FormQuery(request)
        let name = q["name"].flatMap { $0.isEmpty ? nil : $0 } ?? "clip"
        let check = q["check"] != "0"
        let limit = core.config.studio.maxAudioUploadBytes
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(status: 413, message: "clip exceeds \(limit) bytes", exception: nil)
        }
        let uploads = self.uploads, data = Data(buffer.readableBytesView), file = URL(fileURLWithPath: name).lastPathComponent
        let clip = try await core.executor.perform { try uploads.saveReference(data, name: file, check: check) }
        return try Self.json(clip, status: .created)
    }

    func uploadWeights(_ request: Request) async throws -> Response {
        let name = FormQuery(request)["name"] ?? ""
        let saved = try await uploads.saveWeights(from: request.body, name: name, limit: core.config.studio.maxWeightsUploadBytes)
        return try Self.json(saved, status: .created)
    }

    // MARK: - Roles

    struct RoleList: Codable {
        var enabled: Bool
        var roles: [RoleSummary]
        var emotionLabels: [String]
        enum CodingKeys: String, CodingKey {
            case enabled, roles
            case emotionLabels = "emotion_labels"
        }
    }

    func listRoles() throws -> Response {
        guard let library = core.roles else { return try Self.json(RoleList(enabled: false, roles: [], emotionLabels: emotionLabels)) }
        let roles = library.names().map { name -> RoleSummary in
            do { return RoleSummary(try library.role(name)) } catch {
                return RoleSummary(name: name, error: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        }
        return try Self.json(RoleList(enabled: true, roles: roles, emotionLabels: emotionLabels))
    }

    private func writer() throws -> RoleWriter {
        guard let roleWriter else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
        return roleWriter
    }

    func createRole(_ request: Request) async throws -> Response {
        let edit = try await core.decodeBody(request.body, headers: request.headers, as: RoleEditRequest.self)
        return try Self.json(try await writer().create(edit), status: .created)
    }

    func updateRole(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try Self.pathName(context)
        let edit = try await core.decodeBody(request.body, headers: request.headers, as: RoleEditRequest.self)
        return try Self.json(try await writer().update(name, edit))
    }

    static func pathName(_ context: BasicRequestContext) throws -> String {
        guard let raw = context.parameters.get("name"), let name = raw.removingPercentEncoding, !name.isEmpty else {
            throw APIError.badRequest("the role name is missing from the path")
        }
        return name
    }

    /// A role's default clip, or the clip of `?emotion=`.
    func roleClip(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        guard let library = core.roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
        let name = try Self.pathName(context)
        let role: Role
        do { role = try library.role(name) } catch RoleError.unknownRole {
            throw StudioError.notFound("unknown role '\(name)'")
        }
        let emotion = FormQuery(request)["emotion"]
        let reference: RoleReference
        if let emotion, !emotion.isEmpty {
            guard let r = role.emotionReferences[emotion] else { throw StudioError.notFound("role '\(name)' has no clip for '\(emotion)'") }
            reference = r
        } else {
            reference = role.defaultReference
        }
        guard let data = FileManager.default.contents(atPath: reference.audio.path) else {
            throw StudioError.notFound("role '\(name)': file not found: \(reference.audio.lastPathComponent)")
        }
        let types = ["wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"]
        return Response(status: .ok, headers: [.contentType: types[reference.audio.pathExtension.lowercased()] ?? "application/octet-stream",
                                               .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: - Encoding for download

    /// `POST /studio/api/encode?format=mp3` with a WAV body: the same audio in `format` (any
    /// ``AudioOutputFormat``), tagged as AI-generated like the CLI's output.
    func encode(_ request: Request) async throws -> Response {
        let raw = FormQuery(request)["format"] ?? ""
        guard let format = AudioOutputFormat(name: raw) else {
            throw APIError.badRequest("format: '\(raw)' is not one of \(AudioOutputFormat.all.map(\.name).joined(separator: ", "))")
        }
        let limit = core.config.studio.maxAudioUploadBytes
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(status: 413, message: "audio exceeds \(limit) bytes", exception: nil)
        }
        let wav: WAVFile
        do { wav = try WAV.decode(Data(buffer.readableBytesView), name: "upload") } catch let e as AudioError {
            throw APIError.badRequest("the body must be a WAV file", exception: e.errorDescription)
        }
        let audio = wav.mono
        let data = try await AudioEncoder(format: format, metadata: .aiGenerated).encode(audio.samples, sampleRate: audio.sampleRate)
        return Response(status: .ok, headers: [.contentType: format.mimeType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
