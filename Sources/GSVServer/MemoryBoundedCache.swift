// The per-role model cache (no official counterpart: api_v2 keeps one global pipeline; the role
// extension needs several weight sets resident at once).
import Foundation
import Logging

/// A least-recently-used cache bounded by the total byte size of its values, with single-flight
/// loading: concurrent requests for a key that is not resident share one load.
///
/// Evicting an entry only drops the cache's reference; callers that already hold the value keep
/// using it until they let go, so eviction never invalidates work in flight.
public actor MemoryBoundedCache<Key: Hashable & Sendable, Value: Sendable> {
    /// What a load produces: the value and its size in bytes.
    public typealias Loaded = (value: Value, bytes: Int)

    private struct Entry {
        var value: Value
        var bytes: Int
        var lastUse: UInt64
    }

    /// The most bytes kept resident.
    public let budgetBytes: Int
    private var entries: [Key: Entry] = [:]
    private var inFlight: [Key: Task<Loaded, Error>] = [:]
    private var clock: UInt64 = 0
    private let logger: Logger
    /// Loads started (a shared load counts once).
    public private(set) var loadCount = 0
    /// Entries dropped to stay within the budget (including values too large to keep at all).
    public private(set) var evictionCount = 0

    /// An empty cache holding at most `budgetBytes` (negative values count as 0).
    public init(budgetBytes: Int, logger: Logger = Logger(label: "gpt-sovits.server.model-cache")) {
        self.budgetBytes = max(0, budgetBytes)
        self.logger = logger
    }

    /// The value for `key`: the resident one (now most recently used), the one another caller is
    /// loading, or a new one from `load` (run once, off this actor). A failed load is not cached:
    /// every caller waiting on it gets the error and the next call tries again.
    ///
    /// A loaded value is kept if it fits the budget once older entries are evicted, least recently
    /// used first; a value larger than the whole budget is returned but not kept.
    public func value(for key: Key, load: @escaping @Sendable () async throws -> Loaded) async throws -> Value {
        if var entry = entries[key] {
            clock += 1
            entry.lastUse = clock
            entries[key] = entry
            return entry.value
        }
        if let task = inFlight[key] { return try await task.value.value }
        loadCount += 1
        let task = Task { try await load() }
        inFlight[key] = task
        let loaded: Loaded
        do {
            loaded = try await task.value
        } catch {
            inFlight[key] = nil
            throw error
        }
        inFlight[key] = nil
        insert(key, loaded)
        return loaded.value
    }

    private func insert(_ key: Key, _ loaded: Loaded) {
        let size = max(0, loaded.bytes)
        guard size <= budgetBytes else {
            evictionCount += 1
            logger.warning("model of \(size >> 20) MiB exceeds the model cache budget of \(budgetBytes >> 20) MiB; used for this request only")
            return
        }
        while residentBytes + size > budgetBytes, let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries[victim.key] = nil
            evictionCount += 1
            logger.info("model cache: evicted an entry of \(victim.value.bytes >> 20) MiB (least recently used)")
        }
        clock += 1
        entries[key] = Entry(value: loaded.value, bytes: size, lastUse: clock)
    }

    /// Bytes of the resident entries.
    public var residentBytes: Int { entries.values.reduce(0) { $0 + $1.bytes } }
    /// Number of resident entries.
    public var count: Int { entries.count }
    /// Whether `key` is resident (does not count as a use).
    public func contains(_ key: Key) -> Bool { entries[key] != nil }
    /// Resident keys, least recently used first.
    public var keysByRecency: [Key] { entries.sorted { $0.value.lastUse < $1.value.lastUse }.map(\.key) }
}
