import Foundation
import GSVAudio
import GSVModels
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVTrain

// One official SoVITS (s2) iteration (fixtures v2/train/s2, README §3): the generator forward with
// the recorded posterior noise and slice draws, the frozen quantizer's codes, the discriminator
// loss, gradients and AdamW step, the generator losses against the updated discriminator, the
// generator gradients and AdamW step (four learning-rate groups); and the mel helpers (§4).
// Every expected value, width and draw comes from the fixture files.

struct S2Fixture {
    let config: SoVITSConfig
    let generator: ParameterSet
    let discriminator: ParameterSet
    let batch: SoVITSBatch
    let ssl: Tensor
    let forward: SafeTensorsFile
    let forwardInfo: [String: Any]
    let draws: SoVITSDraws
    let segmentFrames: Int
    let periods: [Int]
    /// The training hyper-parameters (`s2_config_used.json`).
    let hps: ConfigValue

    static func load() throws -> S2Fixture {
        let g = try ParameterSet(archive: try WeightArchive.open(TrainFixtures.path("s2/s2G_pretrained_tiny.pth")))
        let d = try ParameterSet(archive: try WeightArchive.open(TrainFixtures.path("s2/s2D_pretrained_tiny.pth")))
        let hpsData = try Data(contentsOf: URL(fileURLWithPath: TrainFixtures.path("s2/s2_config_used.json")))
        let hps = try JSONDecoder().decode(ConfigValue.self, from: hpsData)
        guard let emb = g["enc_p.text_embedding.weight"], let cPre = g["enc_p.mrte.c_pre.weight"],
              let style = g["ref_enc.spectral.0.fc.weight"] else { throw TrainFixtures.FixtureError.missing("generator widths") }
        var config = try SoVITSConfig(checkpointConfig: hps, version: .v2, symbolCount: emb.shape[0], validating: false)
        let info = try TrainFixtures.json("s2/s2_batch.json")
        let widths = info["tiny_widths"] as? [String: Any] ?? [:]
        config.mrteHidden = cPre.shape[0]
        config.styleHidden = style.shape[0]
        if let h = widths["mrte_heads"] as? Int { config.mrteHeads = h }
        if let h = widths["style_head"] as? Int { config.styleHeads = h }
        try config.validate()
        let b = try TrainFixtures.tensors("s2/s2_batch.safetensors")
        let (bsz, tt) = (try b.shape("text")[0], try b.shape("text")[1])
        let text = try b.ints("text")
        let wav = try b.float("wav")
        let batch = SoVITSBatch(codes: [], spec: try b.float("spec"), specLengths: try b.ints("spec_lengths"),
                                wav: wav.reshaped([bsz, wav.count / bsz]),
                                text: (0..<bsz).map { Array(text[($0 * tt)..<(($0 + 1) * tt)]) }, textLengths: try b.ints("text_lengths"))
        let f = try TrainFixtures.tensors("s2/s2_forward.safetensors")
        let hpsTrain = hps["train"], hpsData2 = hps["data"]
        let segment = (hpsTrain?["segment_size"]?.intValue ?? 20480) / (hpsData2?["hop_length"]?.intValue ?? 640)
        let discs = Set(d.names.compactMap { n -> Int? in
            let parts = n.split(separator: ".")
            return parts.count > 1 && parts[0] == "discriminators" ? Int(parts[1]) : nil
        }).count
        let periods = discs - 1 == DiscriminatorLayout.v2ProPeriods.count ? DiscriminatorLayout.v2ProPeriods : DiscriminatorLayout.v2Periods
        return S2Fixture(config: config, generator: g, discriminator: d, batch: batch, ssl: try b.float("ssl"), forward: f,
                         forwardInfo: try TrainFixtures.json("s2/s2_forward.json"),
                         draws: SoVITSDraws(noise: try f.float("noise_enc_q"), sliceUniform: try f.float("slice_u").scalars),
                         segmentFrames: segment, periods: Array(periods.prefix(discs - 1)), hps: hps)
    }
}

