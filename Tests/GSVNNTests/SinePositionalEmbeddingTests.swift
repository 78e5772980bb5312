import Foundation
import GSVTensor
import GSVWeights
import Testing
@testable import GSVNN

/// `SinePositionalEmbedding` (the T2S GPT's positions): the table against the formula, the learned
/// scale, and its declaration through a parameter source.
@Suite struct SinePositionalEmbeddingTests {
    @Test func sinePositionsFollowTheFormula() {
        let pe = SinePositionalEmbedding(dim: 8, alpha: 0.5)
        let t = pe.table(startPosition: 0, count: 40)
        for p in 0..<40 {
            for i in 0..<4 {
                let w = exp(-Double(2 * i) * log(10000.0) / 8)
                #expect(abs(Double(t[p * 8 + 2 * i]) - sin(Double(p) * w)) < 1e-4)
                #expect(abs(Double(t[p * 8 + 2 * i + 1]) - cos(Double(p) * w)) < 1e-4)
            }
        }
        var row = [Float](repeating: 1, count: 8)
        row.withUnsafeMutableBufferPointer { pe.add(to: $0.baseAddress!, rows: 1, startPosition: 3) }
        let ref = pe.table(startPosition: 3, count: 1)
        for j in 0..<8 { #expect(abs(row[j] - (1 + 0.5 * ref[j])) < 1e-6) }
    }

    @Test func alphaIsDeclaredOnceForCheckpointAndRandomSources() throws {
        let random = try SinePositionalEmbedding(ParameterSource(randomSeed: 3).scoped("ar_text_position"), dim: 8)
        #expect(random.alpha == 1 && random.dim == 8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.safetensors").path, bad = dir.appendingPathComponent("bad.safetensors").path
        try SafeTensorsFile.write(["pos.alpha": Tensor([0.25])], to: good)
        try SafeTensorsFile.write(["pos.alpha": Tensor([1, 2])], to: bad)
        let reader = WeightReader(try WeightArchive.open(good))
        let read = try SinePositionalEmbedding(ParameterSource(reader: reader).scoped("pos"), dim: 8)
        #expect(read.alpha == 0.25)
        try reader.verifyAllConsumed()
        let badReader = WeightReader(try WeightArchive.open(bad))
        #expect(throws: WeightsError.self) { try SinePositionalEmbedding(ParameterSource(reader: badReader).scoped("pos"), dim: 8) }
    }
}
