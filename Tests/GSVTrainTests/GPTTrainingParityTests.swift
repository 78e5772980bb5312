import Foundation
import GSVModels
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVTrain

// One official GPT (s1) training step and four more on the same batch (fixtures v2/train/gpt,
// README §2): forward (input, mask, logits, loss, top-3 accuracy), gradients, ScaledAdam state and
// parameters after steps 1, 3, 5; and the DPO forward (§2.3). Every expected value, shape and
// draw comes from the fixture files.

struct GPTFixture {
    let config: T2SConfig
    let params: ParameterSet
    let batch: T2SBatch
    let step: SafeTensorsFile
    let stepInfo: [String: Any]

    static func load() throws -> GPTFixture {
        let archive = try WeightArchive.open(TrainFixtures.path("gpt/gpt_pretrained_tiny.ckpt"))
        guard let cfg = archive.config else { throw TrainFixtures.FixtureError.malformed("ckpt config") }
        let config = try T2SConfig(checkpointConfig: cfg)
        // The inference loader checks every key and shape of the file (strict).
        _ = try Text2SemanticDecoder(archive: archive)
        let params = try ParameterSet(archive: archive)
        let b = try TrainFixtures.tensors("gpt/gpt_batch.safetensors")
        let (bsz, tx) = (try b.shape("phoneme_ids")[0], try b.shape("phoneme_ids")[1])
        let ty = try b.shape("semantic_ids")[1]
        let ph = try b.ints("phoneme_ids"), se = try b.ints("semantic_ids")
        let batch = T2SBatch(phonemeIDs: (0..<bsz).map { Array(ph[($0 * tx)..<(($0 + 1) * tx)]) },
                             phonemeLengths: try b.ints("phoneme_ids_len"),
                             semanticIDs: (0..<bsz).map { Array(se[($0 * ty)..<(($0 + 1) * ty)]) },
                             semanticLengths: try b.ints("semantic_ids_len"), bert: try b.float("bert_feature"))
        return GPTFixture(config: config, params: params, batch: batch,
                          step: try TrainFixtures.tensors("gpt/gpt_step.safetensors"),
                          stepInfo: try TrainFixtures.json("gpt/gpt_step.json"))
    }
}

@Suite("GPT training parity", .serialized)
struct GPTTrainingParityTests {
    @Test func forwardStepsAndOptimizer() throws {
        let fx = try GPTFixture.load()
        let model = T2STrainingModel(config: fx.config)
        let noise = noiseRanges(fx.stepInfo)
        var params = fx.params
        var optimizer = ScaledAdam(count: params.count)
        let steps = (fx.stepInfo["steps"] as? [[String: Any]])?.count ?? 0
        #expect(steps >= 1, "fixture lists no steps")
        for k in 1...max(1, steps) {
            let tape = Tape()
            let scope = ParameterScope(params, tape: tape).scoped("model")
            let (loss, f) = try model.loss(fx.batch, parameters: scope)
            let expectedLoss = try fx.step.float("loss_step\(k)").scalars[0]
            let lossRel = abs(Double(loss.value.scalars[0] - expectedLoss)) / abs(Double(expectedLoss))
            print("GPT step \(k): loss \(loss.value.scalars[0]) vs \(expectedLoss) (rel \(lossRel))")
            #expect(lossRel <= 1e-4, "step \(k) loss \(loss.value.scalars[0]) vs \(expectedLoss)")
            let acc = model.topKAccuracy(f)
            let expectedAcc = Double(try fx.step.float("top3_acc_step\(k)").scalars[0])
            #expect(abs(acc - expectedAcc) < 1e-6, "step \(k) top-3 accuracy \(acc) vs \(expectedAcc)")
            if k == 1 {
                let xy = Comparison(f.input.scalars, try fx.step.float("xy_pos_step1").scalars)
                #expect(xy.maxRel <= 1e-5, "xy_pos \(xy)")
                let logits = Comparison(f.logits.value.scalars, try fx.step.float("logits_btv_step1").scalars)
                print("GPT logits \(logits)")
                #expect(logits.cosine >= 0.99999 && logits.maxRel <= 1e-4, "logits \(logits)")
                #expect(f.targets == (try fx.step.ints("targets")), "targets differ")
                let masked = try fx.step.float("xy_attn_mask_step1_is_masked").scalars.map { UInt8($0) }
                #expect(f.mask.flatMap { $0 } == masked, "attention mask differs")
            }
            var grads = GradientBuffer(count: params.count)
            tape.backward(from: loss) { grads.add($0, $1) }
            if k == 1 {
                for (i, name) in params.names.enumerated() {
                    let ref = try fx.step.float("grad.\(name)").scalars
                    let ours = grads.values[i]?.scalars ?? [Float](repeating: 0, count: ref.count)
                    let skip = noise[name]
                    let c = Comparison(ours, ref) { skip?.contains($0) != true }
                    #expect(c.cosine >= 0.9999, "grad \(name): \(c)")
                    #expect(c.maxRel <= 1e-3, "grad \(name): \(c)")
                }
            }
            let lr = gptLearningRate(optimizerStep: k)
            #expect(abs(lr - Double(try fx.step.float("lr_used_step\(k)").scalars[0])) < 1e-9, "learning rate of step \(k)")
            // param_rms is the RMS of a parameter before the step; |rms(a) − rms(b)| ≤ max|a − b|, so
            // it inherits the parameters' tolerance (1e-4 of the tensor's largest value, below) plus
            // its own fp32 rounding.
            let largestBefore = params.values.map { $0.scalars.reduce(Float(0)) { max($0, abs($1)) } }
            optimizer.step(&params, grads: grads, lr: lr)
            // param_rms of one-element parameters is never read by the update (the official state
            // holds one only because equal-shaped scalars are stacked), so only tensors are compared.
            for (i, name) in params.names.enumerated() where params.values[i].count > 1 {
                if let rms = fx.step.tensors["opt_after\(k).param_rms.\(name)"] {
                    let r = try rms.floatTensor().scalars[0]
                    let ours = optimizer.paramRMS[i] ?? -1
                    #expect(abs(ours - r) <= 1e-4 * largestBefore[i] + 1e-6 * abs(r), "step \(k) param_rms \(name): \(ours) vs \(r)")
                }
            }
            if fx.step.tensors.keys.contains(where: { $0.hasPrefix("param_after\(k).") }) {
                var worst = 0.0, worstName = "", flips = 0, total = 0
                for (i, name) in params.names.enumerated() {
                    let ref = try fx.step.float("param_after\(k).\(name)").scalars
                    let skip = noise[name]
                    let c = Comparison(params.values[i].scalars, ref) { skip?.contains($0) != true }
                    for j in 0..<ref.count where skip?.contains(j) != true {
                        total += 1
                        if abs(Double(params.values[i].scalars[j] - ref[j])) > 1e-4 * max(1e-3, c.maxRef) { flips += 1 }
                    }
                    if c.maxRel > worst { worst = c.maxRel; worstName = name }
                }
                print("GPT params after step \(k): worst rel \(worst) (\(worstName)), \(flips)/\(total) elements beyond 1e-4")
                #expect(worst <= 1e-4, "params after step \(k): worst \(worst) in \(worstName)")
            }
        }
    }

