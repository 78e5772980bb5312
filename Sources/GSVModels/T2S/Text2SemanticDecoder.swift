// Follows GPT_SoVITS/AR/models/t2s_model.py: Text2SemanticDecoder (infer_panel_batch_infer,
// infer_panel_naive) and GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.init_t2s_weights (loading).

import GSVTensor
import GSVWeights
import Logging

/// How the result window is taken when decoding is stopped by the limits rather than EOS.
public enum T2SDecodeVariant: String, Sendable, Codable {
    /// `infer_panel_batch_infer` (the `TTS.run` default, `parallel_infer=True`): the last sampled
    /// token is dropped on every stop.
    case batched
    /// `infer_panel_naive` (`parallel_infer=False`): on an early-stop / step-cap stop the last sampled
    /// token is kept and `TTS.run`'s `y[-idx:]` drops the first generated one instead.
    case naive
    /// `infer_panel_naive(streaming_mode=True)`: on an early-stop / step-cap stop every generated
    /// token is kept (the final chunk is `y[curr_ptr:]`); on EOS the EOS token is dropped.
    case streaming
}

/// Why a sequence stopped.
public enum T2SStopReason: String, Sendable, Codable {
    /// EOS was sampled, or was the argmax of the penalised logits.
    case eos
    /// More than `early_stop_num` tokens were generated.
    case earlyStop = "early_stop_num"
    /// The official 1500-step cap (``T2SDecodeOptions/maxSteps``) was reached.
    case maxSteps = "max_steps"
}

/// One sequence to decode: the GPT inputs `TTS.run` builds for a text segment.
public struct T2SInput: Sendable {
    /// Prompt phones followed by target phones (`all_phones`).
    public var phoneIDs: [Int]
    /// BERT features `[bertDim, phoneIDs.count]` (prompt BERT ‖ target BERT; zeros for non-zh).
    public var bert: Tensor
    /// Prompt semantic tokens of the reference audio; empty for reference-free decoding.
    public var promptTokens: [Int]

    /// Creates an input.
    public init(phoneIDs: [Int], bert: Tensor, promptTokens: [Int]) {
        self.phoneIDs = phoneIDs
        self.bert = bert
        self.promptTokens = promptTokens
    }

    /// Builds the input as `TTS.run` does for one segment: `all_phones = prompt phones + target
    /// phones`, `all_bert = cat(prompt_bert, target_bert, dim=1)`.
    /// - Throws: ``T2SError/invalidInput(_:)`` when a BERT block is not `[D, phones]` or the two
    ///   blocks have different widths `D`.
    public init(promptPhoneIDs: [Int], promptBert: Tensor, targetPhoneIDs: [Int], targetBert: Tensor,
                promptTokens: [Int]) throws {
        for (name, ids, b) in [("prompt", promptPhoneIDs, promptBert), ("target", targetPhoneIDs, targetBert)] {
            guard b.rank == 2, b.shape[1] == ids.count else {
                throw T2SError.invalidInput("\(name) BERT features \(b.shape) do not match \(ids.count) phones")
            }
        }
        guard promptBert.shape[0] == targetBert.shape[0] else {
            throw T2SError.invalidInput("prompt BERT width \(promptBert.shape[0]) != target BERT width \(targetBert.shape[0])")
        }
        self.init(phoneIDs: promptPhoneIDs + targetPhoneIDs,
                  bert: Tensor.concat([promptBert, targetBert], axis: 1), promptTokens: promptTokens)
    }
}

/// Decoding controls: sampling and stop rules.
public struct T2SDecodeOptions: Sendable, Equatable {
    /// Sampling (official order, see ``TokenSampler``).
    public var sampling: SamplingParameters
    /// Stop once more than this many tokens were generated (`early_stop_num`); nil = no limit
    /// (official `-1`). `TTS.run` passes ``T2SConfig/officialEarlyStopNum``.
    public var earlyStopNum: Int?
    /// Hard cap on decoding steps (official loop `range(1500)`).
    public var maxSteps: Int
    /// Which official driver's result window to reproduce.
    public var variant: T2SDecodeVariant
    /// Keep the raw `ar_predict_layer` logits of every step in the result (for parity checks).
    public var recordStepLogits: Bool
    /// Never stop on EOS: the EOS column is dropped at every step (not only the first
    /// ``stepsWithoutEOS``), so decoding runs until `earlyStopNum` / `maxSteps`. Not an official
    /// option; `gpt-sovits bench` uses it to decode a fixed number of tokens.
    public var suppressEOS: Bool

