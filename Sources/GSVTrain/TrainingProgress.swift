// What a training run leaves behind as it goes: one JSON object per line in
// `<output>/logs/<name>/progress.jsonl`, appended by `gpt-sovits train` and read by the studio's
// Training page (or anything else watching a run). Appending line by line keeps every earlier
// record whole if the run is killed; a reader skips a last line still being written.
import Foundation

/// One event of a training run.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// What happened.
    public enum Event: String, Codable, Sendable {
        /// A model's training began (or resumed).
        case start
        /// A batch was trained.
        case step
        /// A weights file was written (`file`).
        case weights
        /// The run finished.
        case done
        /// The run stopped on an error (`message`).
        case failed
    }

    public var event: Event
    /// `sovits` or `gpt`; nil for events of the whole run.
    public var model: String?
    /// 1-based epoch and its count.
    public var epoch: Int?
    public var epochs: Int?
    /// 1-based batch within the epoch and the batches per epoch.
    public var batch: Int?
    public var batches: Int?
    /// The step's losses and metrics by their official names (`loss_g`, `loss_mel`, …, `loss`, `top3_acc`).
    public var values: [String: Double]?
    public var learningRate: Double?
    /// Estimated seconds until this model's training ends.
    public var etaSeconds: Double?
    /// The file written (`weights` events).
    public var file: String?
    /// A note for people (`start`, `failed`).
    public var message: String?
    /// When it happened.
    public var time: Date

    enum CodingKeys: String, CodingKey {
        case event, model, epoch, epochs, batch, batches, values, file, message, time
        case learningRate = "learning_rate", etaSeconds = "eta_seconds"
    }

    /// An event of `model` (nil: the whole run) now.
    public init(_ event: Event, model: String? = nil, epoch: Int? = nil, epochs: Int? = nil, batch: Int? = nil, batches: Int? = nil,
                values: [String: Double]? = nil, learningRate: Double? = nil, etaSeconds: Double? = nil,
                file: String? = nil, message: String? = nil, time: Date = Date()) {
        self.event = event
        self.model = model
        self.epoch = epoch
        self.epochs = epochs
        self.batch = batch
        self.batches = batches
        self.values = values
        self.learningRate = learningRate
        self.etaSeconds = etaSeconds
        self.file = file
        self.message = message
        self.time = time
    }
}

/// The progress file of one run (`<output>/logs/<name>/progress.jsonl`).
public struct TrainingProgressLog: Sendable {
    /// The file's name inside a run's logs folder.
    public static let fileName = "progress.jsonl"
    /// The file.
    public let url: URL

    /// The log of the run whose state lives in `logsFolder` (`<output>/logs/<name>`).
    public init(logsFolder: URL) {
        url = logsFolder.appendingPathComponent(Self.fileName)
    }

    /// The runs under a training output folder that have a progress file, by name.
    public static func runs(in output: URL) -> [String] {
        let logs = output.appendingPathComponent("logs", isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: logs.appendingPathComponent($0).appendingPathComponent(fileName).path) }
            .sorted()
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// Appends `record` as one line (creating the folder and file when needed).
    public func append(_ record: TrainingProgress) throws {
        var line = try Self.encoder.encode(record)
        line.append(0x0A)
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: url.path) { fm.createFile(atPath: url.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// The last records (at most `maxRecords`, read from at most the file's last `maxBytes`),
    /// oldest first. Lines that do not parse (one still being written) are skipped.
    public func tail(maxRecords: Int = 500, maxBytes: Int = 1 << 20) throws -> [TrainingProgress] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        try handle.seek(toOffset: start)
        var data = try handle.readToEnd() ?? Data()
        // Reading from the middle of the file: drop the partial first line.
        if start > 0, let newline = data.firstIndex(of: 0x0A) { data = data[data.index(after: newline)...] }
        let records = data.split(separator: 0x0A).compactMap { try? Self.decoder.decode(TrainingProgress.self, from: Data($0)) }
        return Array(records.suffix(maxRecords))
    }
}
