import Foundation
import GSVTensor

// Writes files that `torch.load` reads: the zip layout of `torch.save` (PyTorch ≥ 1.6,
// `_use_new_zipfile_serialization=True`) with a protocol-2 pickle, as the official GPT-SoVITS tools
// write `.pt` features (prepare_datasets/*.py: my_save) and `.ckpt`/`.pth` checkpoints
// (process_ckpt.py: my_save, savee). Hand-written because no Swift library writes PyTorch's format;
// the layout was read off files written by torch 2.x (see TorchSaveTests).

/// A tensor to be written by ``TorchSave``: contiguous little-endian elements of `dtype`.
public struct TorchSaveTensor: Sendable, Equatable {
    /// Element type (selects the pickled storage class, e.g. `torch.FloatStorage`).
    public let dtype: DType
    /// Shape, outermost first (`[]` for a 0-d tensor).
    public let shape: [Int]
    /// `shape.product × dtype.byteSize` bytes, row-major.
    public let bytes: Data

    /// Wraps raw bytes; throws when their count does not match the shape.
    public init(dtype: DType, shape: [Int], bytes: Data) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.unwritable(path: "<tensor>", reason: "negative dimension in shape \(shape)")
        }
        let count = shape.reduce(1, *)
        guard bytes.count == count * dtype.byteSize else {
            throw WeightsError.unwritable(path: "<tensor>", reason: "\(bytes.count) bytes for shape \(shape) of \(dtype) (needs \(count * dtype.byteSize))")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 tensor (or float16 when `half`, rounded to nearest even as `Tensor.half()` does).
    public init(float values: [Float], shape: [Int], half: Bool = false) throws {
        var data = Data()
        if half {
            // Converted into one buffer, then copied once (appending per element is slow).
            let bits = values.map { HalfConversion.half(fromFloat: $0).littleEndian }
            data = bits.withUnsafeBufferPointer { Data(buffer: $0) }
        } else {
            data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        try self.init(dtype: half ? .float16 : .float32, shape: shape, bytes: data)
    }

    /// An int64 tensor.
    public init(int64 values: [Int], shape: [Int]) throws {
        var data = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        try self.init(dtype: .int64, shape: shape, bytes: data)
    }

    /// The `torch.<Name>Storage` class name of `dtype`.
    var storageClass: String {
        switch dtype {
        case .float32: return "FloatStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .float64: return "DoubleStorage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }
}

/// A Python value to pickle for `torch.save`. Dict keys keep their order.
public indirect enum TorchSaveValue: Sendable, Equatable {
    /// `None`.
    case none
    /// `True` / `False`.
    case bool(Bool)
    /// An `int` (64-bit).
    case int(Int)
    /// A `float`.
    case float(Double)
    /// A `str`.
    case string(String)
    /// A `list`.
    case list([TorchSaveValue])
    /// A `tuple`.
    case tuple([TorchSaveValue])
    /// A plain `dict`.
    case dict([(key: TorchSaveValue, value: TorchSaveValue)])
    /// A `collections.OrderedDict` with string keys (a state dict).
    case orderedDict([(key: String, value: TorchSaveValue)])
    /// An instance of `module.name` built without arguments whose `__dict__` is `state`
    /// (e.g. GPT-SoVITS's `utils.HParams`): `NEWOBJ` then `BUILD`, as pickle writes it.
    case object(module: String, name: String, state: TorchSaveValue)
    /// A tensor; each gets its own storage record.
    case tensor(TorchSaveTensor)

    public static func == (a: TorchSaveValue, b: TorchSaveValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x == y
        case let (.dict(x), .dict(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.orderedDict(x), .orderedDict(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.object(m1, n1, s1), .object(m2, n2, s2)): return m1 == m2 && n1 == n2 && s1 == s2
        case let (.tensor(x), .tensor(y)): return x == y
        default: return false
        }
    }
}

/// Writes `torch.save`-compatible files.
///
/// The archive holds `<name>/data.pkl` (protocol 2; tensors as `torch._utils._rebuild_tensor_v2`
/// with persistent ids `('storage', torch.<T>Storage, key, 'cpu', numel)`), `<name>/data/<key>`
/// storage records aligned to 64 bytes, and the `.format_version`, `.storage_alignment`,
/// `byteorder` and `version` records, all stored uncompressed with CRC-32 checksums.
public enum TorchSave {
    /// The file bytes for `value`. `archiveName` is the top folder inside the zip (`torch.save`
    /// uses the file's stem).
    public static func data(_ value: TorchSaveValue, archiveName: String = "archive") throws -> Data {
        guard !archiveName.isEmpty, !archiveName.contains("/") else {
            throw WeightsError.unwritable(path: archiveName, reason: "archive name must be a non-empty name without '/'")
        }
        let (pickle, storages) = try Pickler.pickle(value)
        var zip = ZipWriter()
        zip.add("\(archiveName)/data.pkl", pickle)
        zip.add("\(archiveName)/.format_version", Data("1".utf8))
        zip.add("\(archiveName)/.storage_alignment", Data("64".utf8))
        zip.add("\(archiveName)/byteorder", Data("little".utf8))
        for (key, tensor) in storages.enumerated() {
            zip.add("\(archiveName)/data/\(key)", tensor.bytes, alignment: 64)
        }
        zip.add("\(archiveName)/version", Data("3\n".utf8))
        return try zip.finish()
    }

    /// Writes `value` to `path` atomically (a temporary file in the same folder, then a rename), so
    /// an interrupted write never leaves a partial file under `path`.
    public static func write(_ value: TorchSaveValue, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let name = stem.isEmpty || stem.contains("/") ? "archive" : stem
        let bytes = try data(value, archiveName: name)
        do {
            try bytes.write(to: url, options: .atomic)
        } catch {
            throw WeightsError.unwritable(path: path, reason: error.localizedDescription)
        }
    }
}

/// Protocol-2 pickle writer for ``TorchSaveValue`` (no memo: every value is written in full).
struct Pickler {
    var out = Data()
    /// Tensors in storage-key order.
    var storages: [TorchSaveTensor] = []

    private mutating func op(_ b: UInt8) { out.append(b) }
    private mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }

    private mutating func global(_ module: String, _ name: String) {
        op(0x63)  // GLOBAL
        out.append(contentsOf: Array("\(module)\n\(name)\n".utf8))
    }

    private mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        op(0x58)  // BINUNICODE
        u32(UInt32(utf8.count))
        out.append(contentsOf: utf8)
    }

    private mutating func int(_ v: Int) {
        if v >= 0 && v < 256 {
            op(0x4B); op(UInt8(v))  // BININT1
        } else if v >= 0 && v < 65536 {
            op(0x4D); withUnsafeBytes(of: UInt16(v).littleEndian) { out.append(contentsOf: $0) }  // BININT2
        } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
            op(0x4A); withUnsafeBytes(of: Int32(v).littleEndian) { out.append(contentsOf: $0) }  // BININT
        } else {
            op(0x8A); op(8)  // LONG1, 8 bytes two's complement little-endian
            withUnsafeBytes(of: Int64(v).littleEndian) { out.append(contentsOf: $0) }
        }
    }

    private mutating func tuple(_ items: [TorchSaveValue]) throws {
        switch items.count {
        case 0: op(0x29)  // EMPTY_TUPLE
        case 1: try dump(items[0]); op(0x85)  // TUPLE1
        case 2: try dump(items[0]); try dump(items[1]); op(0x86)  // TUPLE2
        case 3: try dump(items[0]); try dump(items[1]); try dump(items[2]); op(0x87)  // TUPLE3
        default:
            op(0x28)  // MARK
            for i in items { try dump(i) }
            op(0x74)  // TUPLE
        }
    }

    mutating func dump(_ value: TorchSaveValue) throws {
        if out.isEmpty { op(0x80); op(2) }  // PROTO 2
        try dumpValue(value)
    }

    private mutating func dumpValue(_ value: TorchSaveValue) throws {
        switch value {
        case .none: op(0x4E)
        case let .bool(b): op(b ? 0x88 : 0x89)
        case let .int(i): int(i)
        case let .float(d):
            op(0x47)  // BINFLOAT, big-endian
            withUnsafeBytes(of: d.bitPattern.bigEndian) { out.append(contentsOf: $0) }
        case let .string(s): string(s)
        case let .list(items):
            op(0x5D)  // EMPTY_LIST
            if !items.isEmpty {
                op(0x28)
                for i in items { try dumpValue(i) }
                op(0x65)  // APPENDS
            }
        case let .tuple(items): try tuple(items)
        case let .dict(entries):
            op(0x7D)  // EMPTY_DICT
            if !entries.isEmpty {
                op(0x28)
                for e in entries { try dumpValue(e.key); try dumpValue(e.value) }
                op(0x75)  // SETITEMS
            }
        case let .orderedDict(entries):
            global("collections", "OrderedDict")
            op(0x29); op(0x52)  // EMPTY_TUPLE, REDUCE
            if !entries.isEmpty {
                op(0x28)
                for e in entries { string(e.key); try dumpValue(e.value) }
                op(0x75)
            }
        case let .object(module, name, state):
            guard !module.isEmpty, !name.isEmpty, !(module + name).contains("\n") else {
                throw WeightsError.unwritable(path: "<pickle>", reason: "invalid class name '\(module).\(name)'")
            }
            global(module, name)
            op(0x29); op(0x81)  // EMPTY_TUPLE, NEWOBJ
            try dumpValue(state)
            op(0x62)  // BUILD
        case let .tensor(t):
            let key = storages.count
            storages.append(t)
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28)  // MARK (arguments)
            // persistent id ('storage', torch.<T>Storage, key, 'cpu', numel)
            op(0x28)
            string("storage")
            global("torch", t.storageClass)
            string(String(key))
            string("cpu")
            int(t.shape.reduce(1, *))
            op(0x74)  // TUPLE
            op(0x51)  // BINPERSID
            int(0)  // storage offset
            try tuple(t.shape.map { .int($0) })
            var strides = [Int](repeating: 1, count: t.shape.count)
            if t.shape.count > 1 { for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] } }
            try tuple(strides.map { .int($0) })
            op(0x89)  // requires_grad False
            global("collections", "OrderedDict")
            op(0x29); op(0x52)  // backward hooks: OrderedDict()
            op(0x74)  // TUPLE
            op(0x52)  // REDUCE
        }
    }

    /// Ends the pickle.
    mutating func finish() { op(0x2E) }  // STOP
}

