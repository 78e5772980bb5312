import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

// Follows tools/asr/*.py by output: one `.list` row per clip, `<absolute wav path>|<speaker>|<LANG>|<text>`
// (the official ASR tools write the input folder's name as the speaker and upper-case language codes).

/// What a recogniser heard in one clip.
public struct Transcript: Sendable, Equatable {
    /// The text.
    public var text: String
    /// The language it detected (any code or name), if it reports one.
    public var language: String?

    /// Creates a transcript.
    public init(text: String, language: String? = nil) {
        self.text = text
        self.language = language
    }
}

/// A speech recogniser: turns one audio clip into text. Implementations must be safe to call from
/// several tasks.
public protocol SpeechRecognizer: Sendable {
    /// A short description for logs and reports.
    var name: String { get }
    /// Transcribes `clip`; `language` is a hint (ISO code such as `zh`, `en`), nil for automatic.
    func transcribe(clip: String, language: String?) async throws -> Transcript
}

/// A recogniser behind an OpenAI-compatible `POST /v1/audio/transcriptions` endpoint (OpenAI,
/// a local faster-whisper / whisper.cpp / vLLM server, …): the clip is sent as multipart form data
/// with `model`, `language` and `response_format=verbose_json`; the reply's `text` (and `language`,
/// when present) are used. A plain-text reply is accepted too.
public struct OpenAITranscriber: SpeechRecognizer {
    /// The endpoint URL (a base URL such as `http://host:8000` or `…/v1` gets
    /// `/v1/audio/transcriptions` appended).
    public var endpoint: URL
    /// The `model` field (e.g. `whisper-1`).
    public var model: String
    /// Bearer token, if the server needs one.
    public var apiKey: String?
    /// Seconds before a request is abandoned.
    public var timeout: Double

    /// Creates the client.
    public init(endpoint: URL, model: String = "whisper-1", apiKey: String? = nil, timeout: Double = 300) {
        let path = endpoint.path
        if path.hasSuffix("/audio/transcriptions") {
            self.endpoint = endpoint
        } else if path.hasSuffix("/v1") || path.hasSuffix("/v1/") {
            self.endpoint = endpoint.appendingPathComponent("audio").appendingPathComponent("transcriptions")
        } else {
            self.endpoint = endpoint.appendingPathComponent("v1").appendingPathComponent("audio").appendingPathComponent("transcriptions")
        }
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
    }

    public var name: String { "openai-compatible \(endpoint.absoluteString) (\(model))" }

