import Foundation
import GPTSoVITS
import GSVAudio

// Follows tools/subfix_webui.py (the official proofreading tool) in what can be done to a list:
// edit the text, delete rows, merge rows (audio joined with a silence between), split a row's audio
// at a time. Unlike it, audio files are never overwritten (a split or merge writes new files; the
// originals stay), every change can be undone, and saving is atomic with a backup and refuses to
// overwrite a file someone else changed.

/// One row of a review session: a list row with a stable id.
public struct ReviewRow: Sendable, Equatable, Codable {
    /// Stable id (survives edits, deletes and undo).
    public var id: Int
    /// The list row.
    public var entry: DatasetEntry
}

/// A proofreading session over one `.list` file: the rows in memory, an undo/redo history, and
/// saving. An actor: concurrent requests are applied one at a time.
public actor ReviewSession {
    /// The list file.
    public nonisolated let listPath: String
    /// The official "audio dir": when set, a row's audio is `<audioFolder>/<file name>`.
    public nonisolated let audioFolder: String?
    /// Gap inserted between merged clips, in seconds (official default 0.3).
    public let defaultMergeGap: Double

    private(set) var rows: [ReviewRow]
    private var nextID: Int
    private var undoStack: [[ReviewRow]] = []
    private var redoStack: [[ReviewRow]] = []
    /// Changes applied so far (a version number for the client).
    public private(set) var revision = 0
    /// The revision last saved (or loaded).
    private var savedRevision = 0
    /// SHA-256 of the file as loaded or last saved (to notice outside changes).
    private var diskDigest: String
    /// Lines of the file that are not rows (kept so saving never drops them silently).
    public private(set) var problems: [DatasetList.Problem]
    private var durations: [String: Double] = [:]

    /// Most undo steps kept.
    static let undoLimit = 200

    /// Opens `listPath`.
    /// - Throws: ``PrepareError/unreadable(path:reason:)`` when the file cannot be read.
    public init(listPath: String, audioFolder: String? = nil, mergeGap: Double = 0.3) throws {
        self.listPath = listPath
        self.audioFolder = audioFolder
        defaultMergeGap = mergeGap
        let parsed = try DatasetList.read(path: listPath)
        rows = parsed.list.entries.enumerated().map { ReviewRow(id: $0.offset + 1, entry: $0.element) }
        nextID = rows.count + 1
        problems = parsed.problems
        diskDigest = Self.digest(ofFileAt: listPath)
    }

    // MARK: - Reading

    /// A snapshot for the client.
    public struct State: Sendable, Equatable, Codable {
        /// The list file.
        public var listPath: String
        /// Change counter.
        public var revision: Int
        /// Whether there are unsaved changes.
        public var dirty: Bool
        /// Whether undo / redo are possible.
        public var canUndo: Bool
        public var canRedo: Bool
        /// The rows.
        public var rows: [Row]
        /// Lines of the file that are not rows (they are kept as they are when saving).
        public var problems: [String]

        /// A row with its audio's duration (nil when the file is missing or unreadable).
        public struct Row: Sendable, Equatable, Codable {
            public var id: Int
            public var wavPath: String
            public var name: String
            public var speaker: String
            public var language: String
            public var text: String
            public var seconds: Double?
            public var audioExists: Bool
        }
    }

    /// The current state.
    public func state() -> State {
        State(listPath: listPath, revision: revision, dirty: revision != savedRevision, canUndo: !undoStack.isEmpty,
              canRedo: !redoStack.isEmpty,
              rows: rows.map { r in
                  let path = audioPath(r.entry)
                  return State.Row(id: r.id, wavPath: r.entry.wavPath, name: r.entry.name, speaker: r.entry.speaker,
                                   language: r.entry.language, text: r.entry.text, seconds: duration(path),
                                   audioExists: FileManager.default.fileExists(atPath: path))
              },
              problems: problems.map { "line \($0.line): \($0.content)" })
    }

    /// The current rows as a list.
    public var list: DatasetList { DatasetList(entries: rows.map(\.entry)) }

    /// The audio file of row `id`.
    /// - Throws: ``PrepareError/invalidEdit(_:)`` for an unknown row.
    public func audioFile(id: Int) throws -> String {
        audioPath(try row(id).entry)
    }

    nonisolated func audioPath(_ e: DatasetEntry) -> String {
        DatasetList.audioPath(of: e, listPath: listPath, audioFolder: audioFolder)
    }

    private func duration(_ path: String) -> Double? {
        if let d = durations[path] { return d }
        guard let wav = try? WAV.read(path: path), wav.sampleRate > 0 else { return nil }
        let d = Double(wav.frameCount) / Double(wav.sampleRate)
        durations[path] = d
        return d
    }

    private func row(_ id: Int) throws -> ReviewRow {
        guard let r = rows.first(where: { $0.id == id }) else { throw PrepareError.invalidEdit("no row with id \(id)") }
        return r
    }

    private func index(_ id: Int) throws -> Int {
        guard let i = rows.firstIndex(where: { $0.id == id }) else { throw PrepareError.invalidEdit("no row with id \(id)") }
        return i
    }

    // MARK: - Changes

    private func commit(_ newRows: [ReviewRow]) {
        undoStack.append(rows)
        if undoStack.count > Self.undoLimit { undoStack.removeFirst() }
        redoStack.removeAll()
        rows = newRows
        revision += 1
    }

    private static func checkField(_ name: String, _ value: String) throws {
        guard DatasetEntry.isWritableField(value) else {
            throw PrepareError.invalidEdit("\(name) must not contain '|' or a line break")
        }
    }

    /// Changes the text, language and/or speaker of a row (nil leaves a field as it is).
    /// - Throws: ``PrepareError/invalidEdit(_:)`` for an unknown row, a field with `|` or a line break,
    ///   or a language the formatter does not know.
    public func edit(id: Int, text: String? = nil, language: String? = nil, speaker: String? = nil) throws {
        let i = try index(id)
        var r = rows
        if let text {
            try Self.checkField("text", text)
            r[i].entry.text = text
        }
        if let language {
            guard DatasetLanguage(code: language) != nil else {
                throw PrepareError.invalidEdit("unknown language '\(language)' (use ZH, EN, JA, KO or YUE)")
            }
            r[i].entry.language = language
        }
        if let speaker {
            try Self.checkField("speaker", speaker)
            r[i].entry.speaker = speaker
        }
        guard r != rows else { return }
        commit(r)
    }

    /// Removes rows (their audio files stay on disk).
    public func delete(ids: [Int]) throws {
        let set = Set(ids)
        for id in set { _ = try index(id) }
        guard !set.isEmpty else { return }
        commit(rows.filter { !set.contains($0.id) })
    }

    /// Joins rows into the first one: their audio, in list order, with `gap` seconds of silence
    /// between (official default 0.3), is written to a new file next to the first clip; the texts are
    /// concatenated (official: joined without a separator; `separator` changes that).
    /// - Returns: the id of the merged row.
    public func merge(ids: [Int], gap: Double? = nil, separator: String = "") throws -> Int {
        let set = Set(ids)
        guard set.count >= 2 else { throw PrepareError.invalidEdit("select at least two rows to merge") }
        let gap = gap ?? defaultMergeGap
        guard gap >= 0, gap <= 10 else { throw PrepareError.invalidEdit("merge gap must be 0…10 s, got \(gap)") }
        try Self.checkField("separator", separator)
        let chosen = rows.enumerated().filter { set.contains($0.element.id) }
        guard chosen.count == set.count else { throw PrepareError.invalidEdit("no row with id \(set.subtracting(rows.map(\.id)).sorted().first ?? -1)") }
        let first = chosen[0].element
        var samples: [Float] = []
        var rate = 0
        for (k, item) in chosen.enumerated() {
            let path = audioPath(item.element.entry)
            let audio: AudioBuffer
            do {
                let loaded = try AudioLoader.load(path: path)
                audio = rate == 0 ? loaded : try loaded.resampled(to: rate)
            } catch {
                throw PrepareError.invalidEdit("cannot read \(path): \(PrepareFiles.describe(error))")
            }
            if rate == 0 { rate = audio.sampleRate }
            if k > 0 { samples += [Float](repeating: 0, count: Int(Double(rate) * gap)) }
            samples += audio.samples
        }
        let target = Self.newClipPath(near: audioPath(first.entry), suffix: "merged")
        try AtomicFile.write(try WAV.encode(samples, sampleRate: rate), to: target)
        var merged = first
        merged.entry.wavPath = Self.listPath(for: target, like: first.entry.wavPath)
        merged.entry.text = chosen.map(\.element.entry.text).joined(separator: separator)
        var r = rows.filter { !set.contains($0.id) || $0.id == first.id }
        r[r.firstIndex(where: { $0.id == first.id })!] = merged
        commit(r)
        return merged.id
    }

    /// Cuts a row's audio at `seconds` into two new files (the original file stays); the first row
    /// keeps `textBefore` (default: the whole text), a new row after it gets `textAfter` (default:
    /// the whole text, as the official tool copies it).
    /// - Returns: the id of the new second row.
    public func split(id: Int, at seconds: Double, textBefore: String? = nil, textAfter: String? = nil) throws -> Int {
        let i = try index(id)
        let original = rows[i]
        let path = audioPath(original.entry)
        let audio: AudioBuffer
        do { audio = try AudioLoader.load(path: path) } catch {
            throw PrepareError.invalidEdit("cannot read \(path): \(PrepareFiles.describe(error))")
        }
        let cut = Int(seconds * Double(audio.sampleRate))
        guard seconds.isFinite, cut >= 1, cut < audio.samples.count else {
            throw PrepareError.invalidEdit(String(format: "split point %.3f s is outside the clip (0…%.3f s)", seconds, audio.duration))
        }
        if let textBefore { try Self.checkField("text", textBefore) }
        if let textAfter { try Self.checkField("text", textAfter) }
        let firstPath = Self.newClipPath(near: path, suffix: "a")
        let secondPath = Self.newClipPath(near: path, suffix: "b")
        try AtomicFile.write(try WAV.encode(Array(audio.samples[..<cut]), sampleRate: audio.sampleRate), to: firstPath)
        try AtomicFile.write(try WAV.encode(Array(audio.samples[cut...]), sampleRate: audio.sampleRate), to: secondPath)
        var a = original, b = original
        a.entry.wavPath = Self.listPath(for: firstPath, like: original.entry.wavPath)
        b.entry.wavPath = Self.listPath(for: secondPath, like: original.entry.wavPath)
        a.entry.text = textBefore ?? original.entry.text
        b.entry.text = textAfter ?? original.entry.text
        b.id = nextID
        nextID += 1
        var r = rows
        r[i] = a
        r.insert(b, at: i + 1)
        commit(r)
        return b.id
    }

    /// Undoes the last change. Returns false when there is nothing to undo.
    @discardableResult
    public func undo() -> Bool {
        guard let previous = undoStack.popLast() else { return false }
        redoStack.append(rows)
        rows = previous
        revision += 1
        return true
    }

    /// Redoes the last undone change. Returns false when there is nothing to redo.
    @discardableResult
    public func redo() -> Bool {
        guard let next = redoStack.popLast() else { return false }
        undoStack.append(rows)
        rows = next
        revision += 1
        return true
    }

    /// Writes the list: atomically, the previous file kept as `<list>.bak`. Lines of the original
    /// file that were not rows are written back at the end.
    /// - Parameter force: overwrite even if the file changed on disk since it was loaded or saved.
    /// - Throws: ``PrepareError/conflict(path:expectedRevision:actualRevision:)`` when the file changed
    ///   on disk and `force` is false; ``PrepareError/unwritable(path:reason:)`` on I/O errors.
    public func save(force: Bool = false) throws {
        let current = Self.digest(ofFileAt: listPath)
        if !force && current != diskDigest {
            throw PrepareError.conflict(path: listPath, expectedRevision: String(diskDigest.prefix(12)), actualRevision: String(current.prefix(12)))
        }
        let l = list
        try l.validateFields()
        let text = l.serialized + problems.map { $0.content + "\n" }.joined()
        try AtomicFile.write(text, to: listPath, backup: true)
        diskDigest = Self.digest(of: Data(text.utf8))
        savedRevision = revision
    }

    /// Re-reads the file from disk, dropping unsaved changes and the history.
    public func reload() throws {
        let parsed = try DatasetList.read(path: listPath)
        rows = parsed.list.entries.map { e in defer { nextID += 1 }; return ReviewRow(id: nextID, entry: e) }
        problems = parsed.problems
        undoStack.removeAll()
        redoStack.removeAll()
        revision += 1
        savedRevision = revision
        diskDigest = Self.digest(ofFileAt: listPath)
    }

    // MARK: - Helpers

    /// A path `<folder>/<stem>_<suffix>[_n].wav` that does not exist yet.
    static func newClipPath(near path: String, suffix: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        let stem = url.deletingPathExtension().lastPathComponent
        var candidate = folder.appendingPathComponent("\(stem)_\(suffix).wav").path
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = folder.appendingPathComponent("\(stem)_\(suffix)\(n).wav").path
            n += 1
        }
        return candidate
    }

    /// How a new file is written into the list: absolute if the row it replaces was absolute, else
    /// with the same folder part as that row.
    static func listPath(for newFile: String, like old: String) -> String {
        let name = URL(fileURLWithPath: newFile).lastPathComponent
        if old.hasPrefix("/") { return newFile }
        guard let slash = old.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return name }
        return String(old[...slash]) + name
    }

    static func digest(ofFileAt path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "missing" }
        return digest(of: data)
    }

    static func digest(of data: Data) -> String {
        var sha = SHA256Digest()
        sha.update(data)
        return sha.hexDigest()
    }
}
