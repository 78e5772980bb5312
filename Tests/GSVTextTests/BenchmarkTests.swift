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
        let clock = ContinuousClock()
        var done = 0
        let start = clock.now
        while clock.now - start < .seconds(2) {
            for l in lines { _ = try f.phones(for: l, language: .zh) }
            done += chars
        }
        let d = clock.now - start
        let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        print(String(format: "frontend: %.0f characters/s (zh corpus lines, one thread)", Double(done) / secs))
        #expect(Double(done) / secs >= 20_000)
    }
}
