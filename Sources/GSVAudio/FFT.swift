import Foundation

/// A reusable plan for the discrete Fourier transform of real input of any length `n ≥ 1`.
///
/// The transform is our own mixed-radix (2, 3, 4, 5 and generic odd prime factors) decimation-in-time
/// FFT; real input of even length is packed into a complex FFT of length `n/2` and untangled. Twiddle
/// factors are computed in double precision; the arithmetic is `Float`. A plan is immutable and
/// `Sendable`; each call allocates its own scratch, so one plan can serve many threads.
///
/// Output convention matches `torch.fft.rfft` / `numpy.fft.rfft`: `X[k] = Σ x[t]·e^{-2πi·kt/n}`,
/// `k = 0 … n/2`, unnormalised.
public struct RealFFT: Sendable {
    /// Transform length.
    public let n: Int
    /// Number of output bins, `n/2 + 1`.
    public var binCount: Int { n / 2 + 1 }

    private let complex: ComplexFFT
    /// e^{-2πi k / n} for k in 0..<n/2 (used to untangle the packed half-length transform).
    private let untangleRe: [Float]
    private let untangleIm: [Float]

    /// Creates a plan for real input of length `n`.
    public init(n: Int) throws {
        guard n >= 1, n <= 1 << 26 else { throw AudioError.invalidArgument("FFT length must be in 1…2^26, got \(n)") }
        self.n = n
        if n % 2 == 0 {
            complex = ComplexFFT(n: n / 2)
            var re = [Float](repeating: 0, count: n / 2), im = re
            for k in 0..<(n / 2) {
                let a = -2.0 * Double.pi * Double(k) / Double(n)
                re[k] = Float(cos(a)); im[k] = Float(sin(a))
            }
            untangleRe = re; untangleIm = im
        } else {
            complex = ComplexFFT(n: n)
            untangleRe = []; untangleIm = []
        }
    }

    /// Transforms `input` (exactly `n` values) into `re`/`im` (each `binCount` values).
    /// Allocation-free apart from stack scratch, so it can run per frame in hot loops.
    public func forward(_ input: UnsafeBufferPointer<Float>, re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(input.count == n && re.count >= binCount && im.count >= binCount, "RealFFT buffer sizes")
        let m = complex.n
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * m) { scratch in
            let zr = scratch.baseAddress!, zi = zr + m, yr = zi + m, yi = yr + m
            if n % 2 == 1 {
                for j in 0..<n { zr[j] = input[j]; zi[j] = 0 }
                complex.transform(zr, zi, yr, yi)
                for k in 0..<binCount { re[k] = yr[k]; im[k] = yi[k] }
                return
            }
            let h = m
            for j in 0..<h { zr[j] = input[2 * j]; zi[j] = input[2 * j + 1] }
            complex.transform(zr, zi, yr, yi)
            // X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / (2i)
            untangleRe.withUnsafeBufferPointer { wr in
                untangleIm.withUnsafeBufferPointer { wi in
                    for k in 0...h {
                        let a = k == h ? 0 : k, b = k == 0 ? 0 : h - k
                        let zkr = yr[a], zki = yi[a], zmr = yr[b], zmi = -yi[b]
                        let er = 0.5 * (zkr + zmr), ei = 0.5 * (zki + zmi)
                        // (Z - conj Z_m) / (2i) = (dr + i di) / (2i) = (di - i dr) / 2
                        let dr = zkr - zmr, di = zki - zmi
                        let or_ = 0.5 * di, oi = -0.5 * dr
                        let cr: Float, ci: Float
                        if k < h { cr = wr[k]; ci = wi[k] } else { cr = -1; ci = 0 }
                        re[k] = er + cr * or_ - ci * oi
                        im[k] = ei + cr * oi + ci * or_
                    }
                }
            }
        }
    }

    /// Convenience: transforms an array and returns `(re, im)` with `binCount` values each.
    public func forward(_ input: [Float]) -> (re: [Float], im: [Float]) {
        precondition(input.count == n, "RealFFT input must have \(n) values, got \(input.count)")
        var re = [Float](repeating: 0, count: binCount), im = re
        input.withUnsafeBufferPointer { src in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in forward(src, re: r, im: i) }
            }
        }
        return (re, im)
    }
}

