// Kernels the encoders need that are faster here than the general GSVTensor versions (candidates to
// move into GSVTensor; kept in this folder while other engineers edit that module). Each is tested
// against the GSVTensor reference in HuBERTParityTests.
import Foundation
import GSVTensor

/// erf on 8 lanes: `x·P(x²)/Q(x²)` on x clamped to [−4, 4] (our own least-squares fit; max
/// absolute error 4.3e-7 in Float32, below erf(4) = 1 − 1.5e-8 the result saturates to ±1).
@inline(__always)
func encoderErf(_ x: SIMD8<Float>) -> SIMD8<Float> {
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

/// Exact-form GELU `x·½(1 + erf(x/√2))` on 8 lanes.
@inline(__always)
func encoderGELU8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    0.5 * x * (1 + encoderErf(x * 0.707_106_781_186_547_524_4))
}

/// Applies ``encoderGELU8(_:)`` to `n` floats from `src` into `dst` (may alias).
@inline(__always)
func encoderGELUSpan(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: encoderGELU8(v), as: SIMD8<Float>.self)
        i += 8
    }
    if i < n {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<(n - i) { v[j] = src[i + j] }
        let r = encoderGELU8(v)
        for j in 0..<(n - i) { dst[i + j] = r[j] }
    }
}

extension Tensor {
    /// Exact (erf) GELU, as torch's default `F.gelu`, vectorised and parallel: matches
    /// ``Tensor/gelu()`` to ~5e-7·max(1, |x|).
    func encoderGELU() -> Tensor {
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                let n = src.count
                Parallel.forRanges((n + 4095) / 4096, grain: 4) { r in
                    let lo = r.lowerBound * 4096, hi = Swift.min(n, r.upperBound * 4096)
                    encoderGELUSpan(s + lo, d + lo, count: hi - lo)
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

/// `F.conv1d` for a single input channel (`x [B, 1, N]`, `weight [Cout, 1, K]`, no padding) as
/// one im2col + sgemm per batch entry — HuBERT's first feature convolution, which the general
/// depthwise loop handles slowly.
func encoderConv1dSingleChannel(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int) -> Tensor {
    precondition(x.rank == 3 && x.shape[1] == 1 && weight.rank == 3 && weight.shape[1] == 1)
    let (batch, n) = (x.shape[0], x.shape[2])
    let (cout, k) = (weight.shape[0], weight.shape[2])
    precondition(n >= k, "conv input \(n) shorter than kernel \(k)")
    let tOut = (n - k) / stride + 1
    var out = [Float](repeating: 0, count: batch * cout * tOut)
    var col = [Float](repeating: 0, count: k * tOut)
    x.scalars.withUnsafeBufferPointer { xp in
        weight.scalars.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                col.withUnsafeMutableBufferPointer { cp in
                    guard let x0 = xp.baseAddress, let w0 = wp.baseAddress, let o0 = op.baseAddress,
                          let c0 = cp.baseAddress else { return }
                    for b in 0..<batch {
                        let src = x0 + b * n
                        for kk in 0..<k {
                            let row = c0 + kk * tOut
                            for j in 0..<tOut { row[j] = src[j * stride + kk] }
                        }
                        let dst = o0 + b * cout * tOut
                        if let bias {
                            for c in 0..<cout { let v = bias.scalars[c]; for j in 0..<tOut { dst[c * tOut + j] = v } }
                        }
                        BLAS.sgemm(m: cout, n: tOut, k: k, a: w0, lda: k, b: c0, ldb: tOut,
                                   beta: bias == nil ? 0 : 1, c: dst, ldc: tOut)
                    }
                }
            }
        }
    }
    return Tensor(shape: [batch, cout, tOut], scalars: out)
}

/// `GroupNorm(C, C)` (each channel normalised over time, affine) fused with an optional GELU, for
/// `x [B, C, T]`. Statistics accumulate 8 lanes in Float over blocks of 512 and across blocks in
/// Double, so long signals keep torch-level accuracy.
func encoderChannelNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, gelu: Bool) -> Tensor {
    precondition(x.rank == 3)
    let (b, c, t) = (x.shape[0], x.shape[1], x.shape[2])
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
                if gelu { encoderGELUSpan(dst, dst, count: t) }
            }
        }
    }
    return Tensor(shape: x.shape, scalars: out)
}
