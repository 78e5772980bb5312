// Shape operations on the tape — reshape, permute, slice, concatenate, flip, reflect padding,
// embedding lookup — and their gradients (the adjoint copy of each).

import GSVTensor

extension Tape {
    /// The same elements under a new shape (`view`).
    public func reshape(_ x: Var, _ shape: [Int]) -> Var {
        let old = x.shape
        return record(x.value.reshaped(shape), differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, g.reshaped(old))
        }
    }

    /// `x.permute(axes)` (materialised).
    public func permute(_ x: Var, _ axes: [Int]) -> Var {
        var inverse = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return record(x.value.permuted(axes), differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, g.permuted(inverse))
        }
    }

    /// `x.transpose(a, b)` (materialised).
    public func transpose(_ x: Var, _ a: Int, _ b: Int) -> Var {
        var axes = Array(0..<x.value.rank)
        let (ra, rb) = (x.value.axis(a), x.value.axis(b))
        axes.swapAt(ra, rb)
        return permute(x, axes)
    }

    /// `x` restricted to `range` along `axis`.
    public func slice(_ x: Var, axis: Int, _ range: Range<Int>) -> Var {
        let a = x.value.axis(axis)
        let shape = x.shape
        return record(x.value.slice(axis: a, range), differentiable: x.requiresGrad) { g, t in
            let before = range.lowerBound, after = shape[a] - range.upperBound
            var pads = [Int](repeating: 0, count: 2 * shape.count)
            // `padded` takes (left, right) pairs from the last dimension backwards, as F.pad.
            let fromLast = shape.count - 1 - a
            pads[2 * fromLast] = before
            pads[2 * fromLast + 1] = after
            t.accumulate(x, g.padded(pads))
        }
    }

    /// Concatenation along `axis`.
    public func concat(_ xs: [Var], axis: Int) -> Var {
        precondition(!xs.isEmpty, "concat of nothing")
        let a = xs[0].value.axis(axis)
        let y = Tensor.concat(xs.map(\.value), axis: a)
        let sizes = xs.map { $0.shape[a] }
        return record(y, differentiable: xs.contains { $0.requiresGrad }) { g, t in
            let parts = g.split(sizes: sizes, axis: a)
            for (x, p) in zip(xs, parts) where x.requiresGrad { t.accumulate(x, p) }
        }
    }

    /// `torch.flip(x, [axis])`.
    public func flip(_ x: Var, axis: Int) -> Var {
        let a = x.value.axis(axis)
        return record(x.value.flipped(axis: a), differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, g.flipped(axis: a))
        }
    }

    /// `F.pad(x, (left, right), "reflect")` on the last dimension.
    public func reflectPad(_ x: Var, left: Int, right: Int) -> Var {
        let n = x.shape[x.value.rank - 1]
        precondition(left < n && right < n, "reflect padding (\(left), \(right)) needs more than \(n) samples")
        let rows = x.value.count / max(1, n)
        let m = n + left + right
        var out = [Float](repeating: 0, count: rows * m)
        @inline(__always) func source(_ j: Int) -> Int {
            let i = j - left
            if i < 0 { return -i }
            if i >= n { return 2 * (n - 1) - i }
            return i
        }
        x.value.scalars.withUnsafeBufferPointer { xp in
            for r in 0..<rows { for j in 0..<m { out[r * m + j] = xp[r * n + source(j)] } }
        }
        var shape = x.shape
        shape[shape.count - 1] = m
        return record(Tensor(shape: shape, scalars: out), differentiable: x.requiresGrad) { g, t in
            var dx = [Float](repeating: 0, count: rows * n)
            g.scalars.withUnsafeBufferPointer { gp in
                for r in 0..<rows { for j in 0..<m { dx[r * n + source(j)] += gp[r * m + j] } }
            }
            t.accumulate(x, Tensor(shape: x.shape, scalars: dx))
        }
    }

    /// Rows `table[ids]`: `[ids.count, D]` (`nn.Embedding`); the gradient scatters back into the table.
    public func embedding(_ table: Var, ids: [Int]) -> Var {
        let d = table.shape[1]
        let y = GSVTensor.embedding(ids: ids, table: table.value)
        return record(y, differentiable: table.requiresGrad) { g, t in
            var dt = [Float](repeating: 0, count: table.value.count)
            g.scalars.withUnsafeBufferPointer { gp in
                for (i, id) in ids.enumerated() { for j in 0..<d { dt[id * d + j] += gp[i * d + j] } }
            }
            t.accumulate(table, Tensor(shape: table.shape, scalars: dt))
        }
    }

    /// Rows `indices` of a `[N, D]` tensor: `[indices.count, D]`.
    public func gatherRows(_ x: Var, _ indices: [Int]) -> Var {
        precondition(x.value.rank == 2, "gatherRows: \(x.shape)")
        let (n, d) = (x.shape[0], x.shape[1])
        var out = [Float](repeating: 0, count: indices.count * d)
        x.value.scalars.withUnsafeBufferPointer { xp in
            for (i, r) in indices.enumerated() {
                precondition(r >= 0 && r < n, "gatherRows: row \(r) of \(n)")
                for j in 0..<d { out[i * d + j] = xp[r * d + j] }
            }
        }
        return record(Tensor(shape: [indices.count, d], scalars: out), differentiable: x.requiresGrad) { g, t in
            var dx = [Float](repeating: 0, count: n * d)
            g.scalars.withUnsafeBufferPointer { gp in
                for (i, r) in indices.enumerated() { for j in 0..<d { dx[r * d + j] += gp[i * d + j] } }
            }
            t.accumulate(x, Tensor(shape: x.shape, scalars: dx))
        }
    }

    /// `x[b, :, start_b ..< start_b + length]` for each item `b` of `[B, C, T]` (`commons.slice_segments`).
    public func sliceSegments(_ x: Var, starts: [Int], length: Int) -> Var {
        precondition(x.value.rank == 3 && starts.count == x.shape[0], "sliceSegments: \(x.shape), \(starts.count) starts")
        let (b, c, tt) = (x.shape[0], x.shape[1], x.shape[2])
        var out = [Float](repeating: 0, count: b * c * length)
        x.value.scalars.withUnsafeBufferPointer { xp in
            for n in 0..<b {
                let s = starts[n]
                precondition(s >= 0 && s + length <= tt, "sliceSegments: segment \(s)..<\(s + length) of \(tt)")
                for ch in 0..<c { for j in 0..<length { out[(n * c + ch) * length + j] = xp[(n * c + ch) * tt + s + j] } }
            }
        }
        return record(Tensor(shape: [b, c, length], scalars: out), differentiable: x.requiresGrad) { g, t in
            var dx = [Float](repeating: 0, count: x.value.count)
            g.scalars.withUnsafeBufferPointer { gp in
                for n in 0..<b {
                    let s = starts[n]
                    for ch in 0..<c { for j in 0..<length { dx[(n * c + ch) * tt + s + j] += gp[(n * c + ch) * length + j] } }
                }
            }
            t.accumulate(x, Tensor(shape: x.shape, scalars: dx))
        }
    }
}
