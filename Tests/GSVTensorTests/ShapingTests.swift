import Testing
@testable import GSVTensor

@Suite struct ShapingTests {
    let x = Tensor(shape: [2, 3, 4], generator: { Float($0) })

    @Test func permuteAndTranspose() {
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { #expect(p[k, i, j] == x[i, j, k]) } } }
        let t = x.transposed(0, 2)
        #expect(t.shape == [4, 3, 2])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { #expect(t[k, j, i] == x[i, j, k]) } } }
        let m = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).transposed()
        #expect(m.shape == [3, 2] && m.scalars == [1, 4, 2, 5, 3, 6])
        #expect(x.permuted([0, 1, 2]) == x)
    }

    @Test func concatAndSplitRoundTrip() {
        let a = Tensor(shape: [2, 1, 4], generator: { Float(100 + $0) })
        let c = Tensor.concat([x, a], axis: 1)
        #expect(c.shape == [2, 4, 4])
        #expect(c[1, 3, 2] == a[1, 0, 2])
        #expect(c[1, 2, 3] == x[1, 2, 3])
        let parts = c.split(sizes: [3, 1], axis: 1)
        #expect(parts[0] == x && parts[1] == a)
        let last = Tensor.concat([x, x], axis: -1)
        #expect(last.shape == [2, 3, 8] && last[1, 2, 5] == x[1, 2, 1])
        let chunks = x.split(size: 3, axis: 2)
        #expect(chunks.map(\.shape) == [[2, 3, 3], [2, 3, 1]])
        #expect(Tensor.concat(chunks, axis: 2) == x)
    }

    @Test func sliceWithStep() {
        let s = x.slice(axis: 2, 1..<4, step: 2)
        #expect(s.shape == [2, 3, 2])
        #expect(s.scalars.prefix(4) == [1, 3, 5, 7])
        let r = x.slice(axis: 0, 1..<2)
        #expect(r.shape == [1, 3, 4] && r.scalars.first == 12)
    }

    @Test func padModesMatchFPad() {
        let v = Tensor(shape: [1, 1, 4], scalars: [1, 2, 3, 4])
        // F.pad(v, (2, 3)) / mode="reflect" / mode="replicate"
        #expect(v.padded([2, 3]).scalars == [0, 0, 1, 2, 3, 4, 0, 0, 0])
        #expect(v.padded([2, 3], mode: .constant(-1)).scalars == [-1, -1, 1, 2, 3, 4, -1, -1, -1])
        #expect(v.padded([2, 3], mode: .reflect).scalars == [3, 2, 1, 2, 3, 4, 3, 2, 1])
        #expect(v.padded([2, 3], mode: .replicate).scalars == [1, 1, 1, 2, 3, 4, 4, 4, 4])
        #expect(v.padded([-1, 1]).scalars == [2, 3, 4, 0])
        // Two trailing dims: F.pad(m, (1, 0, 0, 1)) pads last dim left by 1, second-last bottom by 1.
        let m = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let pm = m.padded([1, 0, 0, 1])
        #expect(pm.shape == [3, 3] && pm.scalars == [0, 1, 2, 0, 3, 4, 0, 0, 0])
        #expect(m.padded([1, 1, 1, 1], mode: .reflect).scalars == [4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1])
    }

    @Test func repeatInterleaveTileExpand() {
        let v = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(v.repeatInterleave(2, axis: 1).scalars == [1, 1, 2, 2, 3, 3, 4, 4])
        #expect(v.repeatInterleave([1, 2], axis: 0).scalars == [1, 2, 3, 4, 3, 4])
        #expect(v.repeatInterleave([0, 3], axis: 1).scalars == [2, 2, 2, 4, 4, 4])
        // torch: v.repeat(2, 1, 2)
        let t = v.tiled([2, 1, 2])
        #expect(t.shape == [2, 2, 4])
        #expect(t.scalars == [1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4])
        let e = Tensor(shape: [2, 1], scalars: [5, 6]).expanded(to: [3, 2, 2])
        #expect(e.scalars == [5, 5, 6, 6, 5, 5, 6, 6, 5, 5, 6, 6])
    }

    @Test func embeddingAndIndexSelect() {
        let table = Tensor(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
        let e = embedding(ids: [2, 0, 2], table: table)
        #expect(e.shape == [3, 2] && e.scalars == [20, 21, 0, 1, 20, 21])
        #expect(x.indexSelect([3, 0], axis: -1).scalars.prefix(4) == [3, 0, 7, 4])
        #expect(embedding(ids: [], table: table).shape == [0, 2])
    }
}

@Suite struct MoreShapingTests {
    @Test func flipCumsumSelect() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.flipped(axis: 1).scalars == [3, 2, 1, 6, 5, 4])
        #expect(x.flipped(axis: 0).scalars == [4, 5, 6, 1, 2, 3])
        #expect(x.cumsum(axis: 1).scalars == [1, 3, 6, 4, 9, 15])
        #expect(x.cumsum(axis: 0).scalars == [1, 2, 3, 5, 7, 9])
        let m = Mask(shape: [1, 3], values: [true, false, true])
        #expect(Tensor.select(m, x, Tensor([0])).scalars == [1, 0, 3, 4, 0, 6])
        let p = Mask.padding(lengths: [2, 0, 3], maxLength: 3)
        #expect(p.values == [false, false, true, true, true, true, false, false, false])
    }
}
