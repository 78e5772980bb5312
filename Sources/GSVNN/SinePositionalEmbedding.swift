// Follows GPT_SoVITS/AR/modules/embedding.py: SinePositionalEmbedding (scale=False, alpha=True).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GSVWeights

/// Sinusoidal positions with a learned scale: `x·1 + alpha · PE[p]`, where
/// `PE[p, 2i] = sin(p·w_i)`, `PE[p, 2i+1] = cos(p·w_i)`, `w_i = exp(-2i·ln(10000)/d)`.
///
/// Computed in Float32 as the official table (`torch.float32` positions × frequencies); the
/// official table is precomputed for 4000 positions and grown on demand, which gives the same values
/// as computing any position directly.
public struct SinePositionalEmbedding: Sendable {
    /// Embedding width (even).
    public let dim: Int
    /// The learned scale (`…_position.alpha`, shape `[1]`).
    public let alpha: Float
    /// Angular frequency of each sin/cos pair (`div_term`).
    let frequencies: [Float]

    /// Creates the encoding for width `dim` with the learned `alpha`.
    public init(dim: Int, alpha: Float) {
        precondition(dim > 0 && dim % 2 == 0, "SinePositionalEmbedding needs an even width, got \(dim)")
        self.dim = dim
        self.alpha = alpha
        let step = Float(-(log(10000.0) / Double(dim)))
        frequencies = (0..<(dim / 2)).map { expf(Float(2 * $0) * step) }
    }

    /// Declares the learned scale `<p>.alpha` `[1]` through `p` (random sources: 1, the official
    /// initial value).
    /// - Throws: `WeightsError` for a missing or misshapen `alpha`.
    public init(_ p: ParameterSource, dim: Int) throws {
        let alpha = try p.tensor("alpha", shape: [1], initial: .constant(1))
        guard let a = alpha.scalars.first else { throw WeightsError.shapeMismatch(key: p.fullKey("alpha"), expected: [1], actual: alpha.shape) }
        self.init(dim: dim, alpha: a)
    }

    /// Adds `alpha · PE[start + r]` to each row `r` of `rows` consecutive rows of width ``dim``.
    public func add(to x: UnsafeMutablePointer<Float>, rows: Int, startPosition: Int) {
        for r in 0..<rows {
            let p = Float(startPosition + r)
            let row = x + r * dim
            for i in 0..<(dim / 2) {
                let a = p * frequencies[i]
                row[2 * i] += alpha * sinf(a)
                row[2 * i + 1] += alpha * cosf(a)
            }
        }
    }

    /// The encoding rows `PE[start ..< start+count]` (without `alpha`), `[count · dim]` row-major.
    public func table(startPosition: Int, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count * dim)
        for r in 0..<count {
            let p = Float(startPosition + r)
            for i in 0..<(dim / 2) {
                out[r * dim + 2 * i] = sinf(p * frequencies[i])
                out[r * dim + 2 * i + 1] = cosf(p * frequencies[i])
            }
        }
        return out
    }
}