    /// Steps during which the EOS column is dropped (`idx < 11`): at least 11 tokens are generated.
    public static let stepsWithoutEOS = 11

    /// Creates options; defaults are the official `TTS.run` ones (api_v2 sampling, 1500 steps,
    /// batched driver) with no early-stop limit.
    public init(sampling: SamplingParameters = SamplingParameters(), earlyStopNum: Int? = nil,
                maxSteps: Int = 1500, variant: T2SDecodeVariant = .batched, recordStepLogits: Bool = false,
                suppressEOS: Bool = false) {
        self.sampling = sampling
        self.earlyStopNum = earlyStopNum
        self.maxSteps = maxSteps
        self.variant = variant
        self.recordStepLogits = recordStepLogits
        self.suppressEOS = suppressEOS
    }
}

/// The outcome of decoding one sequence.
public struct T2SResult: Sendable, Equatable {
    /// Generated semantic tokens (what `TTS.run` hands to SoVITS: `y[-idx:]`), without EOS.
    ///
    /// On an EOS stop: every token before EOS. On a forced stop (early-stop limit or step cap) the
    /// official drivers differ: ``T2SDecodeVariant/batched`` drops the last sampled token,
    /// ``T2SDecodeVariant/naive`` drops the first generated one, and reference-free decoding (empty
    /// prompt, always the naive driver officially) keeps all of them. Empty only when
    /// `earlyStopNum` is 0 (where the official code would hand the prompt itself to SoVITS).
    public var tokens: [Int]
    /// Why decoding stopped.
    public var stopReason: T2SStopReason
    /// The official `idx` of the stopping step (0-based).
    public var steps: Int
    /// Raw logits (`[vocabSize]`, before EOS removal and penalty) of every step, when requested.
    public var stepLogits: [[Float]]
}

/// Time spent in one ``Text2SemanticDecoder/decode(batch:options:rng:timings:)`` call.
public struct T2STimings: Sendable, Equatable {
    /// The prompt pass (`process_prompt`) over every item, including text embedding.
    public var prefill: Duration = .zero
    /// The step loop: logits, sampling and the KV-cached steps (including step 0's logits).
    public var decode: Duration = .zero
    /// Steps run (the stopping step's `idx + 1` of the longest item).
    public var steps: Int = 0

    /// Creates zero timings.
    public init() {}

    /// Steps per second of the step loop (0 when nothing ran).
    public var stepsPerSecond: Double {
        let s = Double(decode.components.seconds) + Double(decode.components.attoseconds) * 1e-18
        return s > 0 ? Double(steps) / s : 0
    }
}

/// The text-to-semantic GPT (`Text2SemanticDecoder`): phones + BERT + prompt tokens → semantic tokens.
///
/// Immutable and `Sendable`: one instance serves concurrent requests; each decode call owns its
/// KV caches and RNG.
public struct Text2SemanticDecoder: Sendable {
    /// Hyper-parameters.
    public let config: T2SConfig
    /// `bert_proj.weight` `[E, bertDim]`.
    public let bertProj: T2SWeightMatrix
    /// `bert_proj.bias` `[E]`.
    public let bertProjBias: Tensor
    /// `ar_text_embedding.word_embeddings.weight` `[phonemeVocab, E]`.
    public let textEmbedding: Tensor
    /// `ar_text_position` (`alpha` `[1]`).
    public let textPosition: SinePositionalEmbedding
    /// `ar_audio_embedding.word_embeddings.weight` `[vocab, E]`.
    public let audioEmbedding: Tensor
    /// `ar_audio_position` (`alpha` `[1]`).
    public let audioPosition: SinePositionalEmbedding
    /// `h.layers.<i>`.
    public let blocks: [T2SBlock]
    /// `ar_predict_layer.weight` `[vocab, d]` (no bias).
    public let predictLayer: T2SWeightMatrix