extension Pickler {
    /// Pickles `value` completely (PROTO … STOP).
    static func pickle(_ value: TorchSaveValue) throws -> (Data, [TorchSaveTensor]) {
        var p = Pickler()
        try p.dump(value)
        p.finish()
        return (p.out, p.storages)
    }
}

/// A minimal zip writer: stored (uncompressed) entries, optional data alignment through a padding
/// extra field in the local header, CRC-32, and Zip64 records when the archive passes 4 GiB.
struct ZipWriter {
    private var body = Data()
    private var central = Data()
    private var count = 0

    private static func le16(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { d.append(contentsOf: $0) } }
    private static func le32(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { d.append(contentsOf: $0) } }
    private static func le64(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt64(v).littleEndian) { d.append(contentsOf: $0) } }

    /// Appends a stored entry; with `alignment > 1` its data starts at a multiple of `alignment`.
    mutating func add(_ name: String, _ data: Data, alignment: Int = 1) {
        let nameBytes = Array(name.utf8)
        let offset = body.count
        let crc = CRC32.checksum(data)
        let big = data.count >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
        var extra = Data()
        if big {
            // Zip64 extended information: sizes (and offset in the central header).
            Self.le16(0x0001, &extra); Self.le16(16, &extra)
            Self.le64(data.count, &extra); Self.le64(data.count, &extra)
        }
        if alignment > 1 {
            let unpadded = offset + 30 + nameBytes.count + extra.count
            var pad = (alignment - unpadded % alignment) % alignment
            if pad > 0 && pad < 4 { pad += alignment }  // room for the extra field's own header
            if pad > 0 {
                Self.le16(0x4246, &extra)  // "FB", as PyTorch pads
                Self.le16(pad - 4, &extra)
                extra.append(Data(repeating: 0x5A, count: pad - 4))
            }
        }
        let size32 = big ? 0xFFFF_FFFF : data.count
        // local file header
        Self.le32(0x0403_4B50, &body)
        Self.le16(big ? 45 : 20, &body); Self.le16(0, &body); Self.le16(0, &body)  // version, flags, stored
        Self.le16(0, &body); Self.le16(0x21, &body)  // time, date (1980-01-01)
        Self.le32(Int(crc), &body); Self.le32(size32, &body); Self.le32(size32, &body)
        Self.le16(nameBytes.count, &body); Self.le16(extra.count, &body)
        body.append(contentsOf: nameBytes)
        body.append(extra)
        body.append(data)
        // central directory header
        var cExtra = Data()
        if big {
            Self.le16(0x0001, &cExtra); Self.le16(24, &cExtra)
            Self.le64(data.count, &cExtra); Self.le64(data.count, &cExtra); Self.le64(offset, &cExtra)
        }
        Self.le32(0x0201_4B50, &central)
        Self.le16(big ? 45 : 20, &central); Self.le16(big ? 45 : 20, &central)
        Self.le16(0, &central); Self.le16(0, &central); Self.le16(0, &central); Self.le16(0x21, &central)
        Self.le32(Int(crc), &central); Self.le32(size32, &central); Self.le32(size32, &central)
        Self.le16(nameBytes.count, &central); Self.le16(cExtra.count, &central); Self.le16(0, &central)
        Self.le16(0, &central); Self.le16(0, &central); Self.le32(0, &central)
        Self.le32(big ? 0xFFFF_FFFF : offset, &central)
        central.append(contentsOf: nameBytes)
        central.append(cExtra)
        count += 1
    }

    /// The complete archive.
    mutating func finish() throws -> Data {
        var out = body
        let cdOffset = out.count
        out.append(central)
        let cdSize = central.count
        let needs64 = cdOffset >= 0xFFFF_FFFF || count >= 0xFFFF
        if needs64 {
            let z64Offset = out.count
            Self.le32(0x0606_4B50, &out); Self.le64(44, &out)
            Self.le16(45, &out); Self.le16(45, &out); Self.le32(0, &out); Self.le32(0, &out)
            Self.le64(count, &out); Self.le64(count, &out); Self.le64(cdSize, &out); Self.le64(cdOffset, &out)
            Self.le32(0x0706_4B50, &out); Self.le32(0, &out); Self.le64(z64Offset, &out); Self.le32(1, &out)
        }
        Self.le32(0x0605_4B50, &out)
        Self.le16(0, &out); Self.le16(0, &out)
        Self.le16(min(count, 0xFFFF), &out); Self.le16(min(count, 0xFFFF), &out)
        Self.le32(min(cdSize, 0xFFFF_FFFF), &out); Self.le32(min(cdOffset, 0xFFFF_FFFF), &out)
        Self.le16(0, &out)
        return out
    }
}

/// CRC-32 (IEEE 802.3, as zip uses).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { raw in
            for b in raw { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
