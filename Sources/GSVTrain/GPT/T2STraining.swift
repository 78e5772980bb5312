// Follows GPT_SoVITS/AR/models/t2s_model.py: Text2SemanticDecoder.forward_old (teacher-forced
// training forward), make_input_data / forward (the DPO variant), pad_y_eos; AR/models/utils.py:
// make_pad_mask, make_pad_mask_left, make_reject_y, get_batch_logps, dpo_loss; and
// AR/modules/transformer.py: TransformerEncoderLayer (post-norm, ReLU FFN) with
// AR/modules/activation.py: MultiheadAttention (packed q|k|v projection, float −∞ mask).
// Dropout is not applied (see the README's training notes).

import Foundation
import GSVModels
import GSVNN
import GSVTensor
import GSVWeights

/// One collated GPT training batch (`Text2SemanticDataset.collate`).
public struct T2SBatch: Sendable {
    /// Phone ids, right-padded with 0 to the longest item: `[B][Tx]`.
    public var phonemeIDs: [[Int]]
    /// Phones per item.
    public var phonemeLengths: [Int]
    /// Semantic ids, right-padded with 1024 to the longest item: `[B][T]`.
    public var semanticIDs: [[Int]]
    /// Semantic tokens per item.
    public var semanticLengths: [Int]
    /// BERT features `[B, 1024, Tx]`, zero-padded on the right.
    public var bert: Tensor

    /// A batch from its collated parts.
    public init(phonemeIDs: [[Int]], phonemeLengths: [Int], semanticIDs: [[Int]], semanticLengths: [Int], bert: Tensor) {
        self.phonemeIDs = phonemeIDs
        self.phonemeLengths = phonemeLengths
        self.semanticIDs = semanticIDs
        self.semanticLengths = semanticLengths
        self.bert = bert
    }

    /// Items.
    public var count: Int { phonemeIDs.count }
    /// Padded phone length.
    public var textLength: Int { phonemeIDs.first?.count ?? 0 }
    /// Padded semantic length.
    public var semanticLength: Int { semanticIDs.first?.count ?? 0 }

    /// Checks the batch against a model configuration.
    /// - Throws: ``TrainingError/invalidInput(_:)`` naming the first inconsistency.
    public func validate(_ c: T2SConfig) throws {
        let b = count, tx = textLength, ty = semanticLength
        guard b > 0, tx > 0, ty > 0 else { throw TrainingError.invalidInput("empty GPT batch") }
        guard phonemeLengths.count == b, semanticIDs.count == b, semanticLengths.count == b else {
            throw TrainingError.invalidInput("GPT batch parts disagree on the item count")
        }
        guard phonemeIDs.allSatisfy({ $0.count == tx }), semanticIDs.allSatisfy({ $0.count == ty }) else {
            throw TrainingError.invalidInput("GPT batch rows are not padded to one length")
        }
        guard phonemeLengths.max() == tx, semanticLengths.max() == ty,
              phonemeLengths.allSatisfy({ $0 > 0 }), semanticLengths.allSatisfy({ $0 > 0 }) else {
            throw TrainingError.invalidInput("GPT batch lengths \(phonemeLengths)/\(semanticLengths) do not match the padding \(tx)/\(ty)")
        }
        guard bert.shape == [b, c.bertDim, tx] else {
            throw TrainingError.invalidInput("BERT features \(bert.shape), expected [\(b), \(c.bertDim), \(tx)]")
        }
        for row in phonemeIDs { if let bad = row.first(where: { $0 < 0 || $0 >= c.phonemeVocabSize }) {
            throw TrainingError.invalidInput("phone id \(bad) outside 0..<\(c.phonemeVocabSize)")
        } }
        for row in semanticIDs { if let bad = row.first(where: { $0 < 0 || $0 > c.eos }) {
            throw TrainingError.invalidInput("semantic id \(bad) outside 0...\(c.eos)")
        } }
    }
}

/// The result of one GPT training forward.
public struct T2SForward {
    /// Logits `[B·(T+1), V]` (rows item-major: the last text slot, then every audio position).
    public let logits: Var
    /// The target of each row: the real tokens, then EOS, and EOS at every padded position.
    public let targets: [Int]
    /// `xy_pos` (the transformer input) `[B, S, E]`.
    public let input: Tensor
    /// The blocked-score flags per item, `[S·S]` (1 = −∞).
    public let mask: [[UInt8]]
}

