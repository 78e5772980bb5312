import ArgumentParser

/// The `gpt-sovits` command-line tool.
@main
struct GPTSoVITSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt-sovits",
        abstract: "GPT-SoVITS few-shot voice cloning text-to-speech, natively in Swift.",
        version: "0.1.0",
        subcommands: CLISubcommands.all
    )
}
