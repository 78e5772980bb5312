import Foundation
import GSVTensor

/// A PyTorch checkpoint (`torch.save`: `.ckpt`, `.pth`, `pytorch_model.bin`), read in place.
///
/// The zip format (PyTorch ≥ 1.6): the zip's central directory, the restricted unpickling of
/// `<archive>/data.pkl`, and tensor views into the `<archive>/data/<key>` storage records. The
/// legacy stream format (older `torch.save`, still found in some Hugging Face uploads) is read too:
/// five pickles (magic number, protocol, system info, the object, the storage keys) followed by each
/// storage as an 8-byte element count and its raw bytes.
///
/// Follows GPT_SoVITS/process_ckpt.py: `load_sovits_new` for the two-byte version header (restored
/// to `PK` logically; see ``SoVITSHeaderMarker``).
public struct TorchCheckpoint: Sendable {
    /// The zip container (nil for a legacy stream file).
    public let zip: ZipArchive?
    /// The mapped file.
    public let file: MappedFile
    /// The record-name prefix (`archive` in `archive/data.pkl`; empty for legacy files).
    public let archiveName: String
    /// The unpickled top-level object; tensors appear as ``PickleValue/tensor(_:)``.
    public let object: PickleValue
    /// The distinct storages the pickle referenced, by record key.
    public let storages: [String: TorchStorage]

    /// The GPT-SoVITS version marker written over `PK`, if any.
    public var headerMarker: SoVITSHeaderMarker? { zip?.headerMarker }
    /// Whether the file uses the legacy (pre-zip) stream format.
    public var isLegacy: Bool { zip == nil }

    /// The first pickle of a legacy file: the magic number 0x1950a86a20f9469cfc6c (protocol 2).
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// Whether `file` starts with the legacy `torch.save` magic number.
    public static func looksLikeLegacy(_ file: MappedFile) -> Bool {
        guard file.size >= legacyMagic.count, let b = try? file.bytes(0..<legacyMagic.count) else { return false }
        return b.elementsEqual(legacyMagic)
    }

    /// Opens `path`.
    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Reads a checkpoint from an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        if Self.looksLikeLegacy(file) {
            (object, storages) = try Self.readLegacy(file)
            zip = nil
            archiveName = ""
            return
        }
        let path = file.path
        guard ZipArchive.looksLikeZip(file) else {
            throw WeightsError.unknownFormat(path: path, reason: "not a PyTorch checkpoint (no zip signature or legacy magic number)")
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

    /// Reads the legacy stream format. The object pickle is run twice: first to learn each
    /// storage's dtype (needed to walk the storage section), then with the storages located.
    private static func readLegacy(_ file: MappedFile) throws -> (PickleValue, [String: TorchStorage]) {
        let path = file.path
        let all = try file.bytes(0..<file.size)
        var pos = legacyMagic.count
        func next(_ resolver: @escaping Unpickler.StorageResolver) throws -> (PickleValue, Int) {
            var u = Unpickler(bytes: UnsafeRawBufferPointer(rebasing: all[pos...]), path: path, resolveStorage: resolver)
            let v = try u.load()
            return (v, u.pos)
        }
        let refuse: Unpickler.StorageResolver = { _, key, _ in
            throw WeightsError.corrupt(path: path, reason: "legacy header pickle references storage '\(key)'")
        }
        let (proto, n1) = try next(refuse)
        guard proto.intValue == 1001 else {
            throw WeightsError.unknownFormat(path: path, reason: "legacy torch.save protocol \(proto.kindName) \(proto.intValue ?? -1) is not 1001")
        }
        pos += n1
        let (sysInfo, n2) = try next(refuse)
        if let le = sysInfo["little_endian"], le != .bool(true) {
            throw WeightsError.unknownFormat(path: path, reason: "legacy checkpoint is big-endian")
        }
        pos += n2
        let objectStart = pos
        var declared: [String: (DType, Int)] = [:]
        let (_, n3) = try next { dtype, key, count in
            declared[key] = (dtype, count)
            return TorchStorage(key: key, dtype: dtype, count: count, fileOffset: 0)
        }
        pos += n3
        let (keysValue, n4) = try next(refuse)
        pos += n4
        guard case let .list(keyItems) = keysValue else {
            throw WeightsError.corrupt(path: path, reason: "legacy storage key list is missing")
        }
        var located: [String: (offset: Int, count: Int)] = [:]
        for item in keyItems {
            guard case let .string(key) = item, let (dtype, _) = declared[key] else {
                throw WeightsError.corrupt(path: path, reason: "legacy storage key list names an unknown storage")
            }
            guard pos <= file.size - 8 else {
                throw WeightsError.corrupt(path: path, reason: "legacy storage '\(key)' is truncated")
            }
            let stored = UInt64(littleEndian: all.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            let (bytes, o) = Int(clamping: stored).multipliedReportingOverflow(by: dtype.byteSize)
            guard stored <= UInt64(file.size), !o, bytes <= file.size - pos - 8 else {
                throw WeightsError.corrupt(path: path, reason: "legacy storage '\(key)' declares \(stored) elements beyond the file")
            }
            located[key] = (pos + 8, Int(stored))
            pos += 8 + bytes
        }
        pos = objectStart
        var seen: [String: TorchStorage] = [:]
        let (object, _) = try next { dtype, key, count in
            guard let l = located[key], count <= l.count else {
                throw WeightsError.corrupt(path: path, reason: "legacy storage '\(key)' is missing or shorter than declared")
            }
            let s = TorchStorage(key: key, dtype: dtype, count: count, fileOffset: l.offset)
            seen[key] = s
            return s
        }
        return (object, seen)
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
