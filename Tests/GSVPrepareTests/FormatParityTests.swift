import Foundation
import GSVModels
@testable import GSVPrepare
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing

/// The formatting step against `prepare/format/`: what the official `prepare_datasets` scripts wrote
/// for `input.list` with the tiny models of `v2/models`.
@Suite("Formatting: parity with the official prepare_datasets scripts", .serialized)
struct FormatParityTests {
    static let base = "prepare/format"

    struct Fixture {
        var manifest: [String: Any]
        var list: String
        var audioFolder: String
        var models: FormatModels
    }

    static func fixture() throws -> Fixture {
        let m = try fixtureJSON("\(base)/format.json")
        guard let list = m["list"] as? String, let audio = m["audio_folder"] as? String,
              let models = m["models"] as? [String: String], let s = models["sovits"], let h = models["hubert"], let b = models["bert"] else {
            throw FixtureError.malformed("\(base)/format.json")
        }
        let fm = try FormatModels.load(sovits: Fixtures.url(s).path, hubert: Fixtures.url(h).path, bert: Fixtures.url(b).path)
        return Fixture(manifest: m, list: Fixtures.url("\(base)/\(list)").path, audioFolder: Fixtures.url("\(base)/\(audio)").path, models: fm)
    }

    static func officialLines(_ relative: String) throws -> [String] {
        let text = try String(contentsOf: Fixtures.url("\(base)/\(relative)"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("every file identical (text, tokens, 32 kHz WAVs) or within tolerance (features); bad rows skipped",
          .enabled(if: ffmpegAvailable, "ffmpeg is not installed (the official tools decode through it)"))
    func parity() async throws {
        let f = try Self.fixture()
        let out = try TempFolder()
        defer { out.cleanup() }
        let log = ProgressLog()
        let report = try DatasetFormatter(models: f.models, audioFolder: f.audioFolder).run(listPath: f.list, outputFolder: out.path, progress: log)
        let rows = try #require(f.manifest["rows"] as? [[String: Any]])
        let expectedNames = rows.filter { $0["expect"] as? String == "formatted" }.compactMap { $0["name"] as? String }
        let skippedLines = Set(rows.filter { $0["expect"] as? String == "skipped" }.compactMap { $0["line"] as? Int })
        #expect(report.utterances == expectedNames)
        #expect(Set(report.skipped.map(\.row)) == skippedLines, "\(report.skipped)")
        #expect(report.rows == rows.count)
        #expect(log.events.contains { $0.hasPrefix("begin format: audio") })

        let files = try #require(f.manifest["official_files"] as? [String: Any])
        // 2-name2text.txt: the official lines of the rows we format, in order.
        let officialText = try Self.officialLines(try #require(files["text"] as? String))
        let ourText = try String(contentsOfFile: out.path(TrainingFolder.text), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let keep = Set(expectedNames)
        let wantedText = officialText.filter { line in line.isEmpty || keep.contains(String(line.prefix { $0 != "\t" })) }
        #expect(ourText == wantedText)
        // 6-name2semantic.tsv: header, then the official token lines of our rows (first occurrence).
        let officialSem = try Self.officialLines(try #require(files["semantic"] as? String))
        var seen: Set<String> = []
        let wantedSem = officialSem.enumerated().filter { i, line in
            if i == 0 || line.isEmpty { return true }
            let name = String(line.prefix { $0 != "\t" })
            return keep.contains(name) && seen.insert(name).inserted
        }.map(\.element)
        let ourSem = try String(contentsOfFile: out.path(TrainingFolder.semantic), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(ourSem == wantedSem)

        // 5-wav32k: byte-identical files.
        let shas = try #require(f.manifest["wav32k_sha256"] as? [String: String])
        for name in expectedNames {
            #expect(sha256(ofFile: out.path("\(TrainingFolder.wav32k)/\(name)")) == shas[name], "5-wav32k/\(name)")
        }
        // 3-bert and 4-cnhubert: read back with our reader, compared with the official tensors.
        let tol = try #require(f.manifest["tolerances"] as? [String: Any])
        let golden = try SafeTensorsFile(path: Fixtures.url("\(Self.base)/\(try #require(files["features"] as? String))").path)
        for (sub, key) in [(TrainingFolder.bert, "bert"), (TrainingFolder.hubert, "hubert")] {
            let t = try #require(tol[key] as? [String: Double])
            let (minCos, maxRel) = (try #require(t["cosine"]), try #require(t["max_rel"]))
            for name in expectedNames {
                let path = out.path("\(sub)/\(name).pt")
                guard golden.tensors["\(key)/\(name)"] != nil else {
                    #expect(!FileManager.default.fileExists(atPath: path), "\(sub)/\(name).pt should not exist")
                    continue
                }
                let expected = try golden.tensor("\(key)/\(name)")
                let tensor = try DatasetFormatter.readTensor(path)
                #expect(tensor.shape == expected.shape, "\(sub)/\(name)")
                guard tensor.shape == expected.shape else { continue }
                let (cos, rel) = Parity.figures(tensor.scalars, expected.scalars)
                #expect(cos >= minCos && rel <= maxRel, "\(sub)/\(name): cosine \(cos), max relative error \(rel)")
                print("GSVPrepare: \(sub)/\(name) vs official: cosine \(cos), max relative error \(rel)")
            }
        }
    }

    @Test("an interrupted run resumes from the feature files already written, and official .pt files are read",
          .enabled(if: ffmpegAvailable, "ffmpeg is not installed (the official tools decode through it)"))
    func resumesAndReadsOfficialFiles() throws {
        let f = try Self.fixture()
        let out = try TempFolder()
        defer { out.cleanup() }
        let formatter = DatasetFormatter(models: f.models, audioFolder: f.audioFolder)
        let first = try formatter.run(listPath: f.list, outputFolder: out.path)
        #expect(first.reusedFiles == 0)
        let text1 = try String(contentsOfFile: out.path(TrainingFolder.text), encoding: .utf8)
        let sem1 = try String(contentsOfFile: out.path(TrainingFolder.semantic), encoding: .utf8)
        // Simulate an interruption: the merged files are gone, the feature files stay.
        try FileManager.default.removeItem(atPath: out.path(TrainingFolder.text))
        try FileManager.default.removeItem(atPath: out.path(TrainingFolder.semantic))
        let second = try formatter.run(listPath: f.list, outputFolder: out.path)
        #expect(second.reusedFiles > 0)
        #expect(try String(contentsOfFile: out.path(TrainingFolder.text), encoding: .utf8) == text1)
        #expect(try String(contentsOfFile: out.path(TrainingFolder.semantic), encoding: .utf8) == sem1)

        // A row whose text changed (e.g. in review) gets new BERT features; the others are kept.
        let edited = out.path("edited.list")
        let original = try String(contentsOfFile: f.list, encoding: .utf8)
        let changedLine = try #require(original.split(separator: "\n").first { $0.contains("|ZH|") && !$0.hasSuffix("|ZH|") })
        let name = DatasetList.utteranceName(String(changedLine.split(separator: "|")[0]))
        try original.replacingOccurrences(of: String(changedLine), with: String(changedLine) + "再见。").write(toFile: edited, atomically: true, encoding: .utf8)
        let bertPath = out.path("\(TrainingFolder.bert)/\(name).pt")
        let before = try DatasetFormatter.readTensor(bertPath)
        let third = try formatter.run(listPath: edited, outputFolder: out.path)
        #expect(third.reusedFiles == second.reusedFiles - 1)
        let after = try DatasetFormatter.readTensor(bertPath)
        #expect(after.shape[1] > before.shape[1], "\(name): BERT features were not recomputed for the new text")
        #expect(try String(contentsOfFile: out.path(TrainingFolder.text), encoding: .utf8).contains("再见"))

        // Official feature files (strided views written by torch.save) read back as the same values.
        let files = try #require(f.manifest["official_files"] as? [String: Any])
        let pts = try #require(files["pt"] as? [String: String])
        let golden = try SafeTensorsFile(path: Fixtures.url("\(Self.base)/\(try #require(files["features"] as? String))").path)
        for (key, rel) in pts {
            let t = try DatasetFormatter.readTensor(Fixtures.url("\(Self.base)/\(rel)").path)
            let g = try golden.tensor(key)
            #expect(t.shape == g.shape && t.scalars == g.scalars, "\(rel)")
        }
    }
}