@Suite("SoVITS training parity", .serialized)
struct SoVITSTrainingParityTests {
    @Test func melHelpers() throws {
        let m = try TrainFixtures.tensors("mel/mel_helpers.safetensors")
        let info = try TrainFixtures.json("mel/mel_helpers.json")
        let p = info["params"] as? [String: Any] ?? [:]
        let nFFT = p["n_fft"] as? Int ?? 0, hop = p["hop"] as? Int ?? 0, win = p["win"] as? Int ?? 0
        let nMels = p["n_mels"] as? Int ?? 0, sr = p["sampling_rate"] as? Int ?? 0
        let spec = try Spectrogram(config: STFTConfig(nFFT: nFFT, hopSize: hop, winSize: win))
        let mel = try MelFilterbank(sampleRate: sr, nFFT: nFFT, nMels: nMels)
        let input = try m.float("input")
        let tape = Tape()
        let ours = try tape.logMelSpectrogram(.constant(input), spectrogram: spec, filterbank: mel)
        let c = Comparison(ours.value.scalars, try m.float("mel_spectrogram").scalars)
        print("mel_spectrogram_torch \(c)")
        #expect(ours.shape == (try m.shape("mel_spectrogram")) && c.maxAbs <= 1e-3, "mel spectrogram \(c)")
        let basis = Comparison(mel.weights, try m.float("mel_basis").scalars)
        #expect(basis.maxRel <= 1e-6, "mel basis \(basis)")
    }

    @Test func forwardMatchesOfficial() throws {
        let fx = try S2Fixture.load()
        let model = SoVITSTrainingModel(config: fx.config, segmentFrames: fx.segmentFrames)
        let q = try FrozenQuantizer(fx.generator)
        let (codes, quantized) = try q.quantized(fx.ssl)
        #expect(codes.flatMap { $0 } == (try fx.forward.ints("codes")), "quantizer codes differ")
        let tape = Tape()
        let f = try model.forward(fx.batch, quantized: quantized, draws: fx.draws,
                                  parameters: ParameterScope(fx.generator, tape: tape, frozen: SoVITSStepper.frozen))
        #expect(f.sliceStarts == (try fx.forward.ints("ids_slice")), "slice starts \(f.sliceStarts)")
        for (name, ours) in [("ge", f.ge.value), ("m_p", f.mP.value), ("logs_p", f.logsP.value), ("m_q", f.mQ.value),
                             ("logs_q", f.logsQ.value), ("z", f.z.value), ("z_p", f.zP.value), ("y_hat", f.audio.value)] {
            let ref = try fx.forward.float(name)
            let c = Comparison(ours.scalars, ref.scalars)
            print("s2 forward \(name): \(c)")
            #expect(ours.shape == ref.shape, "\(name) shape \(ours.shape) vs \(ref.shape)")
            #expect(c.cosine >= 0.99999 && c.maxRel <= 1e-4, "\(name): \(c)")
        }
    }

