// Element-wise operations on the tape (broadcasting as PyTorch), with their derivatives.
// No official counterpart: these are the autograd rules of torch's element-wise functions.

import Foundation
import GSVTensor

/// Applies `f` to every element (in parallel for large tensors).
@inline(__always)
func mapElements(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    var out = [Float](repeating: 0, count: x.count)
    x.scalars.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            guard let xs = xp.baseAddress, let os = op.baseAddress else { return }
            nonisolated(unsafe) let (src, dst) = (xs, os)
            withoutActuallyEscaping(f) { fe in
                nonisolated(unsafe) let g = fe
                Parallel.forRanges(x.count, grain: 32_768) { r in
                    for i in r { dst[i] = g(src[i]) }
                }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}

/// `f(a[i], b[i])` for two tensors of the same shape.
@inline(__always)
func zipElements(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "element-wise: \(a.shape) vs \(b.shape)")
    var out = [Float](repeating: 0, count: a.count)
    a.scalars.withUnsafeBufferPointer { ap in
        b.scalars.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                guard let a0 = ap.baseAddress, let b0 = bp.baseAddress, let o0 = op.baseAddress else { return }
                nonisolated(unsafe) let (x, y, z) = (a0, b0, o0)
                withoutActuallyEscaping(f) { fe in
                    nonisolated(unsafe) let g = fe
                    Parallel.forRanges(a.count, grain: 32_768) { r in
                        for i in r { z[i] = g(x[i], y[i]) }
                    }
                }
            }
        }
    }
    return Tensor(shape: a.shape, scalars: out)
}

