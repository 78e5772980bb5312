import Foundation
import Testing
import GSVTensor
import GSVTestSupport
@testable import GSVWeights

/// Tensors stored as strided views with storage offsets — overlapping (`as_strided`), broadcast
/// (stride 0) and transposed — read as PyTorch reads them, and bounded: a view holding more
/// elements than the bytes it reads is only materialised against a shape the caller declares.
@Suite struct StridedViewTests {
    /// Logical element `i` of a view, computed the plain way (multi-index · strides).
    static func reference(_ storage: [Float], offset: Int, shape: [Int], strides: [Int]) -> [Float] {
        let n = shape.reduce(1, *)
        return (0..<n).map { i in
            var rem = i, at = offset
            for d in stride(from: shape.count - 1, through: 0, by: -1) {
                at += (rem % shape[d]) * strides[d]
                rem /= shape[d]
            }
            return storage[at]
        }
    }

    @Test func overlappingAndBroadcastViewsReadAsPyTorch() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let pool: [Float] = (0..<20).map { Float($0) * 0.5 - 3 }
        let halves: [UInt16] = (0..<12).map { HalfConversion.half(fromFloat: Float($0) - 4) }
        let specs = [
            // W[o, i] = pool[2 + 3·o + i]: rows overlap (row shift 3 < row length 5).
            TensorSpec(key: "conv.weight", storage: "0", type: "FloatStorage", numel: 20, offset: 2, shape: [4, 5, 1, 1], stride: [3, 1, 1, 1]),
            // Broadcast rows (stride 0) of a fp16 storage.
            TensorSpec(key: "bcast", storage: "1", numel: 12, offset: 4, shape: [3, 4], stride: [0, 1]),
            // Overlapping fp16 view, inner stride 2 (not unit).
            TensorSpec(key: "skip", storage: "1", numel: 12, offset: 1, shape: [3, 3], stride: [1, 2]),
            // A plain contiguous tensor sharing storage 0.
            TensorSpec(key: "plain", storage: "0", type: "FloatStorage", numel: 20, offset: 10, shape: [2, 5]),
        ]
        let path = try dir.write(makeCheckpoint(specs, storages: ["0": float32Bytes(pool), "1": uint16Bytes(halves)]), to: "v.pth")
        let a = try WeightArchive.open(path)
        let t = try #require(a.tensors["conv.weight"])
        #expect(t.isExpandedView)
        #expect(t.storageSpan == 3 * 3 + 4 + 1)
        let expected = Self.reference(pool, offset: 2, shape: [4, 5, 1, 1], strides: [3, 1, 1, 1])
        #expect(try t.floatTensor(declaredShape: [4, 5, 1, 1]).scalars == expected)
        // The same values through the verifying reader, and as fp16 bits and in chunks.
        let r = WeightReader(a)
        #expect(try r.tensor("conv.weight", shape: [4, 5, 1, 1]).scalars == expected)
        #expect(try t.halfBits(declaredShape: [4, 5, 1, 1]) == expected.map(HalfConversion.half(fromFloat:)))
        var chunked: [Float] = []
        try t.forEachFloatChunk(maxElements: 3) { chunked += $0 }
        #expect(chunked == expected)