/// A mixed-radix complex FFT plan (forward, unnormalised) for any length ≥ 1.
struct ComplexFFT: Sendable {
    let n: Int
    /// Radices, applied from the outermost recursion level inwards.
    let factors: [Int]
    /// e^{-2πi k / n}, k in 0..<n.
    let twRe: [Float]
    let twIm: [Float]
    /// Per recursion level, contiguous twiddles W_len^{q·k} for q = 1..<p, k = 0..<m, stored at
    /// `levelOffset[level] + (q−1)·m + k` (so the butterfly loops read them sequentially).
    let levelRe: [Float]
    let levelIm: [Float]
    let levelOffset: [Int]

    init(n: Int) {
        self.n = n
        var f: [Int] = []
        var m = n
        while m % 4 == 0 { f.append(4); m /= 4 }
        while m % 2 == 0 { f.append(2); m /= 2 }
        var p = 3
        while m > 1 {
            while m % p == 0 { f.append(p); m /= p }
            p += 2
            if p * p > m, m > 1 { f.append(m); m = 1 }
        }
        factors = f
        var re = [Float](repeating: 0, count: n), im = re
        for k in 0..<n {
            let a = -2.0 * Double.pi * Double(k) / Double(n)
            re[k] = Float(cos(a)); im[k] = Float(sin(a))
        }
        twRe = re; twIm = im
        var lr: [Float] = [], li: [Float] = [], offsets: [Int] = []
        var len = n
        for p in f {
            let m = len / p
            offsets.append(lr.count)
            for q in 1..<max(p, 2) {
                for k in 0..<m {
                    let a = -2.0 * Double.pi * Double(q * k) / Double(len)
                    lr.append(Float(cos(a))); li.append(Float(sin(a)))
                }
            }
            len = m
        }
        levelRe = lr; levelIm = li; levelOffset = offsets
    }

    /// Forward transform of `xr`/`xi` into `yr`/`yi` (each `n` values, not overlapping).
    func transform(_ xr: UnsafePointer<Float>, _ xi: UnsafePointer<Float>, _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>) {
        if n == 1 { yr[0] = xr[0]; yi[0] = xi[0]; return }
        twRe.withUnsafeBufferPointer { wr in
            twIm.withUnsafeBufferPointer { wi in
                levelRe.withUnsafeBufferPointer { lr in
                    levelIm.withUnsafeBufferPointer { li in
                        recurse(xr, xi, stride: 1, n: n, level: 0, yr, yi, wr.baseAddress!, wi.baseAddress!,
                                lr.baseAddress!, li.baseAddress!)
                    }
                }
            }
        }
    }

