// The server's operational metrics (no official counterpart: api_v2 has none). Recorded through the
// swift-metrics API into a per-server swift-prometheus registry (no process-wide bootstrap, so
// several servers — or tests — in one process keep separate numbers), served as the Prometheus text
// format at GET /metrics and as JSON at GET /metrics?format=json.
import CoreMetrics
import GPTSoVITS
import Foundation
import Prometheus

/// Counters, gauges and histograms of one server. Metric names (all prefixed `gsv_`):
///
/// - `gsv_http_requests_total{route,method,status}`: answered HTTP requests (`route` is the
///   registered path, `unmatched` for unknown ones).
/// - `gsv_synthesis_total{api,outcome}`: syntheses by route family (`api_v2`, `openai`) and outcome
///   (`ok`, `error`, `cancelled`, `rejected` when the queue was full).
/// - `gsv_synthesis_seconds{api}` (histogram): wall time of finished syntheses, from taking a slot
///   to the last audio.
/// - `gsv_synthesis_audio_seconds_total{api}`: seconds of audio produced.
/// - `gsv_synthesis_rtf{api}` (histogram): real-time factor (synthesis seconds ÷ audio seconds).
/// - `gsv_first_audio_seconds{api}` (histogram): time from taking a slot to the first audio chunk of
///   streamed responses.
/// - `gsv_queue_running`, `gsv_queue_waiting`, `gsv_queue_slots`, `gsv_queue_capacity`: the
///   admission gate now.
/// - `gsv_model_cache_bytes`, `gsv_model_cache_entries`, `gsv_model_cache_budget_bytes`,
///   `gsv_model_cache_loads_total`, `gsv_model_cache_evictions_total`: roles' own weights.
/// - `gsv_process_resident_bytes`, `gsv_process_peak_resident_bytes`: the process's memory now and
///   at its peak (VmRSS / VmHWM), where the system tells.
public final class ServerMetrics: Sendable {
    /// The registry every metric of this server is written to.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let cacheCounts = CounterSnapshot()
    /// The most recent syntheses, newest last (see ``recentSyntheses``).
    private let recent = RecentSyntheses(capacity: 50)

