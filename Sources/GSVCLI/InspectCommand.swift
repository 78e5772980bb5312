import ArgumentParser
import Foundation
import GPTSoVITS
import GSVWeights

/// `gpt-sovits inspect PATH [--json]`: identifies a weight file or model folder and summarises it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Identify a weight file or model folder (GPT .ckpt, SoVITS .pth, CN-HuBERT, BERT, speaker model, safetensors).",
        discussion: """
            Prints the model kind and version, the configuration that matters, the number of tensors \
            and parameters (all entries, and distinct views when entries share storage) and the dtypes. \
            Checkpoints are read with a restricted unpickler that executes nothing.
            """
    )

    @Argument(help: "A .ckpt/.pth/.bin/.safetensors file or a Hugging Face model folder.")
    var path: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Flag(name: .long, help: "Also read every tensor (widened to Float32) and count non-finite values.")
    var readAll = false

    func run() throws {
        let archive: WeightArchive
        let summary: WeightSummary
        do {
            archive = try WeightArchive.open(path)
            summary = WeightSummary(archive: archive)
        } catch let e as WeightsError {
            throw InspectFailure(message: e.errorDescription ?? "\(e)")
        }
        var check: ReadCheck?
        if readAll {
            do {
                check = try ReadCheck(archive)
            } catch let e as WeightsError {
                throw InspectFailure(message: e.errorDescription ?? "\(e)")
            }
        }
        if json {
            struct Output: Encodable {
                let summary: WeightSummary
                let readCheck: ReadCheck?
                func encode(to encoder: Encoder) throws {
                    try summary.encode(to: encoder)
                    if let readCheck {
                        var c = encoder.container(keyedBy: Key.self)
                        try c.encode(readCheck, forKey: .readCheck)
                    }
                }
                enum Key: String, CodingKey { case readCheck }
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = try enc.encode(Output(summary: summary, readCheck: check))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(summary))
            if let check {
                print("read check:  \(check.values) values in \(String(format: "%.1f", check.seconds * 1000)) ms, "
                      + "\(check.nonFinite) non-finite\(check.nonFiniteTensors.isEmpty ? "" : " in " + check.nonFiniteTensors.prefix(5).joined(separator: ", "))")
            }
        }
    }

    /// The result of reading every tensor.
    struct ReadCheck: Encodable {
        var values = 0
        var nonFinite = 0
        var nonFiniteTensors: [String] = []
        var seconds = 0.0

        init(_ archive: WeightArchive) throws {
            let start = Date()
            for key in archive.tensors.keys.sorted() {
                guard let t = archive.tensors[key] else { continue }
                // In bounded chunks: an overlapping view may hold far more elements than the file.
                var bad = 0
                try t.forEachFloatChunk { chunk in
                    values += chunk.count
                    bad += chunk.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
                }
                if bad > 0 { nonFinite += bad; nonFiniteTensors.append(key) }
            }
            seconds = Date().timeIntervalSince(start)
        }
    }

    /// The human-readable report.
    static func text(_ s: WeightSummary) -> String {
        var lines: [String] = []
        var kind = s.identity.kind.rawValue
        if let v = s.identity.sovitsVersion { kind += " \(v.rawValue)" }
        if s.identity.isLoRA { kind += " (LoRA)" }
        lines.append("path:        \(s.path)")
        lines.append("format:      \(s.format.rawValue)")
        lines.append("kind:        \(kind)")
        if let sym = s.identity.symbolVersion { lines.append("symbols:     \(sym.rawValue)") }
        if let h = s.headerMarker, let m = SoVITSHeaderMarker(rawValue: h) {
            lines.append("header:      \(h) in place of PK (\(m.modelVersion.rawValue)\(m.isLoRA ? " LoRA" : ""))")
        }
        if !s.identity.evidence.isEmpty { lines.append("evidence:    \(s.identity.evidence.joined(separator: "; "))") }
        if let v = s.identity.sovitsVersion, v.usesSpeakerVerification {
            lines.append("needs:       the speaker-verification model \(PretrainedCatalog.speakerModel.path) "
                         + "(`gpt-sovits models download \(v.rawValue)`, or --sv-model)")
        }
        if let info = s.info { lines.append("info:        \(info)") }
        if let k = s.stateDictKey { lines.append("state dict:  '\(k)'") }
        let storages = s.format == .safetensors ? "" : " (\(s.storageCount) storage records)"
        lines.append("tensors:     \(s.tensorCount)\(storages)")
        let shared = s.uniqueParameterCount == s.parameterCount ? "" : ", \(grouped(s.uniqueParameterCount)) distinct (shared storages counted once)"
        lines.append("parameters:  \(grouped(s.parameterCount))\(shared)")
        lines.append("dtypes:      " + s.dtypes.keys.sorted().map { "\($0) ×\(s.dtypes[$0] ?? 0)" }.joined(separator: ", "))
        if !s.config.isEmpty {
            lines.append("config:")
            for k in s.config.keys.sorted() { lines.append("  \(k) = \(s.config[k]?.description ?? "")") }
        }
        return lines.joined(separator: "\n")
    }

    private static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}

/// An error whose message is printed as is (with a non-zero exit status).
private struct InspectFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
