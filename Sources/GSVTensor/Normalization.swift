// Normalisation layers' arithmetic, as torch: `F.layer_norm` (over the last dimension, or across
// the channel rows of a channel-first tensor) and `F.group_norm`. Statistics use the biased
// variance; they accumulate in Double except across channel rows (see `layerNorm(_:…:axis:)`).

/// Layer normalisation over dimension `axis` of any tensor: with `axis = 0` on `[C, T]` (or 1 on
/// `[B, C, T]`) this is the channel-first `LayerNorm` of VITS/SoVITS (`modules.LayerNorm`:
/// transpose, `F.layer_norm` over channels, transpose back), computed without the transposes: the
/// statistics of every position accumulate across the channel rows in Float32, so each row is read
/// once per pass (the arithmetic the SoVITS parity figures were measured with).
/// - Precondition: `weight`/`bias`, when given, are `[shape[axis]]`.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, axis: Int) -> Tensor {
    let ax = x.axis(axis)
    if ax == x.rank - 1 { return layerNorm(x, weight: weight, bias: bias, eps: eps) }
    let (outer, n, inner) = x.split3(ax)
    if let w = weight { precondition(w.shape == [n], "layerNorm weight \(w.shape) != [\(n)]") }
    if let b = bias { precondition(b.shape == [n], "layerNorm bias \(b.shape) != [\(n)]") }
    var out = [Float](repeating: 0, count: x.count)
    let ones = [Float](repeating: 1, count: n), zeros = [Float](repeating: 0, count: n)
    x.scalars.withUnsafeBufferPointer { xp in
        (weight?.scalars ?? ones).withUnsafeBufferPointer { wp in
            (bias?.scalars ?? zeros).withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    Parallel.forRanges(outer, grain: max(1, 32768 / max(n * inner, 1))) { r in
                        var mean = [Float](repeating: 0, count: inner), rs = mean
                        for o in r {
                            let base = o * n * inner
                            for j in 0..<inner { mean[j] = 0; rs[j] = 0 }
                            for c in 0..<n { let row = base + c * inner; for j in 0..<inner { mean[j] += xp[row + j] } }
                            for j in 0..<inner { mean[j] /= Float(n) }
                            for c in 0..<n {
                                let row = base + c * inner
                                for j in 0..<inner { let d = xp[row + j] - mean[j]; rs[j] += d * d }
                            }
                            for j in 0..<inner { rs[j] = 1 / (rs[j] / Float(n) + eps).squareRoot() }
                            for c in 0..<n {
                                let row = base + c * inner
                                let (g, b) = (wp[c], bp[c])
                                for j in 0..<inner { op[row + j] = (xp[row + j] - mean[j]) * rs[j] * g + b }
                            }
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}

/// `F.layer_norm(x, (D,), weight, bias, eps)`: normalises each row over the last dimension `D`.
/// - Precondition: `weight`/`bias`, when given, are `[D]`.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 1, "layerNorm of a 0-d tensor")
    let d = x.shape[x.rank - 1]
    if let w = weight { precondition(w.shape == [d], "layerNorm weight \(w.shape) != [\(d)]") }
    if let b = bias { precondition(b.shape == [d], "layerNorm bias \(b.shape) != [\(d)]") }
    let rows = d == 0 ? 0 : x.count / d
    var out = [Float](repeating: 0, count: x.count)
    let ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
    x.scalars.withUnsafeBufferPointer { xp in
        (weight?.scalars ?? ones).withUnsafeBufferPointer { wp in
            (bias?.scalars ?? zeros).withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    Parallel.forRanges(rows, grain: max(1, 32768 / max(d, 1))) { r in
                        for row in r {
                            let base = row * d
                            var s = 0.0
                            for j in 0..<d { s += Double(xp[base + j]) }
                            let mean = s / Double(d)
                            var ss = 0.0
                            for j in 0..<d { let v = Double(xp[base + j]) - mean; ss += v * v }
                            let rstd = 1 / (ss / Double(d) + Double(eps)).squareRoot()
                            let m = Float(mean), rs = Float(rstd)
                            for j in 0..<d { op[base + j] = (xp[base + j] - m) * rs * wp[j] + bp[j] }
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}

/// `F.group_norm(x, groups, weight, bias, eps)` for `x = [B, C, *]`: each group of `C / groups`
/// channels is normalised over its channels and all trailing positions, then scaled per channel.
/// (`GroupNorm(C, C)`, as in HuBERT's feature extractor, normalises each channel over time.)
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 2, "groupNorm input must be [B, C, ...], got \(x.shape)")
    let b = x.shape[0], c = x.shape[1]
    precondition(groups >= 1 && c % groups == 0, "groupNorm: \(c) channels not divisible into \(groups) groups")
    if let w = weight { precondition(w.shape == [c], "groupNorm weight \(w.shape) != [\(c)]") }
    if let bb = bias { precondition(bb.shape == [c], "groupNorm bias \(bb.shape) != [\(c)]") }
    let spatial = x.shape[2...].reduce(1, *)
    let cg = c / groups
    let n = cg * spatial
    var out = [Float](repeating: 0, count: x.count)
    x.scalars.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            Parallel.forEach(b * groups, grain: max(1, 32768 / max(n, 1))) { bg in
                let base = bg * n
                var s = 0.0
                for j in 0..<n { s += Double(xp[base + j]) }
                let mean = s / Double(n)
                var ss = 0.0
                for j in 0..<n { let v = Double(xp[base + j]) - mean; ss += v * v }
                let rs = Float(1 / (ss / Double(n) + Double(eps)).squareRoot()), m = Float(mean)
                let g = bg % groups
                for ci in 0..<cg {
                    let ch = g * cg + ci
                    let w = weight?.scalars[ch] ?? 1, bv = bias?.scalars[ch] ?? 0
                    let off = base + ci * spatial
                    for j in 0..<spatial { op[off + j] = (xp[off + j] - m) * rs * w + bv }
                }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}
