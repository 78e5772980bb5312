// Reads the official training folder (what `prepare format` writes, and what the official
// prepare_datasets/1-get-text.py, 2-get-hubert-wav32k.py, 2-get-sv.py and 3-get-semantic.py write):
// `2-name2text.txt`, `3-bert/<name>.pt`, `4-cnhubert/<name>.pt`, `5-wav32k/<name>`,
// `6-name2semantic.tsv`, `7-sv_cn/<name>.pt` (v2Pro).

import Foundation
import GSVAudio
import GSVTensor
import GSVText
import GSVWeights

/// One line of `2-name2text.txt`: `name⇥phones⇥word2ph⇥norm_text`.
public struct PhoneEntry: Sendable, Equatable {
    public var name: String
    public var phones: [String]
    /// The normalised text (fourth field).
    public var text: String = ""
}

/// The training folder of one voice.
public struct DatasetFolder: Sendable {
    /// The folder.
    public let url: URL

    /// Opens `path`, checking that it is a folder.
    /// - Throws: ``TrainingError/invalidDataset(_:)`` when it does not exist.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw TrainingError.invalidDataset("\(path) is not a folder")
        }
        url = URL(fileURLWithPath: path, isDirectory: true)
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    /// `2-name2text.txt`, lines with exactly four tab-separated fields (others are skipped, as official).
    public func phoneEntries() throws -> [PhoneEntry] {
        let path = file("2-name2text.txt")
        guard let text = try? String(contentsOf: path, encoding: .utf8) else {
            throw TrainingError.invalidDataset("\(path.path) is missing or not UTF-8 (run `gpt-sovits prepare format` first)")
        }
        var out: [PhoneEntry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4 else { continue }
            out.append(PhoneEntry(name: String(fields[0]), phones: fields[1].split(separator: " ").map(String.init), text: String(fields[3])))
        }
        return out
    }

    /// `6-name2semantic.tsv`: a header line, then `name⇥tokens space-separated`.
    public func semanticEntries() throws -> [(name: String, tokens: [Int])] {
        let path = file("6-name2semantic.tsv")
        guard let text = try? String(contentsOf: path, encoding: .utf8) else {
            throw TrainingError.invalidDataset("\(path.path) is missing or not UTF-8 (run `gpt-sovits prepare format` first)")
        }
        var out: [(String, [Int])] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() where i > 0 {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else {
                throw TrainingError.invalidDataset("\(path.lastPathComponent) line \(i + 1) has no tab-separated token list")
            }
            var tokens: [Int] = []
            for s in fields[1].split(separator: " ") {
                guard let v = Int(s), v >= 0 else {
                    throw TrainingError.invalidDataset("\(path.lastPathComponent) line \(i + 1): '\(s)' is not a semantic token")
                }
                tokens.append(v)
            }
            out.append((String(fields[0]), tokens))
        }
        return out
    }

    /// Names with a file in `folder` (the `.pt` suffix removed when `stripPT`).
    func names(in folder: String, stripPT: Bool) -> Set<String> {
        let dir = file(folder)
        guard let list = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return Set(list.compactMap { n in
            if stripPT { return n.hasSuffix(".pt") ? String(n.dropLast(3)) : nil }
            return n
        })
    }

    /// A tensor saved with `torch.save(tensor)` (`3-bert/…`, `4-cnhubert/…`, `7-sv_cn/…`), as fp32.
    public func tensor(_ relative: String) throws -> Tensor {
        try loadSavedTensor(file(relative).path)
    }
}

/// Reads a file written by `torch.save(tensor)` (a bare tensor, fp16 or fp32), as fp32.
/// - Throws: `WeightsError` for unreadable files, ``TrainingError/invalidDataset(_:)`` when the file
///   holds something other than one tensor.
public func loadSavedTensor(_ path: String) throws -> Tensor {
    let ckpt = try TorchCheckpoint(path: path)
    guard case let .tensor(ref) = ckpt.object else {
        throw TrainingError.invalidDataset("\(path) holds a \(ckpt.object.kindName), expected one tensor")
    }
    return try ckpt.tensorData(ref, name: (path as NSString).lastPathComponent).floatTensor()
}
