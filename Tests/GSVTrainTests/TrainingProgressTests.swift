import Foundation
import Testing
@testable import GSVTrain

@Suite("Training progress log (logs/<name>/progress.jsonl)")
struct TrainingProgressTests {
    @Test("Records round-trip line by line; tail reads the last ones and skips a partial line at either end; runs are listed by name")
    func roundTrip() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("gsv-progress-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: output) }
        let log = TrainingProgressLog(logsFolder: output.appendingPathComponent("logs/bob"))
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let records = (1...6).map { i in
            TrainingProgress(.step, model: "gpt", epoch: 1, epochs: 2, batch: i, batches: 6, values: ["loss": Double(i) / 4],
                             learningRate: 0.01, etaSeconds: Double(12 - i), time: time.addingTimeInterval(Double(i)))
        }
        for r in records { try log.append(r) }
        #expect(TrainingProgressLog.runs(in: output) == ["bob"])
        #expect(try log.tail() == records)
        #expect(try log.tail(maxRecords: 2) == Array(records.suffix(2)))
        // Reading only the end of the file: the cut first line is dropped, whole lines kept.
        let lineBytes = try Data(contentsOf: log.url).count / records.count
        let partial = try log.tail(maxBytes: lineBytes * 2 + lineBytes / 2)
        #expect(partial == Array(records.suffix(2)))
        // A line being written is skipped.
        let handle = try FileHandle(forWritingTo: log.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"event":"ste"#.utf8))
        try handle.close()
        #expect(try log.tail() == records)
    }
}
