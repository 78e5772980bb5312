import Foundation
import GSVTensor
import Testing
import GSVModels

/// Opt-in timings on full-size random v2 weights (`GSV_BENCH=1 swift test -c release --filter SoVITSBench`):
/// 100 semantic tokens (4 s of audio) through every decode stage. Prints medians; asserts shapes only.
@Suite("SoVITSBench", .enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH"] == "1", "set GSV_BENCH=1 to run"))
struct SoVITSBench {
    static func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return times.sorted()[runs / 2]
    }

    @Test("v2 full size: 100 tokens, 40 phones, 8 s reference")
    func decodeStages() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let model = try SynthesizerTrn.randomV2(seed: 1)
        let buildMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let c = model.config
        var rng = SeededRNG(seed: 9)
        let codes = (0..<100).map { _ in Int(rng.next() % UInt64(c.codebookSize)) }
        let phones = (0..<40).map { _ in Int(rng.next() % UInt64(c.symbolCount)) }
        let spec = Tensor(shape: [c.spectrogramBins, 400]) { _ in Float(rng.nextUniform()) }
        let ssl = Tensor(shape: [c.sslDim, 400]) { _ in Float(rng.nextGaussian()) }
        let ge = try model.referenceEmbedding(spectrogram: spec)
        let g = ge.reshaped([c.ginChannels, 1])
        let trace = try model.decodeTrace(codes: codes, phones: phones, ge: ge, noise: .seeded(1))
        var report: [(String, Double)] = [("build randomV2", buildMs)]
        report.append(("extract prompt tokens (400 SSL frames)", try Self.median(3) { _ = try model.promptTokens(ssl: ssl) }))
        report.append(("ref_enc (400 spectrogram frames)", try Self.median(3) { _ = try model.referenceEmbedding(spectrogram: spec) }))
        report.append(("flow reverse (200 frames)", Self.median(3) { _ = model.flow.reverse(trace.zP, g: g) }))
        report.append(("generator (200 frames → 4 s)", Self.median(3) { _ = model.dec(trace.z, g: g) }))
        report.append(("decode total (4 s audio)", try Self.median(3) {
            _ = try model.decode(codes: codes, phones: phones, ge: ge, noise: .seeded(1))
        }))
        // enc_p ≈ total − flow − generator (the quantizer lookup is negligible).
        let total = report[report.count - 1].1, flowMs = report[report.count - 3].1, decMs = report[report.count - 2].1
        report.append(("enc_p (by difference)", total - flowMs - decMs))
        for (name, ms) in report { print("SoVITS bench: \(name): \(String(format: "%.1f", ms)) ms") }
        #expect(trace.audio.count == 200 * c.hopLength)
    }
}
