import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GSVText
import Testing
@testable import GPTSoVITS

/// A local Hugging Face stand-in (`hf_test_server.py`) serving a temporary folder over loopback.
final class LocalHFServer: @unchecked Sendable {
    let process = Process()
    let root: URL
    let port: Int

    init(files: [String: Data], arguments: [String] = []) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-hf-\(UUID().uuidString)")
        for (path, data) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("hf_test_server.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, root.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // First line on stdout is the port.
        var line = Data()
        while true {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty || b == Data("\n".utf8) { break }
            line.append(b)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw DownloadError.offline(url: "local test server", reason: "did not start")
        }
        port = p
    }

    var environment: [String: String] { ["HF_ENDPOINT": "http://127.0.0.1:\(port)"] }

    var requestLog: String { (try? String(contentsOf: root.appendingPathComponent(".requests.log"), encoding: .utf8)) ?? "" }

    deinit {
        // SIGKILL without waiting: Foundation's waitUntilExit can spin on Linux after terminate().
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: root)
    }
}

func randomData(_ n: Int, seed: UInt64) -> Data {
    var s = seed
    return Data((0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: s >> 33)
    })
}

func sha256Hex(_ d: Data) -> String {
    var h = SHA256Digest()
    h.update(d)
    return h.hexDigest()
}

@Suite(.serialized) struct DownloaderTests {
    @Test func sha256KnownVectors() {
        #expect(sha256Hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(sha256Hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in uneven pieces, the digest is the same.
        let big = randomData(1000, seed: 3)
        var h = SHA256Digest()
        h.update(big.prefix(7)); h.update(big.dropFirst(7).prefix(100)); h.update(big.dropFirst(107))
        #expect(h.hexDigest() == sha256Hex(big))
    }

    @Test func urlsFollowTheOfficialLayoutAndHFEndpoint() throws {
        let path = "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
        let hf = try #require(ModelSource.huggingFace.url(repo: "lj1995/GPT-SoVITS", path: path, environment: [:]))
        #expect(hf.absoluteString == "https://huggingface.co/lj1995/GPT-SoVITS/resolve/main/gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch%3D12-step%3D369668.ckpt")
        let env = try #require(ModelSource.huggingFace.url(repo: "r/x", path: "a.pth", environment: ["HF_ENDPOINT": "https://example.test/"]))
        #expect(env.absoluteString == "https://example.test/r/x/resolve/main/a.pth")
        #expect(ModelSource.hfMirror.url(repo: "r/x", path: "a.pth")?.host == "hf-mirror.com")
        #expect(ModelSource.modelScope.url(repo: "r/x", path: "a.pth")?.absoluteString == "https://www.modelscope.cn/models/r/x/resolve/master/a.pth")
        let v2 = try #require(PretrainedCatalog.files(for: "v2"))
        #expect(v2.contains { $0.role == .gpt } && v2.contains { $0.role == .sovits } && v2.contains { $0.role == .hubert } && v2.contains { $0.role == .bert })
        #expect(PretrainedCatalog.files(for: "v9") == nil)
    }

    @Test func downloadsAVersionVerifiesAndSkipsCompleteFiles() async throws {
        let files = try #require(PretrainedCatalog.files(for: "v2"))
        var served: [String: Data] = [:]
        for (i, f) in files.enumerated() { served["lj1995/GPT-SoVITS/\(f.path)"] = randomData(3000 + 977 * i, seed: UInt64(i)) }
        let server = try LocalHFServer(files: served)
        let dest = server.root.appendingPathComponent("cache")
        let d = PretrainedDownloader(source: .huggingFace, environment: server.environment, downloader: Downloader(timeout: 10))
        let outcomes = try await d.download(version: "v2", into: dest)
        #expect(outcomes.count == files.count)
        for f in files {
            let got = try Data(contentsOf: dest.appendingPathComponent(f.path))
            #expect(got == served["lj1995/GPT-SoVITS/\(f.path)"], "\(f.path)")
        }
        #expect(outcomes.allSatisfy { !$0.alreadyPresent && $0.sha256 != nil })
        // Second run: nothing transferred.
        let again = try await d.download(version: "v2", into: dest)
        #expect(again.allSatisfy { $0.alreadyPresent && $0.transferred == 0 })
    }

