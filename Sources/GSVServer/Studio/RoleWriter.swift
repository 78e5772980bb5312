// Creating and editing role folders from the studio, in the layout the role extension reads
// (Roles.swift): role/<name>/config.json, the default clip <name>.wav, emotion clips
// refAudio/<emotion>/<what it says>.wav. A new role is built in a hidden folder and renamed into
// place; every file of an existing role is replaced by write-then-rename, so a failure leaves the
// previous version whole.
import Foundation
import GSVText

/// A role as the page shows it.
struct RoleSummary: Codable, Sendable {
    struct Clip: Codable, Sendable {
        var label: String?
        var text: String
        var lang: String
    }
    var name: String
    var ref: Clip?
    var emotions: [Clip]
    var gpt: String?
    var sovits: String?
    var classifier: Bool
    /// Why the role cannot be used (a broken config.json), if it cannot.
    var error: String?

    init(_ role: Role) {
        name = role.name
        ref = Clip(label: nil, text: role.defaultReference.text, lang: role.defaultReference.language.rawValue)
        emotions = emotionLabels.compactMap { label in
            role.emotionReferences[label].map { Clip(label: label, text: $0.text, lang: $0.language.rawValue) }
        }
        gpt = role.gptWeights?.path
        sovits = role.sovitsWeights?.path
        classifier = role.classifierFolder != nil
    }

    init(name: String, error: String) {
        self.name = name
        emotions = []
        classifier = false
        self.error = error
    }
}

/// What the page sends to create (`name` set) or edit a role. Absent fields keep their value;
/// `gpt`/`sovits` set to null or "" fall back to the server's models.
struct RoleEditRequest: Decodable, Sendable {
    struct Emotion: Decodable, Sendable {
        var label: String
        var text: String
        /// A clip uploaded to the studio (`/studio/api/references`); absent keeps the current one.
        var upload: String?
    }
    var name: String?
    /// A clip uploaded to the studio for the default reference.
    var refUpload: String?
    var refText: String?
    var refLang: String?
    /// nil: keep; .some(nil): use the server's.
    var gpt: String??
    var sovits: String??
    /// The complete set of emotion clips wanted (absent: keep them all).
    var emotions: [Emotion]?

    enum CodingKeys: String, CodingKey {
        case name, gpt, sovits, emotions
        case refUpload = "ref_upload", refText = "ref_text", refLang = "ref_lang"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        refUpload = try c.decodeIfPresent(String.self, forKey: .refUpload)
        refText = try c.decodeIfPresent(String.self, forKey: .refText)
        refLang = try c.decodeIfPresent(String.self, forKey: .refLang)
        func weights(_ key: CodingKeys) throws -> String?? {
            guard c.contains(key) else { return nil }
            let v = try c.decodeIfPresent(String.self, forKey: key)
            return .some(v?.isEmpty == false ? v : nil)
        }
        gpt = try weights(.gpt)
        sovits = try weights(.sovits)
        emotions = try c.decodeIfPresent([Emotion].self, forKey: .emotions)
    }
}

