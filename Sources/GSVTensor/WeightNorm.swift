// Weight-norm folding, done once at load time (DESIGN habit 3).
// Follows torch/nn/utils/weight_norm.py (legacy `weight_norm`): w = g · v / ‖v‖, the L2 norm taken
// over every dimension except `dim` (`norm_except_dim`).

/// Folds `weight_g` / `weight_v` into a plain weight: `g · v / ‖v‖`, computed in Double.
///
/// - Parameters:
///   - g: the magnitude, shaped like `v` with every dimension except `dim` of size 1
///     (e.g. `[Cout, 1, 1]` for `dim = 0`, `[1, 1, K]` for HuBERT's `pos_conv` with `dim = 2`);
///     any shape with `v.shape[dim]` elements is accepted.
///   - v: the direction tensor.
///   - dim: the kept dimension (torch's default 0; negative counts from the end).
/// - Returns: a tensor shaped like `v`.
public func foldWeightNorm(g: Tensor, v: Tensor, dim: Int = 0) -> Tensor {
    let d = v.axis(dim)
    let (outer, n, inner) = v.split3(d)
    precondition(g.count == n, "weight norm: g \(g.shape) must hold \(n) values for dim \(d) of v \(v.shape)")
    var norms = [Double](repeating: 0, count: n)
    v.scalars.withUnsafeBufferPointer { vp in
        for o in 0..<outer { for i in 0..<n {
            let base = (o * n + i) * inner
            var s = 0.0
            for j in 0..<inner { let x = Double(vp[base + j]); s += x * x }
            norms[i] += s
        } }
    }
    let scale = (0..<n).map { Double(g.scalars[$0]) / norms[$0].squareRoot() }
    var out = [Float](repeating: 0, count: v.count)
    v.scalars.withUnsafeBufferPointer { vp in
        for o in 0..<outer { for i in 0..<n {
            let base = (o * n + i) * inner
            for j in 0..<inner { out[base + j] = Float(Double(vp[base + j]) * scale[i]) }
        } }
    }
    return Tensor(shape: v.shape, scalars: out)
}
