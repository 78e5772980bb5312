import Foundation
import GSVTensor
import Testing
@testable import GSVWeights

/// Whether `python3 -c "import torch"` works here (the cross-check with the real `torch.load`).
let pythonTorchAvailable: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import torch"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite struct TorchSaveTests {
    static func sample() throws -> TorchSaveValue {
        .orderedDict([
            ("weight", .orderedDict([
                ("a.weight", .tensor(try TorchSaveTensor(float: [1, -2, 0.5, 3.25, 1e-3, 65504], shape: [2, 3]))),
                ("a.half", .tensor(try TorchSaveTensor(float: [1, -2, 0.5, 0.1], shape: [4], half: true))),
                ("ids", .tensor(try TorchSaveTensor(int64: [7, -3, 1 << 40], shape: [3]))),
                ("scalar", .tensor(try TorchSaveTensor(float: [42], shape: []))),
                ("empty", .tensor(try TorchSaveTensor(float: [], shape: [0, 5]))),
            ])),
            ("config", .dict([
                (.string("lr"), .float(0.002)), (.string("steps"), .int(70000)), (.string("big"), .int(-(1 << 40))),
                (.string("flag"), .bool(true)), (.string("none"), .none), (.string("name"), .string("声音 test")),
                (.string("sizes"), .list([.int(1), .int(300), .int(-5)])), (.string("pair"), .tuple([.int(1), .float(-0.5)])),
                (.string("four"), .tuple([.int(1), .int(2), .int(3), .int(4)])),
            ])),
            ("info", .string("GPT-e1")),
        ])
    }

    @Test func roundTripsThroughOurReader() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("sample.ckpt")
        try TorchSave.write(try Self.sample(), to: path)
        let ckpt = try TorchCheckpoint(path: path)
        #expect(ckpt.archiveName == "sample")
        let state = try #require(ckpt.object["weight"]?.dictEntries)
        #expect(state.count == 5)
        let archive = try WeightArchive.open(path)
        #expect(try archive.tensors["a.weight"]?.floatTensor().scalars == [1, -2, 0.5, 3.25, 1e-3, 65504])
        #expect(archive.tensors["a.weight"]?.shape == [2, 3])
        #expect(archive.tensors["a.half"]?.dtype == .float16)
        #expect(try archive.tensors["a.half"]?.floatTensor().scalars == [1, -2, 0.5, HalfConversion.float(fromHalf: HalfConversion.half(fromFloat: 0.1))])
        #expect(try archive.tensors["ids"]?.int64Values() == [7, -3, 1 << 40])
        #expect(archive.tensors["scalar"]?.shape == [])
        #expect(archive.tensors["empty"]?.shape == [0, 5])
        #expect(ckpt.object["config"]?["lr"] == .float(0.002))
        #expect(ckpt.object["config"]?["big"] == .int(-(1 << 40)))
        #expect(ckpt.object["config"]?["name"] == .string("声音 test"))
        #expect(ckpt.object["config"]?["sizes"] == .list([.int(1), .int(300), .int(-5)]))
        #expect(ckpt.object["info"] == .string("GPT-e1"))
        // Every storage record starts on a 64-byte boundary, as PyTorch lays them out.
        let zip = try #require(ckpt.zip)
        for e in zip.entries where e.name.contains("/data/") { #expect(e.dataOffset % 64 == 0, "\(e.name) at \(e.dataOffset)") }
    }

    @Test func objectsRoundTrip() throws {
        let value = TorchSaveValue.orderedDict([
            ("config", .object(module: "utils", name: "HParams", state: .dict([(.string("train"), .object(module: "utils", name: "HParams", state: .dict([(.string("epochs"), .int(8))])))]))),
        ])
        let data = try TorchSave.data(value, archiveName: "x")
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = try dir.write(Array(data), to: "x.pth")
        let ckpt = try TorchCheckpoint(path: path)
        #expect(ckpt.object["config"]?["train"]?["epochs"] == .int(8))
    }

    @Test func rejectsBadInput() {
        #expect(throws: WeightsError.self) { _ = try TorchSaveTensor(float: [1, 2, 3], shape: [2, 2]) }
        #expect(throws: WeightsError.self) { _ = try TorchSaveTensor(dtype: .int64, shape: [-1], bytes: Data()) }
        #expect(throws: WeightsError.self) { _ = try TorchSave.data(.none, archiveName: "a/b") }
        #expect(throws: WeightsError.self) { try TorchSave.write(.none, to: "/nonexistent-dir-gsv/x.pt") }
    }

    @Test func crc32MatchesKnownValue() {
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test(.enabled(if: pythonTorchAvailable, "python3 with torch is not installed: the torch.load cross-check is skipped"))
    func torchLoadReadsIt() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("sample.pt")
        try TorchSave.write(try Self.sample(), to: path)
        let script = """
        import sys, torch
        d = torch.load(sys.argv[1], weights_only=True)
        w = d["weight"]
        assert list(d.keys()) == ["weight", "config", "info"], list(d.keys())
        a = w["a.weight"]
        assert a.dtype == torch.float32 and a.shape == (2, 3) and a.flatten().tolist() == [1, -2, 0.5, 3.25, a[1, 1].item(), 65504]
        assert a[1, 1].item() == torch.tensor(1e-3, dtype=torch.float32).item()
        assert w["a.half"].dtype == torch.float16 and w["a.half"].float().tolist()[:3] == [1, -2, 0.5]
        assert w["ids"].dtype == torch.int64 and w["ids"].tolist() == [7, -3, 1 << 40]
        assert w["scalar"].shape == () and w["scalar"].item() == 42
        assert w["empty"].shape == (0, 5)
        c = d["config"]
        assert c == {"lr": 0.002, "steps": 70000, "big": -(1 << 40), "flag": True, "none": None, "name": "声音 test", "sizes": [1, 300, -5], "pair": (1, -0.5), "four": (1, 2, 3, 4)}, c
        assert d["info"] == "GPT-e1"
        print("ok")
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "torch.load failed: \(text)")
    }
}
