// Operations routes (no official counterpart beyond api_v2's implicit liveness): GET /health,
// GET /running, GET /metrics (Prometheus text format, or JSON with ?format=json).
import Foundation
import GPTSoVITS
import Hummingbird

/// `/health`, `/running`, `/metrics`.
struct OperationsRoutes: ServerRouteGroup {
    func register(_ routes: inout RouteTable, core: ServerCore) {
        routes.get("/health", access: .open) { req, _ in await core.respond { await health(core, request: req) } }
        routes.get("/running", access: .open) { _, _ in await core.respond { ServerCore.json(.ok, ["message": "running"]) } }
        routes.get("/metrics") { req, _ in await core.respond { await metrics(core, request: req) } }
    }

    /// `{"status", "version", "sample_rate"}` for anyone; with the token (or on a server without
    /// one) also the model file, queue, model cache, process id and instance id.
    func health(_ core: ServerCore, request: Request) async -> Response {
        let engine = await core.holder.engine
        if let token = core.config.bearerToken, !BearerTokenMiddleware.authorizes(request, token: token) {
            return ServerCore.json(.ok, ["status": "ok", "version": engine.bundle.version.rawValue, "sample_rate": engine.bundle.sampleRate])
        }
        let running = await core.gate.running, queued = await core.gate.queued
        let cache: [String: Any] = ["entries": await core.modelCache.count, "bytes": await core.modelCache.residentBytes,
                                    "budget_bytes": core.modelCache.budgetBytes]
        return ServerCore.json(.ok, ["status": "ok", "model": engine.bundle.source, "version": engine.bundle.version.rawValue,
                                     "sample_rate": engine.bundle.sampleRate, "running": running, "queued": queued,
                                     "pid": Int(getpid()), "instance": core.instanceID, "model_cache": cache])
    }

    /// The metrics of ``ServerMetrics``: Prometheus text format 0.0.4, or JSON samples with
    /// `?format=json`.
    func metrics(_ core: ServerCore, request: Request) async -> Response {
        let cache = core.modelCache
        core.metrics.refresh(running: await core.gate.running, waiting: await core.gate.queued, slots: core.gate.maxConcurrent,
                             capacity: core.gate.queueLength, cacheBytes: await cache.residentBytes, cacheEntries: await cache.count,
                             cacheBudget: cache.budgetBytes, cacheLoads: await cache.loadCount, cacheEvictions: await cache.evictionCount)
        if FormQuery(request)["format"] == "json" {
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: core.metrics.jsonSnapshot())))
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: core.metrics.prometheusText())))
    }
}
