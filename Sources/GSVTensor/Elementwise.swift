import Foundation

// Element-wise arithmetic with NumPy/PyTorch broadcasting, and the unary maps the models use.
// Follows torch semantics: shapes are aligned on the right, a dimension of size 1 stretches.

/// Broadcasting helpers shared by the element-wise kernels.
public enum Broadcast {
    /// The broadcast shape of `a` and `b` (NumPy rules), or nil when they are incompatible.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides (in elements) for reading a row-major tensor of `shape` as if it had shape `target`:
    /// broadcast dimensions get stride 0.
    /// - Precondition: `shape` broadcasts to `target`.
    public static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        precondition(shape.count <= target.count, "cannot broadcast \(shape) to \(target)")
        let own = Tensor.strides(for: shape)
        let lead = target.count - shape.count
        var s = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count {
            precondition(shape[i] == target[lead + i] || shape[i] == 1, "cannot broadcast \(shape) to \(target)")
            s[lead + i] = shape[i] == 1 ? 0 : own[i]
        }
        return s
    }

    /// Visits `target` as runs along the innermost dimension, passing for each run the output
    /// offset and the offsets of every input (read with `strides`). Runs of large tensors are
    /// visited concurrently, so `body` must only write the output range it is given.
    /// Adjacent dimensions that are contiguous for every operand are merged first, so that common
    /// cases (`[B,C,T] + [1,C,1]`) become long inner runs.
    @inline(__always)
    static func forEachRun(
        target: [Int], strides: [[Int]],
        _ body: (_ outOffset: Int, _ inOffsets: [Int], _ innerStrides: [Int], _ runLength: Int) -> Void
    ) {
        // Merge dimensions: dim i and i+1 merge when for every operand s[i] == s[i+1] * n[i+1].
        var dims: [Int] = []
        var sts: [[Int]] = Array(repeating: [], count: strides.count)
        for d in 0..<target.count where target[d] != 1 {
            if let last = dims.last {
                var mergeable = true
                for k in 0..<strides.count where strides[k][d] * target[d] != sts[k][sts[k].count - 1] {
                    mergeable = false
                }
                if mergeable {
                    dims[dims.count - 1] = last * target[d]
                    for k in 0..<strides.count { sts[k][sts[k].count - 1] = strides[k][d] }
                    continue
                }
            }
            dims.append(target[d])
            for k in 0..<strides.count { sts[k].append(strides[k][d]) }
        }
        let total = target.reduce(1, *)
        if total == 0 { return }
        if dims.isEmpty {
            body(0, Array(repeating: 0, count: strides.count), Array(repeating: 0, count: strides.count), 1)
            return
        }
        let inner = dims[dims.count - 1]
        let innerStrides = sts.map { $0[$0.count - 1] }
        let outerDims = Array(dims.dropLast())
        let runs = total / inner
        // Runs write disjoint output ranges, so they may be split across threads.
        Parallel.forRanges(runs, grain: max(1, 65_536 / inner)) { range in
            // Position the odometer at the first run of this chunk.
            var counter = [Int](repeating: 0, count: outerDims.count)
            var offsets = [Int](repeating: 0, count: strides.count)
            var rem = range.lowerBound
            for d in stride(from: outerDims.count - 1, through: 0, by: -1) {
                counter[d] = rem % outerDims[d]
                rem /= outerDims[d]
                for k in 0..<offsets.count { offsets[k] += counter[d] * sts[k][d] }
            }
            var out = range.lowerBound * inner
            for _ in range {
                body(out, offsets, innerStrides, inner)
                out += inner
                var d = outerDims.count - 1
                while d >= 0 {
                    counter[d] += 1
                    for k in 0..<offsets.count { offsets[k] += sts[k][d] }
                    if counter[d] < outerDims[d] { break }
                    for k in 0..<offsets.count { offsets[k] -= sts[k][d] * outerDims[d] }
                    counter[d] = 0
                    d -= 1
                }
            }
        }
    }
}

extension Tensor {
    /// Combines `self` and `other` element-wise with broadcasting.
    /// - Precondition: the shapes broadcast (NumPy rules).
    @inlinable
    public func zipWith(_ other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        Tensor.binary(self, other, op)
    }