    @Test func preferenceLoss() throws {
        let fx = try GPTFixture.load()
        let dpo = try TrainFixtures.tensors("gpt/gpt_dpo.safetensors")
        let info = try TrainFixtures.json("gpt/gpt_dpo.json")
        let calls = (info["randint_calls"] as? [[String: Any]]) ?? []
        var draws = RecordedRejectionDraws(calls.flatMap { ($0["returned"] as? [Int]) ?? [] })
        let model = T2STrainingModel(config: fx.config)
        let tape = Tape()
        let r = try model.preferenceLoss(fx.batch, draws: &draws, parameters: ParameterScope(fx.params, tape: tape).scoped("model"))
        #expect(r.rejectedLengths == (try dpo.ints("reject_y_lens")))
        let refRows = try dpo.ints("reject_y"), width = try dpo.shape("reject_y")[1]
        #expect(r.rejectedIDs.flatMap { $0 } == refRows && r.rejectedIDs.first?.count == width, "rejected sequences differ")
        for (name, ours) in [("loss_ce", r.crossEntropy.value.scalars[0]), ("loss_dpo", r.preference.value.scalars[0]),
                             ("loss_total", r.total.value.scalars[0])] {
            let ref = try dpo.float(name).scalars[0]
            print("GPT DPO \(name): \(ours) vs \(ref)")
            #expect(abs(Double(ours - ref)) <= 1e-4 * abs(Double(ref)) + 1e-6, "\(name) \(ours) vs \(ref)")
        }
        let chosen = Comparison(r.chosenLogProbabilities, try dpo.float("logps_chosen").scalars)
        let rejected = Comparison(r.rejectedLogProbabilities, try dpo.float("logps_rejected").scalars)
        #expect(chosen.maxRel <= 1e-4 && rejected.maxRel <= 1e-4, "log-probabilities \(chosen) / \(rejected)")
        var grads = GradientBuffer(count: fx.params.count)
        tape.backward(from: r.total) { grads.add($0, $1) }
        let noise = noiseRanges(fx.stepInfo)
        for (i, name) in fx.params.names.enumerated() {
            let ref = try dpo.float("grad.\(name)").scalars
            let skip = noise[name]
            let c = Comparison(grads.values[i]?.scalars ?? [Float](repeating: 0, count: ref.count), ref) { skip?.contains($0) != true }
            #expect(c.cosine >= 0.9999, "DPO grad \(name): \(c)")
        }
    }
}