    /// `models download v2Pro|v2ProPlus` fetches the speaker model too, to the place the model
    /// paths of that folder look for it.
    @Test(arguments: [ModelVersion.v2Pro, .v2ProPlus])
    func proVersionsFetchTheSpeakerModelWhereTheBundleLooksForIt(version: ModelVersion) async throws {
        let files = PretrainedCatalog.files(for: version)
        #expect(files.contains(PretrainedCatalog.speakerModel))
        var served: [String: Data] = [:]
        for (i, f) in files.enumerated() { served["lj1995/GPT-SoVITS/\(f.path)"] = randomData(2000 + 631 * i, seed: UInt64(40 + i)) }
        let server = try LocalHFServer(files: served)
        let dest = server.root.appendingPathComponent("cache")
        let d = PretrainedDownloader(source: .huggingFace, environment: server.environment, downloader: Downloader(timeout: 10))
        let outcomes = try await d.download(version: version.rawValue, into: dest)
        #expect(outcomes.count == files.count)
        let paths = try ModelPaths(pretrainedFolder: dest, version: version)
        let sv = try #require(paths.speakerVerification)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sv)) == served["lj1995/GPT-SoVITS/\(PretrainedCatalog.speakerModel.path)"])
        let sovits = try #require(files.first { $0.role == .sovits })
        #expect(try Data(contentsOf: URL(fileURLWithPath: paths.sovits)) == served["lj1995/GPT-SoVITS/\(sovits.path)"])
    }

    @Test func resumesAfterAnInterruptedTransfer() async throws {
        let payload = randomData(200_000, seed: 9)
        let server = try LocalHFServer(files: ["o/r/big.bin": payload], arguments: ["--drop-once", "o/r/big.bin"])
        let dest = server.root.appendingPathComponent("out/big.bin")
        let url = try #require(ModelSource.huggingFace.url(repo: "o/r", path: "big.bin", environment: server.environment))
        let dl = Downloader(timeout: 10)
        do {
            _ = try await dl.download(url, to: dest, label: "big.bin")
            Issue.record("the interrupted transfer did not fail")
        } catch {
            #expect(error is DownloadError, "\(error)")
            print("first attempt: \(error)")
        }
        let partSize = (try FileManager.default.attributesOfItem(atPath: dest.path + ".part")[.size] as? NSNumber)?.intValue ?? 0
        #expect(partSize > 0 && partSize < payload.count)
        let outcome = try await dl.download(url, to: dest, label: "big.bin")
        #expect(outcome.resumed)
        #expect(outcome.transferred == Int64(payload.count - partSize))
        #expect(try Data(contentsOf: dest) == payload)
        #expect(server.requestLog.contains("bytes=\(partSize)-"))
    }

    @Test func wrongHashIsRefusedAndRemoved() async throws {
        let server = try LocalHFServer(files: ["o/r/f.bin": randomData(5000, seed: 1)], arguments: ["--bad-hash"])
        let dest = server.root.appendingPathComponent("out/f.bin")
        let url = try #require(ModelSource.huggingFace.url(repo: "o/r", path: "f.bin", environment: server.environment))
        do {
            _ = try await Downloader(timeout: 10).download(url, to: dest, label: "f.bin")
            Issue.record("a wrong hash was accepted")
        } catch let DownloadError.hashMismatch(path, expected, _) {
            #expect(path == dest.path && expected == String(repeating: "0", count: 64))
        }
        #expect(!FileManager.default.fileExists(atPath: dest.path))
        #expect(!FileManager.default.fileExists(atPath: dest.path + ".part"))
    }

