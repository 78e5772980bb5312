import Foundation

/// A small, fast, seedable random number generator for per-request sampling and noise.
///
/// Algorithm: **xoshiro256\*\*** (Blackman & Vigna, 2018) with its 256-bit state filled from the
/// 64-bit seed by **SplitMix64**, as its authors recommend. The same seed gives the same stream on
/// every platform. Gaussian draws use the Box–Muller transform on two uniform doubles in (0, 1],
/// returning both values of each pair in turn.
///
/// It is a value type: each synthesis request owns its own copy (DESIGN habit 4).
/// Note: the stream differs from PyTorch's (Mersenne Twister / Philox); parity tests inject noise.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareGaussian: Double?

    /// Creates a generator whose stream is fully determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&sm); s1 = splitMix(&sm); s2 = splitMix(&sm); s3 = splitMix(&sm)
    }

    /// Starts from an explicit xoshiro256** state (for checking against the reference stream).
    /// - Precondition: the state is not all zero.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        (s0, s1, s2, s3) = state
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = SeededRNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededRNG.rotl(s3, 45)
        return result
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal draw (mean 0, variance 1), Box–Muller.
    public mutating func nextGaussian() -> Double {
        if let g = spareGaussian {
            spareGaussian = nil
            return g
        }
        let u1 = Double((next() >> 11) + 1) * 0x1p-53  // (0, 1]: log never sees 0
        let u2 = nextUniform()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareGaussian = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// A tensor of independent N(mean, std²) draws.
    public mutating func gaussian(shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n { v[i] = mean + std * Float(nextGaussian()) }
        return Tensor(shape: shape, scalars: v)
    }

    /// A tensor of independent uniform draws in `[lo, hi)`.
    public mutating func uniform(shape: [Int], lo: Float = 0, hi: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n { v[i] = lo + (hi - lo) * Float(next() >> 40) * 0x1p-24 }  // 24 bits: never 1
        return Tensor(shape: shape, scalars: v)
    }
}