    /// The multipart body for `clip`.
    func body(clip: String, audio: Data, language: String?, boundary: String) -> Data {
        var d = Data()
        func field(_ name: String, _ value: String) {
            d.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        field("model", model)
        field("response_format", "verbose_json")
        if let language, !language.isEmpty { field("language", language) }
        let filename = URL(fileURLWithPath: clip).lastPathComponent.replacingOccurrences(of: "\"", with: "_")
        d.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: audio/wav\r\n\r\n".utf8))
        d.append(audio)
        d.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return d
    }

    public func transcribe(clip: String, language: String?) async throws -> Transcript {
        let audio: Data
        do { audio = try Data(contentsOf: URL(fileURLWithPath: clip)) } catch {
            throw PrepareError.unreadable(path: clip, reason: error.localizedDescription)
        }
        let boundary = "gsv-\(UUID().uuidString)"
        var request = URLRequest(url: endpoint, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        if let apiKey, !apiKey.isEmpty { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        let payload = body(clip: clip, audio: audio, language: language, boundary: boundary)
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.upload(for: request, from: payload)
        } catch {
            throw PrepareError.recognizerFailed(clip: clip, reason: "\(endpoint.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let text = String(decoding: data, as: UTF8.self)
        guard (200..<300).contains(status) else {
            throw PrepareError.recognizerFailed(clip: clip, reason: "\(endpoint.absoluteString) answered HTTP \(status): \(text.prefix(300))")
        }
        return try Self.parseReply(data, clip: clip)
    }

    /// Reads a transcription reply: JSON with `text` (and optional `language`), or plain text.
    static func parseReply(_ data: Data, clip: String) throws -> Transcript {
        if let obj = try? JSONSerialization.jsonObject(with: data) {
            guard let dict = obj as? [String: Any], let text = dict["text"] as? String else {
                throw PrepareError.recognizerFailed(clip: clip, reason: "the reply has no \"text\" field: \(String(decoding: data.prefix(300), as: UTF8.self))")
            }
            return Transcript(text: text, language: dict["language"] as? String)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PrepareError.recognizerFailed(clip: clip, reason: "the reply is neither JSON nor UTF-8 text")
        }
        return Transcript(text: text)
    }
}

/// A recogniser run as an external command per clip. The command line is a template run by
/// `/bin/sh -c`: `{wav}` becomes the clip's path and `{lang}` the language hint (empty for automatic),
/// both shell-quoted. The command prints the transcript on standard output — plain text, or JSON with
/// `text` (and optionally `language`). A non-zero exit fails that clip only.
public struct CommandTranscriber: SpeechRecognizer {
    /// The command template (must contain `{wav}`).
    public var template: String
    /// Seconds before a run is killed.
    public var timeout: Double

    /// Creates the recogniser.
    /// - Throws: ``PrepareError/invalidArgument(_:)`` when the template has no `{wav}`.
    public init(template: String, timeout: Double = 600) throws {
        guard template.contains("{wav}") else {
            throw PrepareError.invalidArgument("the recogniser command must contain {wav} (where the clip's path goes), got '\(template)'")
        }
        self.template = template
        self.timeout = timeout
    }

    public var name: String { "command `\(template)`" }

    /// `s` quoted for a POSIX shell.
    static func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The command line for one clip.
    func commandLine(clip: String, language: String?) -> String {
        template.replacingOccurrences(of: "{wav}", with: Self.shellQuoted(clip))
            .replacingOccurrences(of: "{lang}", with: Self.shellQuoted(language ?? ""))
    }

    public func transcribe(clip: String, language: String?) async throws -> Transcript {
        let line = commandLine(clip: clip, language: language)
        let timeout = timeout
        let result = try await Task.detached { () throws -> (Int32, Data, Data) in
            try Self.run(line, timeout: timeout)
        }.value
        guard result.0 == 0 else {
            let err = String(decoding: result.2, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw PrepareError.recognizerFailed(clip: clip, reason: "command exited with status \(result.0): \(err.suffix(400))")
        }
        return try OpenAITranscriber.parseReply(result.1, clip: clip)
    }

    /// Runs `line` with `/bin/sh -c`, collecting both outputs; kills it after `timeout` seconds.
    static func run(_ line: String, timeout: Double) throws -> (Int32, Data, Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", line]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw PrepareError.recognizerFailed(clip: line, reason: "cannot start /bin/sh: \(error.localizedDescription)")
        }
        let group = DispatchGroup()
        let outBox = DataCollector(), errBox = DataCollector()
        for (pipe, box) in [(out, outBox), (err, errBox)] {
            group.enter()
            DispatchQueue.global().async {
                box.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        let deadline = DispatchTime.now() + timeout
        // SIGKILL: a SIGTERM may be blocked or ignored by the command (or inherited as blocked).
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { if p.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: killer)
        p.waitUntilExit()
        killer.cancel()
        group.wait()
        return (p.terminationStatus, outBox.get(), errBox.get())
    }
}

/// A thread-safe byte buffer for collecting process output.
final class DataCollector: @unchecked Sendable {
    // @unchecked: `data` is only touched while `lock` is held.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Step 4 — transcribes clips into an official `.list`.
public struct TranscriptionStep: Sendable {
    static let logger = Logger(label: "GSVPrepare.Transcribe")

    /// The recogniser.
    public var recognizer: any SpeechRecognizer
    /// The language of the speech (`zh`, `en`, `ja`, `ko`, `yue`), or nil to take the recogniser's
    /// detected language.
    public var language: String?
    /// The speaker name written in every row.
    public var speaker: String
    /// Clips transcribed at the same time.
    public var concurrency: Int

    /// Creates the step.
    public init(recognizer: any SpeechRecognizer, language: String?, speaker: String, concurrency: Int = 1) {
        self.recognizer = recognizer
        self.language = language
        self.speaker = speaker
        self.concurrency = max(1, concurrency)
    }

    /// What happened to one clip.
    public struct Item: Sendable, Equatable {
        /// The clip.
        public var clip: String
        /// Its row (nil when skipped).
        public var entry: DatasetEntry?
        /// Why it was skipped (recogniser error, empty transcript, unknown language).
        public var problem: String?
        /// Whether the transcript came from an earlier, interrupted run.
        public var reused: Bool
    }

    /// The `.list` language code for a recogniser's language report (`zh`, `Chinese`, `en`, …).
    public static func listLanguage(_ raw: String) -> String? {
        let s = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let names: [String: String] = [
            "zh": "ZH", "chinese": "ZH", "mandarin": "ZH", "zh-cn": "ZH", "cmn": "ZH", "en": "EN", "english": "EN",
            "ja": "JA", "jp": "JA", "japanese": "JA", "ko": "KO", "korean": "KO", "yue": "YUE", "cantonese": "YUE",
        ]
        return names[s]
    }

    /// The partial-results file next to `listPath` (one JSON object per finished clip).
    public static func partialPath(for listPath: String) -> String { listPath + ".partial" }

    private struct PartialRecord: Codable {
        var clip: String
        var text: String?
        var language: String?
        var problem: String?
    }

    /// Transcribes `clips` (in order) and writes `listPath` atomically when done. Every finished
    /// clip is appended to `<list>.partial` first, so an interrupted run resumes where it stopped;
    /// the partial file is removed once the list is written. A clip whose recognition fails, or
    /// whose transcript is empty, is reported and left out.
    public func run(clips: [String], listPath: String, progress: StepProgress? = nil) async throws -> [Item] {
        let hint = language.map { $0.lowercased() }
        if let hint, DatasetLanguage(code: hint) == nil {
            throw PrepareError.unsupportedLanguage(hint)
        }
        let partial = Self.partialPath(for: listPath)
        var done: [String: PartialRecord] = [:]
        if let data = FileManager.default.contents(atPath: partial), let text = String(data: data, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                // failed clips are tried again; a line cut short by a crash does not decode and is ignored
                if let r = try? JSONDecoder().decode(PartialRecord.self, from: Data(line.utf8)), r.problem == nil { done[r.clip] = r }
            }
        }
        try PrepareFiles.makeFolder(URL(fileURLWithPath: listPath).deletingLastPathComponent().path)
        let journal = try Journal(path: partial)
        progress?.begin(step: "transcribe", total: clips.count, unit: "clips")
        var records: [String: (PartialRecord, Bool)] = [:]
        for c in clips { if let r = done[c] { records[c] = (r, true); progress?.advance(by: 1, detail: URL(fileURLWithPath: c).lastPathComponent) } }
        let todo = clips.filter { records[$0] == nil }
        let recognizer = self.recognizer
        var next = 0
        try await withThrowingTaskGroup(of: PartialRecord.self) { group in
            func launch() {
                guard next < todo.count else { return }
                let clip = todo[next]
                next += 1
                group.addTask {
                    try Task.checkCancellation()
                    do {
                        let t = try await recognizer.transcribe(clip: clip, language: hint)
                        return PartialRecord(clip: clip, text: t.text, language: t.language, problem: nil)
                    } catch let e as CancellationError {
                        throw e
                    } catch {
                        return PartialRecord(clip: clip, text: nil, language: nil, problem: PrepareFiles.describe(error))
                    }
                }
            }
            for _ in 0..<concurrency { launch() }
            while let r = try await group.next() {
                try journal.append(r)
                records[r.clip] = (r, false)
                progress?.advance(by: 1, detail: URL(fileURLWithPath: r.clip).lastPathComponent)
                launch()
            }
        }
        progress?.end()
        var items: [Item] = []
        var list = DatasetList()
        for clip in clips {
            guard let (r, reused) = records[clip] else { continue }
            if let problem = r.problem {
                items.append(Item(clip: clip, entry: nil, problem: problem, reused: reused))
                continue
            }
            let text = DatasetEntry.sanitizedText(r.text ?? "")
            guard !text.isEmpty else {
                items.append(Item(clip: clip, entry: nil, problem: "the recogniser heard nothing", reused: reused))
                continue
            }
            let lang: String
            if let hint, let code = DatasetLanguage(code: hint)?.listCode {
                lang = code
            } else if let detected = r.language, let code = Self.listLanguage(detected) {
                lang = code
            } else {
                items.append(Item(clip: clip, entry: nil, problem: "no language given and the recogniser reported \(r.language.map { "'\($0)'" } ?? "none")", reused: reused))
                continue
            }
            let path = URL(fileURLWithPath: clip).standardizedFileURL.path
            let entry = DatasetEntry(wavPath: path, speaker: DatasetEntry.sanitizedText(speaker), language: lang, text: text)
            list.entries.append(entry)
            items.append(Item(clip: clip, entry: entry, problem: nil, reused: reused))
        }
        try list.write(to: listPath, backup: true)
        try? FileManager.default.removeItem(atPath: partial)
        for item in items where item.problem != nil {
            Self.logger.warning("skipped clip", metadata: ["clip": "\(item.clip)", "reason": "\(item.problem ?? "")"])
        }
        return items
    }

    /// An append-only file of JSON lines, flushed after every record.
    private final class Journal: @unchecked Sendable {
        // @unchecked: only used from the task that owns the step's loop.
        let handle: FileHandle
        init(path: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw PrepareError.unwritable(path: path, reason: "cannot create the partial-results file")
                }
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw PrepareError.unwritable(path: path, reason: "cannot open the partial-results file")
            }
            handle = h
            handle.seekToEndOfFile()
        }
        deinit { try? handle.close() }
        func append(_ r: PartialRecord) throws {
            var line = try JSONEncoder().encode(r)
            line.append(0x0A)
            handle.write(line)
            handle.synchronizeFile()
        }
    }
}
