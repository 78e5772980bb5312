import ArgumentParser
import Foundation
import GPTSoVITS
import GSVServer
import Hummingbird

/// `gpt-sovits serve`: the HTTP server (api_v2 routes, role extension, OpenAI routes).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server: api_v2 /tts, /set_*_weights, /control, roles, OpenAI /v1/audio/speech."
    )

    @Option(name: [.customShort("a"), .long], help: "Address to bind.")
    var bindAddr: String = "127.0.0.1"

    @Option(name: .shortAndLong, help: "Port to listen on.")
    var port: Int = 9880

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Folder of role folders (<name>/config.json) for the role extension and OpenAI voices.")
    var roles: String?

    @Option(name: .customLong("ref-root"), help: "Folder that reference-audio and weight paths in requests may point into (repeatable). Without any, client paths are refused.")
    var refRoots: [String] = []

    @Option(name: .customLong("ref"), help: "Default reference clip (used when a request names none; OpenAI voice 'default'). Must lie inside a --ref-root.")
    var defaultReference: String?

    @Option(name: .long, help: "Transcript of --ref.")
    var refText: String = ""

    @Option(name: .long, help: "Language of --ref-text.")
    var refLang: String = "zh"

    @Option(name: .long, help: "Require 'Authorization: Bearer <token>' (also read from $GSV_SERVER_TOKEN).")
    var token: String?

    @Option(name: .long, help: "Syntheses running at once.")
    var maxConcurrent: Int = 1

    @Option(name: .long, help: "Requests waiting for a slot before 503.")
    var queue: Int = 16

    @Option(name: .long, help: "Longest text accepted, in characters.")
    var maxText: Int = 2000

    @Option(name: .long, help: "Largest request body, in bytes.")
    var maxBody: Int = 1 << 20

    @Option(name: .long, help: "Longest reference transcript (prompt_text) accepted, in characters.")
    var maxPromptText: Int = 500

    @Option(name: .long, help: "Seconds a connection may take to send a request's headers before it is closed.")
    var headerTimeout: Double = 30

    @OptionGroup(title: "Request defaults (api_v2 options; requests that leave one out get these)")
    var request: SynthesisOptionGroup

    @Flag(name: .long, help: "Let GET /control?command=exit stop the server.")
    var allowExit: Bool = false

    @Flag(name: .long, help: "Let GET /control?command=restart restart the server (same binary and arguments).")
    var allowRestart: Bool = false

    @Option(name: .long, help: "Memory budget in MiB for roles' own GPT/SoVITS weights (least recently used dropped beyond it).")
    var modelCacheMb: Int = 2048

    @Flag(name: .customLong("no-studio"), help: "Do not serve the studio (the browser UI at /).")
    var noStudio: Bool = false

    @Option(name: .customLong("train-output"), help: "Training output folder (gpt-sovits train --output) whose runs the studio's Training page shows; repeatable. Default: the current folder.")
    var trainOutput: [String] = []

    @Option(name: .customLong("studio-dir"), help: "Folder for the studio's uploads (reference clips, model files); default: 'studio' in the model cache folder.")
    var studioDir: String?

    @Option(name: .customLong("review"), help: "A .list file (wav_path|speaker|language|text) to proofread in the studio's Review page.")
    var reviewList: String?

    @Option(name: .customLong("review-audio-dir"), help: "With --review: a row's audio is <folder>/<file name> (the official 'audio dir').")
    var reviewAudioDir: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0…65535 (got \(port))") }
        guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be ≥ 1 (got \(maxConcurrent))") }
        guard queue >= 0 else { throw ValidationError("--queue must be ≥ 0 (got \(queue))") }
        guard maxText >= 1 else { throw ValidationError("--max-text must be ≥ 1 (got \(maxText))") }
        guard maxBody >= 1 else { throw ValidationError("--max-body must be ≥ 1 (got \(maxBody))") }
        guard maxPromptText >= 1 else { throw ValidationError("--max-prompt-text must be ≥ 1 (got \(maxPromptText))") }
        guard headerTimeout > 0, headerTimeout <= 3600 else { throw ValidationError("--header-timeout must be in (0, 3600] seconds (got \(headerTimeout))") }
        _ = try request.options()
        _ = try parseLanguage(refLang, option: "--ref-lang")
        guard (0...(1 << 30)).contains(modelCacheMb) else { throw ValidationError("--model-cache-mb must be in 0…\(1 << 30) (got \(modelCacheMb))") }
        for root in refRoots + (roles.map { [$0] } ?? []) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("not a folder: \(root)")
            }
        }
        if let ref = defaultReference {
            do { _ = try PathPolicy(roots: refRoots.map { URL(fileURLWithPath: $0, isDirectory: true) }).confine(ref, field: "--ref") } catch let e as APIError {
                throw ValidationError(e.message)
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: ref, isDirectory: &isFolder) else { throw ValidationError("--ref: \(ref) not found") }
            if isFolder.boolValue { throw ValidationError("--ref: \(ref) is a folder, not an audio file") }
        }
    }

    func run() async throws {
        try await waitingForAbandonedSynthesis { try await runCommand() }
    }

    private func runCommand() async throws {
        let bundle = try model.loadBundle()
        let engine = TTSEngine(bundle: bundle)
        var config = ServerConfiguration(engine: engine, modelPaths: model.randomWeights == nil ? try model.paths() : nil)
        config.host = bindAddr
        config.port = port
        config.rolesDirectory = roles.map { URL(fileURLWithPath: $0, isDirectory: true) }
        config.allowedRoots = refRoots.map { URL(fileURLWithPath: $0, isDirectory: true) }
        config.bearerToken = token ?? ProcessInfo.processInfo.environment["GSV_SERVER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        config.maxConcurrent = maxConcurrent
        config.queueLength = queue
        config.maxTextLength = maxText
        config.maxBodyBytes = maxBody
        config.maxPromptTextLength = maxPromptText
        config.headerTimeout = headerTimeout
        config.defaultOptions = try request.options()
        config.allowExit = allowExit
        config.allowRestart = allowRestart
        config.modelCacheBytes = modelCacheMb << 20
        config.studio.enabled = !noStudio
        let cache = ModelCache.defaultDirectory()
        config.studio.directory = studioDir.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? cache.appendingPathComponent("studio", isDirectory: true)
        if FileManager.default.fileExists(atPath: cache.path) { config.studio.modelFolders = [cache] }
        config.studio.trainingFolders = (trainOutput.isEmpty ? ["."] : trainOutput).map { URL(fileURLWithPath: $0, isDirectory: true).standardizedFileURL }
        if let reviewList {
            do { config.routeGroups.append(try ReviewRoutes(listPath: URL(fileURLWithPath: reviewList).standardizedFileURL.path, audioFolder: reviewAudioDir)) } catch {
                throw CLIError("--review: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
            }
            config.studio.extraPages.append(ReviewRoutes.studioPage)
        }
        if let ref = defaultReference {
            let path: String
            do { path = try PathPolicy(roots: config.allowedRoots).confine(ref, field: "--ref") } catch let e as APIError {
                throw CLIError(e.message)
            }
            let voice = VoiceReference(audioPath: path, promptText: refText, promptLanguage: try parseLanguage(refLang, option: "--ref-lang"))
            do { _ = try await BlockingWorkExecutor.shared.perform { try engine.prepare(voice) } } catch {
                throw CLIError("--ref: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
            }
            config.defaultVoice = voice
        }
        if config.bearerToken == nil && bindAddr != "127.0.0.1" && bindAddr != "localhost" && bindAddr != "::1" {
            FileHandle.standardError.write(Data("warning: listening on \(bindAddr) without --token\n".utf8))
        }
        print("gpt-sovits server: \(bundle.source) (\(bundle.version.rawValue)) on http://\(bindAddr):\(port)")
        if !noStudio { print("studio: open http://\(bindAddr.contains(":") ? "[\(bindAddr)]" : bindAddr):\(port)/ in a browser") }
        try await buildApplication(configuration: config).runService()
        if ProcessRestart.isRequested {
            print("gpt-sovits server: restarting")
            await TTSEngine.waitUntilIdle()
            try ProcessRestart.execSelf()
        }
    }
}