    /// Opens a GPT checkpoint (`.ckpt`) and loads it (`TTS.init_t2s_weights`).
    public static func load(path: String) throws -> Text2SemanticDecoder {
        let archive = try WeightArchive.open(path)
        let model = try Text2SemanticDecoder(archive: archive)
        archive.releaseResidentPages()
        return model
    }

    /// Loads from an opened checkpoint: config from its `config`, weights from `model.*`; fails on
    /// missing or unexpected keys.
    public init(archive: WeightArchive) throws {
        guard let cfg = archive.config else {
            throw T2SError.invalidConfig("\(archive.path) has no 'config' entry (not a GPT-SoVITS GPT checkpoint?)")
        }
        try self.init(tensors: archive.tensors, config: try T2SConfig(checkpointConfig: cfg))
    }

    /// Loads from a GPT state dict (`model.*` keys, as the Lightning checkpoint stores them).
    /// - Throws: `WeightsError.missingKey` / `.shapeMismatch` / `.unexpectedKeys` naming the key.
    public init(tensors: [String: TensorData], config: T2SConfig) throws {
        let root = WeightReader(tensors: tensors)
        try self.init(reader: root.scoped("model"), config: config)
        try root.verifyAllConsumed()
    }

    /// Reads the weights from `r` (scoped at the `model.` prefix of the Lightning state dict).
    /// Does not check for unexpected keys; ``init(archive:)`` does.
    public init(reader r: WeightReader, config c: T2SConfig) throws {
        try c.validate()
        config = c
        let e = c.embeddingDim, d = c.hiddenDim
        bertProj = try T2SWeightMatrix(r, "bert_proj.weight", rows: e, cols: c.bertDim)
        bertProjBias = try r.tensor("bert_proj.bias", shape: [e])
        textEmbedding = try r.tensor("ar_text_embedding.word_embeddings.weight", shape: [c.phonemeVocabSize, e])
        textPosition = SinePositionalEmbedding(dim: e, alpha: try r.tensor("ar_text_position.alpha", shape: [1]).scalars[0])
        audioEmbedding = try r.tensor("ar_audio_embedding.word_embeddings.weight", shape: [c.vocabSize, e])
        audioPosition = SinePositionalEmbedding(dim: e, alpha: try r.tensor("ar_audio_position.alpha", shape: [1]).scalars[0])
        blocks = try (0..<c.layers).map { try T2SBlock(reader: r.scoped("h.layers.\($0)"), config: c) }
        predictLayer = try T2SWeightMatrix(r, "ar_predict_layer.weight", rows: c.vocabSize, cols: d)
    }

    /// A model with random weights for `config` (benchmarks and shape tests; no download needed).
    /// - Throws: ``T2SError/invalidConfig(_:)`` for an inconsistent config.
    public static func random(config c: T2SConfig, seed: UInt64) throws -> Text2SemanticDecoder {
        try c.validate()
        var rng = SeededRNG(seed: seed)
        return Text2SemanticDecoder(randomWith: c, rng: &rng)
    }

    /// The official v2 dimensions (24 layers × 512, 16 heads, FFN 2048, phonemes 732, vocab 1025)
    /// with random weights.
    public static func randomV2(seed: UInt64) -> Text2SemanticDecoder {
        var rng = SeededRNG(seed: seed)
        return Text2SemanticDecoder(randomWith: .v2, rng: &rng)
    }