    @Test func iterationMatchesOfficial() throws {
        let fx = try S2Fixture.load()
        let model = SoVITSTrainingModel(config: fx.config, segmentFrames: fx.segmentFrames)
        let stepper = try SoVITSStepper(model: model, discriminator: MultiPeriodDiscriminator(periods: fx.periods))
        let (_, quantized) = try FrozenQuantizer(fx.generator).quantized(fx.ssl)
        var state = SoVITSTrainingState(generator: fx.generator, discriminator: fx.discriminator)
        let r = try stepper.step(fx.batch, quantized: quantized, draws: fx.draws, state: &state, epoch: 1, keepGradients: true)
        let losses: [(String, Float)] = [("loss_disc", r.lossDisc), ("loss_gen", r.lossGen), ("loss_fm", r.lossFM),
                                         ("loss_mel", r.lossMel), ("loss_kl", r.lossKL), ("loss_gen_all", r.lossGenAll)]
        for (name, ours) in losses {
            let ref = try fx.forward.float(name).scalars[0]
            print("s2 \(name): \(ours) vs \(ref)")
            #expect(abs(Double(ours - ref)) <= 1e-4 * abs(Double(ref)), "\(name) \(ours) vs \(ref)")
        }
        for (name, ours) in [("losses_disc_r", r.lossesDiscReal), ("losses_disc_g", r.lossesDiscGenerated), ("losses_gen", r.lossesGen)] {
            let c = Comparison(ours, try fx.forward.float(name).scalars)
            #expect(c.maxRel <= 1e-4, "\(name): \(c)")
        }
        for (name, ours) in [("y_mel", r.realMel), ("y_hat_mel", r.generatedMel)] {
            let c = Comparison(ours.scalars, try fx.forward.float(name).scalars)
            print("s2 \(name): \(c)")
            #expect(c.maxAbs <= 1e-3, "\(name): \(c)")
        }
        let noise = noiseRanges(fx.forwardInfo)
        // AdamW's first step moves an element by lr·s(g), s(g) = g/(|g|+eps) (bias-corrected moments
        // are g and g²), so the parameters after it carry the gradient difference through s: an
        // element whose gradient is within rounding of zero may step the other way (README §8).
        // Allowed per element: fp32 rounding of the update (1e-4 of the tensor's largest value) plus
        // lr·|s(ours) − s(official)|, with eps from the fixture's hps; any other difference fails.
        let eps = Double(fx.hps["train"]?["eps"]?.doubleValue ?? 1e-9)
        func sign(_ g: Float) -> Double { Double(g) / (abs(Double(g)) + eps) }
        let lrD = exponentialLearningRate(base: stepper.learningRate, gamma: stepper.decay, epoch: 1)
        for (label, file, set, grads, after) in [
            ("D", "s2/s2_D_grads_params.safetensors", fx.discriminator, r.gradientsD, state.discriminator),
            ("G", "s2/s2_G_grads_params.safetensors", fx.generator, r.gradientsG, state.generator),
        ] {
            let ref = try TrainFixtures.tensors(file)
            var worstCos = 1.0, worstCosName = "", worstParam = 0.0, worstParamName = "", turned = 0
            for (i, name) in set.names.enumerated() {
                guard let g = ref.tensors["grad.\(name)"] else { continue }
                let expected = try g.floatTensor().scalars
                let ours = grads?.values[i]?.scalars ?? [Float](repeating: 0, count: expected.count)
                if noise[name] == nil {
                    let c = Comparison(ours, expected)
                    if c.cosine < worstCos { worstCos = c.cosine; worstCosName = name }
                    #expect(c.cosine >= 0.9999, "\(label) grad \(name): \(c)")
                }
                if let p = ref.tensors["param_after.\(name)"], noise[name] == nil {
                    let refAfter = try p.floatTensor().scalars
                    let c = Comparison(after.values[i].scalars, refAfter)
                    if c.maxRel > worstParam { worstParam = c.maxRel; worstParamName = name }
                    let lr = label == "D" ? lrD : stepper.generatorLearningRate(name, epoch: 1)
                    var beyond: [Int] = []
                    for j in 0..<min(refAfter.count, after.values[i].count, ours.count, expected.count) {
                        let d = abs(Double(after.values[i].scalars[j]) - Double(refAfter[j]))
                        let moved = lr * abs(sign(ours[j]) - sign(expected[j]))
                        if moved > 1e-4 * c.maxRef { turned += 1 }
                        if d > 1e-4 * c.maxRef + moved { beyond.append(j) }
                    }
                    #expect(beyond.isEmpty && after.values[i].count == refAfter.count,
                            "\(label) param_after \(name): \(c); \(beyond.count) elements beyond the bound, first \(beyond.prefix(5))")
                }
            }
            print("s2 \(label): worst grad cosine \(worstCos) (\(worstCosName)), worst param rel \(worstParam) (\(worstParamName)), \(turned) elements whose step follows a gradient within rounding of zero")
        }
        for (name, ours) in [("grad_norm_d", r.gradNormD), ("grad_norm_g", r.gradNormG)] {
            let ref = Double(try fx.forward.float(name).scalars[0])
            #expect(abs(ours - ref) <= 1e-3 * ref, "\(name) \(ours) vs \(ref)")
        }
    }
}
