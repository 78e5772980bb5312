import Foundation
import Testing
import GSVTensor
import GSVTestSupport
@testable import GSVWeights

/// Malicious and broken inputs: each must fail with a ``WeightsError`` — never execute anything,
/// crash, hang or allocate without bound.
@Suite(.serialized) struct HostileFileTests {
    /// The file the code-execution payloads below try to create.
    static let marker = "/tmp/gsv-pwned-marker"

    /// Wraps a raw pickle as `archive/data.pkl` of an otherwise valid torch zip.
    func zipped(_ pickle: [UInt8], storages: [String: [UInt8]] = [:]) -> [UInt8] {
        var z = ZipBuilder()
        z.add("archive/data.pkl", pickle)
        z.add("archive/byteorder", Array("little".utf8))
        for (k, v) in storages { z.add("archive/data/\(k)", v) }
        return z.build()
    }

    func open(_ bytes: [UInt8], in dir: TempDir, name: String = "x.pth") throws -> WeightArchive {
        try WeightArchive.open(try dir.write(bytes, to: name))
    }

    /// Expects `forbiddenPickle` whose message names `global`.
    func expectForbidden(_ pickle: [UInt8], naming global: String, in dir: TempDir,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try open(zipped(pickle), in: dir)
            Issue.record("payload naming \(global) was accepted", sourceLocation: sourceLocation)
        } catch let WeightsError.forbiddenPickle(_, reason) {
            #expect(reason.contains(global), "message '\(reason)' does not name \(global)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Real payloads made by Python's `pickle.dumps` of objects whose `__reduce__` returns a
    /// dangerous callable (generated with python3 3.11 on Linux):
    ///   {'weight': A()}  with A.__reduce__ = (os.system, ('touch /tmp/gsv-pwned-marker',)), protocol 2
    ///   {'config': B()}  with B.__reduce__ = (builtins.eval, ("__import__('os').system('touch …')",)), protocol 2
    ///   [C()]            with C.__reduce__ = (subprocess.Popen, (['touch', '/tmp/gsv-pwned-marker'],)), protocol 4
    static let payloads: [(base64: String, global: String)] = [
        ("gAJ9cQBYBgAAAHdlaWdodHEBY3Bvc2l4CnN5c3RlbQpxAlgbAAAAdG91Y2ggL3RtcC9nc3YtcHduZWQtbWFya2VycQOFcQRScQVzLg==",
         "posix.system"),
        ("gAJ9cQBYBgAAAGNvbmZpZ3EBY19fYnVpbHRpbl9fCmV2YWwKcQJYNgAAAF9faW1wb3J0X18oJ29zJykuc3lzdGVtKCd0b3VjaCAvdG1wL2dzdi1wd25lZC1tYXJrZXInKXEDhXEEUnEFcy4=",
         "__builtin__.eval"),
        ("gASVQwAAAAAAAABdlIwKc3VicHJvY2Vzc5SMBVBvcGVulJOUXZQojAV0b3VjaJSMFS90bXAvZ3N2LXB3bmVkLW1hcmtlcpRlhZRSlGEu",
         "subprocess.Popen"),
    ]

    @Test func codeExecutionPayloadsAreRefusedWithoutSideEffects() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try? FileManager.default.removeItem(atPath: Self.marker)
        for p in Self.payloads {
            let bytes = try #require(Data(base64Encoded: p.base64))
            expectForbidden([UInt8](bytes), naming: p.global, in: dir)
        }
        #expect(!FileManager.default.fileExists(atPath: Self.marker))

        // The same inside a real checkpoint: the GPT fixture with its data.pkl's first global
        // (`collections\nOrderedDict\n`) rewritten in place to `os\nsystem\n` plus padding.
        var ckpt = [UInt8](try Data(contentsOf: Fixtures.url("v2/models/gpt_v2_tiny.ckpt")))
        let needle = Array("collections\nOrderedDict\n".utf8)
        let at = try #require(ckpt.indices.first { i in i + needle.count <= ckpt.count && Array(ckpt[i..<(i + needle.count)]) == needle })
        let evil = Array("os\nsystem\n".utf8)
        ckpt.replaceSubrange(at..<(at + needle.count), with: evil + [UInt8](repeating: 0x4E, count: needle.count - evil.count))
        do {
            _ = try open(ckpt, in: dir, name: "evil.ckpt")
            Issue.record("rewritten checkpoint accepted")
        } catch let WeightsError.forbiddenPickle(_, reason) {
            #expect(reason.contains("os.system"))
        }
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func forbiddenGlobalsAndOpcodes() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for (module, name) in [("os", "system"), ("builtins", "eval"), ("builtins", "exec"), ("posix", "system"),
                               ("subprocess", "check_output"), ("torch", "load"), ("numpy", "load"),
                               ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("utils", "os")] {
            var p = PickleWriter()
            p.global(module, name)
            p.stop()
            expectForbidden(p.bytes, naming: "\(module).\(name)", in: dir)
        }
        // A storage type we cannot represent is a dtype error, not a security one.
        var cx = PickleWriter()
        cx.global("torch", "ComplexFloatStorage"); cx.stop()
        #expect(throws: WeightsError.unsupportedDType(key: "storage", dtype: "torch.ComplexFloatStorage")) {
            try open(zipped(cx.bytes), in: dir)
        }
        // STACK_GLOBAL (protocol 4 style) is checked the same way.
        var sg = PickleWriter()
        sg.string("builtins"); sg.string("getattr"); sg.op(0x93); sg.stop()
        expectForbidden(sg.bytes, naming: "builtins.getattr", in: dir)
        // INST names a class to instantiate: refused.
        var inst = PickleWriter()
        inst.op(0x28); inst.raw(Array("iposix\nsystem\n".utf8)); inst.stop()
        expectForbidden(inst.bytes, naming: "posix.system", in: dir)
        // Allowed globals cannot be abused: calling a storage type or HParams directly is refused.
        var st = PickleWriter()
        st.global("torch", "HalfStorage"); st.op(0x29); st.op(0x52); st.stop()
        expectForbidden(st.bytes, naming: "torch.HalfStorage", in: dir)
        var hp = PickleWriter()
        hp.global("utils", "HParams"); hp.op(0x29); hp.op(0x52); hp.stop()
        expectForbidden(hp.bytes, naming: "utils.HParams", in: dir)
    }

    @Test func malformedPicklesFailCleanly() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("no STOP", [0x80, 0x02, 0x4E]),
            ("stack underflow", [0x80, 0x02, 0x2E]),
            ("unknown opcode", [0x80, 0x02, 0xFF, 0x2E]),
            ("protocol 9", [0x80, 0x09, 0x4E, 0x2E]),
            ("huge BINUNICODE", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41, 0x2E]),
            ("huge BINUNICODE8", [0x80, 0x04, 0x8D] + [UInt8](repeating: 0xFF, count: 8) + [0x2E]),
            ("huge BINBYTES", [0x80, 0x03, 0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]),
            ("huge LONG4", [0x80, 0x02, 0x8B, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]),
            ("memo miss", [0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]),
            ("SETITEMS on list", [0x80, 0x02, 0x5D, 0x28, 0x4E, 0x4E, 0x75, 0x2E]),
            ("APPEND on dict", [0x80, 0x02, 0x7D, 0x4E, 0x61, 0x2E]),
            ("REDUCE on int", [0x80, 0x02, 0x4B, 0x01, 0x29, 0x52, 0x2E]),
            ("BUILD on int", [0x80, 0x02, 0x4B, 0x01, 0x4E, 0x62, 0x2E]),
            ("TUPLE without MARK", [0x80, 0x02, 0x4E, 0x74, 0x2E]),
            ("invalid UTF-8", [0x80, 0x02, 0x58, 0x02, 0x00, 0x00, 0x00, 0xC3, 0x28, 0x2E]),
            ("unterminated GLOBAL", [0x80, 0x02, 0x63] + Array("torch".utf8)),
            ("text persid", [0x80, 0x02, 0x50] + Array("x\n".utf8) + [0x2E]),
            ("BINPERSID of junk", [0x80, 0x02, 0x4E, 0x51, 0x2E]),
            ("out-of-band buffer", [0x80, 0x05, 0x97, 0x2E]),
        ]
        for (name, pickle) in cases {
            #expect(throws: WeightsError.self, "\(name)") { try open(zipped(pickle), in: dir) }
        }
        // A pickle that is fine but holds no tensors opens with an empty state dict.
        let a = try open(zipped([0x80, 0x02, 0x7D, 0x2E]), in: dir)
        #expect(a.tensors.isEmpty)
    }

    @Test func deepNestingAndSelfReferenceAreBounded() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        // 100 000 nested one-tuples: limited by the depth check, no stack overflow.
        var deep: [UInt8] = [0x80, 0x02, 0x29]
        deep += [UInt8](repeating: 0x85, count: 100_000)
        deep.append(0x2E)
        #expect(throws: WeightsError.self) { try open(zipped(deep), in: dir) }
        // 20 000 nested lists built by mutation (APPEND into memoised lists, oldest first).
        var lists: [UInt8] = [0x80, 0x02]
        let n = 20_000
        lists.reserveCapacity(n * 20)
        for i in 0..<n { lists += [0x5D, 0x72] + (0..<4).map { UInt8((i >> (8 * $0)) & 0xFF) } + [0x30] }
        for i in 0..<(n - 1) {
            lists += [0x6A] + (0..<4).map { UInt8((i >> (8 * $0)) & 0xFF) }
            lists += [0x6A] + (0..<4).map { UInt8(((i + 1) >> (8 * $0)) & 0xFF) }
            lists += [0x61, 0x30]
        }
        lists += [0x6A, 0, 0, 0, 0, 0x2E]
        #expect(throws: WeightsError.self) { try open(zipped(lists), in: dir) }
        // A list containing itself.
        let cyclic: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        #expect(throws: WeightsError.self) { try open(zipped(cyclic), in: dir) }
        // Shared references doubling 64 times (2^64 nodes if expanded): stopped by the node budget.
        var bomb: [UInt8] = [0x80, 0x02, 0x29]
        for _ in 0..<64 { bomb += [0x71, 0x00, 0x68, 0x00, 0x86] }
        bomb.append(0x2E)
        #expect(throws: WeightsError.self) { try open(zipped(bomb), in: dir) }
        // Unbalanced MARKs.
        let marks = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 200_000) + [0x2E]
        #expect(throws: WeightsError.self) { try open(zipped(marks), in: dir) }
    }

    @Test func brokenContainers() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let gpt = [UInt8](try Data(contentsOf: Fixtures.url("v2/models/gpt_v2_tiny.ckpt")))
        // Truncations at many points, including inside the central directory.
        for cut in [0, 1, 2, 3, 4, 21, 22, 100, 5_000, gpt.count / 2, gpt.count - 200, gpt.count - 23, gpt.count - 1] {
            #expect(throws: WeightsError.self, "cut \(cut)") { try open(Array(gpt.prefix(cut)), in: dir) }
        }
        // Random bytes, and random bytes behind a zip signature.
        var rng = SplitMix64(seed: 7)
        for i in 0..<20 {
            var junk = (0..<(64 + i * 97)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0 { junk.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04]) }
            #expect(throws: WeightsError.self) { try open(junk, in: dir) }
        }
        // End record declaring a huge central directory / entry count.
        var z = ZipBuilder()
        z.add("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])
        var bytes = z.build()
        let eocd = bytes.count - 22
        bytes.replaceSubrange((eocd + 10)..<(eocd + 20), with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: WeightsError.self) { try open(bytes, in: dir) }
        // A legacy torch.save stream cut after its magic number, and a bare pickle.
        let legacy: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        #expect(throws: WeightsError.self) { try open(legacy, in: dir, name: "legacy.pth") }
        #expect(throws: WeightsError.self) { try open([0x80, 0x02, 0x7D, 0x2E], in: dir, name: "bare.pkl") }
        // Not found, a device, a FIFO (must not block waiting for a writer).
        #expect(throws: WeightsError.self) { try WeightArchive.open(dir.path("nope.ckpt")) }
        #expect(throws: WeightsError.self) { try WeightArchive.open("/dev/zero") }
        let fifo = dir.path("fifo.pth")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: WeightsError.self) { try WeightArchive.open(fifo) }
    }

    /// Mutates real checkpoint bytes (byte flips, truncations, insertions, deletions) with a fixed
    /// seed; every attempt must either load (and then read every tensor) or throw `WeightsError`.
    @Test func fuzzMutatedCheckpoints() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let st = dir.path("small.safetensors")
        try SafeTensorsFile.write(["a": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), "b": Tensor([7])],
                                  metadata: ["format": "pt"], to: st)
        let sources = [
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: st))),
            [UInt8](try Data(contentsOf: Fixtures.url("v2/models/gpt_v2_tiny.ckpt"))),
            makeCheckpoint([TensorSpec(key: "a", storage: "0", type: "FloatStorage", numel: 6, shape: [2, 3]),
                            TensorSpec(key: "b", storage: "0", type: "FloatStorage", numel: 6, offset: 1, shape: [2, 2], stride: [1, 2]),
                            TensorSpec(key: "c", storage: "1", numel: 3, shape: [3])],
                           storages: ["0": float32Bytes([1, 2, 3, 4, 5, 6]), "1": uint16Bytes([1, 2, 3])], zip64: true),
            makeCheckpoint([TensorSpec(key: "e", storage: "0", numel: 2, shape: [2, 1])],
                           storages: ["0": uint16Bytes([0x3C00, 0x4000])], hparams: true),
            makeLegacyCheckpoint([TensorSpec(key: "a", storage: "9", type: "FloatStorage", numel: 4, shape: [2, 2])],
                                 storages: [(key: "9", elementSize: 4, bytes: float32Bytes([1, 2, 3, 4]))]),
        ]
        // GSV_FUZZ_ITERATIONS / GSV_FUZZ_SEED run a longer or different campaign (default: 480, 0x5EED).
        let env = ProcessInfo.processInfo.environment
        let iterations = env["GSV_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 480
        var rng = SplitMix64(seed: env["GSV_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED)
        var loaded = 0, rejected = 0
        let start = Date()
        for iteration in 0..<iterations {
            let src = sources[iteration % sources.count]
            var b = src
            // Aim most mutations at the structure: the pickle (start) and the central directory (end).
            let pklEnd = min(b.count, 6_000)
            let cdStart = max(0, b.count - 5_000)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let region = Int.random(in: 0..<4, using: &rng)
                let pos: Int
                switch region {
                case 0, 1: pos = Int.random(in: 0..<max(1, pklEnd), using: &rng)
                case 2: pos = Int.random(in: cdStart..<max(cdStart + 1, b.count), using: &rng)
                default: pos = Int.random(in: 0..<max(1, b.count), using: &rng)
                }
                guard !b.isEmpty else { break }
                let p = min(pos, b.count - 1)
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<5: b[p] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                case 5, 6: b[p] = UInt8.random(in: 0...255, using: &rng)
                case 7: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: p)
                case 8: b.removeSubrange(p..<min(b.count, p + Int.random(in: 1...8, using: &rng)))
                default: b = Array(b.prefix(p))
                }
            }
            let path = try dir.write(b, to: "fuzz.pth")
            do {
                let a = try WeightArchive.open(path)
                for t in a.tensors.values {
                    _ = try t.floatTensor()
                    if t.dtype.isFloatingPoint { _ = try t.halfBits() }
                }
                _ = WeightSummary(archive: a)
                loaded += 1
            } catch is WeightsError {
                rejected += 1
            } catch {
                Issue.record("iteration \(iteration): non-WeightsError \(error)")
            }
        }
        #expect(loaded + rejected == iterations)
        // Both paths are exercised (with seed 0x5EED most mutations are rejected, dozens still load).
        #expect(rejected > iterations / 10, "mutations should break many files (rejected \(rejected))")
        #expect(loaded > iterations / 50, "some mutations (in tensor data) should still load (loaded \(loaded))")
        #expect(Date().timeIntervalSince(start) < Double(iterations) / 4, "fuzzing is too slow (a near-hang?)")
    }
}
