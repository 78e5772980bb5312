import Foundation
import GSVAudio
import GSVModels

/// Step 3 — drops clips without enough speech (music, noise, silence) using Silero VAD.
///
/// Each clip's speech is measured with Silero's `get_speech_timestamps` defaults (at 32 kHz every
/// second sample is used, as Silero does). A clip is kept when it holds at least
/// ``minSpeechSeconds`` of speech and speech covers at least ``minSpeechRatio`` of it; dropped clips
/// are moved to a `rejected/` subfolder (never deleted), and every decision is recorded in
/// `vad.json` in the clip folder, so a second run only measures new clips.
public struct VADFilter: Sendable {
    /// The detector.
    public let model: SileroVAD
    /// Timestamp settings (Silero's defaults).
    public var options: SpeechTimestampOptions
    /// Least speech a kept clip holds, in seconds.
    public var minSpeechSeconds: Double
    /// Least share of the clip that is speech.
    public var minSpeechRatio: Double

    /// Creates the filter.
    public init(model: SileroVAD, options: SpeechTimestampOptions = SpeechTimestampOptions(),
                minSpeechSeconds: Double = 0.5, minSpeechRatio: Double = 0.3) {
        self.model = model
        self.options = options
        self.minSpeechSeconds = minSpeechSeconds
        self.minSpeechRatio = minSpeechRatio
    }

    /// The measurement of one clip.
    public struct Decision: Sendable, Codable, Equatable {
        /// Clip file name.
        public var clip: String
        /// Clip length in seconds.
        public var seconds: Double
        /// Seconds covered by speech segments.
        public var speechSeconds: Double
        /// Speech segments `[start, end)` in seconds.
        public var segments: [[Double]]
        /// Whether the clip was kept.
        public var kept: Bool
        /// File size and modification time when measured (to notice a replaced clip).
        public var size: Int
        public var modified: Double
    }

    /// Measures one clip's audio: seconds of speech and the speech segments `[start, end)` in seconds.
    public func measure(_ audio: AudioBuffer) throws -> (speechSeconds: Double, segments: [[Double]]) {
        var samples = audio.samples
        var rate = audio.sampleRate
        if rate % SileroVAD.sampleRate != 0 {
            samples = try audio.resampled(to: SileroVAD.sampleRate).samples
            rate = SileroVAD.sampleRate
        }
        let segments = try model.speechTimestamps(samples, sampleRate: rate, options: options)
        let speech = segments.reduce(0) { $0 + $1.count }
        let r = Double(rate)
        return (Double(speech) / r, segments.map { [Double($0.lowerBound) / r, Double($0.upperBound) / r] })
    }

    /// Whether a clip with these figures is kept.
    public func keeps(seconds: Double, speechSeconds: Double) -> Bool {
        speechSeconds >= minSpeechSeconds && seconds > 0 && speechSeconds / seconds >= minSpeechRatio
    }

    /// The report file of a clip folder.
    public static func reportPath(in folder: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent("vad.json").path
    }

    /// Filters the clips of `folder` (its `.wav` files). Returns the kept clips' paths in name
    /// order, and every decision.
    public func filter(folder: String, progress: StepProgress? = nil) throws -> (kept: [String], decisions: [Decision]) {
        let fm = FileManager.default
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: folder).filter { $0.lowercased().hasSuffix(".wav") && !$0.hasPrefix(".") }.sorted() } catch {
            throw PrepareError.unreadable(path: folder, reason: error.localizedDescription)
        }
        let reportPath = Self.reportPath(in: folder)
        var report: [String: Decision] = [:]
        if let data = fm.contents(atPath: reportPath), let old = try? JSONDecoder().decode([Decision].self, from: data) {
            for d in old { report[d.clip] = d }
        }
        let rejected = URL(fileURLWithPath: folder).appendingPathComponent("rejected").path
        var kept: [String] = []
        progress?.begin(step: "vad", total: names.count, unit: "clips")
        for name in names {
            try Task.checkCancellation()
            defer { progress?.advance(by: 1, detail: name) }
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            let attrs = try? fm.attributesOfItem(atPath: path)
            let size = (attrs?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            var decision: Decision
            if let old = report[name], old.size == size, old.modified == modified, old.kept {
                decision = old
            } else {
                let audio = try AudioLoader.load(path: path)
                let (speech, segments) = try measure(audio)
                decision = Decision(clip: name, seconds: audio.duration, speechSeconds: speech, segments: segments,
                                    kept: keeps(seconds: audio.duration, speechSeconds: speech), size: size, modified: modified)
            }
            if decision.kept {
                kept.append(path)
            } else {
                try PrepareFiles.makeFolder(rejected)
                let target = URL(fileURLWithPath: rejected).appendingPathComponent(name).path
                try? fm.removeItem(atPath: target)
                do { try fm.moveItem(atPath: path, toPath: target) } catch {
                    throw PrepareError.unwritable(path: target, reason: error.localizedDescription)
                }
            }
            report[name] = decision
        }
        progress?.end()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let all = report.values.sorted { $0.clip < $1.clip }
        try AtomicFile.write(try encoder.encode(all), to: reportPath)
        return (kept, names.compactMap { report[$0] })
    }
}
