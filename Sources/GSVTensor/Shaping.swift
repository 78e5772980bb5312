// Layout operations: permute/transpose, concat/split/slice, pad, repeat, expand, index select.
// All produce new contiguous tensors with PyTorch semantics.

/// Padding modes of `F.pad`.
public enum PadMode: Sendable, Equatable {
    /// Fill with a constant (`mode="constant"`, default value 0).
    case constant(Float)
    /// Mirror without repeating the edge (`mode="reflect"`): `[a b c]` padded by 2 → `c b [a b c] b a`.
    case reflect
    /// Repeat the edge element (`mode="replicate"`).
    case replicate
}

extension Tensor {
    /// Copies `source` (of `sourceShape`, read with `sourceStrides`) into a new contiguous tensor of
    /// `shape`. Used by permute and expand.
    static func gatherStrided(_ source: [Float], shape: [Int], strides: [Int]) -> Tensor {
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        source.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { o in
                Broadcast.forEachRun(target: shape, strides: [strides]) { oo, offs, inner, n in
                    let base = offs[0], d = inner[0]
                    if d == 1 {
                        for j in 0..<n { o[oo + j] = sp[base + j] }
                    } else if d == 0 {
                        let v = sp[base]
                        for j in 0..<n { o[oo + j] = v }
                    } else {
                        for j in 0..<n { o[oo + j] = sp[base + j * d] }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Reorders the dimensions, as `torch.permute`: output dim `i` is input dim `axes[i]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank, "permute: \(axes) for rank \(rank)")
        let ax = axes.map { axis($0) }
        precondition(Set(ax).count == rank, "permute: \(axes) is not a permutation")
        if ax == Array(0..<rank) { return self }
        let st = strides
        return Tensor.gatherStrided(scalars, shape: ax.map { shape[$0] }, strides: ax.map { st[$0] })
    }

    /// Swaps two dimensions, as `torch.transpose(a, b)`.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var ax = Array(0..<rank)
        ax.swapAt(axis(a), axis(b))
        return permuted(ax)
    }

    /// Swaps the last two dimensions (`x.transpose(-1, -2)`, or `.T` of a matrix).
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed() needs rank ≥ 2, got \(shape)")
        return transposed(-1, -2)
    }

    /// Broadcasts to `newShape` (NumPy rules), materialising the copies, as `expand(...).contiguous()`.
    public func expanded(to newShape: [Int]) -> Tensor {
        if newShape == shape { return self }
        return Tensor.gatherStrided(scalars, shape: newShape,
                                    strides: Broadcast.strides(of: shape, broadcastTo: newShape))
    }

    /// Repeats the whole tensor along each dimension, as `torch.Tensor.repeat(reps)`
    /// (`reps.count ≥ rank`; missing leading dims count as 1).
    public func tiled(_ reps: [Int]) -> Tensor {
        precondition(reps.count >= rank && reps.allSatisfy { $0 >= 0 }, "tile: reps \(reps) for shape \(shape)")
        let full = Array(repeating: 1, count: reps.count - rank) + shape
        var interleaved: [Int] = [], target: [Int] = []
        for (r, s) in zip(reps, full) {
            interleaved += [1, s]
            target += [r, s]
        }
        return reshaped(interleaved).expanded(to: target).reshaped(zip(reps, full).map { $0 * $1 })
    }

    /// (outer, size along axis, inner) decomposition for axis-wise kernels.
    @inline(__always)
    func split3(_ a: Int) -> (outer: Int, n: Int, inner: Int) {
        let ax = axis(a)
        return (shape[..<ax].reduce(1, *), shape[ax], shape[(ax + 1)...].reduce(1, *))
    }

    /// Joins tensors along `axis`, as `torch.cat`. All other dimensions must match.
    public static func concat(_ tensors: [Tensor], axis a: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let ax = first.axis(a)
        var outShape = first.shape
        outShape[ax] = 0
        for t in tensors {
            precondition(t.rank == first.rank, "concat: rank mismatch \(t.shape) vs \(first.shape)")
            for d in 0..<t.rank where d != ax {
                precondition(t.shape[d] == first.shape[d], "concat on axis \(ax): \(t.shape) vs \(first.shape)")
            }
            outShape[ax] += t.shape[ax]
        }
        let outer = first.shape[..<ax].reduce(1, *)
        let inner = first.shape[(ax + 1)...].reduce(1, *)
        let outRow = outShape[ax] * inner
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        out.withUnsafeMutableBufferPointer { o in
            var col = 0
            for t in tensors {
                let w = t.shape[ax] * inner
                t.scalars.withUnsafeBufferPointer { tp in
                    for r in 0..<outer {
                        for j in 0..<w { o[r * outRow + col + j] = tp[r * w + j] }
                    }
                }
                col += w
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// The elements at `range` (stepping by `step`) along `axis`, as `x[..., lo:hi:step, ...]`.
    public func slice(axis a: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let ax = axis(a)
        precondition(step > 0, "slice: step \(step) must be positive")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice \(range) out of bounds for axis \(ax) of size \(shape[ax]) in \(shape)")
        let (outer, n, inner) = split3(ax)
        let m = (range.count + step - 1) / step
        var outShape = shape
        outShape[ax] = m
        var out = [Float](repeating: 0, count: outer * m * inner)
        scalars.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<outer {
                    for i in 0..<m {
                        let src = (r * n + range.lowerBound + i * step) * inner
                        let dst = (r * m + i) * inner
                        for j in 0..<inner { o[dst + j] = sp[src + j] }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Splits along `axis` into pieces of the given sizes, as `torch.split(x, sizes, dim)`.
    public func split(sizes: [Int], axis a: Int) -> [Tensor] {
        let ax = axis(a)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[ax],
                     "split sizes \(sizes) do not sum to \(shape[ax]) (axis \(ax) of \(shape))")
        var lo = 0
        return sizes.map { s in
            defer { lo += s }
            return slice(axis: ax, lo..<(lo + s))
        }
    }

    /// Splits along `axis` into pieces of `size` (the last may be smaller), as `torch.split(x, size, dim)`.
    public func split(size: Int, axis a: Int) -> [Tensor] {
        precondition(size > 0, "split size \(size) must be positive")
        let n = shape[axis(a)]
        var sizes: [Int] = []
        var lo = 0
        while lo < n { sizes.append(Swift.min(size, n - lo)); lo += size }
        return split(sizes: sizes, axis: a)
    }

    /// Pads the trailing dimensions, as `F.pad(x, pads, mode)`: `pads` holds (before, after) pairs
    /// starting from the **last** dimension. Constant padding may be negative (crops); reflect
    /// padding must be smaller than the padded dimension, as torch requires.
    public func padded(_ pads: [Int], mode: PadMode = .constant(0)) -> Tensor {
        precondition(pads.count % 2 == 0 && pads.count / 2 <= rank, "pad: \(pads) for shape \(shape)")
        var before = [Int](repeating: 0, count: rank), after = before
        for i in 0..<(pads.count / 2) {
            before[rank - 1 - i] = pads[2 * i]
            after[rank - 1 - i] = pads[2 * i + 1]
        }
        if rank == 0 { return self }
        let outShape = (0..<rank).map { shape[$0] + before[$0] + after[$0] }
        precondition(outShape.allSatisfy { $0 >= 0 }, "pad \(pads) makes a negative size from \(shape)")
        // Per-dimension source index for each output index (-1 = constant fill).
        var maps: [[Int]] = []
        for d in 0..<rank {
            let n = shape[d]
            var m = [Int](repeating: -1, count: outShape[d])
            for o in 0..<outShape[d] {
                var i = o - before[d]
                switch mode {
                case .constant:
                    if i < 0 || i >= n { i = -1 }
                case .reflect:
                    precondition(before[d] < n && after[d] < n && before[d] >= 0 && after[d] >= 0,
                                 "reflect pad (\(before[d]), \(after[d])) must be < dimension size \(n)")
                    if i < 0 { i = -i }
                    if i >= n { i = 2 * (n - 1) - i }
                case .replicate:
                    precondition(n > 0 && before[d] >= 0 && after[d] >= 0, "replicate pad of an empty or cropped dimension")
                    i = Swift.min(Swift.max(i, 0), n - 1)
                }
                m[o] = i
            }
            maps.append(m)
        }
        let fill: Float
        if case .constant(let v) = mode { fill = v } else { fill = 0 }
        var out = [Float](repeating: fill, count: outShape.reduce(1, *))
        let inStrides = strides
        let last = rank - 1
        let rowLen = outShape[last]
        let rows = outShape.count == 0 ? 1 : outShape[..<last].reduce(1, *)
        scalars.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { o in
                var counter = [Int](repeating: 0, count: last)
                let lastMap = maps[last]
                for r in 0..<rows {
                    var base = 0, valid = true
                    for d in 0..<last {
                        let s = maps[d][counter[d]]
                        if s < 0 { valid = false; break }
                        base += s * inStrides[d]
                    }
                    if valid {
                        for j in 0..<rowLen where lastMap[j] >= 0 { o[r * rowLen + j] = sp[base + lastMap[j]] }
                    }
                    var d = last - 1
                    while d >= 0 {
                        counter[d] += 1
                        if counter[d] < outShape[d] { break }
                        counter[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Repeats each element `repeats[i]` times along `axis`, as `torch.repeat_interleave(x, repeats, dim)`.
    public func repeatInterleave(_ repeats: [Int], axis a: Int) -> Tensor {
        let ax = axis(a)
        precondition(repeats.count == shape[ax] && repeats.allSatisfy { $0 >= 0 },
                     "repeat_interleave: \(repeats.count) repeats for axis \(ax) of size \(shape[ax])")
        var index: [Int] = []
        index.reserveCapacity(repeats.reduce(0, +))
        for (i, r) in repeats.enumerated() { index += Array(repeating: i, count: r) }
        return indexSelect(index, axis: ax)
    }

    /// Repeats each element `repeats` times along `axis`.
    public func repeatInterleave(_ repeats: Int, axis a: Int) -> Tensor {
        repeatInterleave(Array(repeating: repeats, count: shape[axis(a)]), axis: a)
    }

    /// Picks entries along `axis` by index, as `torch.index_select`.
    /// - Precondition: every index is in `0..<shape[axis]`.
    public func indexSelect(_ indices: [Int], axis a: Int) -> Tensor {
        let ax = axis(a)
        let (outer, n, inner) = split3(ax)
        for i in indices {
            precondition(i >= 0 && i < n, "index \(i) out of range 0..<\(n) along axis \(ax) of \(shape)")
        }
        var outShape = shape
        outShape[ax] = indices.count
        let m = indices.count
        var out = [Float](repeating: 0, count: outer * m * inner)
        scalars.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<outer {
                    for (k, i) in indices.enumerated() {
                        let src = (r * n + i) * inner, dst = (r * m + k) * inner
                        for j in 0..<inner { o[dst + j] = sp[src + j] }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }
}

/// Looks up rows of an embedding table, as `F.embedding(ids, table)`: returns `[ids.count, D]`.
///
/// Ids come from models (tokenizers, samplers), so an out-of-range id is a programmer error:
/// it stops with a precondition failure naming the id and the table size.
public func embedding(ids: [Int], table: Tensor) -> Tensor {
    precondition(table.rank == 2, "embedding table must be [V, D], got \(table.shape)")
    let v = table.shape[0]
    for id in ids { precondition(id >= 0 && id < v, "embedding id \(id) out of range 0..<\(v)") }
    return table.indexSelect(ids, axis: 0)
}

extension Tensor {
    /// Reverses the order along `axis`, as `torch.flip(x, [axis])` (SoVITS flows' `Flip`).
    public func flipped(axis a: Int) -> Tensor {
        let n = shape[axis(a)]
        return indexSelect(Array((0..<n).reversed()), axis: a)
    }

    /// Running sum along `axis`, as `torch.cumsum` (accumulated in Double).
    public func cumsum(axis a: Int) -> Tensor {
        let (outer, n, inner) = split3(a)
        var out = scalars
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<outer { for j in 0..<inner {
                var acc = 0.0
                for i in 0..<n {
                    let idx = (r * n + i) * inner + j
                    acc += Double(o[idx])
                    o[idx] = Float(acc)
                }
            } }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// `torch.where(condition, a, b)` with broadcasting of all three: `a` where the mask is true.
    public static func select(_ condition: Mask, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let ab = Broadcast.shape(a.shape, b.shape), let outShape = Broadcast.shape(ab, condition.shape) else {
            preconditionFailure("where: shapes \(condition.shape), \(a.shape), \(b.shape) do not broadcast")
        }
        let sc = Broadcast.strides(of: condition.shape, broadcastTo: outShape)
        let sa = Broadcast.strides(of: a.shape, broadcastTo: outShape)
        let sb = Broadcast.strides(of: b.shape, broadcastTo: outShape)
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        condition.values.withUnsafeBufferPointer { cp in
            a.scalars.withUnsafeBufferPointer { ap in
                b.scalars.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { o in
                        Broadcast.forEachRun(target: outShape, strides: [sc, sa, sb]) { oo, offs, inner, n in
                            for j in 0..<n {
                                o[oo + j] = cp[offs[0] + j * inner[0]] ? ap[offs[1] + j * inner[1]] : bp[offs[2] + j * inner[2]]
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }
}

extension Mask {
    /// `commons.sequence_mask`-style padding mask `[lengths.count, maxLength]`: `true` marks
    /// positions at or beyond each sequence's length (i.e. padding to exclude).
    public static func padding(lengths: [Int], maxLength: Int) -> Mask {
        var v = [Bool](repeating: false, count: lengths.count * maxLength)
        for (b, len) in lengths.enumerated() {
            for t in 0..<maxLength where t >= len { v[b * maxLength + t] = true }
        }
        return Mask(shape: [lengths.count, maxLength], values: v)
    }
}
