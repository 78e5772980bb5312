import GSVKernels

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

/// In place, rows `0..<rows` of width `d`: `x = LayerNorm(x + delta)` — the residual and
/// post-norm of a transformer layer fused into one pass per row (`gsv_add_layer_norm`), with the
/// arithmetic of ``layerNorm(_:weight:bias:eps:)`` (statistics in Double). Rows run in parallel.
public func addLayerNorm(_ x: UnsafeMutablePointer<Float>, adding delta: UnsafePointer<Float>, rows: Int, width d: Int,
                         weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float) {
    nonisolated(unsafe) let (xs, ds, w, b) = (x, delta, weight, bias)
    Parallel.forRanges(rows, grain: max(1, 16_384 / max(d, 1))) { r in
        for row in r { gsv_add_layer_norm(xs + row * d, ds + row * d, w, b, d, eps) }
    }
}

/// `F.group_norm(x, groups, weight, bias, eps)` for `x = [B, C, *]`: each group of `C / groups`
/// channels is normalised over its channels and all trailing positions, then scaled per channel;
/// with `gelu`, GELU is applied to the result (fused into the same pass when `groups == C`).
///
/// `GroupNorm(C, C)`, as in HuBERT's feature extractor, normalises each channel over time: its
/// statistics accumulate eight lanes in Float32 over blocks of 512 positions and across blocks in
/// Double, so long signals keep torch-level accuracy while the pass stays vectorised.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5,
                      gelu: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "groupNorm input must be [B, C, ...], got \(x.shape)")
    let b = x.shape[0], c = x.shape[1]
    precondition(groups >= 1 && c % groups == 0, "groupNorm: \(c) channels not divisible into \(groups) groups")
    if let w = weight { precondition(w.shape == [c], "groupNorm weight \(w.shape) != [\(c)]") }
    if let bb = bias { precondition(bb.shape == [c], "groupNorm bias \(bb.shape) != [\(c)]") }
    if groups == c { return channelNorm(x, weight: weight, bias: bias, eps: eps, gelu: gelu) }
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
    let y = Tensor(shape: x.shape, scalars: out)
    return gelu ? y.gelu() : y
}

/// `GroupNorm(C, C)`: each `[B, C, *]` channel normalised over its positions (see ``groupNorm(_:groups:weight:bias:eps:gelu:)``).
private func channelNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, gelu: Bool) -> Tensor {
    let (b, c) = (x.shape[0], x.shape[1])
    let t = x.shape[2...].reduce(1, *)
    var out = [Float](repeating: 0, count: x.count)
    let w = weight?.scalars ?? [Float](repeating: 1, count: c)
    let bb = bias?.scalars ?? [Float](repeating: 0, count: c)
    x.scalars.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            guard let x0 = xp.baseAddress, let o0 = op.baseAddress else { return }
            Parallel.forEach(b * c, grain: max(1, 32768 / max(t, 1))) { row in
                let src = x0 + row * t, dst = o0 + row * t
                func blockSum(_ f: (SIMD8<Float>) -> SIMD8<Float>) -> Double {
                    var total = 0.0
                    var start = 0
                    while start < t {
                        let end = min(t, start + 512)
                        var acc = SIMD8<Float>(repeating: 0)
                        var i = start
                        while i + 8 <= end {
                            acc += f(UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self))
                            i += 8
                        }
                        var tail = SIMD8<Float>(repeating: 0)
                        var lane = 0
                        while i < end { tail[lane] = src[i]; lane += 1; i += 1 }
                        var s = Double(acc.sum())
                        let ft = f(tail)       // only the `lane` filled lanes are added
                        for l in 0..<lane { s += Double(ft[l]) }
                        total += s
                        start = end
                    }
                    return total
                }
                let mean = blockSum { $0 } / Double(t)
                let m = Float(mean)
                let variance = blockSum { let d = $0 - m; return d * d } / Double(t)
                let rs = Float(1 / (variance + Double(eps)).squareRoot())
                let ch = row % c
                let scale = rs * w[ch], shift = bb[ch]
                for i in 0..<t { dst[i] = (src[i] - m) * scale + shift }
                if gelu { geluSpan(dst, dst, count: t) }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}
