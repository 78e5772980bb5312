import Foundation
import GSVTensor
import Testing
@testable import GSVModels

/// Full-size random-weight timings of the encoders (official v2 dimensions). Off by default: set
/// `GSV_BENCH_ENCODERS=1` (use a release build for meaningful numbers).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH_ENCODERS"] == "1"))
struct HuBERTBenchmarkTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// Process CPU seconds (all threads) spent in `body`: on a shared, loaded machine this is a
    /// steadier measure than wall time.
    static func cpuSeconds(_ body: () throws -> Void) rethrows -> Double {
        func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let t0 = now()
        try body()
        return now() - t0
    }

    @Test func hubertBaseTenSeconds() throws {
        var model: CNHuBERT?
        let build = try Self.seconds { model = try CNHuBERT.randomV2(seed: 1) }
        let m = try #require(model)
        var rng = SeededRNG(seed: 2)
        let wav = rng.uniform(shape: [160_000], lo: -0.3, hi: 0.3).scalars
        var out = Tensor.zeros([0])
        _ = try m.promptSSLContent(audio16k: Array(wav.prefix(16_000)))   // warm-up
        var run = 0.0
        let cpu = try Self.cpuSeconds { run = try Self.seconds { out = try m.promptSSLContent(audio16k: wav) } }
        #expect(out.shape == [768, 529])
        print("BENCH CN-HuBERT base (random): build \(build) s, 10 s audio + 0.6 s pad → \(out.shape) in \(run) s wall, \(cpu) s CPU")
    }

    @Test func hubertBaseStages() throws {
        let m = try CNHuBERT.randomV2(seed: 1)
        var rng = SeededRNG(seed: 2)
        let wav = rng.uniform(shape: [1, 169_600], lo: -0.3, hi: 0.3)
        var h = wav.unsqueezed(1)
        for (i, layer) in m.featureExtractor.convLayers.enumerated() {
            let t = try Self.seconds { h = layer(h) }
            print("BENCH stage conv\(i) → \(h.shape): \(t) s")
        }
        var x = h.transposed(1, 2)
        print("BENCH stage projection: \(Self.seconds { x = m.featureProjection(x) }) s")
        var pos = x
        print("BENCH stage pos_conv: \(Self.seconds { pos = m.encoder.posConvEmbed(x) }) s")
        x = m.encoder.layerNorm(x + pos)
        for (i, layer) in m.encoder.layers.prefix(2).enumerated() {
            print("BENCH stage layer\(i): \(Self.seconds { x = layer(x) }) s")
        }
        var a = x
        print("BENCH stage attention: \(Self.seconds { a = m.encoder.layers[0].attention(x) }) s")
        print("BENCH stage ffn: \(Self.seconds { a = m.encoder.layers[0].feedForward(x) }) s")
        #expect(a.shape == x.shape)
    }

    @Test func micro() throws {
        var rng = SeededRNG(seed: 2)
        let x = rng.gaussian(shape: [529, 768])
        let w = rng.gaussian(shape: [3072, 768])
        var y = x
        print("BENCH micro linear 529x768→3072: \(Self.seconds { y = linear(x, weight: w) }) s")
        print("BENCH micro gelu 529x3072: \(Self.seconds { y = y.gelu() }) s")
        print("BENCH micro layerNorm 529x768: \(Self.seconds { _ = layerNorm(x, weight: nil, bias: nil) }) s")
        let big = rng.gaussian(shape: [1, 512, 33919])
        print("BENCH micro gelu 512x33919: \(Self.seconds { _ = big.gelu() }) s")
        print("BENCH micro groupNorm 512x33919: \(Self.seconds { _ = groupNorm(big, groups: 512, weight: nil, bias: nil) }) s")
        print("BENCH micro groupNorm+gelu 512x33919: \(Self.seconds { _ = groupNorm(big, groups: 512, weight: nil, bias: nil, gelu: true) }) s")
        let wav = rng.gaussian(shape: [1, 1, 169_600])
        let cw = rng.gaussian(shape: [512, 1, 10])
        print("BENCH micro conv0: \(Self.seconds { _ = conv1d(wav, weight: cw, stride: 5) }) s")
        let sc = rng.gaussian(shape: [1, 12, 529, 529])
        print("BENCH micro softmax 12x529x529: \(Self.seconds { _ = softmax(sc) }) s")
        #expect(y.count == 529 * 3072)
    }

    @Test func robertaLargeSentence() throws {
        var model: ChineseRoBERTa?
        let build = try Self.seconds { model = try ChineseRoBERTa.randomV2(seed: 1) }
        let m = try #require(model)
        let text = "今天天气很好,我们一起去公园散步吧.我们要学会尊重别人的意见."
        let word2ph = text.unicodeScalars.map { $0.properties.isIdeographic ? 2 : 1 }
        var out = Tensor.zeros([0])
        _ = try m.phoneFeatures(normText: "你好.", word2ph: [2, 2, 1])   // warm-up
        var run = 0.0
        let cpu = try Self.cpuSeconds { run = try Self.seconds { out = try m.phoneFeatures(normText: text, word2ph: word2ph) } }
        #expect(out.shape == [1024, word2ph.reduce(0, +)])
        print("BENCH RoBERTa large (random, 22 layers): build \(build) s, \(word2ph.count) chars → \(out.shape) in \(run) s wall, \(cpu) s CPU")
    }
}