    /// The lite lid.176 model bundled with the frontend: a real fastText language-ID file.
    static let liteLanguageModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/GSVText/Resources/lid/lid.176.ftz")

    @Test func languageModelDownloadIsVerifiedAndFoundInTheModelsFolder() async throws {
        let model = try Data(contentsOf: Self.liteLanguageModel)
        let server = try LocalHFServer(files: ["fb/fasttext/resolve-me/lid.176.bin": model, "fb/fasttext/resolve-me/junk.bin": randomData(5000, seed: 3)])
        let dest = server.root.appendingPathComponent("cache")
        let base = "http://127.0.0.1:\(server.port)/fb/fasttext/resolve/main/resolve-me/"
        let outcome = try await LanguageModelDownload.download(from: try #require(URL(string: base + "lid.176.bin")), into: dest,
                                                               downloader: Downloader(timeout: 10))
        #expect(outcome.destination.path == dest.appendingPathComponent("fast_langdetect/lid.176.bin").path)
        #expect(try Data(contentsOf: outcome.destination) == model)
        // A models folder holding it hands it to the bundle.
        let paths = try ModelPaths(pretrainedFolder: dest, version: .v2)
        #expect(paths.languageModel == outcome.destination.path)
        #expect(try ModelBundle.languageDetector(paths.languageModel) is FastTextLanguageDetector)
        // Something that is not a language-ID model is refused and removed.
        let other = server.root.appendingPathComponent("other")
        await #expect(throws: DownloadError.self) {
            _ = try await LanguageModelDownload.download(from: URL(string: base + "junk.bin")!, into: other, downloader: Downloader(timeout: 10))
        }
        #expect(!FileManager.default.fileExists(atPath: other.appendingPathComponent("fast_langdetect/lid.176.bin").path))
        // Without the file the folder names none.
        #expect(try ModelPaths(pretrainedFolder: other, version: .v2).languageModel == nil)
    }

    @Test(.enabled(if: CLITests.cliAvailable)) func modelsDownloadLidCommand() throws {
        let server = try LocalHFServer(files: ["fb/fasttext/x/lid.176.bin": try Data(contentsOf: Self.liteLanguageModel)])
        let dest = server.root.appendingPathComponent("cache")
        let url = "http://127.0.0.1:\(server.port)/fb/fasttext/resolve/main/x/lid.176.bin"
        let r = try runCLI(["models", "download", "lid", "--lid-url", url, "--cache-dir", dest.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dest.appendingPathComponent("fast_langdetect/lid.176.bin").path))
        let missing = try runCLI(["models", "download", "lid", "--lid-url", url + ".nope", "--cache-dir", dest.path + "2"])
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("Error: "), "\(missing.stderr)")
    }

    @Test func missingFileAndUnreachableServerAreClearErrors() async throws {
        let server = try LocalHFServer(files: ["o/r/f.bin": Data([1])])
        let missing = try #require(ModelSource.huggingFace.url(repo: "o/r", path: "nope.bin", environment: server.environment))
        await #expect(throws: DownloadError.httpStatus(url: missing.absoluteString, status: 404)) {
            _ = try await Downloader(timeout: 10).download(missing, to: server.root.appendingPathComponent("x"), label: "x")
        }
        // A port nothing listens on: an "offline" error naming the URL.
        let dead = try #require(URL(string: "http://127.0.0.1:9/o/r/resolve/main/f.bin"))
        do {
            _ = try await Downloader(timeout: 5).download(dead, to: server.root.appendingPathComponent("y"), label: "y")
            Issue.record("expected an error")
        } catch let e as DownloadError {
            guard case let .offline(url, _) = e else { Issue.record("unexpected \(e)"); return }
            #expect(url == dead.absoluteString)
            #expect(e.localizedDescription.contains("hf-mirror"))
        }
    }
}
