import ArgumentParser

/// Every subcommand of `gpt-sovits`, in the order `--help` lists them.
enum CLISubcommands {
    static let all: [any ParsableCommand.Type] = [
        SayCommand.self, ServeCommand.self, BenchCommand.self, InspectCommand.self, G2PCommand.self, ModelsCommand.self,
    ]
}
