import Foundation
import GSVTensor
import Testing
import GSVModels

/// Full-size random-weight timings of the encoders (official v2 dimensions). Off by default: set
/// `GSV_BENCH_ENCODERS=1` (use a release build for meaningful numbers).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH_ENCODERS"] == "1"))
struct HuBERTBenchmarkTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    @Test func hubertBaseTenSeconds() throws {
        var model: CNHuBERT?
        let build = try Self.seconds { model = try CNHuBERT.randomV2(seed: 1) }
        let m = try #require(model)
        var rng = SeededRNG(seed: 2)
        let wav = rng.uniform(shape: [160_000], lo: -0.3, hi: 0.3).scalars
        var out = Tensor.zeros([0])
        _ = try m.promptSSLContent(audio16k: Array(wav.prefix(16_000)))   // warm-up
        let run = try Self.seconds { out = try m.promptSSLContent(audio16k: wav) }
        #expect(out.shape == [768, 529])
        print("BENCH CN-HuBERT base (random): build \(build) s, 10 s audio + 0.6 s pad → \(out.shape) in \(run) s")
    }

    @Test func robertaLargeSentence() throws {
        var model: ChineseRoBERTa?
        let build = try Self.seconds { model = try ChineseRoBERTa.randomV2(seed: 1) }
        let m = try #require(model)
        let text = "今天天气很好,我们一起去公园散步吧.我们要学会尊重别人的意见."
        let word2ph = text.unicodeScalars.map { $0.properties.isIdeographic ? 2 : 1 }
        var out = Tensor.zeros([0])
        _ = try m.phoneFeatures(normText: "你好.", word2ph: [2, 2, 1])   // warm-up
        let run = try Self.seconds { out = try m.phoneFeatures(normText: text, word2ph: word2ph) }
        #expect(out.shape == [1024, word2ph.reduce(0, +)])
        print("BENCH RoBERTa large (random, 22 layers): build \(build) s, \(word2ph.count) chars → \(out.shape) in \(run) s")
    }
}
