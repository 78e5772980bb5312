import Foundation
import GSVNN
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

/// ERes2NetV2 `forward3` (the v2Pro speaker model) against the official stage outputs and
/// embeddings of `v2pro/golden/reference.safetensors`.
///
/// Gates: the standard one (cosine ≥ 0.99999, max relative error ≤ 1e-3), widened to twice the
/// spread the official code itself shows under other settings — the fixture's `tolerances.json`
/// (1 vs 2 threads) and `SpeakerModelReruns/reruns.json` (the official model in float64 and in
/// float32 on another torch version, made by `make_reruns.py`). The random speaker model amplifies
/// rounding through layer3/layer4: the official model computed exactly (float64) is 5.1e-3 (main)
/// and 8.6e-3 (aux reference) from the stored embedding, 2–4× the thread spread alone, so no
/// implementation meets a gate built from that spread only.
@Suite(.serialized) struct SpeakerModelParityTests {
    static let modelPath = "v2pro/models/sv/pretrained_eres2netv2w24s4ep4.ckpt"
    static let golden = "v2pro/golden/reference.safetensors"

    /// Extra tolerances: the official code rerun in float64 and on another torch version.
    static let reruns = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("SpeakerModelReruns/reruns.json")

    /// The fixture model, loaded once per process (53 M parameters).
    static let model: Result<ERes2NetV2, any Error> = Result { try ERes2NetV2.load(path: Fixtures.url(modelPath).path) }

    static func check(_ ours: Tensor, _ golden: Tensor, _ name: String) throws {
        #expect(ours.shape == golden.shape, "\(name): shape \(ours.shape) vs \(golden.shape)")
        guard ours.shape == golden.shape else { return }
        let gate = try ParityGate.fixture("v2pro", file: "golden/reference.safetensors", tensor: name, reruns: [Self.reruns])
        let f = Parity.figures(ours.scalars, golden.scalars)
        print("SV parity: \(name) cosine \(f.cosine) max rel \(f.maxRel) (gate \(gate))")
        #expect(gate.accepts(f), "\(name): cosine \(f.cosine), max rel \(f.maxRel) outside \(gate)")
    }

    /// `[C, F, T]` averaged over time → `[C, F]`.
    static func timeMean(_ x: Tensor) -> Tensor {
        let (c, f, t) = (x.shape[0], x.shape[1], x.shape[2])
        return Tensor(shape: [c, f]) { i in
            var s: Float = 0
            for j in 0..<t { s += x.scalars[i * t + j] }
            return s / Float(t)
        }
    }

    /// `[C, F, T]` → its first `n` frames `[C, F, n]`.
    static func firstFrames(_ x: Tensor, _ n: Int) -> Tensor {
        let (c, f, t) = (x.shape[0], x.shape[1], x.shape[2])
        return Tensor(shape: [c, f, min(n, t)]) { i in
            let j = i % min(n, t), row = i / min(n, t)
            return x.scalars[row * t + j]
        }
    }

