import Testing
@testable import GSVTensor

@Suite struct HalfMatrixTests {
    // Kernel levels: portable C everywhere, AVX2 + FMA + F16C / NEON and AVX-512 where the CPU has
    // them (skipped with the reason elsewhere).

    /// Every half pattern widens exactly (NaNs to NaNs) at `level`, from odd offsets and counts too.
    func wideningIsExact(_ level: KernelLevel) {
        let bits = (0..<0x10000).map { UInt16($0) }
        for start in 0..<3 {
            let part = Array(bits[start..<(0x10000 - 2 * start)])
            let w = HalfMatrix(rows: 1, cols: part.count, bits: part).widened(level: level).scalars
            let wrong = zip(part, w).filter { h, f in
                let want = HalfConversion.float(fromHalf: h)
                return want.isNaN ? !f.isNaN : want.bitPattern != f.bitPattern
            }
            #expect(wrong.isEmpty, "level \(level), offset \(start): \(wrong.prefix(4).map { String($0.0, radix: 16) })")
        }
    }

    @Test func wideningIsExactPortable() { wideningIsExact(.portable) }
    @Test(levelTrait(.simd)) func wideningIsExactSIMD() { wideningIsExact(.simd) }
    @Test(levelTrait(.wide)) func wideningIsExactWide() { wideningIsExact(.wide) }

    /// Reference: widen with the scalar conversion, then y = x · Wᵀ + b in Double.
    func reference(_ m: HalfMatrix, _ x: Tensor, _ bias: Tensor?) -> [Float] {
        let w = m.widened().scalars
        let n = x.count / m.cols
        var out = [Float](repeating: 0, count: n * m.rows)
        for r in 0..<n { for o in 0..<m.rows {
            var s = Double(bias?.scalars[o] ?? 0)
            for i in 0..<m.cols { s += Double(w[o * m.cols + i]) * Double(x.scalars[r * m.cols + i]) }
            out[r * m.rows + o] = Float(s)
        } }
        return out
    }

    static let shapes = [(7, 37), (33, 64), (16, 5), (40, 130)]

    /// gemv, register-blocked batches (one and several passes), tiled sgemm at `level`.
    func gemvAndLinearMatchReference(_ rows: Int, _ cols: Int, level: KernelLevel) {
        let m = HalfMatrix(randomTensor([rows, cols], seed: 31))
        let b = randomTensor([rows], seed: 32)
        #expect(m.widened().shape == [rows, cols])
        let x1 = randomTensor([cols], seed: 33)
        #expect(maxAbsDiff(m.gemv(x1.scalars, bias: b.scalars, level: level), reference(m, x1, b)) < 1e-4)
        #expect(maxAbsDiff(m.gemv(x1.scalars, bias: nil, level: level), reference(m, x1, nil)) < 1e-4)
        for n in [1, 2, 3, 4, 5, 8, 9, 12, 13, 16, 17] {
            let x = randomTensor([n, 1, cols], seed: UInt64(40 + n))
            let y = m.linear(x, bias: b, level: level)
            #expect(y.shape == [n, 1, rows])
            #expect(maxAbsDiff(y.scalars, reference(m, x, b)) < 1e-4, "batch \(n), level \(level)")
        }
    }

    @Test(arguments: shapes) func gemvAndLinearPortable(_ rows: Int, _ cols: Int) {
        gemvAndLinearMatchReference(rows, cols, level: .portable)
    }
    @Test(levelTrait(.simd), arguments: shapes) func gemvAndLinearSIMD(_ rows: Int, _ cols: Int) {
        gemvAndLinearMatchReference(rows, cols, level: .simd)
    }
    @Test(levelTrait(.wide), arguments: shapes) func gemvAndLinearWide(_ rows: Int, _ cols: Int) {
        gemvAndLinearMatchReference(rows, cols, level: .wide)
    }