    private init(randomWith c: T2SConfig, rng: inout SeededRNG) {
        config = c
        let e = c.embeddingDim, d = c.hiddenDim
        let a = 1 / Float(c.bertDim).squareRoot()
        bertProj = .half(HalfMatrix(rng.uniform(shape: [e, c.bertDim], lo: -a, hi: a)))
        bertProjBias = rng.uniform(shape: [e], lo: -a, hi: a)
        textEmbedding = rng.uniform(shape: [c.phonemeVocabSize, e], lo: -1, hi: 1)
        textPosition = SinePositionalEmbedding(dim: e, alpha: 1)
        audioEmbedding = rng.uniform(shape: [c.vocabSize, e], lo: -1, hi: 1)
        audioPosition = SinePositionalEmbedding(dim: e, alpha: 1)
        var layers: [T2SBlock] = []
        for _ in 0..<c.layers { layers.append(T2SBlock(randomWith: c, rng: &rng)) }
        blocks = layers
        let p = 1 / Float(d).squareRoot()
        predictLayer = .half(HalfMatrix(rng.uniform(shape: [c.vocabSize, d], lo: -p, hi: p)))
    }

    // MARK: - Inputs

    /// Checks one input and names what is wrong.
    func validate(_ input: T2SInput, item: Int) throws {
        let c = config
        let n = input.phoneIDs.count
        guard n > 0 else { throw T2SError.invalidInput("item \(item): no phones") }
        if let bad = input.phoneIDs.first(where: { $0 < 0 || $0 >= c.phonemeVocabSize }) {
            throw T2SError.invalidInput("item \(item): phone id \(bad) outside 0..<\(c.phonemeVocabSize)")
        }
        guard input.bert.shape == [c.bertDim, n] else {
            throw T2SError.invalidInput("item \(item): BERT features \(input.bert.shape), expected [\(c.bertDim), \(n)]")
        }
        if let bad = input.promptTokens.first(where: { $0 < 0 || $0 >= c.vocabSize - 1 }) {
            throw T2SError.invalidInput("item \(item): prompt token \(bad) outside 0..<\(c.vocabSize - 1)")
        }
    }

    /// The text side `x` `[T, E]`: `ar_text_embedding(phones) + bert_proj(bertᵀ)`, then
    /// `+ alpha_text · PE[0..<T]`.
    /// - Throws: ``T2SError/invalidInput(_:)`` for out-of-range phones or a wrong BERT shape.
    public func embedText(phoneIDs: [Int], bert: Tensor) throws -> Tensor {
        try validate(T2SInput(phoneIDs: phoneIDs, bert: bert, promptTokens: []), item: 0)
        return textRows(phoneIDs: phoneIDs, bert: bert)
    }

    private func textRows(phoneIDs: [Int], bert: Tensor) -> Tensor {
        let e = config.embeddingDim, n = phoneIDs.count
        var x = bertProj.linear(bert.transposed(0, 1), bias: bertProjBias)  // [T, E]
        x.scalars.withUnsafeMutableBufferPointer { xp in
            textEmbedding.scalars.withUnsafeBufferPointer { tp in
                guard let x0 = xp.baseAddress, let t0 = tp.baseAddress else { return }
                for (i, id) in phoneIDs.enumerated() {
                    // embedding + projection, in the official order of addition
                    for j in 0..<e { x0[i * e + j] = t0[id * e + j] + x0[i * e + j] }
                }
                textPosition.add(to: x0, rows: n, startPosition: 0)
            }
        }
        return x
    }

    /// Writes `audio_emb(token) + alpha_audio · PE[position]` (`E` floats) to `row`.
    private func writeAudioRow(_ token: Int, position: Int, into row: UnsafeMutablePointer<Float>) {
        let e = config.embeddingDim
        audioEmbedding.scalars.withUnsafeBufferPointer { ap in
            guard let a0 = ap.baseAddress else { return }
            row.update(from: a0 + token * e, count: e)
        }
        audioPosition.add(to: row, rows: 1, startPosition: position)
    }

    /// Rows `audio_emb(tokens) + alpha_audio · PE[start ..< start+count]`, `[count, E]`.
    private func audioRows(_ tokens: [Int], startPositions: [Int]) -> Tensor {
        let e = config.embeddingDim
        var out = [Float](repeating: 0, count: tokens.count * e)
        out.withUnsafeMutableBufferPointer { op in
            guard let o0 = op.baseAddress else { return }
            for (i, t) in tokens.enumerated() { writeAudioRow(t, position: startPositions[i], into: o0 + i * e) }
        }
        return Tensor(shape: [tokens.count, e], scalars: out)
    }

