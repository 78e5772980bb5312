import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

// Tiny random SoVITS networks: shapes, configuration defaults, and clear errors on bad input.

fileprivate func tinySoVITSConfig(version: ModelVersion = .v2) -> SoVITSConfig {
    var c = SoVITSConfig()
    c.version = version
    c.symbolCount = version == .v1 ? 322 : 732
    c.interChannels = 8
    c.hiddenChannels = 16
    c.filterChannels = 24
    c.nHeads = 2
    c.nLayers = 2
    c.upsampleInitialChannel = 16
    c.upsampleRates = [4, 2]
    c.upsampleKernelSizes = [8, 4]
    c.resblockKernelSizes = [3, 5]
    c.resblockDilationSizes = [[1, 3], [1, 2]]
    c.ginChannels = 32
    c.mrteHidden = 32
    c.sslDim = 12
    c.codebookSize = 20
    c.styleHidden = 16
    c.filterLength = 16  // 9 bins
    c.v2StyleBins = 6
    c.hopLength = 8
    c.flowWNLayers = 2
    return c
}

@Suite struct SoVITSShapeTests {
    @Test func defaultsAreTheOfficialV2Numbers() {
        let c = SoVITSConfig()
        #expect(c.version == .v2 && c.symbolCount == 732)
        #expect(c.interChannels == 192 && c.hiddenChannels == 192 && c.filterChannels == 768)
        #expect(c.nHeads == 2 && c.nLayers == 6 && c.kernelSize == 3 && c.halfLayers == 3)
        #expect(c.upsampleRates == [10, 8, 2, 2, 2] && c.upsampleKernelSizes == [16, 16, 8, 2, 2])
        #expect(c.upsampleInitialChannel == 512 && c.ginChannels == 512)
        #expect(c.resblock == "1" && c.resblockKernelSizes == [3, 7, 11])
        #expect(c.resblockDilationSizes == [[1, 3, 5], [1, 3, 5], [1, 3, 5]])
        #expect(c.filterLength == 2048 && c.spectrogramBins == 1025 && c.styleInputBins == 704 && c.v2StyleBins == 704)
        #expect(c.hopLength == 640 && c.samplingRate == 32000)
        #expect(c.sslDim == 768 && c.codebookSize == 1024 && c.quantizerLayers == 1)
        #expect(c.attentionWindow == 4 && c.mrteHidden == 512 && c.mrteHeads == 4)
        #expect(c.styleHidden == 128 && c.styleHeads == 2 && c.styleKernelSize == 5)
        #expect(c.flowCount == 4 && c.flowWNLayers == 4 && c.flowKernelSize == 5)
        var v1 = c
        v1.version = .v1
        #expect(v1.styleInputBins == 1025)
    }

    @Test func configIsReadFromCheckpointDictionary() throws {
        func ints(_ a: [Int]) -> ConfigValue { .array(a.map { .int($0) }) }
        let cfg = ConfigValue.object([
            "model": .object(["inter_channels": .int(96), "hidden_channels": .int(192), "filter_channels": .int(256),
                              "n_heads": .int(2), "n_layers": .int(2), "upsample_rates": ints([10, 8, 2, 2, 2]),
                              "resblock": .string("1"),
                              "resblock_dilation_sizes": .array([ints([1, 3, 5]), ints([1, 3, 5]), ints([1, 3, 5])])]),
            "data": .object(["filter_length": .int(2048), "hop_length": .int(640)]),
        ])
        let c = try SoVITSConfig(checkpointConfig: cfg, version: .v2, symbolCount: 732)
        #expect(c.interChannels == 96 && c.filterChannels == 256 && c.nLayers == 2)
        #expect(c.upsampleInitialChannel == 512)  // absent → default
        let bad = ConfigValue.object(["model": .object(["n_heads": .string("two")])])
        #expect(throws: SoVITSError.self) { try SoVITSConfig(checkpointConfig: bad, version: .v2, symbolCount: 732) }
        let odd = ConfigValue.object(["model": .object(["hidden_channels": .int(190), "n_heads": .int(3)])])
        #expect(throws: SoVITSError.self) { try SoVITSConfig(checkpointConfig: odd, version: .v2, symbolCount: 732) }
    }