    /// Empty metrics.
    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets = [
            "gsv_synthesis_seconds": [0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160].map { Duration.milliseconds(Int64($0 * 1000)) },
            "gsv_first_audio_seconds": [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32].map { Duration.milliseconds(Int64($0 * 1000)) },
        ]
        f.valueHistogramBuckets = ["gsv_synthesis_rtf": [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4]]
        factory = f
    }

    /// Counts one answered HTTP request.
    func request(route: String, method: String, status: Int) {
        Counter(label: "gsv_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory).increment()
    }

    /// Counts a synthesis outcome.
    func synthesis(api: String, outcome: String) {
        Counter(label: "gsv_synthesis_total", dimensions: [("api", api), ("outcome", outcome)], factory: factory).increment()
    }

    /// Records a finished synthesis: its wall time and audio duration.
    func finished(api: String, seconds: Double, audioSeconds: Double) {
        synthesis(api: api, outcome: "ok")
        Timer(label: "gsv_synthesis_seconds", dimensions: [("api", api)], factory: factory)
            .recordNanoseconds(Int64(max(0, seconds) * 1e9))
        FloatingPointCounter(label: "gsv_synthesis_audio_seconds_total", dimensions: [("api", api)], factory: factory)
            .increment(by: max(0, audioSeconds))
        if audioSeconds > 0 {
            Recorder(label: "gsv_synthesis_rtf", dimensions: [("api", api)], aggregate: true, factory: factory)
                .record(seconds / audioSeconds)
        }
    }

    /// Records how long a streamed response waited for its first audio.
    func firstAudio(api: String, seconds: Double) {
        Timer(label: "gsv_first_audio_seconds", dimensions: [("api", api)], factory: factory)
            .recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    /// Remembers one synthesis for ``recentSyntheses``.
    func remember(_ record: SynthesisRecord) { recent.append(record) }

    /// The last 50 syntheses (finished, failed or cancelled after taking a slot), oldest first.
    public var recentSyntheses: [SynthesisRecord] { recent.all }

    /// Sets the gauges that mirror state owned elsewhere (queue, model cache) just before a scrape.
    func refresh(running: Int, waiting: Int, slots: Int, capacity: Int,
                 cacheBytes: Int, cacheEntries: Int, cacheBudget: Int, cacheLoads: Int, cacheEvictions: Int) {
        func gauge(_ name: String, _ v: Int) { Gauge(label: name, factory: factory).record(v) }
        gauge("gsv_queue_running", running)
        gauge("gsv_queue_waiting", waiting)
        gauge("gsv_queue_slots", slots)
        gauge("gsv_queue_capacity", capacity)
        gauge("gsv_model_cache_bytes", cacheBytes)
        gauge("gsv_model_cache_entries", cacheEntries)
        gauge("gsv_model_cache_budget_bytes", cacheBudget)
        if let rss = Self.residentBytes() { gauge("gsv_process_resident_bytes", rss) }
        if let peak = ProcessMetrics.peakResidentBytes() { gauge("gsv_process_peak_resident_bytes", peak) }
        let (newLoads, newEvictions) = cacheCounts.advance(loads: cacheLoads, evictions: cacheEvictions)
        Counter(label: "gsv_model_cache_loads_total", factory: factory).increment(by: newLoads)
        Counter(label: "gsv_model_cache_evictions_total", factory: factory).increment(by: newEvictions)
    }

    /// Resident set size now (`VmRSS` of /proc/self/status), where the system tells.
    static func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return ProcessMetrics.kilobytes(field: "VmRSS", inProcStatus: status).map { $0 * 1024 }
    }

    /// The Prometheus text exposition (format 0.0.4).
    public func prometheusText() -> String { registry.emitToString() }

    /// The samples of ``prometheusText()`` as JSON, for pages that read the numbers:
    /// `{"samples": [{"name", "labels", "value"}], "recent": [SynthesisRecord…]}` (histograms as their
    /// `_bucket`/`_sum`/`_count` samples; `recent` as ``recentSyntheses``).
    public func jsonSnapshot() -> Data {
        var samples: [[String: Any]] = []
        for line in prometheusText().split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = Self.parseSample(line), sample.value.isFinite else { continue }
            samples.append(["name": sample.name, "labels": sample.labels, "value": sample.value])
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let recentJSON = (try? encoder.encode(recentSyntheses)).flatMap { try? JSONSerialization.jsonObject(with: $0) } ?? []
        return (try? JSONSerialization.data(withJSONObject: ["samples": samples, "recent": recentJSON], options: [.sortedKeys]))
            ?? Data("{}".utf8)
    }

    /// One line `name{label="value",…} number` of the text format.
    static func parseSample(_ line: Substring) -> (name: String, labels: [String: String], value: Double)? {
        guard let space = line.lastIndex(of: " ") else { return nil }
        let valueText = line[line.index(after: space)...]
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        default:
            guard let v = Double(valueText) else { return nil }
            value = v
        }
        let head = line[..<space]
        guard let brace = head.firstIndex(of: "{") else { return (String(head), [:], value) }
        var labels: [String: String] = [:]
        var rest = head[head.index(after: brace)...].dropLast()  // drop "}"
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var i = rest.index(after: eq)
            guard i < rest.endIndex, rest[i] == "\"" else { return nil }
            i = rest.index(after: i)
            var v = ""
            while i < rest.endIndex, rest[i] != "\"" {
                if rest[i] == "\\", rest.index(after: i) < rest.endIndex {
                    i = rest.index(after: i)
                    v.append(rest[i] == "n" ? "\n" : rest[i])
                } else {
                    v.append(rest[i])
                }
                i = rest.index(after: i)
            }
            labels[key] = v
            rest = i < rest.endIndex ? rest[rest.index(after: i)...] : rest[rest.endIndex...]
        }
        return (String(head[..<brace]), labels, value)
    }
}

/// The last seen totals of a counter owned elsewhere, to turn snapshots into increments.
private final class CounterSnapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var loads = 0
    private var evictions = 0

    func advance(loads l: Int, evictions e: Int) -> (Int64, Int64) {
        lock.lock()
        defer { lock.unlock() }
        let out = (Int64(max(0, l - loads)), Int64(max(0, e - evictions)))
        loads = max(loads, l)
        evictions = max(evictions, e)
        return out
    }
}

/// One synthesis as the status pages list it.
public struct SynthesisRecord: Sendable, Codable, Equatable {
    /// The route that asked for it (`/tts`, `/v1/audio/speech`).
    public var route: String
    /// `ok`, `error` or `cancelled`.
    public var outcome: String
    /// Characters of the text.
    public var textCharacters: Int
    /// Seconds of audio produced (all of it for `ok`, what was sent before the end otherwise).
    public var audioSeconds: Double
    /// Seconds from taking a slot to the first audio chunk (streamed answers only).
    public var firstAudioSeconds: Double?
    /// Seconds from taking a slot to the end.
    public var totalSeconds: Double
    /// When it ended.
    public var finishedAt: Date
    /// The error, for `error`.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case route, outcome, error
        case textCharacters = "text_characters", audioSeconds = "audio_seconds", firstAudioSeconds = "first_audio_seconds"
        case totalSeconds = "total_seconds", finishedAt = "finished_at"
    }
}

/// A ring of the last records.
private final class RecentSyntheses: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private var records: [SynthesisRecord] = []

    init(capacity: Int) { self.capacity = capacity }

    func append(_ r: SynthesisRecord) {
        lock.lock()
        records.append(r)
        if records.count > capacity { records.removeFirst(records.count - capacity) }
        lock.unlock()
    }

    var all: [SynthesisRecord] {
        lock.lock()
        defer { lock.unlock() }
        return records
    }
}