    /// Cosine similarity of every semantic token's audio embedding to `token`'s (the official
    /// `mute_emb_sim_matrix` for the mute token 486: `F.cosine_similarity` over
    /// `ar_audio_embedding.weight`, eps 1e-8). One value per vocabulary entry, EOS included.
    /// - Throws: ``T2SError/invalidInput(_:)`` when `token` is outside the vocabulary.
    public func tokenSimilarity(to token: Int) throws -> [Float] {
        let rows = audioEmbedding.shape[0], e = audioEmbedding.shape[1]
        guard token >= 0, token < rows else {
            throw T2SError.invalidInput("token \(token) is outside the audio vocabulary 0..<\(rows)")
        }
        let w = audioEmbedding.scalars
        var refNorm: Double = 0
        for j in 0..<e { let v = Double(w[token * e + j]); refNorm += v * v }
        return (0..<rows).map { r in
            var dot: Double = 0, norm: Double = 0
            for j in 0..<e {
                let a = Double(w[r * e + j])
                dot += a * Double(w[token * e + j])
                norm += a * a
            }
            return Float(dot / max((refNorm * norm).squareRoot(), 1e-8))
        }
    }

    // MARK: - Decoding

    /// Decodes one sequence (batch of one). See ``decode(batch:options:rng:)``.
    public func decode<R: RandomNumberGenerator>(_ input: T2SInput, options: T2SDecodeOptions,
                                                 rng: inout R) throws -> T2SResult {
        guard let r = try decode(batch: [input], options: options, rng: &rng).first else {
            throw T2SError.invalidInput("empty batch")
        }
        return r
    }

    /// Decodes several sequences together, as `infer_panel_batch_infer`: every step runs the
    /// active sequences' new rows through each weight matrix at once, finished sequences leave the
    /// batch, and the limits apply to the whole batch.
    ///
    /// The official driver left-pads the text of shorter items and masks the padded key columns;
    /// masked keys get exactly zero weight, so each item here is prefilled at its own length (no
    /// padding) with identical results. Items may carry different prompts (the official driver
    /// shares one). One `rng` draws for the active items in order each step.
    ///
    /// - Returns: one result per input, in input order.
    /// - Throws: ``T2SError/invalidInput(_:)`` naming the bad item; `CancellationError` when the
    ///   surrounding task is cancelled (checked every step).
    public func decode<R: RandomNumberGenerator>(batch inputs: [T2SInput], options: T2SDecodeOptions,
                                                 rng: inout R) throws -> [T2SResult] {
        var timings = T2STimings()
        return try decode(batch: inputs, options: options, rng: &rng, timings: &timings)
    }

    /// ``decode(batch:options:rng:)`` that also reports where the time went.
    public func decode<R: RandomNumberGenerator>(batch inputs: [T2SInput], options: T2SDecodeOptions,
                                                 rng: inout R, timings: inout T2STimings) throws -> [T2SResult] {
        try decode(batch: inputs, options: options, rng: &rng, timings: &timings, onStep: nil)
    }

    /// ``decode(batch:options:rng:)`` that calls `betweenSteps` on the calling thread after every
    /// step that did not end decoding, so the caller can do small pieces of other work while the
    /// sequence decodes (the engine hands on audio finished in the background there). Whatever it
    /// throws ends decoding.
    public func decode<R: RandomNumberGenerator>(batch inputs: [T2SInput], options: T2SDecodeOptions,
                                                 rng: inout R, betweenSteps: () throws -> Void) throws -> [T2SResult] {
        var timings = T2STimings()
        return try withoutActuallyEscaping(betweenSteps) { hook in
            try decode(batch: inputs, options: options, rng: &rng, timings: &timings, onStep: nil, betweenSteps: hook)
        }
    }

