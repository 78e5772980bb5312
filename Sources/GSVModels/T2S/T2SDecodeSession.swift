// Follows GPT_SoVITS/AR/models/t2s_model.py: Text2SemanticDecoder.infer_panel_batch_infer and
// infer_panel_naive (the prompt pass `process_prompt`, then one `decode_next_token` per step with
// the sampling, EOS and early-stop rules of their loops).

import GSVTensor

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
    /// More than `early_stop_num` tokens were generated, or ``T2SDecodeOptions/maxNewTokens`` came out.
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
    /// At most this many tokens in each result (nil = the official limits only). Not an official
    /// option: the session stops a sequence at the step after which its result window (which
    /// depends on ``variant`` and on whether it has a prompt) holds exactly this many tokens.
    public var maxNewTokens: Int?
    /// Hard cap on decoding steps (official loop `range(1500)`).
    public var maxSteps: Int
    /// Which official driver's result window to reproduce.
    public var variant: T2SDecodeVariant
    /// Keep the raw `ar_predict_layer` logits of every step in the result (for parity checks).
    public var recordStepLogits: Bool
    /// Never stop on EOS: the EOS column is dropped at every step (not only the first
    /// ``stepsWithoutEOS``), so decoding runs until a limit. Not an official option;
    /// `gpt-sovits bench` uses it to decode a fixed number of tokens.
    public var suppressEOS: Bool

    /// Steps during which the EOS column is dropped (`idx < 11`): at least 11 tokens are generated.
    public static let stepsWithoutEOS = 11

    /// Creates options; defaults are the official `TTS.run` ones (api_v2 sampling, 1500 steps,
    /// batched driver) with no early-stop limit.
    public init(sampling: SamplingParameters = SamplingParameters(), earlyStopNum: Int? = nil, maxNewTokens: Int? = nil,
                maxSteps: Int = 1500, variant: T2SDecodeVariant = .batched, recordStepLogits: Bool = false,
                suppressEOS: Bool = false) {
        self.sampling = sampling
        self.earlyStopNum = earlyStopNum
        self.maxNewTokens = maxNewTokens
        self.maxSteps = maxSteps
        self.variant = variant
        self.recordStepLogits = recordStepLogits
        self.suppressEOS = suppressEOS
    }

    /// Problems with the values, each naming the option; empty when valid.
    func validationErrors() -> [String] {
        var e: [String] = []
        if maxSteps <= 0 { e.append("maxSteps must be positive, got \(maxSteps)") }
        if let n = earlyStopNum, n < 0 { e.append("earlyStopNum must be ≥ 0 or nil, got \(n)") }
        if let n = maxNewTokens, n < 1 { e.append("maxNewTokens must be ≥ 1 or nil, got \(n)") }
        if sampling.topK < 1 { e.append("top_k must be ≥ 1, got \(sampling.topK)") }
        return e
    }

    /// Whether a forced stop (limit, not EOS) keeps every generated token of a sequence: the
    /// streaming driver does, and so does reference-free decoding (the official batched driver
    /// falls back to the naive one, which returns idx 0, and `TTS.run`'s `y[-0:]` keeps all).
    func forcedStopKeepsAll(hasPrompt: Bool) -> Bool { !hasPrompt || variant == .streaming }

    /// The generated-token count after which ``maxNewTokens`` stops a sequence (nil = never):
    /// `maxNewTokens` when the window keeps every token, one more when it drops one.
    func tokenCapStop(hasPrompt: Bool) -> Int? {
        maxNewTokens.map { forcedStopKeepsAll(hasPrompt: hasPrompt) ? $0 : $0 + 1 }
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

/// Time spent in one ``T2SDecodeSession``.
public struct T2STimings: Sendable, Equatable {
    /// The prompt pass (`process_prompt`) over every item, including text embedding.
    public var prefill: Duration = .zero
    /// Inside ``T2SDecodeSession/step(rng:)``: logits, sampling and the KV-cached forward passes.
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

/// One GPT decode of a batch of sequences, step by step, as `infer_panel_batch_infer`: creating it
/// runs the prompt pass; every ``step(rng:)`` feeds the tokens sampled by the previous step through
/// the KV-cached layers (none on the first step), computes the next logits and samples one token
/// per active sequence; finished sequences leave the batch; ``finish()`` returns the results.
///
/// The official driver left-pads the text of shorter items and masks the padded key columns;
/// masked keys get exactly zero weight, so each item here is prefilled at its own length (no
/// padding) with identical results. Items may carry different prompts (the official driver shares
/// one). One random number generator draws for the active items in order each step.
///
/// Owns its KV caches and buffers (DESIGN habit 4): used by one thread at a time, never shared
/// between requests. A step allocates nothing (unless ``T2SDecodeOptions/recordStepLogits``) and
/// sorts nothing: top-k and top-p select only the tokens they keep (see ``TokenSampler``).
///
/// ```swift
/// let session = try model.startDecoding(inputs, options: options)
/// while try session.step(rng: &rng) {
///     // the tokens so far: session.generatedTokens(item: 0)
/// }
/// let results = try session.finish()
/// ```
public final class T2SDecodeSession {
    /// The options it decodes with.
    public let options: T2SDecodeOptions
    /// Prompt-pass and step-loop time so far.
    public private(set) var timings = T2STimings()

    private let model: Text2SemanticDecoder
    private var sequences: [Sequence]
    /// Items still decoding, in input order, and their caches (row `r` of the step belongs to both).
    private var active: [Int]
    private var activeCaches: [T2SSequenceCache]
    private var results: [T2SResult?]
    private var recorded: [[[Float]]]
    private let scratch: T2SDecodeScratch
    /// One logit row per input.
    private var logits: [Float]
    private var sampler: TokenSampler
    /// The official `idx` of the next step.
    private var nextStep = 0
    private let clock = ContinuousClock()

    private struct Sequence {
        let cache: T2SSequenceCache
        let promptCount: Int
        /// Prompt then generated tokens (capacity reserved for the whole decode).
        var tokens: [Int]
        /// Generated-token count after which ``T2SDecodeOptions/maxNewTokens`` stops it.
        let tokenCapStop: Int?
    }

    /// Validates the inputs and runs the prompt pass (`process_prompt`) of every item.
    /// - Throws: ``T2SError/invalidInput(_:)`` naming the bad item or option.
    public init(model: Text2SemanticDecoder, inputs: [T2SInput], options: T2SDecodeOptions) throws {
        guard !inputs.isEmpty else { throw T2SError.invalidInput("empty batch") }
        if let problem = options.validationErrors().first { throw T2SError.invalidInput(problem) }
        for (i, input) in inputs.enumerated() { try model.validate(input, item: i) }
        self.model = model
        self.options = options
        let c = model.config, d = c.hiddenDim
        let prefillStart = clock.now
        var sequences: [Sequence] = []
        var hidden = [Float](repeating: 0, count: inputs.count * d)
        for (i, input) in inputs.enumerated() {
            let hasPrompt = !input.promptTokens.isEmpty
            let capStop = options.tokenCapStop(hasPrompt: hasPrompt)
            // Steps this item can run: to the step cap, the early-stop limit or its token cap.
            let stepLimit = min(options.maxSteps, (options.earlyStopNum ?? options.maxSteps) + 1, capStop ?? options.maxSteps)
            let x = model.textRows(phoneIDs: input.phoneIDs, bert: input.bert)
            let y = model.audioRows(input.promptTokens, startPosition: 0)
            var xy = Tensor(shape: [x.shape[0] + y.shape[0], d], scalars: x.scalars + y.scalars)
            let cache = T2SSequenceCache(layers: c.layers, dim: d, heads: c.heads, capacity: xy.shape[0] + stepLimit)
            for (l, block) in model.blocks.enumerated() {
                xy = block.prefill(xy, textLength: x.shape[0], cache: cache, layer: l)
            }
            let last = xy.shape[0] - 1
            for j in 0..<d { hidden[i * d + j] = xy.scalars[last * d + j] }
            var tokens = input.promptTokens
            tokens.reserveCapacity(input.promptTokens.count + stepLimit + 1)
            sequences.append(Sequence(cache: cache, promptCount: input.promptTokens.count, tokens: tokens, tokenCapStop: capStop))
        }
        self.sequences = sequences
        active = Array(inputs.indices)
        activeCaches = sequences.map(\.cache)
        results = [T2SResult?](repeating: nil, count: inputs.count)
        recorded = [[[Float]]](repeating: [], count: inputs.count)
        scratch = T2SDecodeScratch(rows: inputs.count, dim: d, ffnDim: c.ffnDim, heads: c.heads,
                                   scoreStride: sequences.map { $0.cache.scoreStride }.max() ?? 0)
        scratch.x.update(from: hidden, count: hidden.count)
        logits = [Float](repeating: 0, count: inputs.count * c.vocabSize)
        sampler = TokenSampler(parameters: options.sampling, vocabularySize: c.vocabSize)
        timings.prefill = clock.now - prefillStart
    }

    /// Whether every sequence has stopped.
    public var isFinished: Bool { active.isEmpty }

    /// The tokens `item` has generated so far (prompt excluded; EOS included once sampled).
    /// - Precondition: `item` is an index of the inputs.
    public func generatedTokens(item: Int) -> ArraySlice<Int> {
        let s = sequences[item]
        return s.tokens[s.promptCount...]
    }

    /// Runs one decoding step: the previous step's tokens through the layers (from the second step
    /// on), then for every active sequence the logits, the sampled token and the stop rules.
    /// - Returns: whether any sequence is still decoding (false once all stopped, and for every
    ///   call after that, which does nothing).
    /// - Throws: `CancellationError` when the surrounding task is cancelled (checked first).
    @discardableResult
    public func step<R: RandomNumberGenerator>(rng: inout R) throws -> Bool {
        guard !active.isEmpty else { return false }
        try Task.checkCancellation()
        let start = clock.now
        defer { timings.decode += clock.now - start }
        let c = model.config, d = c.hiddenDim, v = c.vocabSize, eos = c.eos
        let idx = nextStep
        if idx > 0 {
            // Next input: audio_emb(last token) + alpha·PE[prompt length + idx − 1].
            for (row, item) in active.enumerated() {
                let s = sequences[item]
                model.writeAudioRow(s.tokens[s.tokens.count - 1], position: s.promptCount + idx - 1, into: scratch.x + row * d)
            }
            for block in model.blocks.indices {
                model.blocks[block].decodeStep(scratch, caches: activeCaches, layer: block)
            }
            for cache in activeCaches { cache.length += 1 }
        }
        let rows = active.count
        let width = idx < T2SDecodeOptions.stepsWithoutEOS || options.suppressEOS ? v - 1 : v
        let generated = idx + 1
        let early = options.earlyStopNum.map { generated > $0 } ?? false
        let lastStep = idx == options.maxSteps - 1
        logits.withUnsafeMutableBufferPointer { lp in
            guard let l0 = lp.baseAddress else { return }
            model.predictLayer.multiply(scratch.x, rows: rows, into: l0)  // [B, V]
            for (b, item) in active.enumerated() {
                let raw = UnsafeMutableBufferPointer(start: l0 + b * v, count: v)
                if options.recordStepLogits { recorded[item].append(Array(raw)) }
                let row = UnsafeMutableBufferPointer(rebasing: raw[0..<width])
                let pick = sequences[item].tokens.withUnsafeBufferPointer { previous in
                    sampler.sample(row, previousTokens: previous, rng: &rng)
                }
                sequences[item].tokens.append(pick.token)
                let s = sequences[item]
                let capped = s.tokenCapStop.map { generated >= $0 } ?? false
                if pick.token == eos || pick.greedy == eos {
                    results[item] = T2SResult(tokens: Array(s.tokens[s.promptCount..<(s.tokens.count - 1)]),
                                              stopReason: .eos, steps: idx, stepLogits: [])
                } else if early || capped || lastStep {
                    results[item] = T2SResult(tokens: forcedStopWindow(s), stopReason: early || capped ? .earlyStop : .maxSteps,
                                              steps: idx, stepLogits: [])
                }
            }
        }
        // Stopped sequences leave the batch (in place: the arrays keep their storage).
        var kept = 0
        for r in 0..<rows where results[active[r]] == nil {
            active[kept] = active[r]
            activeCaches[kept] = activeCaches[r]
            kept += 1
        }
        active.removeLast(rows - kept)
        activeCaches.removeLast(rows - kept)
        timings.steps = generated
        nextStep += 1
        return !active.isEmpty
    }

    /// The result window of a sequence stopped by a limit (see ``T2SDecodeVariant``).
    private func forcedStopWindow(_ s: Sequence) -> [Int] {
        let gen = s.tokens[s.promptCount...]
        if options.forcedStopKeepsAll(hasPrompt: s.promptCount > 0) { return Array(gen) }
        return options.variant == .naive ? Array(gen.dropFirst()) : Array(gen.dropLast())
    }

    /// The results, one per input in input order, once every sequence has stopped.
    /// - Throws: ``T2SError/invalidInput(_:)`` when called before the last step.
    public func finish() throws -> [T2SResult] {
        if T2SLog.logger.logLevel <= .debug {
            for (i, r) in results.enumerated() {
                if let r {
                    T2SLog.logger.debug("T2S decoded item \(i): \(r.tokens.count) tokens, stop \(r.stopReason.rawValue) at step \(r.steps)")
                }
            }
        }
        return try results.enumerated().map { i, r in
            guard var r else { throw T2SError.invalidInput("item \(i) is still decoding: finish() comes after the last step") }
            r.stepLogits = recorded[i]
            return r
        }
    }
}

extension Text2SemanticDecoder {
    /// Starts decoding `inputs` together: validates them and runs the prompt pass. See
    /// ``T2SDecodeSession``.
    public func startDecoding(_ inputs: [T2SInput], options: T2SDecodeOptions) throws -> T2SDecodeSession {
        try T2SDecodeSession(model: self, inputs: inputs, options: options)
    }

    /// Decodes `inputs` to the end: a ``T2SDecodeSession`` stepped until every sequence stopped.
    /// - Returns: one result per input, in input order.
    /// - Throws: ``T2SError/invalidInput(_:)`` naming the bad item; `CancellationError` when the
    ///   surrounding task is cancelled (checked every step).
    public func decode<R: RandomNumberGenerator>(batch inputs: [T2SInput], options: T2SDecodeOptions,
                                                 rng: inout R) throws -> [T2SResult] {
        let session = try startDecoding(inputs, options: options)
        while try session.step(rng: &rng) {}
        return try session.finish()
    }

    /// ``decode(batch:options:rng:)`` of one sequence.
    public func decode<R: RandomNumberGenerator>(_ input: T2SInput, options: T2SDecodeOptions,
                                                 rng: inout R) throws -> T2SResult {
        guard let r = try decode(batch: [input], options: options, rng: &rng).first else {
            throw T2SError.invalidInput("empty batch")
        }
        return r
    }
}