/// Writes role folders, one change at a time.
actor RoleWriter {
    let library: RoleLibrary
    let uploads: StudioUploads
    let policy: PathPolicy
    private let fm = FileManager.default

    init(library: RoleLibrary, uploads: StudioUploads, policy: PathPolicy) {
        self.library = library
        self.uploads = uploads
        self.policy = policy
    }

    /// Checks a role name: a plain folder name.
    static func validateName(_ name: String) throws {
        guard !name.isEmpty else { throw APIError.badRequest("name: a role needs a name") }
        guard name.count <= 100 else { throw APIError.badRequest("name: at most 100 characters (got \(name.count))") }
        guard !name.hasPrefix("."), !name.contains("/"), !name.contains("\\"),
              !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw APIError.badRequest("name: '\(name)' cannot be a folder name (no slashes or control characters, no leading dot)")
        }
    }

    /// Checks that `text` can be a clip's file name (the role layout keeps the words in the name).
    static func validateClipText(_ text: String, label: String) throws {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError.badRequest("emotions.\(label): the text is empty") }
        guard !text.hasPrefix("."), !text.contains("/"), !text.contains("\\"),
              !text.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw APIError.badRequest("emotions.\(label): '\(text)' cannot be a file name (no slashes or control characters, no leading dot)")
        }
        guard text.utf8.count <= 240 else { throw APIError.badRequest("emotions.\(label): the text is too long for a file name (\(text.utf8.count) bytes, at most 240)") }
    }

    /// The language code `raw` names (an api_v2 code or a WebUI label), as config.json stores it.
    static func languageCode(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        do { return try TextLanguage(parsing: raw).rawValue } catch {
            throw APIError.badRequest("ref_lang: '\(raw)' is not a language code (\(TextLanguage.allCases.map(\.rawValue).joined(separator: ", ")))", field: "ref_lang")
        }
    }

    /// Creates `role/<name>/` from uploaded clips.
    func create(_ edit: RoleEditRequest) throws -> RoleSummary {
        let name = (edit.name ?? "").trimmingCharacters(in: .whitespaces)
        try Self.validateName(name)
        let folder = library.root.appendingPathComponent(name, isDirectory: true)
        guard !fm.fileExists(atPath: folder.path) else { throw StudioError.conflict("a role named '\(name)' already exists") }
        guard let refUpload = edit.refUpload else { throw APIError.badRequest("ref_upload: a new role needs a default reference clip") }
        let refClip = try uploadedClip(refUpload, field: "ref_upload")
        let emotions = try checkedEmotions(edit.emotions ?? [], existing: [:])
        var config: [String: Any] = [
            "ref_audio": "\(name).wav",
            "ref_text": edit.refText ?? "",
            "ref_lang": try Self.languageCode(edit.refLang) ?? "zh",
        ]
        if let gpt = try weights(edit.gpt ?? nil, field: "gpt") { config["gpt"] = gpt }
        if let sovits = try weights(edit.sovits ?? nil, field: "sovits") { config["sovits"] = sovits }
        if !emotions.isEmpty { config["multiREF"] = "refAudio/" }

        let staging = library.root.appendingPathComponent(".new-\(UUID().uuidString)", isDirectory: true)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            try fm.copyItem(at: refClip, to: staging.appendingPathComponent("\(name).wav"))
            for e in emotions {
                let dir = staging.appendingPathComponent("refAudio/\(e.label)", isDirectory: true)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                try fm.copyItem(at: e.clip!, to: dir.appendingPathComponent("\(e.text).wav"))
            }
            try writeConfig(config, to: staging)
            try fm.moveItem(at: staging, to: folder)
        } catch let e as APIError {
            try? fm.removeItem(at: staging)
            throw e
        } catch {
            try? fm.removeItem(at: staging)
            throw APIError(status: 500, message: "cannot create role '\(name)': \(error.localizedDescription)", exception: nil)
        }
        library.forget(name)
        return try summary(name)
    }

    /// Applies `edit` to the existing role `name`.
    func update(_ name: String, _ edit: RoleEditRequest) throws -> RoleSummary {
        try Self.validateName(name)
        let folder = library.root.appendingPathComponent(name, isDirectory: true).standardizedFileURL
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = fm.contents(atPath: configURL.path) else { throw StudioError.notFound("unknown role '\(name)'") }
        // Keys this page does not edit (BERTmodel, …) are kept as they are.
        var config = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
        let current = try? Role(folder: folder)
        let emotions = try edit.emotions.map { try checkedEmotions($0, existing: current?.emotionReferences ?? [:]) }
        let refClip = try edit.refUpload.map { try uploadedClip($0, field: "ref_upload") }
        let gpt = try edit.gpt.map { try weights($0, field: "gpt") }
        let sovits = try edit.sovits.map { try weights($0, field: "sovits") }
        do {
            if let refClip {
                // Replace the clip config.json names if it lies in the folder; else add <name>.wav.
                var target = folder.appendingPathComponent("\(name).wav")
                if let raw = config["ref_audio"] as? String, !raw.isEmpty {
                    let named = URL(fileURLWithPath: raw, relativeTo: folder).standardizedFileURL
                    if named.path.hasPrefix(folder.path + "/"), named.pathExtension.lowercased() == "wav" { target = named }
                }
                try replaceFile(target, with: refClip)
                config["ref_audio"] = String(target.path.dropFirst(folder.path.count + 1))
            } else if current == nil && config["ref_audio"] == nil {
                throw APIError.badRequest("ref_upload: this role has no default reference clip; upload one")
            }
            if let t = edit.refText { config["ref_text"] = t }
            if let l = try Self.languageCode(edit.refLang) { config["ref_lang"] = l }
            if let gpt { if let gpt { config["gpt"] = gpt } else { config.removeValue(forKey: "gpt") } }
            if let sovits { if let sovits { config["sovits"] = sovits } else { config.removeValue(forKey: "sovits") } }
            if let emotions {
                try applyEmotions(emotions, existing: current?.emotionReferences ?? [:], folder: folder, config: &config)
            }
            try writeConfig(config, to: folder)
        } catch let e as APIError {
            library.forget(name)
            throw e
        } catch {
            library.forget(name)
            throw APIError(status: 500, message: "cannot update role '\(name)': \(error.localizedDescription)", exception: nil)
        }
        library.forget(name)
        return try summary(name)
    }

    /// The role as the page shows it, read back from disk.
    func summary(_ name: String) throws -> RoleSummary {
        do { return RoleSummary(try library.role(name)) } catch let e as RoleError {
            throw APIError.badRequest("the role was written but does not load: \(e.errorDescription ?? "\(e)")")
        }
    }

    // MARK: - Pieces

    private struct CheckedEmotion {
        var label: String
        var text: String
        var clip: URL?
    }

    private func checkedEmotions(_ list: [RoleEditRequest.Emotion], existing: [String: RoleReference]) throws -> [CheckedEmotion] {
        var seen = Set<String>()
        return try list.map { e in
            guard emotionLabels.contains(e.label) else {
                throw APIError.badRequest("emotions: '\(e.label)' is not one of \(emotionLabels.joined(separator: ", "))")
            }
            guard seen.insert(e.label).inserted else { throw APIError.badRequest("emotions: '\(e.label)' is listed twice") }
            try Self.validateClipText(e.text, label: e.label)
            let clip = try e.upload.map { try uploadedClip($0, field: "emotions.\(e.label).upload") }
            if clip == nil && existing[e.label] == nil {
                throw APIError.badRequest("emotions.\(e.label): upload a clip (this role has none for it yet)")
            }
            return CheckedEmotion(label: e.label, text: e.text, clip: clip)
        }
    }

    private func applyEmotions(_ wanted: [CheckedEmotion], existing: [String: RoleReference], folder: URL, config: inout [String: Any]) throws {
        let multi = (config["multiREF"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "refAudio/"
        let multiURL = URL(fileURLWithPath: multi, relativeTo: folder).standardizedFileURL
        guard multiURL.path.hasPrefix(folder.path + "/") else { throw APIError.badRequest("multiREF '\(multi)' points outside the role folder") }
        let wantedLabels = Set(wanted.map(\.label))
        for (label, ref) in existing where !wantedLabels.contains(label) {
            try removeClips(in: ref.audio.deletingLastPathComponent())
        }
        for e in wanted {
            if let clip = e.clip {
                let dir = existing[e.label]?.audio.deletingLastPathComponent() ?? multiURL.appendingPathComponent(e.label, isDirectory: true)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                let target = dir.appendingPathComponent("\(e.text).wav")
                try replaceFile(target, with: clip)
                // The loader uses the first clip in the folder: keep only the new one.
                for other in try clips(in: dir) where other.standardizedFileURL.path != target.standardizedFileURL.path {
                    try fm.removeItem(at: other)
                }
            } else if let old = existing[e.label], old.text != e.text {
                let renamed = old.audio.deletingLastPathComponent().appendingPathComponent("\(e.text).\(old.audio.pathExtension)")
                guard !fm.fileExists(atPath: renamed.path) else { throw StudioError.conflict("emotions.\(e.label): \(renamed.lastPathComponent) already exists") }
                try fm.moveItem(at: old.audio, to: renamed)
            }
        }
        if wanted.isEmpty && existing.isEmpty { return }
        config["multiREF"] = multi
    }

    private func clips(in dir: URL) throws -> [URL] {
        ((try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["wav", "flac", "mp3", "ogg"].contains($0.pathExtension.lowercased()) }
    }

    private func removeClips(in dir: URL) throws {
        for clip in try clips(in: dir) { try fm.removeItem(at: clip) }
        if (try? fm.contentsOfDirectory(atPath: dir.path))?.isEmpty == true { try? fm.removeItem(at: dir) }
    }

    /// The stored upload behind `path`, which must be a clip in the studio's folder.
    private func uploadedClip(_ path: String, field: String) throws -> URL {
        guard uploads.isStoredClip(path) else {
            throw APIError.badRequest("\(field): \(path) is not a clip uploaded to the studio (POST /studio/api/references)")
        }
        return URL(fileURLWithPath: path)
    }

    private func weights(_ path: String?, field: String) throws -> String? {
        guard let path else { return nil }
        return try policy.confine(path, field: field)
    }

    /// Copies `source` over `target` through a temporary file in the same folder and a rename.
    private func replaceFile(_ target: URL, with source: URL) throws {
        let temp = target.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        try fm.copyItem(at: source, to: temp)
        // rename(2) replaces the target in one step: readers see the old file or the new one.
        guard rename(temp.path, target.path) == 0 else {
            let code = errno
            try? fm.removeItem(at: temp)
            throw APIError(status: 500, message: "cannot replace \(target.lastPathComponent): \(String(cString: strerror(code)))", exception: nil)
        }
    }

    private func writeConfig(_ config: [String: Any], to folder: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: folder.appendingPathComponent("config.json"), options: .atomic)
    }
}
