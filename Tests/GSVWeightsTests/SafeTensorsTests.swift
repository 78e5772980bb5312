import Foundation
import Testing
import GSVTensor
import GSVTestSupport
@testable import GSVWeights

@Suite struct SafeTensorsTests {
    @Test func readsGoldenReferenceFile() throws {
        let f = try SafeTensorsFile(path: Fixtures.url("v2/golden/reference.safetensors").path)
        let spec = try #require(f.tensors["refer_spec"])
        #expect(spec.dtype == .float32)
        #expect(spec.shape.count == 2 && spec.shape[0] == 1025)
        let t = try f.tensor("refer_spec")
        #expect(t.scalars.allSatisfy { $0.isFinite && $0 >= 0 })
        let tokens = try #require(f.tensors["prompt_semantic"])
        #expect(tokens.dtype == .int64)
        #expect(try tokens.int64Values().allSatisfy { $0 >= 0 && $0 < 1024 })
    }

    @Test func roundTripsWrittenTensors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.safetensors").path
        let a = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 4, 5, 6])
        try SafeTensorsFile.write(["a": a, "b": Tensor([7])], metadata: ["k": "v"], to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(try f.tensor("a") == a)
        #expect(try f.tensor("b") == Tensor([7]))
        #expect(f.metadata["k"] == "v")
    }

    @Test func refusesTruncatedAndGarbageFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try Data(contentsOf: Fixtures.url("v2/golden/reference.safetensors"))
        let truncated = dir.appendingPathComponent("trunc.safetensors").path
        try src.prefix(src.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: truncated) }
        let garbage = dir.appendingPathComponent("garbage.safetensors").path
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: garbage) }
    }
}
