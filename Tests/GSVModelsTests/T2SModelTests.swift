import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
import GSVModels

/// A small random configuration for shape and rule tests.
fileprivate let t2sTinyConfig = T2SConfig(vocabSize: 41, phonemeVocabSize: 30, embeddingDim: 16, hiddenDim: 16,
                                          heads: 2, layers: 2, eos: 40, maxSec: 1)

fileprivate func t2sTinyInput(phones: Int, prompt: Int, seed: UInt64) -> T2SInput {
    var rng = SeededRNG(seed: seed)
    let ids = (0..<phones).map { _ in Int(rng.next() % 30) }
    let toks = (0..<prompt).map { _ in Int(rng.next() % 40) }
    return T2SInput(phoneIDs: ids, bert: rng.gaussian(shape: [1024, phones]), promptTokens: toks)
}

@Suite struct T2SModelTests {
    @Test func v2DefaultsArePinned() {
        let c = T2SConfig.v2
        #expect(c.vocabSize == 1025 && c.eos == 1024 && c.phonemeVocabSize == 732)
        #expect(c.embeddingDim == 512 && c.hiddenDim == 512 && c.heads == 16 && c.layers == 24)
        #expect(c.ffnDim == 2048 && c.headDim == 32 && c.bertDim == 1024 && c.layerNormEps == 1e-5)
        #expect(c.maxSec == 54 && c.officialEarlyStopNum == 2700)
        #expect(T2SDecodeOptions().maxSteps == 1500 && T2SDecodeOptions.stepsWithoutEOS == 11)
        #expect(T2SDecodeOptions().sampling == SamplingParameters(topK: 15, topP: 1, temperature: 1, repetitionPenalty: 1.35))
    }

    @Test func inconsistentConfigsAreRefused() {
        #expect(throws: T2SError.self) { try T2SConfig(vocabSize: 10, eos: 5).validate() }
        #expect(throws: T2SError.self) { try T2SConfig(hiddenDim: 510).validate() }
        #expect(throws: T2SError.self) { try T2SConfig(heads: 7).validate() }
        #expect(throws: T2SError.self) { try T2SConfig(checkpointConfig: .object(["model": .object(["head": .int(2)])])) }
        #expect(throws: T2SError.self) { try T2SConfig(checkpointConfig: .object([:])) }
    }