    /// Decodes one sequence step by step, as `infer_panel_naive(streaming_mode=True)`: after every
    /// step that did not stop decoding, `onStep` receives the tokens generated so far (prompt
    /// excluded), so the caller can cut streaming chunks while decoding continues. The result holds
    /// every generated token (without EOS) — the streaming driver's window, whatever `options.variant`.
    ///
    /// - Throws: what ``decode(batch:options:rng:)`` throws, and whatever `onStep` throws (which ends
    ///   decoding).
    public func decodeStreaming<R: RandomNumberGenerator>(_ input: T2SInput, options: T2SDecodeOptions, rng: inout R,
                                                          timings: inout T2STimings,
                                                          onStep: (ArraySlice<Int>) throws -> Void) throws -> T2SResult {
        var o = options
        o.variant = .streaming
        let results = try withoutActuallyEscaping(onStep) { step in
            try decode(batch: [input], options: o, rng: &rng, timings: &timings) { _, generated in try step(generated) }
        }
        guard let r = results.first else { throw T2SError.invalidInput("empty batch") }
        return r
    }

    private func decode<R: RandomNumberGenerator>(batch inputs: [T2SInput], options: T2SDecodeOptions,
                                                  rng: inout R, timings: inout T2STimings,
                                                  onStep: ((Int, ArraySlice<Int>) throws -> Void)?,
                                                  betweenSteps: (() throws -> Void)? = nil) throws -> [T2SResult] {
        guard !inputs.isEmpty else { throw T2SError.invalidInput("empty batch") }
        guard options.maxSteps > 0 else { throw T2SError.invalidInput("maxSteps must be positive, got \(options.maxSteps)") }
        if let n = options.earlyStopNum, n < 0 {
            throw T2SError.invalidInput("earlyStopNum must be ≥ 0 or nil, got \(n)")
        }
        guard options.sampling.topK >= 1 else {
            throw T2SError.invalidInput("top_k must be ≥ 1, got \(options.sampling.topK)")
        }
        for (i, input) in inputs.enumerated() { try validate(input, item: i) }

        let c = config, d = c.hiddenDim, v = c.vocabSize, eos = c.eos
        let stepLimit = min(options.maxSteps, (options.earlyStopNum ?? options.maxSteps) + 1)
        // Sampling runs on penalised logits; the sampler must not penalise a second time.
        var sampling = options.sampling
        let penalty = sampling.repetitionPenalty
        sampling.repetitionPenalty = 1

        var results = [T2SResult?](repeating: nil, count: inputs.count)
        var recorded = [[[Float]]](repeating: [], count: inputs.count)
        var active: [T2SActiveSequence] = []

        let clock = ContinuousClock()
        let prefillStart = clock.now
        // Step 0 (process_prompt): one full pass per item over [text ‖ prompt].
        var hidden = [Float](repeating: 0, count: inputs.count * d)
        for (i, input) in inputs.enumerated() {
            let x = textRows(phoneIDs: input.phoneIDs, bert: input.bert)
            let y = audioRows(input.promptTokens, startPositions: Array(0..<input.promptTokens.count))
            var xy = Tensor(shape: [x.shape[0] + y.shape[0], d], scalars: x.scalars + y.scalars)
            let cache = T2SSequenceCache(layers: c.layers, dim: d, heads: c.heads, capacity: xy.shape[0] + stepLimit)
            for (l, block) in blocks.enumerated() {
                xy = block.prefill(xy, textLength: x.shape[0], cache: cache, layer: l)
            }
            let last = xy.shape[0] - 1
            for j in 0..<d { hidden[i * d + j] = xy.scalars[last * d + j] }
            active.append(T2SActiveSequence(item: i, cache: cache, promptCount: input.promptTokens.count, tokens: input.promptTokens))
        }
        // The step loop's buffers: hidden rows, projections, scores and logits for every item.
        let scratch = T2SDecodeScratch(rows: inputs.count, dim: d, ffnDim: c.ffnDim, heads: c.heads,
                                       scoreStride: active.map { $0.cache.scoreStride }.max() ?? 0)
        scratch.x.update(from: hidden, count: hidden.count)
        var logits = [Float](repeating: 0, count: inputs.count * v)
        let decodeStart = clock.now
        timings.prefill = decodeStart - prefillStart
        defer { timings.decode = clock.now - decodeStart }

        for idx in 0..<options.maxSteps {
            try Task.checkCancellation()
            let rows = active.count
            logits.withUnsafeMutableBufferPointer { lp in
                guard let l0 = lp.baseAddress else { return }
                predictLayer.multiply(scratch.x, rows: rows, into: l0)  // [B, V]
            }
            var finished = Set<Int>()
            for (b, seq) in active.enumerated() {
                let raw = Array(logits[(b * v)..<((b + 1) * v)])
                if options.recordStepLogits { recorded[seq.item].append(raw) }
                var l = idx < T2SDecodeOptions.stepsWithoutEOS || options.suppressEOS ? Array(raw.dropLast()) : raw
                applyRepetitionPenalty(&l, previousTokens: seq.tokens, penalty: penalty)
                let greedy = TokenSampler.argmax(l)
                let sample = TokenSampler.sample(l, previousTokens: [], parameters: sampling, rng: &rng)
                active[b].tokens.append(sample)
                if sample == eos || greedy == eos {
                    finished.insert(b)
                    results[seq.item] = T2SResult(tokens: Array(active[b].tokens[seq.promptCount..<(active[b].tokens.count - 1)]),
                                                  stopReason: .eos, steps: idx, stepLogits: [])
                }
            }
            active = active.enumerated().filter { !finished.contains($0.offset) }.map(\.element)
            let generated = idx + 1
            let early = options.earlyStopNum.map { generated > $0 } ?? false
            if early || idx == options.maxSteps - 1 {
                for seq in active {
                    let gen = Array(seq.tokens[seq.promptCount...])
                    let window: [Int]
                    if seq.promptCount == 0 {
                        // Reference-free: batch_infer falls back to the naive driver, which returns
                        // idx 0 here, and TTS.run's y[-0:] keeps every generated token.
                        window = gen
                    } else {
                        switch options.variant {
                        case .batched: window = Array(gen.dropLast())
                        case .naive: window = Array(gen.dropFirst())
                        case .streaming: window = gen
                        }
                    }
                    results[seq.item] = T2SResult(tokens: window, stopReason: early ? .earlyStop : .maxSteps,
                                                  steps: idx, stepLogits: [])
                }
                active.removeAll()
            }
            timings.steps = idx + 1
            if active.isEmpty { break }
            if let onStep {
                for seq in active { try onStep(seq.item, seq.tokens[seq.promptCount...]) }
            }
            try betweenSteps?()
            // Next input: audio_emb(last token) + alpha·PE[prompt length + idx].
            for (row, seq) in active.enumerated() {
                writeAudioRow(seq.tokens[seq.tokens.count - 1], position: seq.promptCount + idx, into: scratch.x + row * d)
            }
            let caches = active.map(\.cache)
            for block in blocks.indices {
                blocks[block].decodeStep(scratch, caches: caches, layer: block)
            }
            for cache in caches { cache.length += 1 }
        }
        if T2SLog.logger.logLevel <= .debug {
            for (i, r) in results.enumerated() {
                if let r {
                    T2SLog.logger.debug("T2S decoded item \(i): \(r.tokens.count) tokens, stop \(r.stopReason.rawValue) at step \(r.steps)")
                }
            }
        }
        return try results.enumerated().map { i, r in
            guard var r else { throw T2SError.invalidInput("item \(i) did not finish") }
            r.stepLogits = recorded[i]
            return r
        }
    }
}

/// The T2S module's logger.
enum T2SLog {
    static let logger = Logger(label: "GSVModels.T2S")
}

/// A sequence still being decoded.
private struct T2SActiveSequence {
    let item: Int
    let cache: T2SSequenceCache
    let promptCount: Int
    var tokens: [Int]  // prompt + generated
}

/// The official in-place repetition penalty (`logits_to_probs` a.): for every distinct previous
/// token inside the row, `s < 0 ? s·p : s/p`.
func applyRepetitionPenalty(_ logits: inout [Float], previousTokens: [Int], penalty: Float) {
    guard penalty != 1 else { return }
    let v = logits.count
    var seen = [Bool](repeating: false, count: v)
    for t in previousTokens where t >= 0 && t < v && !seen[t] {
        seen[t] = true
        let s = logits[t]
        logits[t] = s < 0 ? s * penalty : s / penalty
    }
}
