import Testing
@testable import GPTSoVITS

@Suite struct ProcessMetricsTests {
    @Test func procStatusParsing() throws {
        let status = "Name:\tgpt-sovits\nVmPeak:\t  123456 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"
        #expect(ProcessMetrics.kilobytes(field: "VmHWM", inProcStatus: status) == 2048)
        #expect(ProcessMetrics.kilobytes(field: "VmRSS", inProcStatus: status) == 1024)
        #expect(ProcessMetrics.kilobytes(field: "VmSwap", inProcStatus: status) == nil)
        #expect(ProcessMetrics.kilobytes(field: "VmHWM", inProcStatus: "VmHWM:\tlots kB\n") == nil)
        // This process has touched memory, so its peak is positive (and at least a megabyte).
        let peak = try #require(ProcessMetrics.peakResidentBytes())
        #expect(peak > 1_048_576)
    }
}
