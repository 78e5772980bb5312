// Reductions along one axis (with keepdim) and over the whole tensor, as torch's
// sum/mean/amax/amin/argmax/var. Sums accumulate in Double so long reductions stay accurate.

extension Tensor {
    /// Reduces along `axis` with `body(start, stride, count) -> value`, reading `scalars`.
    private func reduce(axis a: Int, keepDim: Bool,
                        _ body: (UnsafeBufferPointer<Float>, Int, Int, Int) -> Float) -> Tensor {
        let ax = axis(a)
        let (outer, n, inner) = split3(ax)
        var outShape = shape
        if keepDim { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        var out = [Float](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<outer {
                    for j in 0..<inner { o[r * inner + j] = body(sp, r * n * inner + j, inner, n) }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Sum along `axis` (`torch.sum(x, dim, keepdim)`).
    public func sum(axis: Int, keepDim: Bool = false) -> Tensor {
        reduce(axis: axis, keepDim: keepDim) { p, s, st, n in
            var acc = 0.0
            for i in 0..<n { acc += Double(p[s + i * st]) }
            return Float(acc)
        }
    }

    /// Mean along `axis` (`torch.mean(x, dim, keepdim)`); NaN for an empty axis.
    public func mean(axis: Int, keepDim: Bool = false) -> Tensor {
        reduce(axis: axis, keepDim: keepDim) { p, s, st, n in
            var acc = 0.0
            for i in 0..<n { acc += Double(p[s + i * st]) }
            return Float(acc / Double(n))
        }
    }

    /// Variance along `axis` with Bessel-style `correction` (torch's `var(dim, correction=1)`
    /// default is the unbiased estimate; pass 0 for the population variance LayerNorm uses).
    public func variance(axis: Int, correction: Int = 1, keepDim: Bool = false) -> Tensor {
        reduce(axis: axis, keepDim: keepDim) { p, s, st, n in
            var mean = 0.0
            for i in 0..<n { mean += Double(p[s + i * st]) }
            mean /= Double(n)
            var ss = 0.0
            for i in 0..<n { let d = Double(p[s + i * st]) - mean; ss += d * d }
            let denom = n - correction
            return denom > 0 ? Float(ss / Double(denom)) : .nan  // torch: NaN when n ≤ correction
        }
    }

    /// Largest element along `axis` (`torch.amax`; NaN propagates).
    /// - Precondition: the axis is not empty.
    public func max(axis: Int, keepDim: Bool = false) -> Tensor {
        precondition(dim(axis) > 0, "max over an empty axis of \(shape)")
        return reduce(axis: axis, keepDim: keepDim) { p, s, st, n in
            var m = p[s]
            for i in 1..<Swift.max(n, 1) { let v = p[s + i * st]; if v > m || v.isNaN { m = v; if v.isNaN { break } } }
            return m
        }
    }

    /// Smallest element along `axis` (`torch.amin`; NaN propagates).
    /// - Precondition: the axis is not empty.
    public func min(axis: Int, keepDim: Bool = false) -> Tensor {
        precondition(dim(axis) > 0, "min over an empty axis of \(shape)")
        return reduce(axis: axis, keepDim: keepDim) { p, s, st, n in
            var m = p[s]
            for i in 1..<Swift.max(n, 1) { let v = p[s + i * st]; if v < m || v.isNaN { m = v; if v.isNaN { break } } }
            return m
        }
    }

    /// Index of the largest element along `axis`, first one on ties (as `torch.argmax`; a NaN counts
    /// as the largest). Returned flat, in row-major order of the reduced shape.
    public func argmax(axis a: Int) -> [Int] {
        precondition(dim(a) > 0, "argmax over an empty axis of \(shape)")
        let (outer, n, inner) = split3(a)
        var out = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { p in
            for r in 0..<outer {
                for j in 0..<inner {
                    let s = r * n * inner + j
                    var best = 0, m = p[s]
                    if !m.isNaN {
                        for i in 1..<n {
                            let v = p[s + i * inner]
                            if v.isNaN { best = i; break }
                            if v > m { m = v; best = i }
                        }
                    }
                    out[r * inner + j] = best
                }
            }
        }
        return out
    }

    /// Flat index of the largest element (first on ties; NaN counts as largest).
    public func argmax() -> Int { reshaped([count]).argmax(axis: 0)[0] }

    /// Sum of all elements (Double accumulation).
    public func sum() -> Float {
        var acc = 0.0
        for v in scalars { acc += Double(v) }
        return Float(acc)
    }

    /// Mean of all elements.
    public func mean() -> Float {
        var acc = 0.0
        for v in scalars { acc += Double(v) }
        return Float(acc / Double(count))
    }

    /// Largest element (NaN propagates). - Precondition: not empty.
    public func max() -> Float { reshaped([count]).max(axis: 0).scalars[0] }

    /// Smallest element (NaN propagates). - Precondition: not empty.
    public func min() -> Float { reshaped([count]).min(axis: 0).scalars[0] }
}