/// The DPO results of one forward (`Text2SemanticDecoder.forward`).
public struct T2SPreferenceLoss {
    /// Summed cross-entropy of the chosen sequence.
    public let crossEntropy: Var
    /// `mean(−logsigmoid(β·(logp_chosen − logp_rejected)))`, reference-free.
    public let preference: Var
    /// `crossEntropy + preference`.
    public let total: Var
    /// Per-item summed log-probabilities of the chosen and rejected sequences.
    public let chosenLogProbabilities: [Float], rejectedLogProbabilities: [Float]
    /// The chosen forward (for the accuracy).
    public let chosen: T2SForward
    /// The rejected semantic rows (padded with 0) and their lengths.
    public let rejectedIDs: [[Int]], rejectedLengths: [Int]
}

/// The integer draws of `make_reject_y` (`torch.randint`), replaceable for replaying recorded ones.
public protocol RejectionDraws {
    /// A value uniform in `0..<upperBound`.
    mutating func next(below upperBound: Int) -> Int
}

/// Draws from a seeded generator.
public struct SeededRejectionDraws: RejectionDraws {
    var rng: SeededRNG
    /// A generator with `seed`.
    public init(seed: UInt64) { rng = SeededRNG(seed: seed) }
    public mutating func next(below upperBound: Int) -> Int { Int(rng.next() % UInt64(max(1, upperBound))) }
}

/// Replays a recorded sequence of draws.
public struct RecordedRejectionDraws: RejectionDraws {
    var values: [Int]
    var position = 0
    /// The draws, in call order.
    public init(_ values: [Int]) { self.values = values }
    public mutating func next(below upperBound: Int) -> Int {
        precondition(position < values.count, "recorded draws exhausted")
        defer { position += 1 }
        return values[position]
    }
}

/// The differentiable training forward of the text-to-semantic GPT, reading its parameters by the
/// official keys (`model.…`) from a ``ParameterScope``; configuration from ``GSVModels/T2SConfig``.
public struct T2STrainingModel: Sendable {
    /// Hyper-parameters (the checkpoint's own `config["model"]`).
    public let config: T2SConfig

    /// A model for `config`.
    public init(config: T2SConfig) { self.config = config }

    /// The official `pad_y_eos` targets and AR input: `targets = [codes, 0] + EOS·[mask, 1]`,
    /// `input = targets[:, :-1]`.
    public func targets(_ batch: T2SBatch) -> (input: [[Int]], targets: [[Int]]) {
        let ty = batch.semanticLength, eos = config.eos
        var inputs: [[Int]] = [], targets: [[Int]] = []
        for (row, len) in zip(batch.semanticIDs, batch.semanticLengths) {
            var t = [Int](repeating: eos, count: ty + 1)
            for j in 0..<min(len, ty) { t[j] = row[j] }
            targets.append(t)
            inputs.append(Array(t[0..<ty]))
        }
        return (inputs, targets)
    }

    /// The attention mask of `make_input_data`/`forward_old`: text rows see text, audio rows see
    /// text and earlier audio, OR-ed with the text padding mask built from the **left**
    /// (`make_pad_mask_left`) and the audio padding mask from the right.
    public func attentionMask(textLengths: [Int], textLength tx: Int, semanticLengths: [Int], semanticLength ty: Int) -> [[UInt8]] {
        let s = tx + ty
        return zip(textLengths, semanticLengths).map { xl, yl in
            var m = [UInt8](repeating: 0, count: s * s)
            for i in 0..<s {
                for j in 0..<s {
                    var blocked: Bool
                    if i < tx { blocked = j >= tx } else { blocked = j >= tx && (j - tx) > (i - tx) }
                    if j < tx { blocked = blocked || j < tx - xl } else { blocked = blocked || (j - tx) >= yl }
                    if blocked { m[i * s + j] = 1 }
                }
            }
            return m
        }
    }