    @Test func checkpointLoadsWithTheOfficialShape() throws {
        let model = try Self.model.get()
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        let report = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: Fixtures.url("v2pro/models/verify_report.json")))
        #expect(archive.tensors.count == report.value(at: "sv.n_tensors")?.intValue)
        // The parameters (not the BatchNorm buffers) add up to the official count.
        let buffers = ["running_mean", "running_var", "num_batches_tracked"]
        let parameters = archive.tensors.filter { e in !buffers.contains { e.key.hasSuffix($0) } }.values.reduce(0) { $0 + $1.count }
        #expect(parameters == report.value(at: "sv.n_params")?.intValue)
        #expect(model.config.embeddingDim == 20480)
        // Folding merges each BatchNorm into its convolution; seg_1 is not kept.
        #expect(model.parameterCount > 40_000_000)
    }

    @Test func stagesAndEmbeddingMatchTheOfficialForward3() throws {
        let model = try Self.model.get()
        let file = try SafeTensorsFile(path: Fixtures.url(Self.golden).path)
        let start = Date()
        let trace = try model.forward3Trace(features: try file.tensor("sv_fbank"))
        print("SV forward3: \(String(format: "%.2f", Date().timeIntervalSince(start))) s for \(try file.tensor("sv_fbank").shape[0]) frames (debug build)")
        try Self.check(Self.timeMean(trace.bn1), try file.tensor("sv_stage_bn1_tmean"), "sv_stage_bn1_tmean")
        try Self.check(Self.firstFrames(trace.bn1, 8), try file.tensor("sv_stage_bn1_t0_8"), "sv_stage_bn1_t0_8")
        try Self.check(Self.firstFrames(trace.layer1, 8), try file.tensor("sv_stage_layer1_t0_8"), "sv_stage_layer1_t0_8")
        for (stage, name) in [(trace.layer1, "layer1"), (trace.layer2, "layer2"), (trace.layer3, "layer3"),
                              (trace.layer4, "layer4"), (trace.layer3Downsampled, "layer3_ds"), (trace.fuse34, "fuse34")] {
            try Self.check(Self.timeMean(stage), try file.tensor("sv_stage_\(name)_tmean"), "sv_stage_\(name)_tmean")
        }
        try Self.check(trace.embedding, try file.tensor("sv_embedding"), "sv_embedding")
        // The plain embedding is the trace's.
        #expect(try model.embedding(features: try file.tensor("sv_fbank")) == trace.embedding)
    }

    @Test func auxiliaryReferenceEmbedding() throws {
        let model = try Self.model.get()
        let file = try SafeTensorsFile(path: Fixtures.url(Self.golden).path)
        try Self.check(try model.embedding(features: try file.tensor("aux_sv_fbank")), try file.tensor("aux_sv_embedding"), "aux_sv_embedding")
    }

    @Test func wrongShapesMissingAndUnknownTensorsAreNamed() throws {
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        var tensors = archive.tensors
        // A tensor of another shape under the name the network reads.
        tensors["layer2.1.convs.2.weight"] = tensors["layer3.1.convs.2.weight"]
        #expect(throws: WeightsError.shapeMismatch(key: "layer2.1.convs.2.weight", expected: [48, 48, 3, 3], actual: [96, 96, 3, 3])) {
            try ERes2NetV2(reader: WeightReader(tensors: tensors))
        }
        tensors = archive.tensors
        tensors["layer1.0.bn1.running_var"] = nil
        #expect(throws: WeightsError.missingKey("layer1.0.bn1.running_var")) { try ERes2NetV2(reader: WeightReader(tensors: tensors)) }
        tensors = archive.tensors
        tensors["seg_2.weight"] = tensors["seg_1.bias"]
        #expect(throws: WeightsError.unexpectedKeys(["seg_2.weight"])) { try ERes2NetV2(reader: WeightReader(tensors: tensors)) }
        // The unused head is still checked for shape (first, before anything is read).
        tensors = archive.tensors
        tensors["seg_1.bias"] = tensors["bn1.weight"]
        #expect(throws: WeightsError.shapeMismatch(key: "seg_1.bias", expected: [192], actual: [64])) {
            try ERes2NetV2(reader: WeightReader(tensors: tensors))
        }
    }

    @Test func otherModelFilesAreRefusedByKind() throws {
        let sovits = Fixtures.url("v2pro/models/sovits_v2Pro_tiny.pth").path
        #expect(throws: SpeakerModelError.notASpeakerModel(path: sovits, kind: ModelKind.sovits.rawValue)) {
            try ERes2NetV2.load(path: sovits)
        }
        let archive = try WeightArchive.open(Fixtures.url(Self.modelPath).path)
        #expect(ModelIdentity(archive: archive).kind == .speakerVerification)
    }

    @Test func badInputsAreRefused() throws {
        let model = try Self.model.get()
        #expect(throws: SpeakerModelError.self) { try model.embedding(features: Tensor.zeros([10, 79])) }
        #expect(throws: SpeakerModelError.self) { try model.embedding(features: Tensor.zeros([0, 80])) }
        var nan = Tensor.zeros([16, 80])
        nan.scalars[5] = .nan
        #expect(throws: SpeakerModelError.self) { try model.embedding(features: nan) }
        // A short input still runs (a frame is enough for the strided stages).
        #expect(try model.embedding(features: Tensor(repeating: -3, shape: [3, 80])).count == 20480)
    }
}