        let halfPool = halves.map(HalfConversion.float(fromHalf:))
        #expect(try a.tensors["bcast"]?.floatTensor(declaredShape: [3, 4]).scalars
                == Self.reference(halfPool, offset: 4, shape: [3, 4], strides: [0, 1]))
        #expect(try a.tensors["bcast"]?.halfBits(declaredShape: [3, 4]).map(HalfConversion.float(fromHalf:))
                == Self.reference(halfPool, offset: 4, shape: [3, 4], strides: [0, 1]))
        // [3, 3] with strides [1, 2] reads offsets 1…7: 7 stored elements for 9 values.
        #expect(a.tensors["skip"]?.isExpandedView == true)
        #expect(try a.tensors["skip"]?.floatTensor(declaredShape: [3, 3]).scalars
                == Self.reference(halfPool, offset: 1, shape: [3, 3], strides: [1, 2]))
        #expect(a.tensors["plain"]?.isExpandedView == false)
        #expect(try a.tensors["plain"]?.floatTensor().scalars == Array(pool[10..<20]))
    }

    @Test func expandedViewsNeedADeclaredShape() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let specs = [TensorSpec(key: "w", storage: "0", type: "FloatStorage", numel: 4, shape: [3, 4], stride: [0, 1])]
        let a = try WeightArchive.open(try dir.write(makeCheckpoint(specs, storages: ["0": float32Bytes([1, 2, 3, 4])]), to: "w.pth"))
        let t = try #require(a.tensors["w"])
        #expect(throws: WeightsError.undeclaredExpansion(key: "w", elements: 12, stored: 4)) { try t.floatTensor() }
        #expect(throws: WeightsError.undeclaredExpansion(key: "w", elements: 12, stored: 4)) { try t.halfBits() }
        #expect(throws: WeightsError.shapeMismatch(key: "w", expected: [4, 3], actual: [3, 4])) {
            try t.floatTensor(declaredShape: [4, 3])
        }
        let r = WeightReader(a)
        #expect(throws: WeightsError.undeclaredExpansion(key: "w", elements: 12, stored: 4)) { try r.tensor("w") }
        #expect(throws: WeightsError.shapeMismatch(key: "w", expected: [12], actual: [3, 4])) { try r.tensor("w", shape: [12]) }
        #expect(try r.tensor("w", shape: [3, 4]).scalars == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])
    }

    /// A tiny file declaring a stride-0 view of 2^34 elements over one stored float: it opens
    /// (nothing is allocated for a view), every read without that exact declared shape is refused
    /// at once, and a view reaching past its storage is refused as corrupt.
    @Test func hostileExpansionsAllocateNothing() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let huge = [1 << 17, 1 << 17]
        let specs = [TensorSpec(key: "bomb", storage: "0", type: "FloatStorage", numel: 1, shape: huge, stride: [0, 0])]
        let path = try dir.write(makeCheckpoint(specs, storages: ["0": float32Bytes([7])]), to: "bomb.pth")
        let a = try WeightArchive.open(path)
        let t = try #require(a.tensors["bomb"])
        #expect(t.storageSpan == 1)
        let start = Date()
        #expect(throws: WeightsError.undeclaredExpansion(key: "bomb", elements: 1 << 34, stored: 1)) { try t.floatTensor() }
        #expect(throws: WeightsError.undeclaredExpansion(key: "bomb", elements: 1 << 34, stored: 1)) { try t.int64Values() }
        #expect(throws: WeightsError.self) { try WeightReader(a).tensor("bomb", shape: [4, 4]) }
        #expect(Date().timeIntervalSince(start) < 1)
        // The parameter count reports the declared elements without reading them.
        #expect(WeightSummary(archive: a).parameterCount == 1 << 34)

        // Views that address elements beyond their storage are corrupt, whatever the strides.
        for (shape, stride, offset) in [([2, 3], [3, 1], 0), ([4], [0], 2), ([2, 2], [1, 2], 1)] {
            let bad = [TensorSpec(key: "x", storage: "0", type: "FloatStorage", numel: 4, offset: offset, shape: shape, stride: stride)]
            let p = try dir.write(makeCheckpoint(bad, storages: ["0": float32Bytes([1, 2, 3, 4])]), to: "bad.pth")
            if offset == 2 && stride == [0] {
                // [4] with stride 0 at offset 2 stays inside: a legal broadcast.
                #expect(try WeightArchive.open(p).tensors["x"]?.floatTensor(declaredShape: [4]).scalars == [3, 3, 3, 3])
            } else {
                #expect(throws: WeightsError.self, "shape \(shape) stride \(stride) offset \(offset)") { try WeightArchive.open(p) }
            }
        }
    }

    /// The fixture models store large weights as overlapping views (`../shared/fixtures/v2pro`
    /// README §6.1); every view the generator's report lists reads with its recorded strides and
    /// storage offset, and its values equal the plain multi-index formula over its storage.
    @Test(arguments: ["sv", "v2Pro", "v2ProPlus"])
    func fixtureViewsMatchTheReport(model: String) throws {
        let reportURL = Fixtures.url("v2pro/models/verify_report.json")
        guard FileManager.default.fileExists(atPath: reportURL.path) else {
            Issue.record("fixture \(reportURL.path) is missing")
            return
        }
        let report = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: reportURL))
        let entry = try #require(report[model])
        let file = try #require(entry["file"]?.stringValue)
        let archive = try WeightArchive.open(Fixtures.url("v2pro/" + file).path)
        #expect(archive.tensors.count == entry["n_tensors"]?.intValue)
        guard case let .object(views)? = entry["strided_tensors"] else {
            Issue.record("\(model): report lists no strided tensors")
            return
        }
        #expect(views.count == entry["n_overlapping_strided_tensors"]?.intValue)
        for (key, info) in views.sorted(by: { $0.key < $1.key }) {
            guard let t = archive.tensors[key] else {
                Issue.record("\(model): strided tensor \(key) is missing")
                continue
            }
            let strides = info["stride"]?.arrayValue?.compactMap(\.intValue)
            #expect(t.strides == strides, "\(key)")
            #expect(t.isExpandedView, "\(key)")
            let storageElements = try #require(info["storage_elems"]?.intValue)
            let storageOffset = try #require(info["offset"]?.intValue)
            #expect(t.storageSpan <= storageElements - storageOffset, "\(key)")
            // The storage as a flat contiguous view, then the formula.
            let flat = try TensorData(name: key + "#storage", dtype: t.dtype, shape: [storageElements], file: t.file,
                                      offset: t.offset - storageOffset * t.dtype.byteSize)
            let storage = try flat.floatTensor().scalars
            let ours = try t.floatTensor(declaredShape: t.shape).scalars
            #expect(ours == Self.reference(storage, offset: storageOffset, shape: t.shape, strides: t.strides), "\(key)")
        }
    }
}
