import Foundation
import GSVAudio

// Follows tools/slice_audio.py: slice (32 kHz decoding, the per-clip level mix, int16 clips named
// `<input name>_<start:010d>_<end:010d>.wav`) on top of GSVAudio's SilenceSlicer (tools/slicer2.py).

/// Settings of the slicing step. Defaults are the official web UI's.
public struct SliceSettings: Sendable, Codable, Equatable {
    /// Frames quieter than this (dBFS RMS) are silence candidates (web UI: −34).
    public var thresholdDB: Double = -34
    /// Shortest clip in ms (web UI: 4000).
    public var minLengthMs: Int = 4000
    /// Shortest silence that may be cut, in ms (web UI: 300).
    public var minIntervalMs: Int = 300
    /// RMS hop in ms (web UI: 10).
    public var hopSizeMs: Int = 10
    /// Longest silence kept around a cut, in ms (web UI: 500).
    public var maxSilenceKeptMs: Int = 500
    /// Peak level of the mix (web UI `_max`: 0.9).
    public var maxLevel: Double = 0.9
    /// Share of the peak-normalised signal in the mix (web UI `alpha`: 0.25).
    public var alpha: Double = 0.25
    /// When set, each clip is then normalised to this integrated loudness (LUFS, ITU-R BS.1770),
    /// peaks limited to 0.99. Not an official option (nil by default: official output).
    public var targetLUFS: Double?

    /// The web UI defaults.
    public init() {}

    /// The slicer these settings describe, at `sampleRate`.
    public func slicer(sampleRate: Int) throws -> SilenceSlicer {
        do {
            return try SilenceSlicer(sampleRate: sampleRate, thresholdDB: thresholdDB, minLengthMs: minLengthMs,
                                     minIntervalMs: minIntervalMs, hopSizeMs: hopSizeMs, maxSilenceKeptMs: maxSilenceKeptMs)
        } catch let AudioError.invalidArgument(message) {
            throw PrepareError.invalidArgument(message)
        }
    }
}

/// One clip written by the slicing step.
public struct SlicedClip: Sendable, Codable, Equatable {
    /// The clip's WAV file.
    public var path: String
    /// First sample in the input (32 kHz), as the official file name reports it.
    public var start: Int
    /// End sample as the official file name reports it.
    public var end: Int
    /// Samples in the clip.
    public var samples: Int

    /// Clip length in seconds at 32 kHz.
    public var seconds: Double { Double(samples) / Double(DatasetSlicer.sampleRate) }
}

/// Step 2 — cuts long recordings at silences into clips, as the official slicing tool does.
public struct DatasetSlicer: Sendable {
    /// The rate the official tool slices at.
    public static let sampleRate = 32000
    /// Slicing settings.
    public var settings: SliceSettings

    /// Creates a slicer step.
    public init(settings: SliceSettings = SliceSettings()) {
        self.settings = settings
    }

    /// Result of one input file.
    public struct Item: Sendable, Equatable {
        /// The input file.
        public var input: String
        /// The clips written (empty on failure).
        public var clips: [SlicedClip]
        /// Whether the clips of an earlier run with the same settings were kept.
        public var reused: Bool
        /// The error, for a failed input.
        public var error: String?
    }

    /// The official clip name: `<input file name>_<start:010d>_<end:010d>.wav`.
    public static func clipName(input: String, start: Int, end: Int) -> String {
        let name = URL(fileURLWithPath: input).lastPathComponent
        return name + "_" + pad10(start) + "_" + pad10(end) + ".wav"
    }

    private static func pad10(_ v: Int) -> String {
        let s = String(v)
        return s.count >= 10 ? s : String(repeating: "0", count: 10 - s.count) + s
    }