/// `f(a[i], b[i], c[i])` for three tensors of the same shape.
@inline(__always)
func zip3Elements(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape && b.shape == c.shape, "element-wise: \(a.shape) vs \(b.shape) vs \(c.shape)")
    var out = [Float](repeating: 0, count: a.count)
    a.scalars.withUnsafeBufferPointer { ap in
        b.scalars.withUnsafeBufferPointer { bp in
            c.scalars.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { op in
                    guard let a0 = ap.baseAddress, let b0 = bp.baseAddress, let c0 = cp.baseAddress,
                          let o0 = op.baseAddress else { return }
                    nonisolated(unsafe) let (x, y, w, z) = (a0, b0, c0, o0)
                    withoutActuallyEscaping(f) { fe in
                        nonisolated(unsafe) let g = fe
                        Parallel.forRanges(a.count, grain: 32_768) { r in
                            for i in r { z[i] = g(x[i], y[i], w[i]) }
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: a.shape, scalars: out)
}

/// Sums `g` down to `shape` over the dimensions that were broadcast (right-aligned, as NumPy).
func sumToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let target = g.shape
    let strides = Broadcast.strides(of: shape, broadcastTo: target)
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    let rank = target.count
    guard rank > 0, g.count > 0 else { return Tensor(shape: shape, scalars: out) }
    let inner = target[rank - 1], innerStride = strides[rank - 1]
    var counter = [Int](repeating: 0, count: rank)
    g.scalars.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { op in
            var src = 0
            while src < g.count {
                var off = 0
                for d in 0..<(rank - 1) { off += counter[d] * strides[d] }
                if innerStride == 0 {
                    var s: Float = 0
                    for j in 0..<inner { s += gp[src + j] }
                    op[off] += s
                } else {
                    for j in 0..<inner { op[off + j * innerStride] += gp[src + j] }
                }
                src += inner
                var d = rank - 2
                while d >= 0 {
                    counter[d] += 1
                    if counter[d] < target[d] { break }
                    counter[d] = 0
                    d -= 1
                }
            }
        }
    }
    return Tensor(shape: shape, scalars: out)
}

extension Tape {
    // MARK: Binary

    /// `a + b` with broadcasting.
    public func add(_ a: Var, _ b: Var) -> Var {
        let y = a.value.shape == b.value.shape ? zipElements(a.value, b.value, +) : a.value + b.value
        let (sa, sb) = (a.shape, b.shape)
        return record(y, differentiable: a.requiresGrad || b.requiresGrad) { g, t in
            t.accumulate(a, sumToShape(g, sa))
            t.accumulate(b, sumToShape(g, sb))
        }
    }

    /// `a − b` with broadcasting.
    public func sub(_ a: Var, _ b: Var) -> Var {
        let y = a.value.shape == b.value.shape ? zipElements(a.value, b.value, -) : a.value - b.value
        let (sa, sb) = (a.shape, b.shape)
        return record(y, differentiable: a.requiresGrad || b.requiresGrad) { g, t in
            t.accumulate(a, sumToShape(g, sa))
            if b.requiresGrad { t.accumulate(b, sumToShape(mapElements(g) { -$0 }, sb)) }
        }
    }

    /// `a · b` element-wise with broadcasting.
    public func mul(_ a: Var, _ b: Var) -> Var {
        let same = a.value.shape == b.value.shape
        let y = same ? zipElements(a.value, b.value, *) : a.value * b.value
        return record(y, differentiable: a.requiresGrad || b.requiresGrad) { g, t in
            if a.requiresGrad {
                let ga = same ? zipElements(g, b.value, *) : g * b.value
                t.accumulate(a, sumToShape(ga, a.shape))
            }
            if b.requiresGrad {
                let gb = same ? zipElements(g, a.value, *) : g * a.value
                t.accumulate(b, sumToShape(gb, b.shape))
            }
        }
    }

    /// `x · c` for a constant tensor `c` that broadcasts to `x` (masks).
    public func mul(_ x: Var, constant c: Tensor) -> Var {
        let same = x.value.shape == c.shape
        let y = same ? zipElements(x.value, c, *) : x.value * c
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, same ? zipElements(g, c, *) : sumToShape(g * c, x.shape))
        }
    }

    /// `x · s`.
    public func scale(_ x: Var, _ s: Float) -> Var {
        record(mapElements(x.value) { $0 * s }, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, mapElements(g) { $0 * s })
        }
    }

    /// `x + s`.
    public func addScalar(_ x: Var, _ s: Float) -> Var {
        record(mapElements(x.value) { $0 + s }, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, g)
        }
    }

    // MARK: Unary

    /// `exp(x)`.
    public func exp(_ x: Var) -> Var {
        let y = mapElements(x.value) { Foundation.exp($0) }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, y, *))
        }
    }

    /// `tanh(x)`.
    public func tanh(_ x: Var) -> Var {
        let y = mapElements(x.value) { Foundation.tanh($0) }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, y) { $0 * (1 - $1 * $1) })
        }
    }

    /// `sigmoid(x)`.
    public func sigmoid(_ x: Var) -> Var {
        let y = mapElements(x.value) { 1 / (1 + Foundation.exp(-$0)) }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, y) { $0 * $1 * (1 - $1) })
        }
    }

    /// `relu(x)` (gradient 0 at 0, as torch).
    public func relu(_ x: Var) -> Var {
        let y = mapElements(x.value) { $0 > 0 ? $0 : 0 }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { $1 > 0 ? $0 : 0 })
        }
    }

    /// `leaky_relu(x, slope)` (torch: slope applies where x ≤ 0).
    public func leakyReLU(_ x: Var, _ slope: Float) -> Var {
        let y = mapElements(x.value) { $0 > 0 ? $0 : $0 * slope }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { $1 > 0 ? $0 : $0 * slope })
        }
    }

    /// `x · tanh(softplus(x))` (Mish; softplus threshold 20 as torch).
    public func mish(_ x: Var) -> Var {
        let y = mapElements(x.value) { v in
            let sp = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
            return v * Foundation.tanh(sp)
        }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { gv, v in
                let sp = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
                let th = Foundation.tanh(sp)
                let dsp: Float = v > 20 ? 1 : 1 / (1 + Foundation.exp(-v))
                return gv * (th + v * (1 - th * th) * dsp)
            })
        }
    }

    /// `x²`.
    public func square(_ x: Var) -> Var {
        record(mapElements(x.value) { $0 * $0 }, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { 2 * $0 * $1 })
        }
    }

    /// `|x|` (gradient `sign(x)`, 0 at 0, as torch).
    public func abs(_ x: Var) -> Var {
        record(mapElements(x.value) { Swift.abs($0) }, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) })
        }
    }

    // MARK: Reductions

    /// The sum of every element, shape `[1]`.
    public func sum(_ x: Var) -> Var {
        var s = 0.0
        for v in x.value.scalars { s += Double(v) }
        let shape = x.shape
        return record(Tensor([Float(s)]), differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, Tensor(repeating: g.scalars[0], shape: shape))
        }
    }

    /// The mean of every element, shape `[1]`.
    public func mean(_ x: Var) -> Var {
        let n = Float(max(1, x.value.count))
        return scale(sum(x), 1 / n)
    }
}

extension Tape {
    /// Sums a `[R, N]` tensor over its last dimension: `[R]`.
    public func sumRows(_ x: Var) -> Var {
        precondition(x.value.rank == 2, "sumRows: \(x.shape)")
        let (r, n) = (x.shape[0], x.shape[1])
        var out = [Float](repeating: 0, count: r)
        x.value.scalars.withUnsafeBufferPointer { xp in
            for i in 0..<r {
                var s = 0.0
                for j in 0..<n { s += Double(xp[i * n + j]) }
                out[i] = Float(s)
            }
        }
        return record(Tensor(shape: [r], scalars: out), differentiable: x.requiresGrad) { g, t in
            var d = [Float](repeating: 0, count: r * n)
            for i in 0..<r { for j in 0..<n { d[i * n + j] = g.scalars[i] } }
            t.accumulate(x, Tensor(shape: x.shape, scalars: d))
        }
    }
}
