import Foundation
import GPTSoVITS
import GSVTensor
import GSVTestSupport
import Hummingbird
import HummingbirdTesting
import Testing
@testable import GSVServer

/// Temporary role folders built from the fixture role's default reference.
struct TempRoles {
    let root: URL
    var roles: URL { root.appendingPathComponent("roles") }
    /// A folder outside the roles that tests may allow as a weights root.
    var shared: URL { root.appendingPathComponent("shared") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-roles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("roles"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("shared"), withIntermediateDirectories: true)
    }

    /// Creates `roles/<name>` with `ref.wav` (the fixture role's clip), `files` copied in, `raw`
    /// files written, and a config.json of the default reference plus `extra`.
    @discardableResult
    func add(_ name: String, extra: [String: Any] = [:], copies: [String: URL] = [:], raw: [String: Data] = [:],
             links: [String: URL] = [:]) throws -> URL {
        let folder = roles.appendingPathComponent(name)
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        try fm.copyItem(at: Shared.roleDir.appendingPathComponent("小明.wav"), to: folder.appendingPathComponent("ref.wav"))
        for (file, source) in copies { try fm.copyItem(at: source, to: folder.appendingPathComponent(file)) }
        for (file, data) in raw { try data.write(to: folder.appendingPathComponent(file)) }
        for (file, target) in links { try fm.createSymbolicLink(at: folder.appendingPathComponent(file), withDestinationURL: target) }
        var config: [String: Any] = ["ref_audio": "ref.wav", "ref_text": Shared.refText, "ref_lang": "zh"]
        for (k, v) in extra { config[k] = v }
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        return folder
    }

    /// The voice a role made by ``add`` uses (no classifier: its default reference).
    func voice(_ name: String) -> VoiceReference {
        VoiceReference(audioPath: roles.appendingPathComponent(name).appendingPathComponent("ref.wav").path,
                       promptText: Shared.refText, promptLanguage: .zh)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// A server configuration over these roles (weights may also come from `shared`).
    func configuration(cacheBytes: Int = 1 << 30) throws -> ServerConfiguration {
        var c = try Shared.configuration()
        c.rolesDirectory = roles
        c.allowedRoots.append(shared)
        c.modelCacheBytes = cacheBytes
        return c
    }
}

final class Box: Sendable {
    let id: Int
    init(_ id: Int) { self.id = id }
}

struct Boom: Error {}

@Suite("GSVServer per-role weights and the model cache", .serialized)
struct ServerModelCacheTests {
    // MARK: - The LRU itself

    @Test("LRU: evicts least recently used entries to stay within the byte budget")
    func lruEviction() async throws {
        let cache = MemoryBoundedCache<String, Box>(budgetBytes: 100)
        func get(_ k: String, _ size: Int, _ id: Int) async throws -> Box {
            try await cache.value(for: k) { (Box(id), size) }
        }
        _ = try await get("a", 40, 1)
        _ = try await get("b", 40, 2)
        #expect(await cache.residentBytes == 80)
        _ = try await get("c", 40, 3)  // a is the least recently used
        #expect(await cache.keysByRecency == ["b", "c"])
        #expect(await cache.evictionCount == 1)
        // A hit counts as a use (and does not load): b is now the most recent.
        #expect(try await get("b", 40, 99).id == 2)
        _ = try await get("d", 30, 4)  // c goes
        #expect(await cache.keysByRecency == ["b", "d"])
        #expect(await cache.residentBytes == 70)
        #expect(await cache.loadCount == 4)
        // Too big for the whole budget: handed out, not kept, nothing else evicted.
        let huge = try await get("e", 150, 5)
        #expect(huge.id == 5)
        #expect(await cache.keysByRecency == ["b", "d"])
        #expect(await cache.evictionCount == 3)
        // Exactly the budget: everything else goes.
        _ = try await get("f", 100, 6)
        #expect(await cache.keysByRecency == ["f"])
        #expect(await cache.residentBytes == 100)
    }

