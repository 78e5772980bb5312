// Follows GPT_SoVITS/AR/models/utils.py: logits_to_probs, multinomial_sample_one_no_sync, sample.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// Turns rows of logits into sampled tokens, one piece per official step, in the official order:
/// repetition penalty → top-p → temperature → top-k → softmax → draw.
///
/// Every piece works in place on one row (its length is the current vocabulary: 1024 while EOS is
/// masked, else 1025) with buffers made once, at creation: a decode step allocates nothing and
/// sorts nothing — top-k keeps its `k` largest values in a small sorted buffer, top-p takes tokens
/// from a heap only until the cumulative probability passes the threshold.
public struct TokenSampler: Sendable {
    /// The parameters every row is sampled with.
    public let parameters: SamplingParameters
    /// Rows of up to this many logits can be sampled.
    public let vocabularySize: Int
    /// The penalty's distinct-token mask, one bit per token, cleared after use.
    private var seen: [UInt64]
    /// Top-p's candidate heap (token indices).
    private var heap: [Int32]
    /// Top-k's largest values, descending.
    private var largest: [Float]

    /// A sampler for rows of at most `vocabularySize` logits.
    public init(parameters: SamplingParameters, vocabularySize: Int) {
        self.parameters = parameters
        self.vocabularySize = max(vocabularySize, 0)
        seen = [UInt64](repeating: 0, count: (self.vocabularySize + 63) / 64)
        heap = [Int32](repeating: 0, count: parameters.topP < 1 ? self.vocabularySize : 0)
        largest = [Float](repeating: 0, count: min(max(parameters.topK, 1), self.vocabularySize))
    }

    /// Samples one token from `logits` (overwritten: it ends holding the probabilities).
    ///
    /// - Parameters:
    ///   - logits: one row of at most ``vocabularySize`` logits.
    ///   - previousTokens: every token in the sequence so far (prompt + generated).
    /// - Returns: the drawn token, and the argmax of the penalised logits (the official EOS check
    ///   reads both).
    public mutating func sample<R: RandomNumberGenerator>(_ logits: UnsafeMutableBufferPointer<Float>,
                                                          previousTokens: UnsafeBufferPointer<Int>,
                                                          rng: inout R) -> (token: Int, greedy: Int) {
        applyRepetitionPenalty(logits, previousTokens: previousTokens)
        let greedy = Self.argmax(UnsafeBufferPointer(logits))
        applyTopP(logits)
        applyTemperature(logits)
        applyTopK(logits)
        Self.softmax(logits)
        return (Self.draw(UnsafeBufferPointer(logits), rng: &rng), greedy)
    }

    /// a. Repetition penalty over the set of previous tokens: `s < 0 ? s·p : s/p` once per distinct
    /// token inside the row (the official gather/scatter writes the same value for repeated indices).
    public mutating func applyRepetitionPenalty(_ logits: UnsafeMutableBufferPointer<Float>,
                                                previousTokens: UnsafeBufferPointer<Int>) {
        let p = parameters.repetitionPenalty
        guard p != 1 else { return }
        let n = min(logits.count, vocabularySize)
        seen.withUnsafeMutableBufferPointer { mask in
            for t in previousTokens where t >= 0 && t < n {
                let bit: UInt64 = 1 << UInt64(t & 63)
                guard mask[t >> 6] & bit == 0 else { continue }
                mask[t >> 6] |= bit
                let s = logits[t]
                logits[t] = s < 0 ? s * p : s / p
            }
            for t in previousTokens where t >= 0 && t < n { mask[t >> 6] = 0 }
        }
    }

