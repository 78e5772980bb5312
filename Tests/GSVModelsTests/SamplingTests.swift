import Testing
@testable import GSVModels

/// A deterministic generator for tests (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The official pieces in order on `logits`: penalty over `previousTokens`, top-p, temperature and
/// top-k in place (as the official `logits_to_probs` leaves its logits), then the softmax of the result.
fileprivate func probabilities(_ logits: inout [Float], previousTokens: [Int], parameters: SamplingParameters) -> [Float] {
    var sampler = TokenSampler(parameters: parameters, vocabularySize: logits.count)
    logits.withUnsafeMutableBufferPointer { l in
        previousTokens.withUnsafeBufferPointer { sampler.applyRepetitionPenalty(l, previousTokens: $0) }
        sampler.applyTopP(l)
        sampler.applyTemperature(l)
        sampler.applyTopK(l)
    }
    var probs = logits
    probs.withUnsafeMutableBufferPointer { TokenSampler.softmax($0) }
    return probs
}

/// One token drawn from `logits` (which stay untouched).
fileprivate func sample<R: RandomNumberGenerator>(_ logits: [Float], parameters: SamplingParameters, rng: inout R) -> Int {
    var sampler = TokenSampler(parameters: parameters, vocabularySize: logits.count)
    var row = logits
    return row.withUnsafeMutableBufferPointer { l in
        [Int]().withUnsafeBufferPointer { sampler.sample(l, previousTokens: $0, rng: &rng).token }
    }
}

@Suite struct SamplingTests {
    @Test func repetitionPenaltyDividesPositivesAndMultipliesNegatives() {
        var l: [Float] = [2, -2, 1, 0.5]
        let p = SamplingParameters(topK: 4, topP: 1, temperature: 1, repetitionPenalty: 2)
        _ = probabilities(&l, previousTokens: [0, 1, 1, 0], parameters: p)
        #expect(l == [1, -4, 1, 0.5])  // duplicates penalised once
    }

    @Test func topKKeepsTies() {
        var l: [Float] = [3, 1, 3, 2]
        let probs = probabilities(&l, previousTokens: [], parameters: .init(topK: 1, repetitionPenalty: 1))
        #expect(probs[1] == 0 && probs[3] == 0)
        #expect(abs(probs[0] - 0.5) < 1e-6 && abs(probs[2] - 0.5) < 1e-6)
    }

    @Test func topPRunsBeforeTemperatureAndKeepsTop1() {
        // softmax([2,1,0]) = [0.665, 0.245, 0.090]; top_p 0.5 keeps only token 0.
        var l: [Float] = [2, 1, 0]
        let probs = probabilities(&l, previousTokens: [], parameters: .init(topK: 3, topP: 0.5, temperature: 100, repetitionPenalty: 1))
        #expect(probs == [1, 0, 0])
        // A token is removed when the cumulative probability up to and including it exceeds top_p:
        // top_p 0.8 → cumulative 0.665, 0.910 (> 0.8, removed); top_p 0.95 keeps tokens 0 and 1.
        var l2: [Float] = [2, 1, 0]
        let p2 = probabilities(&l2, previousTokens: [], parameters: .init(topK: 3, topP: 0.8, repetitionPenalty: 1))
        #expect(p2 == [1, 0, 0])
        var l3: [Float] = [2, 1, 0]
        let p3 = probabilities(&l3, previousTokens: [], parameters: .init(topK: 3, topP: 0.95, repetitionPenalty: 1))
        #expect(p3[2] == 0 && p3[1] > 0)
    }

    /// Top-k and top-p select what they keep without sorting the row: the same result as sorting it
    /// (top-k: everything below the k-th largest value goes; top-p: tokens after the one whose
    /// cumulative probability in descending order first exceeds the threshold go).
    @Test(arguments: [1, 2, 3])
    func partialSelectionMatchesTheSortedRule(seed: UInt64) {
        var rng = SplitMix(state: seed)
        for trial in 0..<20 {
            let n = trial % 2 == 0 ? 1025 : 1024
            // A few repeated values make ties.
            let row = (0..<n).map { _ in Float(Int(rng.next() % 4000)) / 400 - 5 }
            let k = [1, 5, 15, 50, 1024][trial % 5]
            var topK = row
            var sampler = TokenSampler(parameters: .init(topK: k, repetitionPenalty: 1), vocabularySize: n)
            topK.withUnsafeMutableBufferPointer { sampler.applyTopK($0) }
            let pivot = row.sorted(by: >)[min(k, n) - 1]
            #expect(topK == row.map { $0 < pivot ? -.infinity : $0 })

            let p = Float([0.3, 0.6, 0.8, 0.95][trial % 4])
            var topP = row
            var nucleus = TokenSampler(parameters: .init(topP: p, repetitionPenalty: 1), vocabularySize: n)
            topP.withUnsafeMutableBufferPointer { nucleus.applyTopP($0) }
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            let m = row.max() ?? 0
            let sum = row.reduce(Float(0)) { $0 + expf($1 - m) }
            var expected = row, cumulative: Float = 0
            for (rank, i) in order.enumerated() {
                cumulative += expf(row[i] - m) / sum
                if rank > 0 && cumulative > p { expected[i] = -.infinity }
            }
            #expect(topP == expected, "trial \(trial)")
        }
    }

    @Test func temperatureSharpens() {
        var a: [Float] = [1, 0]
        var b: [Float] = [1, 0]
        let pa = probabilities(&a, previousTokens: [], parameters: .init(topK: 2, temperature: 1, repetitionPenalty: 1))
        let pb = probabilities(&b, previousTokens: [], parameters: .init(topK: 2, temperature: 0.5, repetitionPenalty: 1))
        #expect(pb[0] > pa[0])
        #expect(abs(pb[0] - 1 / (1 + expf(-2))) < 1e-6)
    }

    @Test func samplingFollowsTheDistribution() {
        var rng = SplitMix(state: 7)
        let logits: [Float] = [log(0.6), log(0.3), log(0.1)]
        var counts = [0, 0, 0]
        for _ in 0..<20000 {
            counts[sample(logits, parameters: .init(topK: 3, repetitionPenalty: 1), rng: &rng)] += 1
        }
        #expect(abs(Double(counts[0]) / 20000 - 0.6) < 0.02)
        #expect(abs(Double(counts[1]) / 20000 - 0.3) < 0.02)
        #expect(abs(Double(counts[2]) / 20000 - 0.1) < 0.02)
    }

    @Test func greedyWithTopK1IsArgmax() {
        var rng = SplitMix(state: 1)
        let logits: [Float] = [0.1, 5, -3, 4.9]
        for _ in 0..<50 {
            #expect(sample(logits, parameters: .init(topK: 1, repetitionPenalty: 1), rng: &rng) == 1)
        }
        #expect(logits.withUnsafeBufferPointer { TokenSampler.argmax($0) } == 1)
    }
}

#if canImport(Glibc)
import Glibc
#endif
