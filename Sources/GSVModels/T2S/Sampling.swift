// Follows GPT_SoVITS/AR/models/utils.py: logits_to_probs, multinomial_sample_one_no_sync, sample.

/// The sampling parameters of one T2S decode, with the official api_v2 defaults.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// Keep only the `topK` most likely tokens (ties kept). Official default 15 (api_v2 `top_k`).
    public var topK: Int
    /// Nucleus sampling threshold; `1` disables it. Official default 1.
    public var topP: Float
    /// Softmax temperature (clamped below at 1e-5). Official default 1.
    public var temperature: Float
    /// Penalty for tokens already present (prompt + generated); `1` disables it. Official default 1.35.
    public var repetitionPenalty: Float

    /// Creates parameters; the defaults are the official api_v2 request defaults.
    public init(topK: Int = 15, topP: Float = 1, temperature: Float = 1, repetitionPenalty: Float = 1.35) {
        self.topK = topK
        self.topP = topP
        self.temperature = temperature
        self.repetitionPenalty = repetitionPenalty
    }
}

/// Turns one row of logits into a sampled token, in the official order:
/// repetition penalty → top-p → temperature → top-k → softmax → draw.
public enum TokenSampler {
    /// Applies the penalty, top-p, temperature and top-k filters in place and returns the
    /// softmax probabilities.
    ///
    /// - Parameters:
    ///   - logits: one row of logits (its length is the current vocabulary, 1024 or 1025).
    ///   - previousTokens: every token in the sequence so far (prompt + generated).
    public static func probabilities(_ logits: inout [Float], previousTokens: [Int], parameters p: SamplingParameters) -> [Float] {
        let v = logits.count
        // a. Repetition penalty over the set of previous tokens (duplicates apply once, as the
        //    official gather/scatter writes the same value for repeated indices).
        if p.repetitionPenalty != 1 {
            var seen = [Bool](repeating: false, count: v)
            for t in previousTokens where t >= 0 && t < v && !seen[t] {
                seen[t] = true
                let s = logits[t]
                logits[t] = s < 0 ? s * p.repetitionPenalty : s / p.repetitionPenalty
            }
        }
        // b. Top-p, before temperature: remove tokens whose cumulative probability (sorted
        //    descending) exceeds topP, always keeping the most likely one.
        if p.topP < 1 {
            let order = (0..<v).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let sorted = order.map { logits[$0] }
            let probs = softmax(sorted)
            var cum: Float = 0
            for (rank, idx) in order.enumerated() {
                cum += probs[rank]
                if rank > 0 && cum > p.topP { logits[idx] = -.infinity }
            }
        }
        // c. Temperature.
        let t = max(p.temperature, 1e-5)
        if t != 1 { for i in 0..<v { logits[i] /= t } }
        // d. Top-k: keep logits ≥ the k-th largest.
        let k = min(max(p.topK, 1), v)
        if k < v {
            var copy = logits
            copy.sort(by: >)
            let pivot = copy[k - 1]
            for i in 0..<v where logits[i] < pivot { logits[i] = -.infinity }
        }
        // e. Softmax.
        return softmax(logits)
    }

    /// Samples one token: the official "exponential race" `argmax(probs / q)`, `q ~ Exp(1)`,
    /// which draws from the categorical distribution `probs`.
    public static func sample<R: RandomNumberGenerator>(
        _ logits: [Float], previousTokens: [Int], parameters: SamplingParameters, rng: inout R
    ) -> Int {
        var l = logits
        let probs = probabilities(&l, previousTokens: previousTokens, parameters: parameters)
        var best = 0
        var bestScore = -Float.infinity
        for i in 0..<probs.count where probs[i] > 0 {
            // U in (0, 1]; q = -ln U ~ Exp(1).
            let u = Float(Double(rng.next() >> 11 &+ 1) * 0x1p-53)
            let q = -logf(u)
            let score = probs[i] / max(q, .leastNonzeroMagnitude)
            if score > bestScore {
                bestScore = score
                best = i
            }
        }
        return best
    }

    /// Index of the largest value (first on ties, as `torch.argmax`).
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in 1..<max(x.count, 1) where x[i] > x[best] { best = i }
        return best
    }

    /// Numerically stable softmax; `-inf` entries get probability 0.
    public static func softmax(_ x: [Float]) -> [Float] {
        guard let m = x.max(), m > -.infinity else { return [Float](repeating: 0, count: x.count) }
        var out = x.map { expf($0 - m) }
        let s = out.reduce(0, +)
        for i in 0..<out.count { out[i] /= s }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