    /// Decimation in time: out[0..<len] = DFT of in[0], in[stride], … (len values).
    private func recurse(
        _ xr: UnsafePointer<Float>, _ xi: UnsafePointer<Float>, stride: Int, n len: Int, level: Int,
        _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
        _ wr: UnsafePointer<Float>, _ wi: UnsafePointer<Float>,
        _ lr: UnsafePointer<Float>, _ li: UnsafePointer<Float>
    ) {
        let p = factors[level]
        let m = len / p
        // Sub-transforms q = 0..<p, each of length m, stored at y[q*m ..< (q+1)*m].
        if m == 1 {
            for q in 0..<p { yr[q] = xr[q * stride]; yi[q] = xi[q * stride] }
        } else {
            for q in 0..<p {
                recurse(xr + q * stride, xi + q * stride, stride: stride * p, n: m, level: level + 1,
                        yr + q * m, yi + q * m, wr, wi, lr, li)
            }
        }
        // Twiddle step: twiddle index unit for length `len` is n/len.
        let unit = n / len
        switch p {
        case 2:
            let w1r = lr + levelOffset[level], w1i = li + levelOffset[level]
            for k in 0..<m {
                let ar = yr[k], ai = yi[k]
                let br0 = yr[k + m], bi0 = yi[k + m]
                let br = br0 * w1r[k] - bi0 * w1i[k], bi = br0 * w1i[k] + bi0 * w1r[k]
                yr[k] = ar + br; yi[k] = ai + bi
                yr[k + m] = ar - br; yi[k + m] = ai - bi
            }
        case 4:
            let w1r = lr + levelOffset[level], w1i = li + levelOffset[level]
            let w2r = w1r + m, w2i = w1i + m, w3r = w2r + m, w3i = w2i + m
            var k = 0
            if m >= 4 {
                // Four butterflies at a time; every stream is contiguous in k.
                typealias V = SIMD4<Float>
                @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                @inline(__always) func st(_ p: UnsafeMutablePointer<Float>, _ v: V) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
                while k + 4 <= m {
                    let ar = ld(yr + k), ai = ld(yi + k)
                    let b0r = ld(yr + k + m), b0i = ld(yi + k + m)
                    let c0r = ld(yr + k + 2 * m), c0i = ld(yi + k + 2 * m)
                    let d0r = ld(yr + k + 3 * m), d0i = ld(yi + k + 3 * m)
                    let t1r = ld(w1r + k), t1i = ld(w1i + k), t2r = ld(w2r + k), t2i = ld(w2i + k)
                    let t3r = ld(w3r + k), t3i = ld(w3i + k)
                    let br = b0r * t1r - b0i * t1i, bi = b0r * t1i + b0i * t1r
                    let cr = c0r * t2r - c0i * t2i, ci = c0r * t2i + c0i * t2r
                    let dr = d0r * t3r - d0i * t3i, di = d0r * t3i + d0i * t3r
                    let s0r = ar + cr, s0i = ai + ci, s1r = ar - cr, s1i = ai - ci
                    let s2r = br + dr, s2i = bi + di, s3r = br - dr, s3i = bi - di
                    st(yr + k, s0r + s2r); st(yi + k, s0i + s2i)
                    st(yr + k + 2 * m, s0r - s2r); st(yi + k + 2 * m, s0i - s2i)
                    st(yr + k + m, s1r + s3i); st(yi + k + m, s1i - s3r)
                    st(yr + k + 3 * m, s1r - s3i); st(yi + k + 3 * m, s1i + s3r)
                    k += 4
                }
            }
            while k < m {
                let ar = yr[k], ai = yi[k]
                let b0r = yr[k + m], b0i = yi[k + m]
                let c0r = yr[k + 2 * m], c0i = yi[k + 2 * m]
                let d0r = yr[k + 3 * m], d0i = yi[k + 3 * m]
                let br = b0r * w1r[k] - b0i * w1i[k], bi = b0r * w1i[k] + b0i * w1r[k]
                let cr = c0r * w2r[k] - c0i * w2i[k], ci = c0r * w2i[k] + c0i * w2r[k]
                let dr = d0r * w3r[k] - d0i * w3i[k], di = d0r * w3i[k] + d0i * w3r[k]
                let s0r = ar + cr, s0i = ai + ci, s1r = ar - cr, s1i = ai - ci
                let s2r = br + dr, s2i = bi + di, s3r = br - dr, s3i = bi - di
                yr[k] = s0r + s2r; yi[k] = s0i + s2i
                yr[k + 2 * m] = s0r - s2r; yi[k + 2 * m] = s0i - s2i
                // -i * s3 = (s3i, -s3r)
                yr[k + m] = s1r + s3i; yi[k + m] = s1i - s3r
                yr[k + 3 * m] = s1r - s3i; yi[k + 3 * m] = s1i + s3r
                k += 1
            }
        default:
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * p) { scratch in
                let tr = scratch.baseAddress!, ti = tr + p
                for k in 0..<m {
                    for q in 0..<p {
                        let t = (q * k * unit) % n
                        let vr = yr[k + q * m], vi = yi[k + q * m]
                        tr[q] = vr * wr[t] - vi * wi[t]
                        ti[q] = vr * wi[t] + vi * wr[t]
                    }
                    for j in 0..<p {
                        var sr: Float = 0, si: Float = 0
                        let step = (j * m * unit) % n  // e^{-2πi j/p} per q
                        for q in 0..<p {
                            let t = (q * step) % n
                            sr += tr[q] * wr[t] - ti[q] * wi[t]
                            si += tr[q] * wi[t] + ti[q] * wr[t]
                        }
                        yr[k + j * m] = sr; yi[k + j * m] = si
                    }
                }
            }
        }
    }
}
