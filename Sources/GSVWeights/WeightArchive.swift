import Foundation
import GSVTensor

/// The container a set of weights was read from.
public enum WeightFormat: String, Sendable, Codable {
    /// A `.safetensors` file.
    case safetensors
    /// A PyTorch zip checkpoint (`torch.save`).
    case pytorchZip = "pytorch-zip"
    /// A legacy (pre-1.6, non-zip) `torch.save` stream.
    case pytorchLegacy = "pytorch-legacy"
    /// A Hugging Face model folder (`config.json` + `model.safetensors` / `pytorch_model.bin`,
    /// possibly sharded with an index JSON).
    case huggingFaceFolder = "huggingface-folder"
}

/// Weights opened from any supported source, with their configuration. Tensors are views into the
/// mapped files; nothing is converted until read.
///
/// ```swift
/// let archive = try WeightArchive.open("GPT_weights_v2/voice-e15.ckpt")
/// let r = WeightReader(archive, prefix: "model.")
/// let w = try r.scoped("h.layers.0").tensor("linear1.weight", shape: [4 * d, d])
/// ```
public struct WeightArchive: Sendable {
    /// The path that was opened (file or folder).
    public let path: String
    /// The container format.
    public let format: WeightFormat
    /// The state dict: tensors by key.
    public let tensors: [String: TensorData]
    /// The configuration: a checkpoint's `config` entry (GPT YAML dict, SoVITS `HParams`) or a
    /// Hugging Face `config.json`; nil when there is none.
    public let config: ConfigValue?
    /// For PyTorch checkpoints, the whole unpickled object (tensors as references).
    public let object: PickleValue?
    /// For PyTorch checkpoints, where the state dict was found (`"weight"` for GPT-SoVITS files; nil
    /// when the top level is the state dict).
    public let stateDictKey: String?
    /// The GPT-SoVITS two-byte version marker, when the file carries one instead of `PK`.
    public let headerMarker: SoVITSHeaderMarker?
    /// Number of distinct storage records referenced (PyTorch), or of tensors (safetensors).
    public let storageCount: Int
    /// safetensors `__metadata__` (merged over shards).
    public let metadata: [String: String]
    /// The weight files read (one, or the shards of a folder).
    public let files: [String]
    /// For a single PyTorch file (or a folder holding one): MD5 (hex) of its first 8192 bytes, the
    /// key the official loader uses to recognise its pretrained SoVITS files.
    public var leadingMD5: String? = nil

    /// Releases the resident pages of every mapped file behind the tensors
    /// (``MappedFile/releaseResidentPages()``); the tensors stay readable.
    public func releaseResidentPages() {
        var seen = Set<ObjectIdentifier>()
        for t in tensors.values where seen.insert(ObjectIdentifier(t.file)).inserted {
            t.file.releaseResidentPages()
        }
    }

