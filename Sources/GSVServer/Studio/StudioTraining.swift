// The Training page's data: the runs `gpt-sovits train` leaves in the configured output folders
// (`<output>/logs/<name>/progress.jsonl`, see GSVTrain.TrainingProgressLog), each with its latest
// records, so the page shows epochs, losses, the estimate of the time left and the files written.
import Foundation
import GSVTrain
import Hummingbird

extension Studio {
    struct TrainingRuns: Encodable {
        struct Run: Encodable {
            var name: String
            /// The training output folder it is in.
            var folder: String
            /// Its last records, oldest first.
            var records: [TrainingProgress]
            /// Seconds since its last record.
            var idleSeconds: Double?
            enum CodingKeys: String, CodingKey {
                case name, folder, records
                case idleSeconds = "idle_seconds"
            }
        }
        var folders: [String]
        var runs: [Run]
    }

    /// `GET /studio/api/training`: the runs in the training output folders, most recent first.
    func training() async throws -> Response {
        let folders = core.config.studio.trainingFolders
        let runs = try await core.executor.perform { () -> [TrainingRuns.Run] in
            var runs: [TrainingRuns.Run] = []
            for folder in folders {
                for name in TrainingProgressLog.runs(in: folder) {
                    let log = TrainingProgressLog(logsFolder: folder.appendingPathComponent("logs").appendingPathComponent(name))
                    let records = try log.tail(maxRecords: 400)
                    runs.append(.init(name: name, folder: folder.path, records: records,
                                      idleSeconds: records.last.map { Date().timeIntervalSince($0.time) }))
                }
            }
            return runs.sorted { ($0.idleSeconds ?? .infinity) < ($1.idleSeconds ?? .infinity) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(TrainingRuns(folders: folders.map(\.path), runs: runs))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
