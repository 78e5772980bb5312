import Foundation
import GSVTensor
import Testing
import GSVModels
#if canImport(Glibc)
import Glibc
#endif

/// Process CPU seconds (all threads): with other jobs on the machine, wall time overstates cost.
fileprivate func t2sCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Opt-in timings of the full-size v2 GPT with random weights
/// (`GSV_BENCH=1 swift test -c release --filter T2SBench`): prefill and decode tokens/s at batch 1
/// and batch 4. Prints its numbers; asserts only that decoding produced the requested tokens.
@Suite("T2SBench", .serialized, .enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH"] == "1", "set GSV_BENCH=1 to run"))
struct T2SBenchTests {
    @Test func decodeSpeedV2() throws {
        let t0 = Date()
        let model = try Text2SemanticDecoder.randomV2(seed: 1)
        print("T2SBench: randomV2 built in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s, threads \(Parallel.threadCount)")
        var rng = SeededRNG(seed: 2)
        func input(_ phones: Int) -> T2SInput {
            T2SInput(phoneIDs: (0..<phones).map { _ in Int(rng.next() % 732) },
                     bert: rng.gaussian(shape: [1024, phones]), promptTokens: (0..<150).map { _ in Int(rng.next() % 1024) })
        }
        _ = try model.decode(input(60), options: .init(maxSteps: 3), rng: &rng)  // warm-up
        for batch in [1, 4] {
            let inputs = (0..<batch).map { _ in input(60) }
            let steps = 100
            let c0 = t2sCPUSeconds()
            let session = try model.startDecoding(inputs, options: .init(earlyStopNum: steps))
            while try session.step(rng: &rng) {}
            let r = try session.finish(), timings = session.timings
            let cpu = t2sCPUSeconds() - c0
            #expect(r.allSatisfy { $0.stopReason == .earlyStop ? $0.tokens.count == steps : true })
            print("T2SBench: batch \(batch): prefill \(timings.prefill), \(timings.steps) steps in \(timings.decode) → "
                  + String(format: "%.1f steps/s (%.1f tok/s over the batch); process CPU %.2f s",
                           timings.stepsPerSecond, timings.stepsPerSecond * Double(batch), cpu))
        }
    }
}
