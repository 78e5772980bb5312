import ArgumentParser
import GPTSoVITS

/// Every subcommand of `gpt-sovits`, in the order `--help` lists them.
enum CLISubcommands {
    static let all: [any ParsableCommand.Type] = [
        SayCommand.self, ServeCommand.self, BenchCommand.self, InspectCommand.self, G2PCommand.self, ModelsCommand.self,
        PrepareCommand.self, TrainCommand.self,
    ]
}

/// Runs `body`, then — whether it returned or threw — waits for synthesis work it abandoned
/// (a stream dropped on an error or after its first chunk stops at its next GPT step), so the
/// process never exits under a running BLAS call.
func waitingForAbandonedSynthesis<T>(_ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        await TTSEngine.waitUntilIdle()
        return value
    } catch {
        await TTSEngine.waitUntilIdle()
        throw error
    }
}