    /// Loads `path` as the official tool does (`load_audio(path, 32000)`); a mono 32 kHz WAV is
    /// read directly (the same samples, no ffmpeg needed).
    public static func load(_ path: String) throws -> [Float] {
        guard FileManager.default.fileExists(atPath: path) else { throw PrepareError.missingInput(path) }
        if let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe), WAV.looksLikeWAV(data),
           let wav = try? WAV.decode(data, name: path), wav.channels == 1, wav.sampleRate == sampleRate {
            return wav.interleaved
        }
        return try AudioExtractor(sampleRate: sampleRate).decode(path).samples
    }

    /// The int16 samples the official tool writes for a clip: the level mix, then
    /// `(clip · 32767).astype(int16)` (float32 product truncated toward zero).
    public func clipSamples(_ clip: [Float]) throws -> [Int16] {
        var c = SilenceSlicer.mixLevel(clip, maxLevel: settings.maxLevel, alpha: settings.alpha)
        if let target = settings.targetLUFS {
            c = try Loudness.normalize(c, sampleRate: Self.sampleRate, targetLUFS: target)
        }
        return c.map { v in
            let x = v * 32767
            guard x.isFinite else { return 0 }
            return Int16(max(-32768, min(32767, x.rounded(.towardZero))))
        }
    }

    /// Slices the audio of one file into `folder`.
    /// - Throws: ``PrepareError`` or `AudioError` when the file cannot be decoded or a clip written.
    public func slice(file: String, to folder: String) throws -> [SlicedClip] {
        let slicer = try settings.slicer(sampleRate: Self.sampleRate)
        let x = try Self.load(file)
        var clips: [SlicedClip] = []
        for chunk in slicer.slice(x) {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(Self.clipName(input: file, start: chunk.startSample, end: chunk.endSample)).path
            let pcm = try clipSamples(chunk.samples)
            try AtomicFile.write(try PCM16File.encode(pcm, sampleRate: Self.sampleRate), to: path)
            clips.append(SlicedClip(path: path, start: chunk.startSample, end: chunk.endSample, samples: pcm.count))
        }
        return clips
    }

    /// Where the record of a finished input is kept (resuming skips inputs whose record matches).
    static func recordPath(for input: String, in folder: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(".slices").appendingPathComponent(URL(fileURLWithPath: input).lastPathComponent + ".json").path
    }

    private struct Record: Codable {
        var settings: SliceSettings
        var clips: [SlicedClip]
    }

    /// Slices every file of `inputs` into `folder`. A failing file is reported in its item and the
    /// others go on. Inputs finished by an earlier run with the same settings (and not modified
    /// since) are not redone.
    public func slice(inputs: [String], to folder: String, progress: StepProgress? = nil) throws -> [Item] {
        try PrepareFiles.makeFolder(folder)
        try PrepareFiles.makeFolder(URL(fileURLWithPath: folder).appendingPathComponent(".slices").path)
        var items: [Item] = []
        progress?.begin(step: "slice", total: inputs.count, unit: "files")
        for input in inputs {
            try Task.checkCancellation()
            defer { progress?.advance(by: 1, detail: URL(fileURLWithPath: input).lastPathComponent) }
            let record = Self.recordPath(for: input, in: folder)
            if PrepareFiles.isUpToDate(record, comparedTo: input),
               let data = FileManager.default.contents(atPath: record),
               let old = try? JSONDecoder().decode(Record.self, from: data), old.settings == settings,
               old.clips.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
                items.append(Item(input: input, clips: old.clips, reused: true, error: nil))
                continue
            }
            do {
                let clips = try slice(file: input, to: folder)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(Record(settings: settings, clips: clips)), to: record)
                items.append(Item(input: input, clips: clips, reused: false, error: nil))
            } catch AudioError.ffmpegMissing(let path) {
                throw AudioError.ffmpegMissing(path: path)
            } catch {
                items.append(Item(input: input, clips: [], reused: false, error: PrepareFiles.describe(error)))
            }
        }
        progress?.end()
        return items
    }
}

/// 16-bit mono WAV files written sample for sample (the official tools write `np.int16` arrays
/// with `scipy.io.wavfile.write`: a 44-byte header and the samples).
enum PCM16File {
    static func encode(_ pcm: [Int16], sampleRate: Int) throws -> Data {
        var out = try WAV.header(sampleRate: sampleRate, format: .pcm16(.truncateClamp), dataBytes: pcm.count * 2)
        pcm.withUnsafeBufferPointer { buf in
            guard !buf.isEmpty else { return }
            #if _endian(little)
            out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self), count: buf.count * 2))
            #else
            for v in buf { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
            #endif
        }
        return out
    }
}
