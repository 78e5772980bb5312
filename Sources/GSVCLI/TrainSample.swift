import Foundation
import GPTSoVITS
import GSVAudio
import GSVText
import GSVTrain

/// The sample `train` writes at the end: one sentence in the new voice, made with the weight files
/// just written (or the pretrained one of a model that was not trained), through the same engine
/// `say` and `serve` use — so a sample that plays is also a check that the pair loads there.
struct TrainSample {
    /// Where the reference and text of the sample come from.
    struct Request {
        var refPath: String
        var refText: String
        var refLanguage: TextLanguage
        var text: String
        var language: TextLanguage
    }

    /// The reference clip the official inference accepts (3–10 s) closest to 5 s among the data
    /// set's clips, and as the sample text the text of another clip (or `text` when given).
    /// Returns nil when no clip is 3–10 s long.
    static func request(from folder: DatasetFolder, text: String?) throws -> Request? {
        let entries = try folder.phoneEntries().filter { !$0.text.isEmpty }
        // 32 kHz int16 mono: duration from the file size, as the SoVITS data set measures it.
        func seconds(_ e: PhoneEntry) -> Double {
            let path = folder.file("5-wav32k/\(e.name)").path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            return Double(max(0, size - 44)) / 64_000
        }
        let usable = entries.map { ($0, seconds($0)) }.filter { $0.1 >= 3 && $0.1 <= 10 }
        guard let ref = usable.min(by: { abs($0.1 - 5) < abs($1.1 - 5) })?.0 else { return nil }
        let sampleText = text ?? entries.first(where: { $0.name != ref.name })?.text ?? ref.text
        return Request(refPath: folder.file("5-wav32k/\(ref.name)").path, refText: ref.text, refLanguage: language(of: ref.text),
                       text: sampleText, language: language(of: sampleText))
    }

    /// `zh` (Chinese mixed with English) when the text has a CJK ideograph, else `en`.
    static func language(of text: String) -> TextLanguage {
        text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) || (0x3400...0x4DBF).contains($0.value) } ? .zh : .en
    }

    /// Synthesises `request` with `paths` (seed 1) and writes a 16-bit WAV at `output`; returns the
    /// audio's length in seconds.
    static func write(_ request: Request, paths: ModelPaths, to output: String) async throws -> Double {
        let engine = TTSEngine(bundle: try ModelBundle.load(paths))
        let voice = VoiceReference(audioPath: request.refPath, promptText: request.refText, promptLanguage: request.refLanguage)
        var options = SynthesisOptions()
        options.textLanguage = request.language
        options.seed = 1
        let result: SynthesisResult
        do {
            result = try await engine.synthesizeAll(request.text, voice: voice, options: options)
        } catch let e as SynthesisError {
            throw CLIError("sample: \(e.errorDescription ?? "\(e)")")
        }
        guard !result.samples.isEmpty, result.samples.allSatisfy(\.isFinite) else {
            throw CLIError("sample: the trained models produced \(result.samples.isEmpty ? "no audio" : "non-finite audio")")
        }
        try WAV.write(result.samples, sampleRate: result.sampleRate, to: output)
        return Double(result.samples.count) / Double(result.sampleRate)
    }
}
