// The GPT and SoVITS files the studio offers: those in the allowed folders, the model cache and
// the studio's uploads, identified by content (not by name) and remembered per file version.
import Foundation
import GSVWeights

/// One model file the page may load.
struct ListedModel: Codable, Sendable, Equatable {
    var path: String
    var name: String
    /// `gpt` or `sovits`.
    var kind: String
    /// `v1`, `v2`, `v2Pro`, … (SoVITS: the model version; GPT: its symbol table), when known.
    var version: String?
    /// Where it was found: `loaded`, `uploaded`, `cache` or `folder`.
    var origin: String
    var bytes: Int
}

/// Finds and identifies model files in a few folders.
final class ModelLister: @unchecked Sendable {
    /// Folders to search and the origin label of each.
    let folders: [(url: URL, origin: String)]
    /// Deepest folder level searched below each folder.
    let maxDepth = 4
    /// Most files looked at per listing (a folder with a whole disk below it stays cheap).
    let maxFiles = 4000
    private let lock = NSLock()
    private var identities: [String: (size: Int, modified: Date, identity: ModelIdentity?)] = [:]

    init(folders: [(URL, String)]) {
        self.folders = folders.map { (url: $0.0.standardizedFileURL, origin: $0.1) }
    }

    /// The `.ckpt` and `.pth` files below the folders that are GPT or SoVITS models, sorted by
    /// origin then name; `loaded` lists the files the server holds now (always first).
    func list(loaded: [String]) -> (gpt: [ListedModel], sovits: [ListedModel]) {
        var seen = Set<String>()
        var found: [ListedModel] = []
        for path in loaded {
            let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
            if seen.insert(resolved).inserted, let m = model(at: resolved, origin: "loaded") { found.append(m) }
        }
        var budget = maxFiles
        for folder in folders {
            for url in candidates(in: folder.url, budget: &budget) {
                let resolved = url.resolvingSymlinksInPath().path
                guard seen.insert(resolved).inserted, let m = model(at: resolved, origin: folder.origin) else { continue }
                found.append(m)
            }
        }
        let order = ["loaded": 0, "uploaded": 1, "folder": 2, "cache": 3]
        found.sort { (order[$0.origin] ?? 9, $0.name) < (order[$1.origin] ?? 9, $1.name) }
        return (found.filter { $0.kind == "gpt" }, found.filter { $0.kind == "sovits" })
    }

    private func candidates(in root: URL, budget: inout Int) -> [URL] {
        let fm = FileManager.default
        var out: [URL] = []
        var queue: [(URL, Int)] = [(root, 0)]
        while let (dir, depth) = queue.first, budget > 0 {
            queue.removeFirst()
            guard let entries = try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles]) else { continue }
            for entry in entries.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
                budget -= 1
                if budget <= 0 { break }
                let isDir = (try? entry.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
                if isDir {
                    if depth < maxDepth { queue.append((entry, depth + 1)) }
                } else if ["ckpt", "pth"].contains(entry.pathExtension.lowercased()) {
                    out.append(entry)
                }
            }
        }
        return out
    }

    /// The file as a listed model, or nil when it is not a GPT/SoVITS checkpoint (or unreadable).
    func model(at path: String, origin: String) -> ListedModel? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue, let modified = attributes[.modificationDate] as? Date else { return nil }
        lock.lock()
        let cached = identities[path]
        lock.unlock()
        let identity: ModelIdentity?
        if let cached, cached.size == size, cached.modified == modified {
            identity = cached.identity
        } else {
            identity = (try? WeightArchive.open(path)).map { ModelIdentity(archive: $0) }
            lock.lock()
            identities[path] = (size, modified, identity)
            lock.unlock()
        }
        guard let identity, !identity.isLoRA || identity.kind == .sovits else { return nil }
        let kind: String
        switch identity.kind {
        case .t2sGPT: kind = "gpt"
        case .sovits: kind = "sovits"
        default: return nil
        }
        return ListedModel(path: path, name: URL(fileURLWithPath: path).lastPathComponent, kind: kind,
                           version: Self.versionLabel(identity), origin: origin, bytes: size)
    }

    /// The version to show: SoVITS model version (with "LoRA"), or the GPT's symbol table.
    static func versionLabel(_ identity: ModelIdentity) -> String? {
        switch identity.kind {
        case .sovits: return identity.sovitsVersion.map { $0.rawValue + (identity.isLoRA ? " LoRA" : "") }
        case .t2sGPT: return identity.symbolVersion?.rawValue
        default: return nil
        }
    }
}