    /// Opens a safetensors file, a PyTorch zip checkpoint or a Hugging Face folder, chosen by content.
    public static func open(_ path: String) throws -> WeightArchive {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw WeightsError.unreadable(path: path, reason: "no such file or folder")
        }
        if isDir.boolValue { return try openFolder(path) }
        return try openFile(path)
    }

    /// Opens a single weight file.
    public static func openFile(_ path: String) throws -> WeightArchive {
        let file = try MappedFile(path: path)
        if ZipArchive.looksLikeZip(file) || TorchCheckpoint.looksLikeLegacy(file) {
            let ckpt = try TorchCheckpoint(file: file)
            let config = ckpt.object["config"].map(ConfigValue.init(pickle:))
            var archive = WeightArchive(path: path, format: ckpt.isLegacy ? .pytorchLegacy : .pytorchZip,
                                        tensors: try ckpt.stateDict(), config: config, object: ckpt.object,
                                        stateDictKey: ckpt.stateDictKey, headerMarker: ckpt.headerMarker,
                                        storageCount: ckpt.storages.count, metadata: [:], files: [path])
            archive.leadingMD5 = MD5.hex(try file.bytes(0..<min(file.size, 8192)))
            return archive
        }
        if file.size >= 10, let b = try? file.bytes(8..<10), b[0] == UInt8(ascii: "{") {
            let st = try SafeTensorsFile(path: path)
            return WeightArchive(path: path, format: .safetensors, tensors: st.tensors, config: nil, object: nil,
                                 stateDictKey: nil, headerMarker: nil, storageCount: st.tensors.count,
                                 metadata: st.metadata, files: [path])
        }
        if file.size >= 2, let b = try? file.bytes(0..<2), b[0] == 0x80, b[1] <= 5 {
            throw WeightsError.unknownFormat(path: path,
                reason: "a bare pickle without torch.save's zip container or legacy magic number")
        }
        throw WeightsError.unknownFormat(path: path, reason: "neither a PyTorch zip checkpoint nor safetensors")
    }

    /// Opens a Hugging Face model folder.
    public static func openFolder(_ path: String) throws -> WeightArchive {
        let dir = URL(fileURLWithPath: path, isDirectory: true)
        func exists(_ n: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(n).path) }
        var config: ConfigValue?
        if exists("config.json") {
            let p = dir.appendingPathComponent("config.json").path
            do {
                config = try JSONDecoder().decode(ConfigValue.self, from: Data(contentsOf: URL(fileURLWithPath: p)))
            } catch {
                throw WeightsError.corrupt(path: p, reason: "config.json is not valid JSON")
            }
        }
        // Single files first, then sharded indexes (safetensors preferred, as transformers does).
        var shardFiles: [String] = []
        for single in ["model.safetensors", "pytorch_model.bin"] where exists(single) {
            shardFiles = [single]
            break
        }
        if shardFiles.isEmpty {
            for index in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] where exists(index) {
                shardFiles = try shards(in: dir.appendingPathComponent(index).path)
                break
            }
        }
        guard !shardFiles.isEmpty else {
            throw WeightsError.unknownFormat(path: path,
                reason: "folder has no model.safetensors, pytorch_model.bin or sharded index")
        }
        var tensors: [String: TensorData] = [:]
        var metadata: [String: String] = [:]
        var storages = 0
        var files: [String] = []
        var leadingMD5: String?
        for f in shardFiles {
            let p = dir.appendingPathComponent(f).path
            let part = try openFile(p)
            for (k, t) in part.tensors {
                guard tensors[k] == nil else {
                    throw WeightsError.corrupt(path: p, reason: "tensor '\(k)' appears in more than one shard")
                }
                tensors[k] = t
            }
            metadata.merge(part.metadata) { a, _ in a }
            storages += part.storageCount
            files.append(p)
            leadingMD5 = part.leadingMD5
        }
        var archive = WeightArchive(path: path, format: .huggingFaceFolder, tensors: tensors, config: config,
                                    object: nil, stateDictKey: nil, headerMarker: nil, storageCount: storages,
                                    metadata: metadata, files: files)
        if shardFiles.count == 1 { archive.leadingMD5 = leadingMD5 }
        return archive
    }

    /// The shard file names listed in a Hugging Face index JSON (`weight_map` values), in order of
    /// first appearance; names must stay inside the folder.
    static func shards(in indexPath: String) throws -> [String] {
        struct Index: Decodable { let weight_map: [String: String] }
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: indexPath)))
        } catch {
            throw WeightsError.corrupt(path: indexPath, reason: "index JSON has no valid weight_map")
        }
        var seen = Set<String>()
        var out: [String] = []
        for k in index.weight_map.keys.sorted() {
            let f = index.weight_map[k] ?? ""
            guard !f.isEmpty, !f.contains("/"), !f.contains("\\"), f != "..", f != "." else {
                throw WeightsError.corrupt(path: indexPath, reason: "weight_map names an invalid shard '\(f)'")
            }
            if seen.insert(f).inserted { out.append(f) }
        }
        guard !out.isEmpty else { throw WeightsError.corrupt(path: indexPath, reason: "weight_map is empty") }
        return out.sorted()
    }

    /// Number of elements over all tensor entries (shared storages counted once per entry).
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// Number of elements over distinct tensor views: entries that view exactly the same bytes
    /// (same file, offset, dtype, shape and strides — e.g. tied or shared BERT layers) count once.
    public var uniqueParameterCount: Int {
        struct ViewKey: Hashable { let file: ObjectIdentifier; let offset: Int; let dtype: DType; let shape: [Int]; let strides: [Int] }
        var seen = Set<ViewKey>()
        var n = 0
        for t in tensors.values {
            let k = ViewKey(file: ObjectIdentifier(t.file), offset: t.offset, dtype: t.dtype, shape: t.shape, strides: t.strides)
            if seen.insert(k).inserted { n += t.count }
        }
        return n
    }

    /// Number of tensor entries per stored dtype.
    public var dtypeHistogram: [DType: Int] {
        var h: [DType: Int] = [:]
        for t in tensors.values { h[t.dtype, default: 0] += 1 }
        return h
    }
}