    @Test(arguments: [ModelVersion.v1, .v2])
    func tinyRandomNetworkHasTheOfficialShapes(_ version: ModelVersion) throws {
        let c = tinySoVITSConfig(version: version)
        let model = try SynthesizerTrn.random(config: c, seed: 7)
        var rng = SeededRNG(seed: 3)
        let t50 = 11
        let ssl = Tensor(shape: [c.sslDim, t50]) { _ in Float(rng.nextGaussian()) }
        let codes = try model.promptTokens(ssl: ssl)
        #expect(codes.count == (t50 - 2) / 2 + 1)
        #expect(codes.allSatisfy { (0..<c.codebookSize).contains($0) })

        let spec = Tensor(shape: [c.spectrogramBins, 6]) { _ in Float(rng.nextUniform()) }
        let ge = try model.referenceEmbedding(spectrogram: spec)
        #expect(ge.shape == [c.ginChannels])
        let ge2 = try model.referenceEmbedding(spectrograms: [spec, spec])
        #expect(sovitsShapeMaxDiff(ge, ge2) < 1e-6)

        let phones = [1, 5, 9, c.symbolCount - 1]
        let trace = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noiseScale: 0.5, noise: .seeded(1))
        let frames = 2 * codes.count
        #expect(trace.quantized.shape == [c.sslDim, codes.count])
        #expect(trace.prior.hidden.shape == [c.hiddenChannels, frames])
        #expect(trace.prior.mean.shape == [c.interChannels, frames])
        #expect(trace.prior.logStd.shape == [c.interChannels, frames])
        #expect(trace.z.shape == [c.interChannels, frames])
        #expect(trace.audio.shape == [frames * c.hopLength])
        #expect(trace.audio.scalars.allSatisfy { $0.isFinite && abs($0) < 1 })

