import Foundation
import GSVAudio
@testable import GSVPrepare
import Testing

@Suite("Dataset list and atomic files")
struct DatasetListTests {
    @Test("parsing keeps rows, reports malformed lines, ignores blank lines and CRLF")
    func parse() {
        let text = "a.wav|spk|ZH|你好\r\n\nb.wav|spk|EN\n/x/c.wav|spk|en|Hello there.\n"
        let p = DatasetList.parse(text)
        #expect(p.list.entries.map(\.wavPath) == ["a.wav", "/x/c.wav"])
        #expect(p.list.entries[0].text == "你好")
        #expect(p.problems == [DatasetList.Problem(line: 3, content: "b.wav|spk|EN")])
        #expect(p.lineNumbers == [1, 4])
        #expect(p.list.serialized == "a.wav|spk|ZH|你好\n/x/c.wav|spk|en|Hello there.\n")
        #expect(p.list.entries[1].name == "c.wav")
        #expect(DatasetList.utteranceName("  \"dir\\sub\\x.wav\"\n") == "x.wav")
    }

    @Test("languages follow the official code table")
    func languages() {
        #expect(DatasetLanguage(code: "ZH") == .zh && DatasetLanguage(code: "JP") == .ja && DatasetLanguage(code: "En") == .en)
        #expect(DatasetLanguage(code: "Yue") == .yue && DatasetLanguage(code: "Ko") == .ko)
        #expect(DatasetLanguage(code: "eN") == nil && DatasetLanguage(code: "fr") == nil && DatasetLanguage(code: "") == nil)
    }

    @Test("fields with '|' or line breaks are refused when writing; transcripts are sanitised")
    func fields() throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let bad = DatasetList(entries: [DatasetEntry(wavPath: "a.wav", speaker: "s", language: "ZH", text: "x|y")])
        #expect(throws: PrepareError.self) { try bad.write(to: dir.path("a.list")) }
        #expect(!FileManager.default.fileExists(atPath: dir.path("a.list")))
        #expect(DatasetEntry.sanitizedText(" a|b \n c  ") == "a b c")
    }

    @Test("atomic writes keep a backup and leave no temporary files")
    func atomic() throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let path = dir.path("x.list")
        try AtomicFile.write("one\n", to: path, backup: true)
        #expect(!FileManager.default.fileExists(atPath: AtomicFile.backupPath(of: path)))
        try AtomicFile.write("two\n", to: path, backup: true)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
        #expect(try String(contentsOfFile: AtomicFile.backupPath(of: path), encoding: .utf8) == "one\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["x.list", "x.list.bak"])
        #expect(throws: PrepareError.self) { try AtomicFile.write("x", to: dir.path("no/such/dir/x")) }
    }

    @Test("concurrent writers never leave a mixed or partial file")
    func concurrentWriters() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let path = dir.path("x.list")
        let versions = (0..<8).map { k in String(repeating: "row \(k)|spk|ZH|text \(k)\n", count: 2000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for v in versions {
                group.addTask { for _ in 0..<5 { try AtomicFile.write(v, to: path, backup: true) } }
            }
            for _ in 0..<50 {
                group.addTask {
                    if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                        #expect(versions.contains(text), "a reader saw a file that no writer wrote")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(versions.contains(try String(contentsOfFile: path, encoding: .utf8)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }
}

@Suite("Review session")
struct ReviewSessionTests {
    /// A list of three one-second clips (8 kHz tones) in a temp folder.
    static func makeList(_ dir: TempFolder) throws -> String {
        for (i, f) in [220.0, 330.0, 440.0].enumerated() {
            let x = (0..<8000).map { Float(0.3 * sin(2 * Double.pi * f * Double($0) / 8000)) }
            try WAV.write(x, sampleRate: 8000, to: dir.path("c\(i).wav"))
        }
        let text = """
        c0.wav|spk|ZH|第一句。
        c1.wav|spk|ZH|第二句。
        not a row
        \(dir.path("c2.wav"))|spk|EN|Third one.

        """
        try text.write(toFile: dir.path("x.list"), atomically: true, encoding: .utf8)
        return dir.path("x.list")
    }

    @Test("edit, delete, merge, split, undo, redo and save")
    func operations() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let s = try ReviewSession(listPath: try Self.makeList(dir))
        var st = await s.state()
        #expect(st.rows.map(\.text) == ["第一句。", "第二句。", "Third one."])
        #expect(st.rows.allSatisfy { $0.audioExists && $0.seconds == 1 })
        #expect(st.problems.count == 1 && !st.dirty)

        try await s.edit(id: 1, text: "第一句话。", language: "zh")
        await #expect(throws: PrepareError.self) { try await s.edit(id: 1, text: "a|b") }
        await #expect(throws: PrepareError.self) { try await s.edit(id: 1, language: "fr") }
        await #expect(throws: PrepareError.self) { try await s.edit(id: 99, text: "x") }
        let merged = try await s.merge(ids: [1, 2], gap: 0.5)
        st = await s.state()
        #expect(st.rows.count == 2 && st.rows[0].id == merged && st.rows[0].text == "第一句话。第二句。")
        #expect(st.rows[0].seconds == 2.5 && st.rows[0].wavPath == "c0_merged.wav")
        let second = try await s.split(id: 3, at: 0.25, textBefore: "Third", textAfter: "one.")
        st = await s.state()
        #expect(st.rows.map(\.text) == ["第一句话。第二句。", "Third", "one."])
        #expect(st.rows.map(\.seconds) == [2.5, 0.25, 0.75] && st.rows[2].id == second)
        #expect(st.rows[1].wavPath == dir.path("c2_a.wav"))  // absolute stays absolute
        await #expect(throws: PrepareError.self) { _ = try await s.split(id: second, at: 5) }
        try await s.delete(ids: [second])
        #expect(await s.state().rows.count == 2)
        #expect(await s.undo())
        #expect(await s.state().rows.count == 3)
        #expect(await s.redo())
        #expect(await s.state().dirty)
        try await s.save()
        st = await s.state()
        #expect(!st.dirty)
        let saved = try String(contentsOfFile: dir.path("x.list"), encoding: .utf8)
        #expect(saved == "c0_merged.wav|spk|zh|第一句话。第二句。\n\(dir.path("c2_a.wav"))|spk|EN|Third\nnot a row\n")
        let backup = try String(contentsOfFile: dir.path("x.list.bak"), encoding: .utf8)
        #expect(backup.hasPrefix("c0.wav|spk|ZH|第一句。\n"))
        // The original clips are untouched.
        for i in 0..<3 { #expect(try WAV.read(path: dir.path("c\(i).wav")).frameCount == 8000) }
        // Undo everything back to the loaded rows.
        while await s.undo() {}
        #expect(await s.state().rows.map(\.text) == ["第一句。", "第二句。", "Third one."])
    }

    @Test("saving refuses to overwrite a file changed by someone else, unless forced")
    func conflict() async throws {
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let path = try Self.makeList(dir)
        let s = try ReviewSession(listPath: path)
        try await s.edit(id: 1, text: "mine")
        try "c0.wav|spk|ZH|theirs\n".write(toFile: path, atomically: true, encoding: .utf8)
        await #expect(throws: PrepareError.self) { try await s.save() }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "c0.wav|spk|ZH|theirs\n")
        try await s.save(force: true)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("c0.wav|spk|ZH|mine\n"))
        try await s.reload()
        #expect(await s.state().rows.count == 3)
    }
}
