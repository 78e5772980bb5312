import Foundation
import GSVTensor

/// A PyTorch zip checkpoint (`torch.save` since 1.6: `.ckpt`, `.pth`, `pytorch_model.bin`), read in
/// place: the zip's central directory, the restricted unpickling of `<archive>/data.pkl`, and tensor
/// views into the `<archive>/data/<key>` storage records.
///
/// Follows GPT_SoVITS/process_ckpt.py: `load_sovits_new` for the two-byte version header (restored
/// to `PK` logically; see ``SoVITSHeaderMarker``).
public struct TorchCheckpoint: Sendable {
    /// The zip container.
    public let zip: ZipArchive
    /// The record-name prefix (`archive` in `archive/data.pkl`).
    public let archiveName: String
    /// The unpickled top-level object; tensors appear as ``PickleValue/tensor(_:)``.
    public let object: PickleValue
    /// The distinct storages the pickle referenced, by record key.
    public let storages: [String: TorchStorage]

    /// The mapped file.
    public var file: MappedFile { zip.file }
    /// The GPT-SoVITS version marker written over `PK`, if any.
    public var headerMarker: SoVITSHeaderMarker? { zip.headerMarker }

    /// Opens `path`.
    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Reads a checkpoint from an already mapped file.
    public init(file: MappedFile) throws {
        let path = file.path
        guard ZipArchive.looksLikeZip(file) else {
            throw WeightsError.unknownFormat(path: path, reason: "not a PyTorch zip checkpoint (no zip signature)")
        }
        let zip = try ZipArchive(file: file)
        guard let pkl = zip.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw WeightsError.unknownFormat(path: path, reason: "zip has no data.pkl record; not a torch.save checkpoint")
        }
        let prefix = pkl.name == "data.pkl" ? "" : String(pkl.name.dropLast("data.pkl".count))
        if let bo = zip.entriesByName[prefix + "byteorder"] {
            let b = try zip.data(of: bo)
            let order = String(decoding: b, as: UTF8.self)
            guard order == "little" else {
                throw WeightsError.unknownFormat(path: path, reason: "checkpoint byte order is '\(order)'; only little-endian is supported")
            }
        }
        var seen: [String: TorchStorage] = [:]
        let resolver: Unpickler.StorageResolver = { dtype, key, count in
            guard let entry = zip.entriesByName[prefix + "data/" + key] else {
                throw WeightsError.corrupt(path: path, reason: "storage record 'data/\(key)' is missing from the zip")
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, bytes <= entry.size else {
                throw WeightsError.corrupt(path: path,
                    reason: "storage 'data/\(key)' declares \(count) × \(dtype) but the record has \(entry.size) bytes")
            }
            let s = TorchStorage(key: key, dtype: dtype, count: count, fileOffset: entry.dataOffset)
            seen[key] = s
            return s
        }
        var unpickler = Unpickler(bytes: try zip.data(of: pkl), path: path, resolveStorage: resolver)
        self.object = try unpickler.load()
        self.zip = zip
        self.archiveName = String(prefix.dropLast())
        self.storages = seen
    }

    /// Makes a ``TensorData`` view named `name` for a pickled tensor.
    public func tensorData(_ ref: TorchTensorRef, name: String) throws -> TensorData {
        try TensorData(name: name, dtype: ref.dtype, shape: ref.shape, file: file,
                       offset: ref.storage.fileOffset + ref.storageOffset * ref.dtype.byteSize,
                       strides: ref.strides)
    }

    /// Where the state dict lives in a checkpoint: the top-level dict itself when it holds tensors
    /// (Hugging Face `pytorch_model.bin`, plain `state_dict` saves), else the first of
    /// `weight` (GPT-SoVITS `.ckpt`/`.pth`), `state_dict` (Lightning), `model`, `generator`
    /// (BigVGAN, AP-BWE) that is a dict holding tensors.
    public var stateDictKey: String? {
        if Self.holdsTensors(object) { return nil }
        for k in ["weight", "state_dict", "model", "generator"] {
            if let v = object[k], Self.holdsTensors(v) { return k }
        }
        return nil
    }

    private static func holdsTensors(_ v: PickleValue) -> Bool {
        guard let entries = v.dictEntries else { return false }
        return entries.contains { if case .tensor = $0.value { return true } else { return false } }
    }

    /// The tensors of the state dict (see ``stateDictKey``), keyed by their string keys.
    public func stateDict() throws -> [String: TensorData] {
        let dict = stateDictKey.flatMap { object[$0] } ?? object
        var out: [String: TensorData] = [:]
        for e in dict.dictEntries ?? [] {
            guard case let .string(k) = e.key, case let .tensor(t) = e.value else { continue }
            out[k] = try tensorData(t, name: k)
        }
        return out
    }
}
