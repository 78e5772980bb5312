// Shared mutable server state: the current engine (swapped by /set_*_weights), the default voice,
// role classifiers and the admission gate. Follows api_v2.py: set_refer_aduio, set_gpt_weights,
// set_sovits_weights (one global pipeline whose weights can be replaced at run time).
import Foundation
import GPTSoVITS
import GSVModels

/// Holds the engine serving requests and the model paths it came from. Loading new weights builds
/// a new bundle and engine; requests already running keep the engine they started with.
public actor EngineHolder {
    /// The engine new requests use.
    public private(set) var engine: TTSEngine
    /// The files of the current bundle, when it was loaded from files (needed to swap one network).
    public private(set) var paths: ModelPaths?
    /// The voice used when a request names no reference (set by `/set_refer_audio`).
    public private(set) var defaultVoice: VoiceReference?
    /// Counts weight swaps (0 for the engine given at start).
    public private(set) var generation = 0

    /// A holder over `engine`.
    public init(engine: TTSEngine, paths: ModelPaths?, defaultVoice: VoiceReference?) {
        self.engine = engine
        self.paths = paths
        self.defaultVoice = defaultVoice
    }

    /// Sets the default voice.
    public func setDefaultVoice(_ voice: VoiceReference) { defaultVoice = voice }

    /// The engine, its paths and its generation, read together.
    public func snapshot() -> (engine: TTSEngine, paths: ModelPaths?, generation: Int) { (engine, paths, generation) }

    /// Loads `gpt` and/or `sovits` into a new bundle (sharing the current CN-HuBERT and BERT) and
    /// makes it current.
    public func swapWeights(gpt: String? = nil, sovits: String? = nil) async throws {
        guard var p = paths else {
            throw APIError.badRequest("this server's models were not loaded from files; weights cannot be swapped")
        }
        if let gpt { p.gpt = gpt }
        if let sovits { p.sovits = sovits }
        let newPaths = p
        let base = engine.bundle
        let bundle = try await BlockingWorkExecutor.shared.perform { try base.replacingWeights(gpt: gpt, sovits: sovits) }
        engine = TTSEngine(bundle: bundle)
        paths = newPaths
        generation += 1
    }
}

/// At most `maxConcurrent` syntheses at once, at most `queueLength` waiting; beyond that, 503.
public actor AdmissionGate {
    /// Syntheses allowed to run at once.
    public let maxConcurrent: Int
    /// Requests allowed to wait for a slot.
    public let queueLength: Int
    private var active = 0
    /// The most syntheses that ever ran at once.
    public private(set) var peakRunning = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextWaiterID: UInt64 = 0

    /// A gate with the given limits (each at least 1 / 0).
    public init(maxConcurrent: Int, queueLength: Int) {
        self.maxConcurrent = max(1, maxConcurrent)
        self.queueLength = max(0, queueLength)
    }

    /// Takes a slot, waiting in the queue if needed. Throws a 503 ``APIError`` when the queue is
    /// full, and `CancellationError` when the waiting task is cancelled (it then leaves the queue).
    public func acquire() async throws {
        if active < maxConcurrent {
            active += 1
            peakRunning = max(peakRunning, active)
            return
        }
        guard waiters.count < queueLength else {
            throw APIError(status: 503, message: "server busy: \(active) syntheses running and \(waiters.count) queued; try again later", exception: nil)
        }
        try Task.checkCancellation()
        let id = nextWaiterID
        nextWaiterID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
                waiters.append((id, c))
            }
        } onCancel: {
            Task { await self.leaveQueue(id) }
        }
    }

    /// Removes a cancelled waiter (if it is still waiting: a slot it was already handed stays its own).
    private func leaveQueue(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
    }

    /// Gives a slot back (handing it to the longest-waiting request, if any).
    public func release() {
        if waiters.isEmpty {
            active = max(0, active - 1)
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Syntheses running now.
    public var running: Int { active }
    /// Requests waiting now.
    public var queued: Int { waiters.count }
}

/// Emotion classifiers per role folder, loaded once.
final class ClassifierCache: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [URL: BertSequenceClassifier] = [:]

    func classifier(folder: URL) throws -> BertSequenceClassifier {
        lock.lock()
        if let c = cache[folder] { lock.unlock(); return c }
        lock.unlock()
        let c = try BertSequenceClassifier.load(folder: folder.path)
        lock.lock(); cache[folder] = c; lock.unlock()
        return c
    }
}

/// A path check: the resolved file must lie inside one of `roots`.
public struct PathPolicy: Sendable {
    /// Allowed folders (symlinks resolved).
    public let roots: [URL]

    /// A policy over `roots`.
    public init(roots: [URL]) {
        self.roots = roots.map { $0.standardizedFileURL.resolvingSymlinksInPath() }
    }

    /// The resolved path of `raw` if it lies inside a root; else a 400 ``APIError`` naming `field`.
    public func confine(_ raw: String, field: String) throws -> String {
        guard !raw.isEmpty else { throw APIError.badRequest("\(field) is required") }
        guard !raw.contains("\0") else { throw APIError.badRequest("\(field): invalid path") }
        let url = URL(fileURLWithPath: raw).standardizedFileURL.resolvingSymlinksInPath()
        let path = url.path
        for root in roots where path == root.path || path.hasPrefix(root.path.hasSuffix("/") ? root.path : root.path + "/") {
            return path
        }
        if roots.isEmpty {
            throw APIError.badRequest("\(field): \(raw) is not allowed (the server allows no reference or weight folders; start it with --ref-root)")
        }
        throw APIError.badRequest("\(field): \(raw) is outside the allowed folders")
    }
}