    /// `forward_old` up to the logits.
    /// - Parameter p: the parameters, scoped at `model`.
    public func forward(_ batch: T2SBatch, semantic: [[Int]]? = nil, semanticLengths: [Int]? = nil,
                        parameters p: ParameterScope) throws -> T2SForward {
        let c = config
        var b = batch
        if let semantic, let semanticLengths {
            b.semanticIDs = semantic
            b.semanticLengths = semanticLengths
        }
        try b.validate(c)
        let tape = p.tape
        let (bsz, tx, ty, e) = (b.count, b.textLength, b.semanticLength, c.embeddingDim)
        let s = tx + ty
        // Text side.
        let textTable = try p("ar_text_embedding.word_embeddings.weight", shape: [c.phonemeVocabSize, e])
        let textEmb = tape.reshape(tape.embedding(textTable, ids: b.phonemeIDs.flatMap { $0 }), [bsz, tx, e])
        let bertRows = Var.constant(b.bert.transposed(1, 2))
        let bert = tape.linear(bertRows, weight: try p("bert_proj.weight", shape: [e, c.bertDim]),
                               bias: try p("bert_proj.bias", shape: [e]))
        let pe = SinePositionalEmbedding(dim: e, alpha: 1)
        let textPE = Var.constant(Tensor(shape: [1, tx, e], scalars: pe.table(startPosition: 0, count: tx)))
        let x = tape.add(tape.add(textEmb, bert), tape.mul(try p("ar_text_position.alpha", shape: [1]), textPE))
        // Audio side.
        let (yInput, targets) = self.targets(b)
        let audioTable = try p("ar_audio_embedding.word_embeddings.weight", shape: [c.vocabSize, e])
        let yEmb = tape.reshape(tape.embedding(audioTable, ids: yInput.flatMap { $0 }), [bsz, ty, e])
        let audioPE = Var.constant(Tensor(shape: [1, ty, e], scalars: pe.table(startPosition: 0, count: ty)))
        let yPos = tape.add(yEmb, tape.mul(try p("ar_audio_position.alpha", shape: [1]), audioPE))
        var h = tape.concat([x, yPos], axis: 1)
        let input = h.value
        let mask = attentionMask(textLengths: b.phonemeLengths, textLength: tx, semanticLengths: b.semanticLengths, semanticLength: ty)
        let attnMask = AttentionMask(blocked: mask, fill: -.infinity)
        for i in 0..<c.layers {
            h = try layer(h, parameters: p.scoped("h.layers.\(i)"), mask: attnMask)
        }
        // Rows x_len−1 ..< S of every item.
        let rows = (0..<bsz).flatMap { item in (0...ty).map { item * s + tx - 1 + $0 } }
        let selected = tape.gatherRows(tape.reshape(h, [bsz * s, e]), rows)
        let logits = tape.linear(selected, weight: try p("ar_predict_layer.weight", shape: [c.vocabSize, c.hiddenDim]), bias: nil)
        return T2SForward(logits: logits, targets: targets.flatMap { $0 }, input: input, mask: mask)
    }

    /// One post-norm transformer layer: `x = LN1(x + MHA(x))`, `x = LN2(x + W2·relu(W1·x))`.
    func layer(_ x: Var, parameters p: ParameterScope, mask: AttentionMask) throws -> Var {
        let tape = p.tape
        let d = config.hiddenDim
        let qkv = tape.linear(x, weight: try p("self_attn.in_proj_weight", shape: [3 * d, d]),
                              bias: try p("self_attn.in_proj_bias", shape: [3 * d]))
        let q = tape.slice(qkv, axis: 2, 0..<d), k = tape.slice(qkv, axis: 2, d..<(2 * d)), v = tape.slice(qkv, axis: 2, (2 * d)..<(3 * d))
        let att = tape.attention(q: q, k: k, v: v, heads: config.heads, scale: 1 / Float(config.headDim).squareRoot(),
                                 layout: .rows, mask: mask)
        let proj = tape.linear(att, weight: try p("self_attn.out_proj.weight", shape: [d, d]),
                               bias: try p("self_attn.out_proj.bias", shape: [d]))
        let x1 = tape.layerNorm(tape.add(x, proj), weight: try p("norm1.weight", shape: [d]), bias: try p("norm1.bias", shape: [d]),
                                axis: -1, eps: config.layerNormEps)
        let f = config.ffnDim
        let hidden = tape.relu(tape.linear(x1, weight: try p("linear1.weight", shape: [f, d]), bias: try p("linear1.bias", shape: [f])))
        let ff = tape.linear(hidden, weight: try p("linear2.weight", shape: [d, f]), bias: try p("linear2.bias", shape: [d]))
        return tape.layerNorm(tape.add(x1, ff), weight: try p("norm2.weight", shape: [d]), bias: try p("norm2.bias", shape: [d]),
                              axis: -1, eps: config.layerNormEps)
    }

    /// `forward_old`: logits and the summed cross-entropy.
    public func loss(_ batch: T2SBatch, parameters p: ParameterScope) throws -> (loss: Var, forward: T2SForward) {
        let f = try forward(batch, parameters: p)
        return (p.tape.crossEntropySum(f.logits, targets: f.targets), f)
    }

