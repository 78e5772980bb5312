// The review page's API: proofreading one `.list` file (official `tools/subfix_webui.py`, spec
// §8.3: play each clip, edit text and language, delete / merge / split rows, save). The rows, the
// history and the atomic save live in `GSVPrepare.ReviewSession`; these routes only translate HTTP.
// Served by `serve --review LIST` (a ``ServerRouteGroup``) and, without any model, by
// `gpt-sovits prepare review LIST` (``ReviewServer``).
import Foundation
import GSVPrepare
import Hummingbird
import Logging

/// The routes under `/prepare/review/api/`. Every change answers the new state
/// (``GSVPrepare/ReviewSession/State``, JSON); errors are `{"message": …}` with 400 (a bad edit or
/// request), 404 (no such row's audio), 409 (the file changed on disk: reload or save with `force`)
/// or 500 (the file cannot be written).
///
/// - `GET  state` — the rows, revision, dirty flag, undo/redo availability
/// - `GET  audio/{id}` — a row's audio file
/// - `POST edit` `{"id", "text"?, "language"?, "speaker"?}`
/// - `POST delete` `{"ids": [...]}`
/// - `POST merge` `{"ids": [...], "gap"?, "separator"?}`
/// - `POST split` `{"id", "at" (seconds), "text_before"?, "text_after"?}`
/// - `POST undo`, `POST redo`, `POST reload`, `POST save` `{"force"?}`
public struct ReviewRoutes: ServerRouteGroup {
    /// The studio page (`pages/review.js`) these routes serve.
    public static let studioPage = "review"
    /// Where the routes live.
    public static let prefix = "/prepare/review/api"
    /// Largest request body accepted.
    static let maxBodyBytes = 1 << 20

    /// The session the routes edit.
    public let session: ReviewSession

    /// Routes over `session`.
    public init(session: ReviewSession) { self.session = session }

    /// Routes over a new session on `listPath` (see ``GSVPrepare/ReviewSession/init(listPath:audioFolder:mergeGap:)``).
    public init(listPath: String, audioFolder: String? = nil) throws {
        session = try ReviewSession(listPath: listPath, audioFolder: audioFolder)
    }

    /// Adds the routes to a server's table (they need the token when the server has one).
    public func register(_ routes: inout RouteTable, core: ServerCore) {
        for r in self.routes() { routes.on(r.path, method: r.method, access: .token, use: r.handler) }
    }

    /// The routes (all need the server's token when it has one).
    public func routes() -> [StudioShell.Route] {
        let session = self.session
        let p = Self.prefix
        func change<T: Decodable>(_ path: String, _ body: T.Type, emptyAllowed: Bool = false,
                                  _ apply: @escaping @Sendable (T) async throws -> Void) -> StudioShell.Route {
            StudioShell.Route(method: .post, path: "\(p)/\(path)", open: false) { request, _ in
                await Self.answer {
                    try await apply(try await Self.decode(T.self, request, emptyAllowed: emptyAllowed))
                    return await session.state()
                }
            }
        }
        return [
            StudioShell.Route(method: .get, path: "\(p)/state", open: false) { _, _ in await Self.answer { await session.state() } },
            StudioShell.Route(method: .get, path: "\(p)/audio/{id}", open: false) { _, context in
                await Self.audio(session, id: context.parameters.get("id"))
            },
            change("edit", Edit.self) { try await session.edit(id: $0.id, text: $0.text, language: $0.language, speaker: $0.speaker) },
            change("delete", IDs.self) { try await session.delete(ids: $0.ids) },
            change("merge", Merge.self) { _ = try await session.merge(ids: $0.ids, gap: $0.gap, separator: $0.separator ?? "") },
            change("split", Split.self) { _ = try await session.split(id: $0.id, at: $0.at, textBefore: $0.textBefore, textAfter: $0.textAfter) },
            change("undo", Empty.self, emptyAllowed: true) { _ in await session.undo() },
            change("redo", Empty.self, emptyAllowed: true) { _ in await session.redo() },
            change("reload", Empty.self, emptyAllowed: true) { _ in try await session.reload() },
            change("save", Save.self, emptyAllowed: true) { try await session.save(force: $0.force ?? false) },
        ]
    }

    // MARK: - Requests

    struct Edit: Decodable, Sendable { var id: Int; var text: String?; var language: String?; var speaker: String? }
    struct IDs: Decodable, Sendable { var ids: [Int] }
    struct Merge: Decodable, Sendable { var ids: [Int]; var gap: Double?; var separator: String? }
    struct Split: Decodable, Sendable {
        var id: Int; var at: Double; var textBefore: String?; var textAfter: String?
        enum CodingKeys: String, CodingKey { case id, at, textBefore = "text_before", textAfter = "text_after" }
    }
    struct Save: Decodable, Sendable { var force: Bool? }
    struct Empty: Decodable, Sendable {}

    /// The JSON body as a `T` (400 naming the problem when it is not one).
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, emptyAllowed: Bool = false) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxBodyBytes) } catch {
            throw APIError(status: 413, message: "request body too large (at most \(maxBodyBytes) bytes)")
        }
        var data = Data(buffer.readableBytesView)
        if data.isEmpty && emptyAllowed { data = Data("{}".utf8) }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError.badRequest("malformed request: '\(key.stringValue)' is required", field: key.stringValue)
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
            let field = c.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.badRequest("malformed request: '\(field)' has the wrong type", field: field)
        } catch {
            throw APIError.badRequest("malformed request: the body is not the JSON object this route takes")
        }
    }

    // MARK: - Responses

    /// Runs `body` and answers its state as JSON, or the error.
    static func answer(_ body: () async throws -> ReviewSession.State) async -> Response {
        do {
            let state = try await body()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(state))))
        } catch {
            return ServerCore.errorResponse(apiError(error), openAI: false)
        }
    }

    /// The HTTP error for an error of a review operation.
    static func apiError(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as PrepareError:
            let message = e.errorDescription ?? "\(e)"
            switch e {
            case .conflict: return APIError(status: 409, message: message)
            case .unwritable, .unreadable: return APIError(status: 500, message: message)
            default: return APIError(status: 400, message: message)
            }
        default: return APIError(status: 500, message: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// `GET audio/{id}`: the row's audio file as it is on disk.
    static func audio(_ session: ReviewSession, id raw: String?) async -> Response {
        guard let raw, let id = Int(raw) else {
            return ServerCore.errorResponse(.badRequest("the row id must be an integer"), openAI: false)
        }
        let path: String
        do { path = try await session.audioFile(id: id) } catch {
            return ServerCore.errorResponse(APIError(status: 404, message: "no row with id \(id)"), openAI: false)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return ServerCore.errorResponse(APIError(status: 404, message: "the audio of row \(id) (\(path)) cannot be read"), openAI: false)
        }
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        let type = ["wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"][ext] ?? "application/octet-stream"
        return Response(status: .ok, headers: [.contentType: type, .contentLength: String(data.count), .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
