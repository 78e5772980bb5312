// 1-D resampling along the last axis of `[B, C, T]` (or any `[..., T]`), as
// `F.interpolate(mode="nearest")` and `F.interpolate(mode="linear", align_corners=False)`.
//
// Index rules follow ATen's upsample kernels (UpSample.h): with an explicit `scale_factor` (and
// `recompute_scale_factor` unset) the source step is `Float(1 / scale)`; with `size` it is
// `Float(in) / Float(out)`. The output length for a scale factor is `floor(in · scale)`.

/// How the output length of an interpolation is chosen.
public enum InterpolationTarget: Sendable, Equatable {
    /// `F.interpolate(size=n)`.
    case size(Int)
    /// `F.interpolate(scale_factor=s)` (torch default `recompute_scale_factor=None`).
    case scaleFactor(Double)

    fileprivate func resolve(_ input: Int) -> (out: Int, step: Float) {
        switch self {
        case .size(let n):
            precondition(n > 0, "interpolate: output size \(n) must be positive")
            return (n, Float(input) / Float(n))
        case .scaleFactor(let s):
            precondition(s > 0 && s.isFinite, "interpolate: scale factor \(s) must be positive")
            let n = Int((Double(input) * s).rounded(.down))
            precondition(n > 0, "interpolate: input length \(input) × \(s) gives an empty output")
            return (n, Float(1.0 / s))
        }
    }
}

/// Resamples along the last axis with `body(rowIn, rowOut)`.
private func resampleRows(_ x: Tensor, outLength: Int,
                          _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
    precondition(x.rank >= 1, "interpolate of a 0-d tensor")
    let t = x.shape[x.rank - 1]
    precondition(t > 0, "interpolate: empty input \(x.shape)")
    let rows = x.count / t
    var shape = x.shape
    shape[shape.count - 1] = outLength
    var out = [Float](repeating: 0, count: rows * outLength)
    x.scalars.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            guard let x0 = xp.baseAddress, let o0 = op.baseAddress else { return }
            Parallel.forEach(rows, grain: max(1, 65536 / max(outLength, 1))) { r in
                body(x0 + r * t, o0 + r * outLength)
            }
        }
    }
    return Tensor(shape: shape, scalars: out)
}

/// Source index of output `i` for nearest interpolation (ATen `nearest_idx`).
@inline(__always)
func nearestSourceIndex(_ i: Int, input: Int, output: Int, step: Float) -> Int {
    if output == input { return i }
    if output == 2 * input { return i >> 1 }
    return min(Int((Float(i) * step).rounded(.down)), input - 1)
}

/// `F.interpolate(x, size=/scale_factor=, mode="nearest")` along the last axis.
public func interpolateNearest(_ x: Tensor, _ target: InterpolationTarget) -> Tensor {
    let t = x.shape.last ?? 0
    precondition(t > 0, "interpolateNearest: empty input \(x.shape)")
    let (n, step) = target.resolve(t)
    let index = (0..<n).map { nearestSourceIndex($0, input: t, output: n, step: step) }
    return index.withUnsafeBufferPointer { ip in
        resampleRows(x, outLength: n) { src, dst in
            for i in 0..<n { dst[i] = src[ip[i]] }
        }
    }
}

/// `F.interpolate(x, size=/scale_factor=, mode="linear", align_corners=False)` along the last axis.
public func interpolateLinear(_ x: Tensor, _ target: InterpolationTarget) -> Tensor {
    let t = x.shape.last ?? 0
    precondition(t > 0, "interpolateLinear: empty input \(x.shape)")
    let (n, step) = target.resolve(t)
    // ATen compute_indices_weights_linear / area_pixel_compute_source_index (align_corners=false).
    var i0 = [Int](repeating: 0, count: n), i1 = i0
    var l0 = [Float](repeating: 0, count: n), l1 = l0
    for i in 0..<n {
        let real = max(step * (Float(i) + 0.5) - 0.5, 0)
        var lo = Int(real.rounded(.down))
        let lambda = min(max(real - Float(lo), 0), 1)
        lo = min(lo, t - 1)
        i0[i] = lo
        i1[i] = lo + (lo < t - 1 ? 1 : 0)
        l1[i] = lambda
        l0[i] = 1 - lambda
    }
    return resampleRows(x, outLength: n) { src, dst in
        for i in 0..<n { dst[i] = l0[i] * src[i0[i]] + l1[i] * src[i1[i]] }
    }
}
