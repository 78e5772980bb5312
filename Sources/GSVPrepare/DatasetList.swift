import Foundation

// Follows GPT_SoVITS/prepare_datasets/1-get-text.py (line format, language_v1_to_language_v2) and
// tools/subfix_webui.py (how the proofreading tool reads and writes the list).

/// One row of an official dataset list: `wav_path|speaker|language|text`.
public struct DatasetEntry: Sendable, Equatable, Hashable, Codable {
    /// Audio path as written in the list (absolute, or relative to the list's folder).
    public var wavPath: String
    /// Speaker name (the official tools ignore it; ASR writes the input folder's name).
    public var speaker: String
    /// Language code as written (`ZH`, `zh`, `EN`, `ja`, …).
    public var language: String
    /// Transcript.
    public var text: String

    /// Creates a row.
    public init(wavPath: String, speaker: String, language: String, text: String) {
        self.wavPath = wavPath
        self.speaker = speaker
        self.language = language
        self.text = text
    }

    /// The utterance key every dataset file uses: the file name of `wavPath`
    /// (official: `os.path.basename(clean_path(wav_name))`).
    public var name: String { DatasetList.utteranceName(wavPath) }

    /// The line as the official tools write it (no newline).
    public var line: String { "\(wavPath)|\(speaker)|\(language)|\(text)" }

    /// Whether a field can be written into a `|`-separated, line-based file unchanged.
    static func isWritableField(_ s: String) -> Bool {
        !s.contains("|") && !s.contains("\n") && !s.contains("\r")
    }

    /// A transcript made safe for the list: line breaks and `|` become spaces, runs of spaces
    /// collapse, ends are trimmed.
    public static func sanitizedText(_ s: String) -> String {
        let replaced = s.map { c -> Character in c == "|" || c.isNewline ? " " : c }
        return String(replaced).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}

/// The languages the official formatting step accepts, with the codes it maps to them
/// (`language_v1_to_language_v2`).
public enum DatasetLanguage: String, Sendable, CaseIterable, Codable {
    case zh, ja, en, ko, yue

    /// The official code table: `ZH`/`zh` → zh; `JP`/`jp`/`JA`/`ja` → ja; `EN`/`en`/`En` → en;
    /// `KO`/`Ko`/`ko` → ko; `yue`/`YUE`/`Yue` → yue. Anything else is unsupported (nil).
    public init?(code: String) {
        switch code {
        case "ZH", "zh": self = .zh
        case "JP", "jp", "JA", "ja": self = .ja
        case "EN", "en", "En": self = .en
        case "KO", "Ko", "ko": self = .ko
        case "yue", "YUE", "Yue": self = .yue
        default: return nil
        }
    }

    /// The code the ASR tools write (`ZH`, `EN`, `JA`, `KO`, `YUE`).
    public var listCode: String { rawValue.uppercased() }
}

/// An official `.list` file.
public struct DatasetList: Sendable, Equatable {
    /// The rows, in file order.
    public var entries: [DatasetEntry]

    /// Creates a list.
    public init(entries: [DatasetEntry] = []) {
        self.entries = entries
    }

    /// A line the parser could not read, with its 1-based line number.
    public struct Problem: Sendable, Equatable {
        /// 1-based line number.
        public var line: Int
        /// The line's content.
        public var content: String
    }

    /// The official utterance key of a path: its last component after trailing separators and the
    /// quotes/spaces `clean_path` strips.
    public static func utteranceName(_ path: String) -> String {
        var p = path.trimmingCharacters(in: CharacterSet(charactersIn: " '\n\"\u{202a}"))
        while p.count > 1, p.hasSuffix("/") || p.hasSuffix("\\") { p.removeLast() }
        let parts = p.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        return parts.last.map(String.init) ?? p
    }

    /// A parsed list file: the rows, the lines that are not rows, and each row's line number.
    public struct Parsed: Sendable, Equatable {
        /// The rows.
        public var list: DatasetList
        /// Lines that are not `wav_path|speaker|language|text`.
        public var problems: [Problem]
        /// The 1-based line number of each row of `list`.
        public var lineNumbers: [Int]
    }

    /// Parses list text leniently: rows that do not split into exactly four `|` fields are returned
    /// as problems (the official scripts print and skip them); blank lines are ignored; a trailing
    /// `\r` (Windows line ends) is removed.
    public static func parse(_ text: String) -> Parsed {
        var entries: [DatasetEntry] = []
        var problems: [Problem] = []
        var numbers: [Int] = []
        // "\r\n" is one Character in Swift: normalise Windows line ends before splitting.
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n")
        for (i, raw) in unified.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4 else {
                problems.append(Problem(line: i + 1, content: line))
                continue
            }
            entries.append(DatasetEntry(wavPath: f[0], speaker: f[1], language: f[2], text: f[3]))
            numbers.append(i + 1)
        }
        return Parsed(list: DatasetList(entries: entries), problems: problems, lineNumbers: numbers)
    }

    /// Reads and parses a list file (see ``parse(_:)``).
    /// - Throws: ``PrepareError/unreadable(path:reason:)`` when the file cannot be read or is not UTF-8.
    public static func read(path: String) throws -> Parsed {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PrepareError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PrepareError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
    }

    /// The file content: one line per row, each ending in `\n`.
    public var serialized: String {
        entries.map { $0.line + "\n" }.joined()
    }

    /// Checks that every field can be written without breaking the line format.
    /// - Throws: ``PrepareError/invalidEdit(_:)`` naming the row.
    public func validateFields() throws {
        for (i, e) in entries.enumerated() {
            for (field, value) in [("wav_path", e.wavPath), ("speaker", e.speaker), ("language", e.language), ("text", e.text)]
            where !DatasetEntry.isWritableField(value) {
                throw PrepareError.invalidEdit("row \(i + 1): \(field) must not contain '|' or a line break")
            }
        }
    }

    /// Writes the list atomically (see ``AtomicFile``), keeping the previous file as `<path>.bak`
    /// when `backup` is set.
    public func write(to path: String, backup: Bool = false) throws {
        try validateFields()
        try AtomicFile.write(serialized, to: path, backup: backup)
    }

    /// The audio file of `entry`: its path as written when absolute, else relative to the folder
    /// holding the list; with `audioFolder` (the official "audio dir" option) `<folder>/<name>`.
    public static func audioPath(of entry: DatasetEntry, listPath: String?, audioFolder: String? = nil) -> String {
        if let audioFolder, !audioFolder.isEmpty {
            return URL(fileURLWithPath: audioFolder).appendingPathComponent(entry.name).path
        }
        let p = entry.wavPath.trimmingCharacters(in: CharacterSet(charactersIn: " '\n\"\u{202a}"))
        if p.hasPrefix("/") || listPath == nil { return p }
        return URL(fileURLWithPath: listPath!).deletingLastPathComponent().appendingPathComponent(p).path
    }
}
