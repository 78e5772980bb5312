import GSVModels
import GSVTensor
import Testing

/// The decode option the benchmark's fixed token count rests on.
@Suite struct T2SSuppressedEOSTests {
    /// EOS suppression (`gpt-sovits bench`'s fixed token count): on a tiny random GPT whose EOS is one
    /// of 4 tokens, plain decoding stops on EOS early for some seed, while suppressed decoding
    /// always returns exactly the requested count without EOS.
    @Test func suppressedEOSDecodesExactlyTheRequestedTokens() throws {
        let config = T2SConfig(vocabSize: 4, phonemeVocabSize: 8, embeddingDim: 16, hiddenDim: 16, heads: 2, layers: 1,
                               eos: 3, bertDim: 8, maxSec: nil)
        let model = try Text2SemanticDecoder.random(config: config, seed: 7)
        let input = T2SInput(phoneIDs: [1, 2, 3, 4], bert: Tensor.zeros([8, 4]), promptTokens: [0, 1])
        let n = 40
        var stoppedOnEOS = false
        for seed in UInt64(1)...8 {
            var rng = SeededRNG(seed: seed)
            let plain = try model.decode(input, options: T2SDecodeOptions(earlyStopNum: n, maxSteps: n + 1), rng: &rng)
            if plain.stopReason == .eos { stoppedOnEOS = true }
            rng = SeededRNG(seed: seed)
            let fixed = try model.decode(batch: [input, input], options: T2SDecodeOptions(earlyStopNum: n, maxSteps: n + 1, suppressEOS: true),
                                         rng: &rng)
            for r in fixed {
                #expect(r.tokens.count == n)
                #expect(r.stopReason == .earlyStop)
                #expect(!r.tokens.contains(config.eos))
            }
        }
        #expect(stoppedOnEOS)
    }
}
