import Foundation

// Softmax and log-softmax along an axis, with optional masks, as `torch.softmax` /
// `torch.log_softmax` after `masked_fill(mask, -inf)` or an additive float mask.
//
// Fully masked rows: every logit is -inf, so — exactly like torch — the result is NaN for that row.
// Callers that can produce such rows (e.g. attention over padding-only keys) must avoid them or
// clean the output; we keep torch's behaviour so that ported models match number for number.

extension Tensor {
    /// Applies `body(base, stride, n)` to every 1-D fibre along `axis` of a copy of `self`.
    fileprivate func fibres(axis a: Int, _ body: (UnsafeMutablePointer<Float>, Int, Int) -> Void) -> Tensor {
        let (outer, n, inner) = split3(a)
        var out = scalars
        out.withUnsafeMutableBufferPointer { op in
            guard let o0 = op.baseAddress, n > 0 else { return }
            Parallel.forRanges(outer * inner, grain: Swift.max(1, 16384 / Swift.max(n, 1))) { r in
                for f in r {
                    let o = f / inner, i = f % inner
                    body(o0 + o * n * inner + i, inner, n)
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

/// Applies the optional masks: `additiveMask` is added (broadcasting), then elements where `mask`
/// is true (broadcasting) become `-inf`.
private func masked(_ x: Tensor, mask: Mask?, additiveMask: Tensor?) -> Tensor {
    var y = x
    if let add = additiveMask {
        y = y + add
        precondition(y.shape == x.shape, "additive mask \(add.shape) must broadcast to \(x.shape)")
    }
    if let m = mask { y = y.maskedFill(m, -.infinity) }
    return y
}

/// `torch.softmax(x, axis)`, optionally after masking (`mask` true = excluded; `additiveMask`
/// added, e.g. 0 / -inf). A fully masked fibre yields NaN, as in torch.
public func softmax(_ x: Tensor, axis: Int = -1, mask: Mask? = nil, additiveMask: Tensor? = nil) -> Tensor {
    masked(x, mask: mask, additiveMask: additiveMask).fibres(axis: axis) { p, st, n in
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, p[i * st]) }
        var s: Float = 0
        for i in 0..<n { let e = Foundation.exp(p[i * st] - m); p[i * st] = e; s += e }
        let inv = 1 / s
        for i in 0..<n { p[i * st] *= inv }
    }
}

/// `torch.log_softmax(x, axis)`, with the same optional masks as ``softmax(_:axis:mask:additiveMask:)``.
public func logSoftmax(_ x: Tensor, axis: Int = -1, mask: Mask? = nil, additiveMask: Tensor? = nil) -> Tensor {
    masked(x, mask: mask, additiveMask: additiveMask).fibres(axis: axis) { p, st, n in
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, p[i * st]) }
        var s = 0.0
        for i in 0..<n { s += Double(Foundation.exp(p[i * st] - m)) }
        let lse = m + Float(Foundation.log(s))
        for i in 0..<n { p[i * st] -= lse }
    }
}

/// In-place softmax over each row of a row-major `rows × cols` buffer (`torch.softmax(dim=-1)`);
/// rows may hold −∞ (a fully −∞ row gives NaN, as in torch).
public func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for i in 0..<rows {
        let row = p + i * cols
        var m = -Float.infinity
        for j in 0..<cols where row[j] > m { m = row[j] }
        var s: Float = 0
        for j in 0..<cols { let e = Foundation.exp(row[j] - m); row[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<cols { row[j] *= inv }
    }
}