    /// b. Top-p, before temperature: tokens are taken from the most likely down (ties: lower index
    /// first) and every token after the one whose cumulative probability first exceeds `topP` is
    /// removed (set to `-inf`); the most likely one always stays.
    public mutating func applyTopP(_ logits: UnsafeMutableBufferPointer<Float>) {
        let topP = parameters.topP
        let n = min(logits.count, heap.count)
        guard topP < 1, n > 0 else { return }
        var m = logits[0]
        for i in 1..<n where logits[i] > m { m = logits[i] }
        guard m > -.infinity else { return }
        var sum: Float = 0
        for i in 0..<n { sum += expf(logits[i] - m) }
        heap.withUnsafeMutableBufferPointer { h in
            // A max-heap on (logit, then lower index): popping yields the descending sorted order.
            @inline(__always) func before(_ a: Int32, _ b: Int32) -> Bool {
                let x = logits[Int(a)], y = logits[Int(b)]
                return x > y || (x == y && a < b)
            }
            @inline(__always) func siftDown(_ start: Int, _ count: Int) {
                var i = start
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var top = i
                    if l < count && before(h[l], h[top]) { top = l }
                    if r < count && before(h[r], h[top]) { top = r }
                    if top == i { return }
                    h.swapAt(i, top)
                    i = top
                }
            }
            for i in 0..<n { h[i] = Int32(i) }
            for i in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(i, n) }
            var count = n, cumulative: Float = 0, rank = 0
            while count > 0 {
                let token = Int(h[0])
                cumulative += expf(logits[token] - m) / sum
                if rank > 0 && cumulative > topP {
                    // Cumulative sums only grow: this token and every one still in the heap go.
                    for k in 0..<count { logits[Int(h[k])] = -.infinity }
                    return
                }
                rank += 1
                count -= 1
                h[0] = h[count]
                siftDown(0, count)
            }
        }
    }

    /// c. Temperature: logits divided by `max(temperature, 1e-5)`.
    public func applyTemperature(_ logits: UnsafeMutableBufferPointer<Float>) {
        let t = max(parameters.temperature, 1e-5)
        guard t != 1 else { return }
        for i in logits.indices { logits[i] /= t }
    }

    /// d. Top-k: logits below the `k`-th largest value (counted with repeats) become `-inf`, so ties
    /// with it stay.
    public mutating func applyTopK(_ logits: UnsafeMutableBufferPointer<Float>) {
        let n = logits.count
        let k = min(max(parameters.topK, 1), n, largest.count)
        guard k < n, k > 0 else { return }
        let pivot = largest.withUnsafeMutableBufferPointer { top -> Float in
            // The first k values, sorted descending, then every larger value inserted in place.
            for i in 0..<k {
                let v = logits[i]
                var j = i
                while j > 0 && top[j - 1] < v { top[j] = top[j - 1]; j -= 1 }
                top[j] = v
            }
            for i in k..<n {
                let v = logits[i]
                guard v > top[k - 1] else { continue }
                var j = k - 1
                while j > 0 && top[j - 1] < v { top[j] = top[j - 1]; j -= 1 }
                top[j] = v
            }
            return top[k - 1]
        }
        for i in 0..<n where logits[i] < pivot { logits[i] = -.infinity }
    }

    /// e. Numerically stable softmax in place; `-inf` entries get probability 0 (all of them `-inf`:
    /// every probability 0).
    public static func softmax(_ x: UnsafeMutableBufferPointer<Float>) {
        guard let first = x.first else { return }
        var m = first
        for v in x where m < v { m = v }
        guard m > -.infinity else {
            for i in x.indices { x[i] = 0 }
            return
        }
        var s: Float = 0
        for i in x.indices {
            x[i] = expf(x[i] - m)
            s += x[i]
        }
        for i in x.indices { x[i] /= s }
    }

    /// f. Draws one token: the official "exponential race" `argmax(probs / q)`, `q ~ Exp(1)` (one
    /// draw per token of nonzero probability, in index order), which samples the categorical
    /// distribution `probs`.
    public static func draw<R: RandomNumberGenerator>(_ probs: UnsafeBufferPointer<Float>, rng: inout R) -> Int {
        var best = 0
        var bestScore = -Float.infinity
        for i in probs.indices where probs[i] > 0 {
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

    /// Index of the largest value (first on ties, as `torch.argmax`); 0 for an empty row.
    public static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<max(x.count, 1) where x[i] > x[best] { best = i }
        return best
    }
}