    /// `make_reject_y`: per item, with a draw in 0..<2, duplicate (0) or delete (1) the span between
    /// two sorted draws in 0..<T (the **padded** row length); rows padded with 0 to the longest.
    public func rejectedSequences(_ batch: T2SBatch, draws: inout some RejectionDraws) -> (ids: [[Int]], lengths: [Int]) {
        var rows: [[Int]] = [], lengths: [Int] = []
        for y in batch.semanticIDs {
            let kind = draws.next(below: 2)
            let a = draws.next(below: y.count), bb = draws.next(below: y.count)
            let (lo, hi) = (min(a, bb), max(a, bb))
            let pre = Array(y[..<lo]), span = Array(y[lo..<hi]), post = Array(y[hi...])
            let row = kind == 0 ? pre + span + span + post : pre + post
            rows.append(row)
            lengths.append(row.count)
        }
        let longest = lengths.max() ?? 0
        return (rows.map { $0 + [Int](repeating: 0, count: longest - $0.count) }, lengths)
    }

    /// `forward` with DPO: cross-entropy of the chosen sequence plus
    /// `mean(−logsigmoid(β·(Σ logp_chosen − Σ logp_rejected)))` (β = 0.2, reference-free).
    public func preferenceLoss(_ batch: T2SBatch, draws: inout some RejectionDraws, beta: Float = 0.2,
                               parameters p: ParameterScope) throws -> T2SPreferenceLoss {
        let tape = p.tape
        let (rejected, rejectedLengths) = rejectedSequences(batch, draws: &draws)
        guard rejectedLengths.allSatisfy({ $0 > 0 }) else {
            throw TrainingError.invalidInput("a rejected DPO sequence is empty")
        }
        let chosen = try forward(batch, parameters: p)
        let ce = tape.crossEntropySum(chosen.logits, targets: chosen.targets)
        // Rejected rows keep their own values, padded positions re-masked by make_input_data.
        let reject = try forward(batch, semantic: rejected, semanticLengths: rejectedLengths, parameters: p)
        let bsz = batch.count
        let a = tape.sumRows(tape.reshape(tape.logProbabilities(chosen.logits, targets: chosen.targets), [bsz, -1]))
        let r = tape.sumRows(tape.reshape(tape.logProbabilities(reject.logits, targets: reject.targets), [bsz, -1]))
        let pref = tape.scale(tape.mean(tape.logSigmoid(tape.scale(tape.sub(a, r), beta))), -1)
        return T2SPreferenceLoss(crossEntropy: ce, preference: pref, total: tape.add(ce, pref),
                                 chosenLogProbabilities: a.value.scalars, rejectedLogProbabilities: r.value.scalars,
                                 chosen: chosen, rejectedIDs: rejected, rejectedLengths: rejectedLengths)
    }

    /// A model with this configuration's shapes and random weights (`model.…` keys), for benchmarks.
    public func randomParameters(seed: UInt64) throws -> ParameterSet {
        let factory = ParameterFactory(seed: seed)
        let batch = T2SBatch(phonemeIDs: [[0, 1]], phonemeLengths: [2], semanticIDs: [[0, 1]], semanticLengths: [2],
                             bert: Tensor.zeros([1, config.bertDim, 2]))
        _ = try forward(batch, parameters: ParameterScope(creatingWith: factory, tape: Tape()).scoped("model"))
        return factory.parameters
    }

    /// The `config` dict of a GPT checkpoint for this model (`model.*`, `data.max_sec`).
    public func checkpointConfig(maxSec: Double = 54) -> ConfigValue {
        let c = config
        return .object([
            "model": .object([
                "vocab_size": .int(c.vocabSize), "phoneme_vocab_size": .int(c.phonemeVocabSize),
                "embedding_dim": .int(c.embeddingDim), "hidden_dim": .int(c.hiddenDim), "head": .int(c.heads),
                "linear_units": .int(c.ffnDim), "n_layer": .int(c.layers), "dropout": .int(0), "EOS": .int(c.eos),
            ]),
            "data": .object(["max_sec": .double(maxSec), "pad_val": .int(c.eos)]),
        ])
    }

    /// torchmetrics `MulticlassAccuracy(top_k=3, average="micro", ignore_index=EOS)`: the share of
    /// non-EOS targets whose logit is among the row's three largest.
    public func topKAccuracy(_ f: T2SForward, k: Int = 3) -> Double {
        let v = config.vocabSize
        var hit = 0, total = 0
        f.logits.value.scalars.withUnsafeBufferPointer { lp in
            for (r, target) in f.targets.enumerated() where target != config.eos {
                total += 1
                let row = lp.baseAddress! + r * v
                let x = row[target]
                var above = 0
                for j in 0..<v where row[j] > x { above += 1 }
                if above < k { hit += 1 }
            }
        }
        return total == 0 ? 0 : Double(hit) / Double(total)
    }
}