    // Wide rows: inputs 4 KB-aligned (2048 columns: copied to a padded layout) and not (2056: a
    // partial last vector), batches that fit L1 in one pass (4) and that take the column-blocked
    // path (5 … 16), row counts off the 8-row block. At every level each input row sums its columns
    // in the order of the batch-1 kernel, so batched rows equal single ones bit for bit.
    static let wideShapes = [(19, 2048), (13, 2056), (8, 1024)]

    func wideBatchesMatchReferenceAndBatchOne(_ rows: Int, _ cols: Int, level: KernelLevel) {
        let m = HalfMatrix(randomTensor([rows, cols], seed: 61))
        for n in [4, 5, 8, 12, 16] {
            let x = randomTensor([n, cols], seed: UInt64(70 + n))
            let y = m.linear(x, bias: nil, level: level)
            #expect(maxAbsDiff(y.scalars, reference(m, x, nil)) < 1e-3, "batch \(n), level \(level)")
            for b in 0..<n {
                let one = m.gemv(Array(x.scalars[(b * cols)..<((b + 1) * cols)]), bias: nil, level: level)
                #expect(Array(y.scalars[(b * rows)..<((b + 1) * rows)]) == one, "batch \(n) row \(b), level \(level)")
            }
        }
    }

    @Test(arguments: wideShapes) func wideBatchesPortable(_ rows: Int, _ cols: Int) {
        wideBatchesMatchReferenceAndBatchOne(rows, cols, level: .portable)
    }
    @Test(levelTrait(.simd), arguments: wideShapes) func wideBatchesSIMD(_ rows: Int, _ cols: Int) {
        wideBatchesMatchReferenceAndBatchOne(rows, cols, level: .simd)
    }
    @Test(levelTrait(.wide), arguments: wideShapes) func wideBatchesWide(_ rows: Int, _ cols: Int) {
        wideBatchesMatchReferenceAndBatchOne(rows, cols, level: .wide)
    }

    /// More than one 4 Mi-element tile of widened rows (2048 + 52), widened on several threads.
    func tiledSgemmAcrossTwoTiles(level: KernelLevel) {
        let (rows, cols, n) = (2100, 2048, HalfMatrix.registerBlockedRows + 1)
        let m = HalfMatrix(randomTensor([rows, cols], seed: 51))
        let x = randomTensor([n, cols], seed: 52)
        let b = randomTensor([rows], seed: 53)
        let y = m.linear(x, bias: b, level: level)
        #expect(y.shape == [n, rows])
        #expect(maxAbsDiff(y.scalars, reference(m, x, b)) < 1e-3, "level \(level)")
    }
    @Test func tiledSgemmAcrossTwoTilesPortable() { tiledSgemmAcrossTwoTiles(level: .portable) }
    @Test(levelTrait(.simd)) func tiledSgemmAcrossTwoTilesSIMD() { tiledSgemmAcrossTwoTiles(level: .simd) }
    @Test(levelTrait(.wide)) func tiledSgemmAcrossTwoTilesWide() { tiledSgemmAcrossTwoTiles(level: .wide) }

    @Test func fp16RoundingAndRawBuffers() {
        // Values exactly representable in fp16 survive; 1 + 2^-11 rounds to even (1.0).
        let t = Tensor(shape: [1, 3], scalars: [1.5, -0.25, 1 + 1.0 / 2048])
        let m = HalfMatrix(t)
        #expect(m.widened().scalars == [1.5, -0.25, 1])
        #expect(m[0, 0] == 0x3E00 && m.byteCount == 6)
        // Borrowed aligned bytes and misaligned (copied) bytes read the same.
        final class Owner { var bytes: [UInt8] = [0] + [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0x00, 0x00] }
        let owner = Owner()
        let a = owner.bytes.withUnsafeBytes { raw in
            HalfMatrix(rows: 2, cols: 2, bytes: UnsafeRawBufferPointer(rebasing: raw[1..<9]), owner: owner)
        }
        #expect(a.widened().scalars == [1, -2, 0.5, 0])
        #expect(a.gemv([2, 1]) == [0, 1])
    }
}