    @Test("LRU: concurrent first requests share one load; failures are not cached")
    func lruSingleFlight() async throws {
        let cache = MemoryBoundedCache<String, Box>(budgetBytes: 1000)
        let ids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.value(for: "x") {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        return (Box(Int.random(in: 0..<1_000_000)), 10)
                    }.id
                }
            }
            var all: [Int] = []
            for try await id in group { all.append(id) }
            return all
        }
        #expect(ids.count == 8)
        #expect(Set(ids).count == 1)
        #expect(await cache.loadCount == 1)
        // A failing load reaches every waiter and leaves nothing behind.
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    do {
                        _ = try await cache.value(for: "y") {
                            try await Task.sleep(nanoseconds: 50_000_000)
                            throw Boom()
                        }
                        return false
                    } catch { return error is Boom }
                }
            }
            var n = 0
            for await failed in group where failed { n += 1 }
            return n
        }
        #expect(failures == 3)
        #expect(await cache.contains("y") == false)
        #expect(try await cache.value(for: "y") { (Box(7), 10) }.id == 7)
        #expect(await cache.loadCount == 3)
    }

    @Test("LRU: a value in use outlives its eviction; the cache lets go of it")
    func lruInUse() async throws {
        let cache = MemoryBoundedCache<String, Box>(budgetBytes: 10)
        var held: Box? = try await cache.value(for: "a") { (Box(1), 10) }
        weak let weakA = held
        _ = try await cache.value(for: "b") { (Box(2), 10) }  // evicts a
        #expect(await cache.contains("a") == false)
        #expect(held?.id == 1)  // still usable by whoever holds it
        held = nil
        #expect(weakA == nil)  // and the cache kept no reference
    }

    // MARK: - Memory estimate

    @Test("ModelMemory counts tensor and half weights once")
    func memoryEstimate() throws {
        struct Net { var a: Tensor; var b: [Tensor]; var name: String; var m: HalfMatrix }
        final class Shared2 { let t = Tensor.zeros([10]) }
        struct Twice { var x: Shared2; var y: Shared2 }
        let net = Net(a: .zeros([3, 4]), b: [.zeros([5]), .zeros([2, 2])], name: "n", m: HalfMatrix(.zeros([4, 8])))
        #expect(ModelMemory.bytes(of: net) == (12 + 5 + 4) * 4 + 32 * 2)
        let s = Shared2()
        #expect(ModelMemory.bytes(of: Twice(x: s, y: s)) == 40)
        let bundle = try Shared.bundle.get()
        let gptFile = try FileManager.default.attributesOfItem(atPath: Shared.paths.gpt)[.size] as? Int ?? 0
        let sovitsFile = try FileManager.default.attributesOfItem(atPath: Shared.paths.sovits)[.size] as? Int ?? 0
        // Loaded weights are the checkpoint's tensors (fp16 GPT matrices in place, the rest as
        // fp32; SoVITS convolutions also keep a packed copy, and training-only keys are dropped):
        // the same order of size as the files.
        #expect(bundle.gptBytes > gptFile / 3 && bundle.gptBytes < gptFile * 5, "GPT \(bundle.gptBytes) B vs file \(gptFile) B")
        #expect(bundle.sovitsBytes > sovitsFile / 3 && bundle.sovitsBytes < sovitsFile * 5, "SoVITS \(bundle.sovitsBytes) B vs file \(sovitsFile) B")
    }

    // MARK: - Roles with their own weights

    @Test("A role's own gpt/sovits files: loaded once (even under concurrent first requests), same audio for the same weights")
    func roleWeights() async throws {
        let temp = try TempRoles()
        defer { temp.remove() }
        try temp.add("own", extra: ["gpt": "gpt.ckpt", "sovits": "models/sovits.pth"],
                     copies: ["gpt.ckpt": URL(fileURLWithPath: Shared.paths.gpt)])
        try FileManager.default.createDirectory(at: temp.roles.appendingPathComponent("own/models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Shared.paths.sovits),
                                         to: temp.roles.appendingPathComponent("own/models/sovits.pth"))
        // An absolute path into an allowed root, GPT only.
        let sharedGPT = temp.shared.appendingPathComponent("gpt-copy.ckpt")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Shared.paths.gpt), to: sharedGPT)
        try temp.add("gptonly", extra: ["gpt": sharedGPT.path])
        // A link to the server's own file: nothing to load.
        try temp.add("same", extra: ["gpt": "gpt.ckpt"], links: ["gpt.ckpt": URL(fileURLWithPath: Shared.paths.gpt)])

        let core = ServerCore(try temp.configuration())
        let app = Application(router: buildRouter(core: core))
        let expectedOwn = try await Shared.expectedWAV("你好。", voice: temp.voice("own"), seed: 5)
        let expectedGPT = try await Shared.expectedWAV("好的。", voice: temp.voice("gptonly"), seed: 6)
        try await app.test(.router) { client in
            let body = jsonBody(["text": "你好。", "role": "own", "top_k": 1, "seed": 5])
            let results = try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                for _ in 0..<4 {
                    group.addTask { try await client.execute(uri: "/tts", method: .post, body: body) { r in (r.status.code, bytes(r.body)) } }
                }
                var all: [(Int, Data)] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.count == 4)
            for (status, data) in results {
                #expect(status == 200, "\(String(decoding: data, as: UTF8.self))")
                #expect(data == expectedOwn)
            }
            #expect(await core.modelCache.loadCount == 1)
            #expect(await core.modelCache.count == 1)
            let bundle = try Shared.bundle.get()
            #expect(await core.modelCache.residentBytes == bundle.gptBytes + bundle.sovitsBytes)

            try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "好的。", "role": "gptonly", "top_k": 1, "seed": 6])) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expectedGPT)
            }
            #expect(await core.modelCache.loadCount == 2)
            // Only the GPT is counted for a GPT-only role (SoVITS, HuBERT and BERT are shared).
            #expect(await core.modelCache.residentBytes == 2 * bundle.gptBytes + bundle.sovitsBytes)

            try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "你好。", "role": "same", "top_k": 1, "seed": 5])) { r in
                #expect(r.status == .ok)
                #expect(bytes(r.body) == expectedOwn)
            }
            #expect(await core.modelCache.loadCount == 2)

            // The OpenAI route uses the role's weights too.
            try await client.execute(uri: "/v1/audio/speech", method: .post,
                                     body: jsonBody(["input": "你好。", "voice": "own", "response_format": "wav", "top_k": 1, "seed": 5])) { r in
                #expect(r.status == .ok)
            }
            #expect(await core.modelCache.loadCount == 2)
            try await client.execute(uri: "/health", method: .get) { r in
                let cache = jsonObject(r.body)["model_cache"] as? [String: Any]
                #expect(cache?["entries"] as? Int == 2)
                #expect(cache?["budget_bytes"] as? Int == 1 << 30)
            }
        }
    }

    @Test("With a small budget the model cache evicts, and evicted roles load again")
    func roleEviction() async throws {
        let temp = try TempRoles()
        defer { temp.remove() }
        let gpt = URL(fileURLWithPath: Shared.paths.gpt), sovits = URL(fileURLWithPath: Shared.paths.sovits)
        try temp.add("a", extra: ["gpt": "g.ckpt", "sovits": "s.pth"], copies: ["g.ckpt": gpt, "s.pth": sovits])
        try temp.add("b", extra: ["gpt": "g.ckpt"], copies: ["g.ckpt": gpt])
        let bundle = try Shared.bundle.get()
        let expected = try await Shared.expectedWAV("你好。", voice: temp.voice("a"), seed: 5)

        // Budget below any entry: every request loads, nothing stays.
        let tiny = ServerCore(try temp.configuration(cacheBytes: 1))
        try await Application(router: buildRouter(core: tiny)).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "你好。", "role": "a", "top_k": 1, "seed": 5])) { r in
                    #expect(r.status == .ok)
                    #expect(bytes(r.body) == expected)
                }
            }
        }
        #expect(await tiny.modelCache.loadCount == 2)
        #expect(await tiny.modelCache.count == 0)
        #expect(await tiny.modelCache.evictionCount == 2)

        // Budget for role a alone: loading b evicts a; a then loads again.
        let small = ServerCore(try temp.configuration(cacheBytes: bundle.gptBytes + bundle.sovitsBytes))
        try await Application(router: buildRouter(core: small)).test(.router) { client in
            for role in ["a", "b", "b", "a"] {
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "你好。", "role": role, "top_k": 1, "seed": 5])) { r in
                    #expect(r.status == .ok)
                    if role == "a" { #expect(bytes(r.body) == expected) }
                }
            }
        }
        #expect(await small.modelCache.loadCount == 3)
        #expect(await small.modelCache.evictionCount == 2)
        #expect(await small.modelCache.keysByRecency.map { $0.sovits != nil } == [true])
    }

    @Test("Corrupt, missing or out-of-bounds role weights answer 400 naming the file; a fixed file then loads")
    func roleWeightErrors() async throws {
        let temp = try TempRoles()
        defer { temp.remove() }
        let broken = try temp.add("broken", extra: ["gpt": "gpt.ckpt"], raw: ["gpt.ckpt": Data("not a checkpoint".utf8)])
        try temp.add("missing", extra: ["sovits": "nope.pth"])
        let outside = temp.root.appendingPathComponent("elsewhere.ckpt")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Shared.paths.gpt), to: outside)
        try temp.add("escape", extra: ["gpt": outside.path])
        let core = ServerCore(try temp.configuration())
        let brokenPath = broken.appendingPathComponent("gpt.ckpt").standardizedFileURL.resolvingSymlinksInPath().path
        try await Application(router: buildRouter(core: core)).test(.router) { client in
            func call(_ role: String, _ check: @escaping @Sendable (Int, [String: Any]) -> Void) async throws {
                try await client.execute(uri: "/tts", method: .post, body: jsonBody(["text": "你好。", "role": role, "top_k": 1, "seed": 5])) { r in
                    check(r.status.code, jsonObject(r.body))
                }
            }
            try await call("broken") { status, obj in
                #expect(status == 400)
                #expect(obj["message"] as? String == "role 'broken': cannot load its GPT weights \(brokenPath)")
                #expect((obj["Exception"] as? String)?.contains("gpt.ckpt") == true)
            }
            try await call("missing") { status, obj in
                #expect(status == 400)
                #expect((obj["message"] as? String)?.hasPrefix("role 'missing': file not found: ") == true)
                #expect((obj["message"] as? String)?.hasSuffix("/missing/nope.pth") == true)
            }
            try await call("escape") { status, obj in
                #expect(status == 400)
                #expect(obj["message"] as? String == "role 'escape': 'gpt' weights \(outside.path) are outside the role folder and the allowed folders")
            }
            // OpenAI errors carry the same text.
            try await client.execute(uri: "/v1/audio/speech", method: .post, body: jsonBody(["input": "你好。", "voice": "broken"])) { r in
                #expect(r.status == .badRequest)
                #expect(((jsonObject(r.body)["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("role 'broken': cannot load its GPT weights") == true)
            }
            // The failure was not cached: with a good file in place the role works.
            try FileManager.default.removeItem(atPath: brokenPath)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: Shared.paths.gpt), to: URL(fileURLWithPath: brokenPath))
            try await call("broken") { status, _ in #expect(status == 200) }
        }
        #expect(await core.modelCache.count == 1)
    }
}
