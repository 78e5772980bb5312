// Character folders as documented by the TTS service guide built on api_v2 (CABM `replace/api_v2.py`):
// role/<name>/config.json + reference clips per emotion.
import Foundation
import GPTSoVITS

/// The emotion labels of the role classifiers, by class index.
public let emotionLabels: [String] = [
    "高兴", "悲伤", "愤怒", "惊讶", "恐惧", "厌恶", "中性", "害羞", "兴奋", "舒适", "紧张", "爱慕", "委屈", "骄傲", "困惑",
]

/// Errors about role folders. Each names the role or file.
public enum RoleError: Error, LocalizedError, Sendable, Equatable {
    case unknownRole(String)
    case invalidConfig(role: String, reason: String)
    case missingFile(role: String, path: String)
    case outsideRoot(role: String, path: String)

    public var errorDescription: String? {
        switch self {
        case let .unknownRole(r): return "unknown role '\(r)'"
        case let .invalidConfig(r, reason): return "role '\(r)': invalid config.json: \(reason)"
        case let .missingFile(r, p): return "role '\(r)': file not found: \(p)"
        case let .outsideRoot(r, p): return "role '\(r)': path escapes the role folder: \(p)"
        }
    }
}

/// One reference clip: audio file + its transcript and language.
public struct RoleReference: Sendable, Equatable {
    public let audio: URL
    public let text: String
    public let language: TextLanguage
}

/// A character folder.
public struct Role: Sendable, Equatable {
    /// Folder name.
    public let name: String
    /// The folder.
    public let folder: URL
    /// The default reference (`ref_audio`, `ref_text`, `ref_lang`).
    public let defaultReference: RoleReference
    /// Per-role GPT weights (`gpt`: relative to the folder, or absolute), if any.
    public let gptWeights: URL?
    /// Per-role SoVITS weights (`sovits`: relative to the folder, or absolute), if any.
    public let sovitsWeights: URL?
    /// Emotion classifier folder (`BERTmodel`), if any.
    public let classifierFolder: URL?
    /// References by emotion label, from `multiREF` (`refAudio/<emotion>/<prompt text>.wav`, or one
    /// level deeper: `refAudio/<role>/<emotion>/…`).
    public let emotionReferences: [String: RoleReference]

    /// Reads `folder/config.json`; every path except `gpt` and `sovits` must stay inside `folder`.
    public init(folder: URL) throws {
        let name = folder.lastPathComponent
        let root = folder.standardizedFileURL
        self.name = name
        self.folder = root
        let cfgURL = folder.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: cfgURL) else { throw RoleError.missingFile(role: name, path: cfgURL.path) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw RoleError.invalidConfig(role: name, reason: "not a JSON object")
        }
        func path(_ key: String, required: Bool, confined: Bool = true) throws -> URL? {
            guard let raw = obj[key] as? String, !raw.isEmpty else {
                if required { throw RoleError.invalidConfig(role: name, reason: "'\(key)' is missing") }
                return nil
            }
            let url = URL(fileURLWithPath: raw, relativeTo: root).standardizedFileURL
            guard !confined || url.path.hasPrefix(root.path + "/") else { throw RoleError.outsideRoot(role: name, path: raw) }
            guard FileManager.default.fileExists(atPath: url.path) else { throw RoleError.missingFile(role: name, path: url.path) }
            return url
        }
        guard let refAudio = try path("ref_audio", required: true) else { throw RoleError.invalidConfig(role: name, reason: "'ref_audio' is missing") }
        let refText = obj["ref_text"] as? String ?? ""
        let refLang: TextLanguage
        switch obj["ref_lang"] {
        case nil, is NSNull: refLang = .zh
        case let raw as String:
            guard let lang = try? TextLanguage(parsing: raw) else {
                throw RoleError.invalidConfig(role: name, reason: "'ref_lang' \(raw) is not a language (zh, en, all_zh, auto, …)")
            }
            refLang = lang
        default: throw RoleError.invalidConfig(role: name, reason: "'ref_lang' must be a string")
        }
        defaultReference = RoleReference(audio: refAudio, text: refText, language: refLang)
        // Weight files may also live outside the folder (shared checkpoints); the server confines
        // them to the role folder and its allowed roots when it loads them.
        gptWeights = try path("gpt", required: false, confined: false)
        sovitsWeights = try path("sovits", required: false, confined: false)
        classifierFolder = try path("BERTmodel", required: false)
        var refs: [String: RoleReference] = [:]
        if let multi = try path("multiREF", required: false) {
            refs = Self.scanEmotionFolders(multi, roleName: name, language: refLang)
        }
        emotionReferences = refs
    }

    /// `refAudio/<emotion>/<text>.wav`, also accepting `refAudio/<role>/<emotion>/<text>.wav`.
    static func scanEmotionFolders(_ root: URL, roleName: String, language: TextLanguage) -> [String: RoleReference] {
        let fm = FileManager.default
        var result: [String: RoleReference] = [:]
        func scan(_ dir: URL, depth: Int) {
            guard let entries = try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: [.isDirectoryKey]) else { return }
            for entry in entries.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: entry.path, isDirectory: &isDir), isDir.boolValue else { continue }
                let label = entry.lastPathComponent
                if emotionLabels.contains(label) {
                    let clips = ((try? fm.contentsOfDirectory(at: entry, includingPropertiesForKeys: nil)) ?? [])
                        .filter { ["wav", "flac", "mp3", "ogg"].contains($0.pathExtension.lowercased()) }
                        .sorted { $0.lastPathComponent < $1.lastPathComponent }
                    if let clip = clips.first, result[label] == nil {
                        result[label] = RoleReference(audio: clip, text: clip.deletingPathExtension().lastPathComponent, language: language)
                    }
                } else if depth == 0 {
                    scan(entry, depth: 1)
                }
            }
        }
        scan(root, depth: 0)
        return result
    }

    /// The reference for `emotion`, falling back to the default reference.
    public func reference(for emotion: String?) -> RoleReference {
        if let emotion, let r = emotionReferences[emotion] { return r }
        return defaultReference
    }
}

/// The role folders under one directory, loaded lazily and cached.
public final class RoleLibrary: @unchecked Sendable {
    /// The directory holding `<name>/config.json` folders.
    public let root: URL
    private let lock = NSLock()
    private var cache: [String: Role] = [:]

    /// A library over `root`.
    public init(root: URL) { self.root = root.standardizedFileURL }

    /// Names of the role folders (those with a `config.json`).
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return entries.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("config.json").path) }.sorted()
    }

    /// Drops the cached copy of role `name` (after its folder changed).
    public func forget(_ name: String) {
        lock.lock()
        cache[name] = nil
        lock.unlock()
    }

    /// The role named `name` (a folder name; no path separators).
    public func role(_ name: String) throws -> Role {
        guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != ".." else { throw RoleError.unknownRole(name) }
        lock.lock()
        if let r = cache[name] { lock.unlock(); return r }
        lock.unlock()
        let folder = root.appendingPathComponent(name, isDirectory: true)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else { throw RoleError.unknownRole(name) }
        let r = try Role(folder: folder)
        lock.lock(); cache[name] = r; lock.unlock()
        return r
    }
}