        // Speed: T' = int(T / speed) + 1 frames.
        let fast = try model.decode(codes: codes, phones: phones, ge: ge, speed: 1.25, noiseScale: 0, noise: .seeded(1))
        #expect(fast.count == (Int(Double(frames) / 1.25) + 1) * c.hopLength)
    }

    @Test func noiseIsSeededPerRequestAndScaled() throws {
        let c = tinySoVITSConfig()
        let model = try SynthesizerTrn.random(config: c, seed: 11)
        let ge = Tensor(shape: [c.ginChannels]) { Float($0 % 7) * 0.1 }
        let codes = [1, 2, 3, 19, 0], phones = [3, 4, 5]
        let a = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noise: .seeded(5))
        let b = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noise: .seeded(5))
        let other = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noise: .seeded(6))
        let silent = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noiseScale: 0, noise: .seeded(5))
        #expect(a.audio == b.audio)
        #expect(sovitsShapeMaxDiff(a.zP, other.zP) > 0)
        #expect(silent.zP == silent.prior.mean)
        // Injected noise: z_p = m + ε·exp(logs)·scale exactly.
        let eps = Tensor(repeating: 1, shape: a.prior.mean.shape)
        let inj = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noiseScale: 0.5, noise: .injected(eps))
        let expected = inj.prior.mean + inj.prior.logStd.exp() * 0.5
        #expect(sovitsShapeMaxDiff(inj.zP, expected) < 1e-6)
    }

    @Test func oneModelServesConcurrentRequests() async throws {
        let c = tinySoVITSConfig()
        let model = try SynthesizerTrn.random(config: c, seed: 21)
        let ge = Tensor(shape: [c.ginChannels]) { Float($0 % 5) * 0.2 - 0.4 }
        let requests: [(codes: [Int], phones: [Int], seed: UInt64)] = [([1, 2, 3], [4, 5], 1), ([7, 7, 9, 0], [1, 2, 3], 2),
                                                                       ([5], [6], 3), ([3, 1, 4, 1, 5], [9, 2, 6], 4)]
        let serial = try requests.map { try model.decode(codes: $0.codes, phones: $0.phones, ge: ge, noise: .seeded($0.seed)) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for (i, r) in requests.enumerated() {
                group.addTask { (i, try model.decode(codes: r.codes, phones: r.phones, ge: ge, noise: .seeded(r.seed))) }
            }
            var out = [Tensor?](repeating: nil, count: requests.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
        for i in requests.indices { #expect(concurrent[i] == serial[i], "request \(i)") }
    }

    @Test func fullSizeV2SmokeCheck() throws {
        let model = try SynthesizerTrn.randomV2(seed: 1)
        let c = model.config
        #expect(c == SoVITSConfig())
        #expect(model.encP.symbolCount == 732 && model.quantizer.codebookSize == 1024 && model.refEnc.inputBins == 704)
        let spec = Tensor(shape: [c.spectrogramBins, 4]) { Float(($0 * 7919) % 101) / 101 }
        let ge = try model.referenceEmbedding(spectrogram: spec)
        #expect(ge.shape == [512])
        let audio = try model.decode(codes: [3, 1000], phones: [5, 731, 0], ge: ge, noise: .seeded(1))
        #expect(audio.count == 4 * 640)
        #expect(audio.scalars.allSatisfy { $0.isFinite })
    }

    @Test func badInputsGiveClearErrors() throws {
        let c = tinySoVITSConfig()
        let model = try SynthesizerTrn.random(config: c, seed: 2)
        let ge = Tensor(repeating: 0.1, shape: [c.ginChannels])
        #expect(throws: SoVITSError.codeOutOfRange(position: 1, value: c.codebookSize, codebookSize: c.codebookSize)) {
            try model.decode(codes: [0, c.codebookSize], phones: [1], ge: ge, noise: .seeded(0))
        }
        #expect(throws: SoVITSError.codeOutOfRange(position: 0, value: -1, codebookSize: c.codebookSize)) {
            try model.decode(codes: [-1], phones: [1], ge: ge, noise: .seeded(0))
        }
        #expect(throws: SoVITSError.phoneOutOfRange(position: 2, value: 732, symbolCount: 732)) {
            try model.decode(codes: [0], phones: [1, 2, 732], ge: ge, noise: .seeded(0))
        }
        #expect(throws: SoVITSError.self) { try model.decode(codes: [], phones: [1], ge: ge, noise: .seeded(0)) }
        #expect(throws: SoVITSError.self) { try model.decode(codes: [1], phones: [], ge: ge, noise: .seeded(0)) }
        #expect(throws: SoVITSError.self) { try model.decode(codes: [1], phones: [1], ge: ge, speed: 0, noise: .seeded(0)) }
        #expect(throws: SoVITSError.self) { try model.decode(codes: [1], phones: [1], ge: ge, speed: .nan, noise: .seeded(0)) }
        #expect(throws: SoVITSError.self) {
            try model.decode(codes: [1], phones: [1], ge: Tensor(repeating: 0, shape: [c.ginChannels + 1]), noise: .seeded(0))
        }
        #expect(throws: SoVITSError.noiseShapeMismatch(expected: [c.interChannels, 4], actual: [c.interChannels, 3])) {
            try model.decode(codes: [1, 2], phones: [1], ge: ge, noise: .injected(Tensor.zeros([c.interChannels, 3])))
        }
        #expect(throws: SoVITSError.self) {
            try model.referenceEmbedding(spectrogram: Tensor.zeros([c.spectrogramBins - 1, 5]))
        }
        #expect(throws: SoVITSError.self) { try model.referenceEmbedding(spectrogram: Tensor.zeros([c.spectrogramBins, 0])) }
        #expect(throws: SoVITSError.self) { try model.referenceEmbedding(spectrograms: []) }
        #expect(throws: SoVITSError.self) { try model.promptTokens(ssl: Tensor.zeros([c.sslDim + 1, 8])) }
        #expect(throws: SoVITSError.self) { try model.promptTokens(ssl: Tensor.zeros([c.sslDim, 1])) }
    }

    @Test func loadingRejectsNonSoVITSFiles() throws {
        let gpt = Fixtures.url("v2/models/gpt_v2_tiny.ckpt").path
        #expect(throws: SoVITSError.self) { try SynthesizerTrn.load(path: gpt) }
        #expect(throws: (any Error).self) { try SynthesizerTrn.load(path: "/nonexistent/model.pth") }
    }
}

fileprivate func sovitsShapeMaxDiff(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
