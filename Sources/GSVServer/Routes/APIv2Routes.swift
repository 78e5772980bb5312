// Follows api_v2.py: tts_get_endpoint / tts_post_endpoint (tts_handle), set_refer_aduio,
// set_gpt_weights, set_sovits_weights, control; pack_audio / wave_header_chunk (answer framing).
// Extension: the CABM `role` / `emotion` fields (ServerCore.plan).
import Foundation
import GPTSoVITS
import GSVAudio
import Hummingbird

/// The official api_v2 routes: `/tts` (GET and POST), `/set_refer_audio`, `/set_gpt_weights`,
/// `/set_sovits_weights`, `/control`.
struct APIv2Routes: ServerRouteGroup {
    func register(_ routes: inout RouteTable, core: ServerCore) {
        // Synthesis routes stop their work when the client hangs up before the answer is ready.
        routes.get("/tts") { req, _ in
            await core.untilHangUp(req) { _ in try await tts(core, try await core.decodeQuery(req, as: TTSRequest.self)) }
        }
        routes.post("/tts") { req, _ in
            await core.untilHangUp(req) { body in
                try await tts(core, try await core.decodeBody(body, headers: req.headers, as: TTSRequest.self))
            }
        }
        routes.get("/set_refer_audio") { req, _ in
            await core.respond { try await setReferAudio(core, try await core.decodeQuery(req, as: SetReferAudioRequest.self)) }
        }
        routes.get("/set_gpt_weights") { req, _ in
            await core.respond { try await setWeights(core, try await core.decodeQuery(req, as: SetWeightsRequest.self), kind: "gpt") }
        }
        routes.get("/set_sovits_weights") { req, _ in
            await core.respond { try await setWeights(core, try await core.decodeQuery(req, as: SetWeightsRequest.self), kind: "sovits") }
        }
        routes.get("/control") { req, _ in
            await core.respond { try await control(core, try await core.decodeQuery(req, as: ControlRequest.self)) }
        }
    }

    // MARK: - /tts

    func tts(_ core: ServerCore, _ request: TTSRequest) async throws -> Response {
        let plan = try await core.plan(for: request)
        if plan.options.streamingMode == .off {
            let result = try await core.synthesizeAll(plan)
            let data = try await Self.encode(result.samples, sampleRate: result.sampleRate, mediaType: request.mediaType)
            return Response(status: .ok, headers: [.contentType: "audio/\(request.mediaType)"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        return try await core.streamingResponse(plan, contentType: "audio/\(request.mediaType)",
                                                encoding: try Self.streamEncoding(request.mediaType))
    }

    /// api_v2 non-streaming packing.
    static func encode(_ samples: [Float], sampleRate: Int, mediaType: String) async throws -> Data {
        guard let format = AudioOutputFormat(name: mediaType) else {
            throw APIError.badRequest("media_type: \(mediaType) is not supported", field: "media_type")
        }
        return try await AudioEncoder(format: format).encode(samples, sampleRate: sampleRate)
    }

    /// api_v2 streaming packing: for wav a header chunk (length unknown) before the first PCM
    /// chunk and raw int16 PCM after; raw → PCM; ogg/aac → each chunk a complete file.
    static func streamEncoding(_ mediaType: String) throws -> StreamEncoding {
        switch mediaType {
        case "wav": return .wavStream
        case "raw": return .pcm16(resampleTo: nil)
        default:
            guard let format = EncodedAudioFormat(rawValue: mediaType) else {
                throw APIError.badRequest("media_type: \(mediaType) is not supported", field: "media_type")
            }
            return .filePerChunk(format)
        }
    }

    // MARK: - Voice, weights, control

    func setReferAudio(_ core: ServerCore, _ request: SetReferAudioRequest) async throws -> Response {
        guard !request.path.isEmpty else { throw APIError.badRequest("refer_audio_path is required", field: "refer_audio_path") }
        try core.checkPromptLength(request.promptText)
        let path = try core.policy.confine(request.path, field: "refer_audio_path")
        let voice = VoiceReference(audioPath: path, promptText: request.promptText, promptLanguage: request.promptLanguage)
        let engine = await core.holder.engine
        do {
            _ = try await core.executor.perform { try engine.prepare(voice) }
        } catch {
            throw APIError.badRequest("set refer audio failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        await core.holder.setDefaultVoice(voice)
        return ServerCore.json(.ok, ["message": "success"])
    }

    func setWeights(_ core: ServerCore, _ request: SetWeightsRequest, kind: String) async throws -> Response {
        guard !request.path.isEmpty else { throw APIError.badRequest("\(kind) weight path is required", field: "weights_path") }
        let path = try core.policy.confine(request.path, field: "weights_path")
        do {
            if kind == "gpt" { try await core.holder.swapWeights(gpt: path) } else { try await core.holder.swapWeights(sovits: path) }
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.badRequest("change \(kind) weight failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        return ServerCore.json(.ok, ["message": "success"])
    }

    /// Runs `action` shortly after the current reply had time to leave.
    private static func afterReply(_ action: @escaping @Sendable () -> Void) {
        Task.detached {
            try? await Task.sleep(nanoseconds: 200_000_000)
            action()
        }
    }

    func control(_ core: ServerCore, _ request: ControlRequest) async throws -> Response {
        switch request.command {
        case "":
            throw APIError.badRequest("command is required", field: "command")
        case "exit":
            guard core.config.allowExit else { throw APIError.badRequest("exit is disabled on this server (start it with --allow-exit)") }
            if core.exitLatch.trigger() { Self.afterReply(core.config.onExit) }
            return ServerCore.json(.ok, ["message": "exiting"])
        case "restart":
            guard core.config.allowRestart else { throw APIError.badRequest("restart is disabled on this server (start it with --allow-restart)") }
            if core.restartLatch.trigger() { Self.afterReply(core.config.onRestart) }
            return ServerCore.json(.ok, ["message": "restarting"])
        default:
            throw APIError.badRequest("unknown command '\(request.command)' (use restart or exit)", field: "command")
        }
    }
}
