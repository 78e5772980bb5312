import Foundation
import GSVAudio
@testable import GSVPrepare
import Testing

let pocketsphinxAvailable = ffmpegAvailable && pythonCanRun("import pocketsphinx")
let espeakAvailable: Bool = FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng")

/// Speaks `text` with espeak-ng into a WAV file.
func speak(_ text: String, to path: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
    p.arguments = ["-v", "en-us", "-s", "140", "-w", path, text]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}

/// The vocabulary grammar for pocketsphinx in the recogniser tests.
func writeGrammar(_ path: String, words: [String]) throws {
    let g = "#JSGF V1.0;\ngrammar words;\npublic <s> = ( \(words.joined(separator: " | ")) )* ;\n"
    try g.write(toFile: path, atomically: true, encoding: .utf8)
}

@Suite("Transcription", .serialized)
struct TranscribeTests {
    /// Writes `n` short WAV clips (tones) and returns their paths.
    static func clips(_ dir: TempFolder, _ n: Int) throws -> [String] {
        try (0..<n).map { i in
            let p = dir.path("clip\(i).wav")
            try WAV.write((0..<1600).map { Float(0.2 * sin(Double($0) * 0.1 * Double(i + 1))) }, sampleRate: 16000, to: p)
            return p
        }
    }

    @Test("an external command writes the official list; failures and empty transcripts are reported, not fatal")
    func command() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        var clips = try Self.clips(dir, 3)
        // A name with a quote and a space (the placeholder is shell-quoted).
        let odd = dir.path("it's a clip.wav")
        try FileManager.default.copyItem(atPath: clips[0], toPath: odd)
        clips.append(odd)
        // clip1 → fails, clip2 → nothing heard, others → their file name, as JSON for clip0.
        let script = """
        case "$(basename {wav})" in clip1.wav) echo boom >&2; exit 3;; clip2.wav) echo;; clip0.wav) printf '{"text":"zero | one\\\\n","language":"english"}';; *) basename {wav};; esac
        """
        let step = TranscriptionStep(recognizer: try CommandTranscriber(template: script), language: nil, speaker: "me")
        let list = dir.path("out/me.list")
        let items = try await step.run(clips: clips, listPath: list)
        #expect(items.map { $0.entry != nil } == [true, false, false, false])
        #expect(items[1].problem?.contains("status 3") == true && items[1].problem?.contains("boom") == true)
        #expect(items[2].problem == "the recogniser heard nothing")
        let text = try String(contentsOfFile: list, encoding: .utf8)
        // No language given and the command reported none for the last clip: it is skipped too.
        #expect(text == "\(clips[0])|me|EN|zero one\n")
        #expect(items[3].problem?.contains("no language") == true)
        #expect(!FileManager.default.fileExists(atPath: TranscriptionStep.partialPath(for: list)))
        #expect(throws: PrepareError.self) { _ = try CommandTranscriber(template: "whisper") }
    }

    @Test("an interrupted run resumes from its partial results")
    func resume() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let clips = try Self.clips(dir, 3)
        let list = dir.path("x.list")
        // A partial file from an earlier run: clip0 done, plus a line cut short by a crash.
        let partial = TranscriptionStep.partialPath(for: list)
        try "{\"clip\":\"\(clips[0])\",\"text\":\"from before\"}\n{\"clip\":\"\(clips[1])\",\"te".write(toFile: partial, atomically: true, encoding: .utf8)
        let counter = dir.path("count")
        let step = TranscriptionStep(recognizer: try CommandTranscriber(template: "echo x >> \(counter); echo new # {wav}"), language: "zh", speaker: "s")
        let items = try await step.run(clips: clips, listPath: list)
        #expect(items.map(\.reused) == [true, false, false])
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "x\nx\n")  // two clips recognised
        #expect(try String(contentsOfFile: list, encoding: .utf8) == "\(clips[0])|s|ZH|from before\n\(clips[1])|s|ZH|new\n\(clips[2])|s|ZH|new\n")
    }

    @Test("pocketsphinx as an external command (a real recogniser)",
          .enabled(if: pocketsphinxAvailable && espeakAvailable, "needs pocketsphinx (pip), ffmpeg and espeak-ng"))
    func pocketsphinxCommand() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let words = ["hello", "world", "good", "morning", "yes", "no", "one", "two", "three"]
        try writeGrammar(dir.path("g.jsgf"), words: words)
        try speak("hello world", to: dir.path("a.wav"))
        try speak("good morning", to: dir.path("b.wav"))
        let script = repositoryRoot.appendingPathComponent("scripts/asr/pocketsphinx_asr.py").path
        let recognizer = try CommandTranscriber(template: "python3 \(CommandTranscriber.shellQuoted(script)) --grammar \(CommandTranscriber.shellQuoted(dir.path("g.jsgf"))) {wav}")
        let step = TranscriptionStep(recognizer: recognizer, language: "en", speaker: "sphinx", concurrency: 2)
        let list = dir.path("sphinx.list")
        let items = try await step.run(clips: [dir.path("a.wav"), dir.path("b.wav")], listPath: list)
        #expect(items.allSatisfy { $0.problem == nil }, "\(items.map(\.problem))")
        let parsed = try DatasetList.read(path: list)
        #expect(parsed.list.entries.map(\.language) == ["EN", "EN"])
        #expect(parsed.list.entries.map(\.speaker) == ["sphinx", "sphinx"])
        for e in parsed.list.entries {
            let heard = e.text.split(separator: " ").map(String.init)
            #expect(!heard.isEmpty && heard.allSatisfy(words.contains), "heard '\(e.text)'")
        }
        #expect(parsed.list.entries[0].text.contains("hello") || parsed.list.entries[0].text.contains("world"), "heard '\(parsed.list.entries[0].text)'")
    }

    @Test("pocketsphinx behind an OpenAI-compatible /v1/audio/transcriptions endpoint",
          .enabled(if: pocketsphinxAvailable && espeakAvailable, "needs pocketsphinx (pip), ffmpeg and espeak-ng"))
    func openAIEndpoint() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let words = ["hello", "world", "good", "morning", "yes", "no"]
        try writeGrammar(dir.path("g.jsgf"), words: words)
        try speak("good morning", to: dir.path("a.wav"))
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", repositoryRoot.appendingPathComponent("scripts/asr/pocketsphinx_asr.py").path,
                            "--serve", "--port", "0", "--grammar", dir.path("g.jsgf")]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)  // SIGTERM may be blocked in children of the test runner
            server.waitUntilExit()
        }
        // "listening on http://127.0.0.1:PORT"
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let url = try #require(text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap(URL.init(string:)))
        let recognizer = OpenAITranscriber(endpoint: url, model: "pocketsphinx")
        #expect(recognizer.endpoint.path == "/v1/audio/transcriptions")
        let t = try await recognizer.transcribe(clip: dir.path("a.wav"), language: "en")
        #expect(t.language == "en")
        let heard = t.text.split(separator: " ").map(String.init)
        #expect(!heard.isEmpty && heard.allSatisfy(words.contains), "heard '\(t.text)'")
        // Errors name the clip and the status.
        let wrong = OpenAITranscriber(endpoint: url.appendingPathComponent("nowhere"))
        await #expect(throws: PrepareError.self) { _ = try await wrong.transcribe(clip: dir.path("a.wav"), language: nil) }
    }
}
