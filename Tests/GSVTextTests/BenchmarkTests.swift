import Foundation
import Testing
@testable import GSVText

/// Opt-in throughput check (`GSV_BENCH=1 swift test -c release --filter BenchmarkTests`).
@Suite struct BenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GSV_BENCH"] == "1"))
    func frontendThroughput() throws {
        let lines = try CorpusLine.load().filter { l in
            l.lang == "zh" && l.error == nil && !l.attempts.contains { $0.segments.contains { $0.lang == "en" } }
        }.map(\.text)
        let f = try TextFrontend()
        for l in lines { _ = try f.phones(for: l, language: .zh) }
        let chars = lines.reduce(0) { $0 + $1.count }
        // CPU time of this thread: wall time is meaningless on a shared, oversubscribed machine
        func cpu() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        var done = 0
        let start = cpu()
        while cpu() - start < 1.0 {
            for l in lines { _ = try f.phones(for: l, language: .zh) }
            done += chars
        }
        let rate = Double(done) / (cpu() - start)
        print(String(format: "frontend: %.0f characters per CPU-second (zh corpus lines, one thread)", rate))
        #expect(rate >= 20_000)
    }
}