    @usableFromInline
    static func binary(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            var out = [Float](repeating: 0, count: a.count)
            a.scalars.withUnsafeBufferPointer { ap in
                b.scalars.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op2 in
                        Parallel.forRanges(ap.count, grain: 1 << 16) { r in
                            for i in r { op2[i] = op(ap[i], bp[i]) }
                        }
                    }
                }
            }
            return Tensor(shape: a.shape, scalars: out)
        }
        guard let outShape = Broadcast.shape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let sa = Broadcast.strides(of: a.shape, broadcastTo: outShape)
        let sb = Broadcast.strides(of: b.shape, broadcastTo: outShape)
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        a.scalars.withUnsafeBufferPointer { ap in
            b.scalars.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { o in
                    Broadcast.forEachRun(target: outShape, strides: [sa, sb]) { oo, offs, inner, n in
                        let ia = offs[0], ib = offs[1], da = inner[0], db = inner[1]
                        if da == 1 && db == 1 {
                            for j in 0..<n { o[oo + j] = op(ap[ia + j], bp[ib + j]) }
                        } else if da == 1 && db == 0 {
                            let bv = bp[ib]
                            for j in 0..<n { o[oo + j] = op(ap[ia + j], bv) }
                        } else if da == 0 && db == 1 {
                            let av = ap[ia]
                            for j in 0..<n { o[oo + j] = op(av, bp[ib + j]) }
                        } else {
                            for j in 0..<n { o[oo + j] = op(ap[ia + j * da], bp[ib + j * db]) }
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Applies `f` to every element (in parallel for large tensors).
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src, d = dst
                Parallel.forRanges(s.count, grain: 1 << 16) { r in
                    for i in r { d[i] = f(s[i]) }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Element-wise sum with broadcasting, as `torch.add`.
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, +) }
    /// `a += b` in place for equally shaped tensors (no broadcasting, no new storage).
    public static func += (a: inout Tensor, b: Tensor) {
        precondition(a.shape == b.shape, "+= needs equal shapes, got \(a.shape) and \(b.shape)")
        b.scalars.withUnsafeBufferPointer { bp in
            a.scalars.withUnsafeMutableBufferPointer { ap in
                guard let ab = ap.baseAddress, let bb = bp.baseAddress else { return }
                for i in 0..<ap.count { ab[i] += bb[i] }
            }
        }
    }
    /// Element-wise difference with broadcasting, as `torch.sub`.
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, -) }
    /// Element-wise product with broadcasting, as `torch.mul`.
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, *) }
    /// Element-wise true division with broadcasting, as `torch.div`.
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, /) }

    /// Adds a scalar to every element.
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    /// Subtracts a scalar from every element.
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    /// Multiplies every element by a scalar.
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    /// Divides every element by a scalar.
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    /// Adds a scalar to every element.
    public static func + (s: Float, a: Tensor) -> Tensor { a.map { s + $0 } }
    /// `s − x` for every element.
    public static func - (s: Float, a: Tensor) -> Tensor { a.map { s - $0 } }
    /// Multiplies every element by a scalar.
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { s * $0 } }
    /// `s / x` for every element.
    public static func / (s: Float, a: Tensor) -> Tensor { a.map { s / $0 } }
    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// Element-wise maximum with broadcasting (`torch.maximum`; NaN propagates).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        binary(a, b) { x, y in (x.isNaN || y.isNaN) ? .nan : Swift.max(x, y) }
    }
    /// Element-wise minimum with broadcasting (`torch.minimum`; NaN propagates).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        binary(a, b) { x, y in (x.isNaN || y.isNaN) ? .nan : Swift.min(x, y) }
    }

    /// `torch.masked_fill`: elements where `mask` is true (broadcast to `self`) become `value`.
    public func maskedFill(_ mask: Mask, _ value: Float) -> Tensor {
        guard let outShape = Broadcast.shape(shape, mask.shape), outShape == shape else {
            preconditionFailure("mask \(mask.shape) does not broadcast to \(shape)")
        }
        let sm = Broadcast.strides(of: mask.shape, broadcastTo: shape)
        var out = scalars
        mask.values.withUnsafeBufferPointer { mp in
            out.withUnsafeMutableBufferPointer { o in
                Broadcast.forEachRun(target: shape, strides: [sm]) { oo, offs, inner, n in
                    let im = offs[0], dm = inner[0]
                    for j in 0..<n where mp[im + j * dm] { o[oo + j] = value }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

/// A boolean tensor, used for masks. `true` marks an element that is *masked out* (excluded), as
/// in `torch.masked_fill` and the boolean masks of `torch.nn.MultiheadAttention`.
public struct Mask: Sendable, Equatable {
    /// The size of each dimension; broadcasts against the masked tensor.
    public let shape: [Int]
    /// Row-major elements.
    public let values: [Bool]

    /// Creates a mask. - Precondition: `values.count` equals the product of `shape`.
    public init(shape: [Int], values: [Bool]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "mask shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    /// A causal mask `[rows, cols]` for a query block of `rows` positions that ends at the last of
    /// `cols` key positions: query `i` may see keys `0 ... cols - rows + i` (torch `triu(ones, 1)`
    /// when `rows == cols`).
    public static func causal(rows: Int, cols: Int) -> Mask {
        precondition(rows <= cols, "causal mask: rows \(rows) > cols \(cols)")
        var v = [Bool](repeating: false, count: rows * cols)
        let shift = cols - rows
        for i in 0..<rows { for j in 0..<cols where j > i + shift { v[i * cols + j] = true } }
        return Mask(shape: [rows, cols], values: v)
    }

    /// Converts to an additive float mask: 0 where kept, `-inf` where masked out.
    public var additive: Tensor {
        Tensor(shape: shape, scalars: values.map { $0 ? -Float.infinity : 0 })
    }
}

// MARK: - Unary maps

extension Tensor {
    /// `max(x, 0)`, as `torch.relu`.
    public func relu() -> Tensor { map { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) } }
    /// `x` if `x ≥ 0` else `slope · x`, as `F.leaky_relu(x, slope)` (torch default slope 0.01), in
    /// one loop without a per-element closure (HiFi-GAN runs it on every stage's input).
    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        var out = scalars
        out.withUnsafeMutableBufferPointer { p in
            guard let b = p.baseAddress else { return }
            for i in 0..<p.count { let v = b[i]; b[i] = v > 0 ? v : v * slope }
        }
        return Tensor(shape: shape, scalars: out)
    }
    /// Mish, `x · tanh(softplus(x))` (softplus threshold 20, as torch).
    public func mish() -> Tensor {
        map { v in
            let sp = v > 20 ? v : Foundation.log1p(Foundation.exp(v))
            return v * Foundation.tanh(sp)
        }
    }
    /// Exact-form GELU, `x · ½(1 + erf(x/√2))`, as torch's default `F.gelu` (approximate="none"):
    /// eight lanes at a time with a rational erf (``geluSpan(_:_:count:)``, within 2.5e-7·max(1, |x|)
    /// of the exact value), in parallel over blocks.
    public func gelu() -> Tensor {
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                let n = src.count
                Parallel.forRanges((n + 4095) / 4096, grain: 4) { r in
                    let lo = r.lowerBound * 4096, hi = Swift.min(n, r.upperBound * 4096)
                    geluSpan(s + lo, d + lo, count: hi - lo)
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { map { Foundation.tanh($0) } }
    /// Logistic sigmoid `1 / (1 + e^(-x))`.
    public func sigmoid() -> Tensor {
        map { 1 / (1 + Foundation.exp(-$0)) }
    }
    /// `log(1 + e^x)`, as `F.softplus` with beta 1, threshold 20 (x > 20 returns x).
    public func softplus() -> Tensor { map { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) } }
    /// Natural exponential.
    public func exp() -> Tensor { map { Foundation.exp($0) } }
    /// Natural logarithm.
    public func log() -> Tensor { map { Foundation.log($0) } }
    /// Square root.
    public func sqrt() -> Tensor { map { $0.squareRoot() } }
    /// Absolute value.
    public func abs() -> Tensor { map { Swift.abs($0) } }
    /// `x²`.
    public func squared() -> Tensor { map { $0 * $0 } }
    /// Raises every element to `p`.
    public func pow(_ p: Float) -> Tensor { map { Foundation.pow($0, p) } }
    /// Limits every element to `[lo, hi]` (either bound may be nil), as `torch.clamp`; NaN stays NaN.
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        map { x in
            var y = x
            if let lo, y < lo { y = lo }
            if let hi, y > hi { y = hi }
            return y
        }
    }
}

extension Mask {
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same values under a new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Mask { Mask(shape: newShape, values: values) }
}

// MARK: - GELU kernel

/// erf on 8 lanes: `x·P(x²)/Q(x²)` on x clamped to [−4, 4] (our own least-squares fit; max
/// absolute error 4.3e-7 in Float32; beyond ±4, where erf is within 1.5e-8 of ±1, it saturates).
@inline(__always)
func erf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var c = x
    c.replace(with: 4, where: x .> 4)
    c.replace(with: -4, where: x .< -4)
    let z = c * c
    var p = SIMD8<Float>(repeating: 2.027_286_654_993_077e-06)
    p = p * z + SIMD8(repeating: 0.000_286_188_005_702_570_1)
    p = p * z + SIMD8(repeating: 0.003_844_706_341_624_26)
    p = p * z + SIMD8(repeating: 0.052_981_764_078_140_26)
    p = p * z + SIMD8(repeating: 0.192_308_187_484_741_2)
    p = p * z + SIMD8(repeating: 1.128_378_987_312_317)
    var q = SIMD8<Float>(repeating: 3.792_855_568_462_983e-05)
    q = q * z + SIMD8(repeating: 0.001_181_057_421_490_55)
    q = q * z + SIMD8(repeating: 0.015_124_429_017_305_374)
    q = q * z + SIMD8(repeating: 0.114_879_533_648_490_9)
    q = q * z + SIMD8(repeating: 0.503_760_576_248_169)
    q = q * z + SIMD8(repeating: 1)
    var r = c * p / q
    r.replace(with: 1, where: r .> 1)
    r.replace(with: -1, where: r .< -1)
    return r
}

/// GELU `x·½(1 + erf(x/√2))` on 8 lanes.
@inline(__always)
func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    0.5 * x * (1 + erf8(x * 0.707_106_781_186_547_524_4))
}

/// GELU of `n` floats from `src` into `dst` (which may be `src`): the kernel of ``Tensor/gelu()``,
/// for callers that fuse it into another pass (``groupNorm(_:groups:weight:bias:eps:gelu:)``).
@inline(__always)
public func geluSpan(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: gelu8(v), as: SIMD8<Float>.self)
        i += 8
    }
    if i < n {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<(n - i) { v[j] = src[i + j] }
        let r = gelu8(v)
        for j in 0..<(n - i) { dst[i + j] = r[j] }
    }
}