    @Test func tinyRandomModelHasTheConfiguredShapes() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 5)
        #expect(m.blocks.count == 2)
        #expect(m.blocks[0].inProj.outFeatures == 48 && m.blocks[0].linear1.outFeatures == 64 && m.blocks[0].linear2.inFeatures == 64)
        #expect(m.predictLayer.rows == 41 && m.textEmbedding.shape == [30, 16] && m.audioEmbedding.shape == [41, 16])
        let input = t2sTinyInput(phones: 7, prompt: 5, seed: 1)
        #expect(try m.embedText(phoneIDs: input.phoneIDs, bert: input.bert).shape == [7, 16])
        var rng = SeededRNG(seed: 9)
        let session = try m.startDecoding([input], options: .init(earlyStopNum: 30, recordStepLogits: true))
        while try session.step(rng: &rng) {}
        let r = try #require(try session.finish().first), timings = session.timings
        #expect(timings.steps == r.steps + 1 && timings.prefill > .zero && timings.decode > .zero)
        #expect(r.stepLogits.count == r.steps + 1)
        #expect(r.stepLogits.allSatisfy { $0.count == 41 })
        #expect(r.tokens.allSatisfy { (0..<40).contains($0) })
        switch r.stopReason {
        case .eos: #expect(r.steps >= T2SDecodeOptions.stepsWithoutEOS && r.tokens.count == r.steps)
        case .earlyStop: #expect(r.steps == 30 && r.tokens.count == 30)
        case .maxSteps: Issue.record("1500-step cap cannot be reached with earlyStopNum 30")
        }
    }

    @Test func samplingIsSeededPerRequestAndSafeConcurrently() async throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 6)
        let input = t2sTinyInput(phones: 9, prompt: 4, seed: 2)
        let options = T2SDecodeOptions(sampling: .init(topK: 20, topP: 0.9, temperature: 1.3), earlyStopNum: 25)
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let r1 = try m.decode(input, options: options, rng: &a)
        let r2 = try m.decode(input, options: options, rng: &b)
        let r3 = try m.decode(input, options: options, rng: &c)
        #expect(r1 == r2)
        #expect(r1.tokens != r3.tokens)
        let concurrent = try await withThrowingTaskGroup(of: T2SResult.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var rng = SeededRNG(seed: 42)
                    return try m.decode(input, options: options, rng: &rng)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(concurrent.allSatisfy { $0 == r1 })
    }

    @Test func stopRulesAndResultWindows() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 7)
        let input = t2sTinyInput(phones: 6, prompt: 3, seed: 3)
        let greedy = SamplingParameters(topK: 1)
        var rng = SeededRNG(seed: 0)
        // EOS is impossible during the first 11 steps, so these limits always apply.
        let five = try m.decode(input, options: .init(sampling: greedy, earlyStopNum: 5), rng: &rng)
        #expect(five.stopReason == .earlyStop && five.steps == 5 && five.tokens.count == 5)
        let six = try m.decode(input, options: .init(sampling: greedy, earlyStopNum: 6), rng: &rng)
        #expect(Array(six.tokens.prefix(5)) == five.tokens)
        // Naive driver: the window is shifted by one (first generated token dropped, last kept).
        let naive = try m.decode(input, options: .init(sampling: greedy, earlyStopNum: 5, variant: .naive), rng: &rng)
        #expect(naive.tokens == Array(six.tokens[1..<6]))
        let capped = try m.decode(input, options: .init(sampling: greedy, maxSteps: 3), rng: &rng)
        #expect(capped.stopReason == .maxSteps && capped.steps == 2 && capped.tokens == Array(five.tokens.prefix(2)))
        // Reference-free (no prompt): the official naive fallback keeps every generated token.
        var free = input
        free.promptTokens = []
        let free5 = try m.decode(free, options: .init(sampling: greedy, earlyStopNum: 5), rng: &rng)
        let free6 = try m.decode(free, options: .init(sampling: greedy, earlyStopNum: 6), rng: &rng)
        #expect(free5.stopReason == .earlyStop && free5.tokens.count == 6 && free6.tokens.count == 7)
        #expect(Array(free6.tokens.prefix(6)) == free5.tokens)
    }

    /// `maxNewTokens` gives exactly that many tokens whatever the driver's result window: the same
    /// tokens as the official early-stop limit that leaves that many in the window.
    @Test func maxNewTokensIsMappedToEveryResultWindow() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 7)
        let input = t2sTinyInput(phones: 6, prompt: 3, seed: 3)
        var free = input
        free.promptTokens = []
        let greedy = SamplingParameters(topK: 1)
        for variant in [T2SDecodeVariant.batched, .naive, .streaming] {
            for x in [input, free] {
                var rng = SeededRNG(seed: 0)
                let r = try m.decode(x, options: .init(sampling: greedy, maxNewTokens: 9, variant: variant, suppressEOS: true), rng: &rng)
                #expect(r.tokens.count == 9 && r.stopReason == .earlyStop, "\(variant), prompt \(x.promptTokens.count)")
                let keepsAll = variant == .streaming || x.promptTokens.isEmpty
                rng = SeededRNG(seed: 0)
                let limit = try m.decode(x, options: .init(sampling: greedy, earlyStopNum: keepsAll ? 8 : 9, variant: variant,
                                                           suppressEOS: true), rng: &rng)
                #expect(limit.tokens == r.tokens && limit.steps == r.steps, "\(variant), prompt \(x.promptTokens.count)")
            }
        }
        var rng = SeededRNG(seed: 0)
        #expect(throws: T2SError.self) { _ = try m.decode(input, options: .init(maxNewTokens: 0), rng: &rng) }
    }

    /// A session steps one token at a time, ends with the run-to-end result and refuses to finish early.
    @Test func sessionStepsOneTokenAtATime() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 9)
        let input = t2sTinyInput(phones: 8, prompt: 4, seed: 5)
        let options = T2SDecodeOptions(sampling: .init(topK: 5), earlyStopNum: 20)
        var rng = SeededRNG(seed: 4)
        let session = try m.startDecoding([input], options: options)
        #expect(!session.isFinished && session.generatedTokens(item: 0).isEmpty)
        #expect(throws: T2SError.self) { _ = try session.finish() }
        var counts: [Int] = []
        while try session.step(rng: &rng) { counts.append(session.generatedTokens(item: 0).count) }
        #expect(!counts.isEmpty && counts == Array(1...counts.count))
        #expect(session.isFinished)
        #expect(try !session.step(rng: &rng))
        #expect(session.timings.steps == counts.count + 1)
        var again = SeededRNG(seed: 4)
        let whole = try m.decode(input, options: options, rng: &again)
        #expect(try session.finish() == [whole])
    }

    @Test func batchedDecodeEqualsSingleDecodes() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 8)
        let inputs = [t2sTinyInput(phones: 5, prompt: 4, seed: 10), t2sTinyInput(phones: 12, prompt: 4, seed: 11),
                      t2sTinyInput(phones: 8, prompt: 4, seed: 12), t2sTinyInput(phones: 3, prompt: 0, seed: 13),
                      t2sTinyInput(phones: 9, prompt: 4, seed: 14)]
        let options = T2SDecodeOptions(sampling: .init(topK: 1), earlyStopNum: 40, recordStepLogits: true)
        var rng = SeededRNG(seed: 0)
        let batch = try m.decode(batch: inputs, options: options, rng: &rng)
        for (i, input) in inputs.enumerated() {
            let single = try m.decode(input, options: options, rng: &rng)
            #expect(single.tokens == batch[i].tokens && single.steps == batch[i].steps)
            #expect(single.stopReason == batch[i].stopReason)
            for (a, b) in zip(single.stepLogits, batch[i].stepLogits) {
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
            }
        }
    }

    @Test func badInputsAreNamed() throws {
        let m = try Text2SemanticDecoder.random(config: t2sTinyConfig, seed: 1)
        let ok = t2sTinyInput(phones: 4, prompt: 2, seed: 4)
        var rng = SeededRNG(seed: 0)
        func expectInvalid(_ input: T2SInput, _ fragment: String, options: T2SDecodeOptions = .init()) {
            do {
                _ = try m.decode(input, options: options, rng: &rng)
                Issue.record("accepted input that should fail: \(fragment)")
            } catch let T2SError.invalidInput(message) {
                #expect(message.contains(fragment), "\(message)")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        expectInvalid(T2SInput(phoneIDs: [1, 30], bert: .zeros([1024, 2]), promptTokens: []), "phone id 30")
        expectInvalid(T2SInput(phoneIDs: [1, -1], bert: .zeros([1024, 2]), promptTokens: []), "phone id -1")
        expectInvalid(T2SInput(phoneIDs: [], bert: .zeros([1024, 0]), promptTokens: []), "no phones")
        expectInvalid(T2SInput(phoneIDs: [1, 2], bert: .zeros([1024, 3]), promptTokens: []), "BERT")
        expectInvalid(T2SInput(phoneIDs: [1, 2], bert: .zeros([768, 2]), promptTokens: []), "BERT")
        expectInvalid(T2SInput(phoneIDs: [1, 2], bert: .zeros([1024, 2]), promptTokens: [40]), "prompt token 40")
        expectInvalid(ok, "earlyStopNum", options: .init(earlyStopNum: -1))
        expectInvalid(ok, "maxSteps", options: .init(maxSteps: 0))
        expectInvalid(ok, "top_k", options: .init(sampling: .init(topK: 0)))
        #expect(throws: T2SError.self) { _ = try m.decode(batch: [], options: .init(), rng: &rng) }
    }

    @Test func checkpointKeysAreVerified() throws {
        let archive = try WeightArchive.open(Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path)
        let config = try T2SConfig(checkpointConfig: try #require(archive.config))
        var missing = archive.tensors
        missing["model.h.layers.0.linear1.bias"] = nil
        #expect(throws: WeightsError.missingKey("model.h.layers.0.linear1.bias")) {
            _ = try Text2SemanticDecoder(tensors: missing, config: config)
        }
        var extra = archive.tensors
        extra["model.h.layers.99.linear1.bias"] = archive.tensors["model.h.layers.0.linear1.bias"]
        #expect(throws: WeightsError.unexpectedKeys(["model.h.layers.99.linear1.bias"])) {
            _ = try Text2SemanticDecoder(tensors: extra, config: config)
        }
        var wrongLayers = config
        wrongLayers.layers += 1
        #expect(throws: WeightsError.self) { _ = try Text2SemanticDecoder(tensors: archive.tensors, config: wrongLayers) }
        #expect(throws: (any Error).self) { _ = try Text2SemanticDecoder.load(path: "/nonexistent/gpt.ckpt") }
    }

    // The third case has a cache long and wide enough (8 heads, 600 prompt tokens) that a decode
    // step spreads its attention heads over threads.
    @Test(arguments: [(t2sTinyConfig, 5),
                      (T2SConfig(vocabSize: 41, phonemeVocabSize: 30, embeddingDim: 12, hiddenDim: 12,
                                 heads: 2, layers: 3, eos: 40, maxSec: 1), 5),
                      (T2SConfig(vocabSize: 41, phonemeVocabSize: 30, embeddingDim: 64, hiddenDim: 64,
                                 heads: 8, layers: 2, eos: 40, maxSec: 1), 600)])
    func kvCachedStepsEqualAFullRecomputation(config: T2SConfig, promptLength: Int) throws {
        let m = try Text2SemanticDecoder.random(config: config, seed: 11)
        let input = t2sTinyInput(phones: 7, prompt: promptLength, seed: 21)
        var rng = SeededRNG(seed: 0)
        let greedy = SamplingParameters(topK: 1)
        let run = try m.decode(input, options: .init(sampling: greedy, earlyStopNum: 14, recordStepLogits: true), rng: &rng)
        let generated = run.tokens
        for k in [1, 5, generated.count - 1] where k > 0 && k < run.stepLogits.count && k <= generated.count {
            // Step k of the cached decode = first step of a fresh prefill over prompt + k tokens.
            var longer = input
            longer.promptTokens += generated.prefix(k)
            let fresh = try m.decode(longer, options: .init(sampling: greedy, maxSteps: 1, recordStepLogits: true), rng: &rng)
            let a = run.stepLogits[k], b = try #require(fresh.stepLogits.first)
            let scale = b.map { abs($0) }.max() ?? 1
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(scale, 1) }, "step \(k)")
        }
    }
}
