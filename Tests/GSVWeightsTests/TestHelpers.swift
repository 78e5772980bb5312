import Foundation
import GSVTestSupport
@testable import GSVWeights

/// A temporary folder removed by `cleanup()`.
typealias TempDir = TemporaryFolder

extension TemporaryFolder {
    init() throws { try self.init(prefix: "gsv-weights") }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
}

/// Seeded generator for reproducible fuzzing (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes zip archives the way PyTorch does (stored entries), optionally with zip64 records or a
/// compressed-method flag, for building test checkpoints.
struct ZipBuilder {
    var entries: [(name: String, data: [UInt8], method: UInt16)] = []
    var zip64 = false

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) { entries.append((name, data, method)) }

    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    private static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    private static func le64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for e in entries {
            let offset = out.count
            let name = Array(e.name.utf8)
            // Pad the local extra field so the data starts 64-byte aligned, as PyTorch does.
            let headerEnd = offset + 30 + name.count + 4
            let pad = (64 - headerEnd % 64) % 64
            out += [0x50, 0x4B, 0x03, 0x04] + Self.le16(zip64 ? 45 : 20) + Self.le16(0) + Self.le16(Int(e.method))
            out += Self.le32(0) + Self.le32(0)
            out += Self.le32(zip64 ? 0xFFFF_FFFF : e.data.count) + Self.le32(zip64 ? 0xFFFF_FFFF : e.data.count)
            out += Self.le16(name.count) + Self.le16(4 + pad) + name
            out += [0x34, 0x12] + Self.le16(pad) + [UInt8](repeating: 0x5A, count: pad)
            out += e.data
            var extra: [UInt8] = []
            if zip64 { extra = Self.le16(1) + Self.le16(24) + Self.le64(e.data.count) + Self.le64(e.data.count) + Self.le64(offset) }
            central += [0x50, 0x4B, 0x01, 0x02] + Self.le16(zip64 ? 45 : 20) + Self.le16(zip64 ? 45 : 20)
            central += Self.le16(0) + Self.le16(Int(e.method)) + Self.le32(0) + Self.le32(0)
            central += Self.le32(zip64 ? 0xFFFF_FFFF : e.data.count) + Self.le32(zip64 ? 0xFFFF_FFFF : e.data.count)
            central += Self.le16(name.count) + Self.le16(extra.count) + Self.le16(0) + Self.le16(0) + Self.le16(0)
            central += Self.le32(0) + Self.le32(zip64 ? 0xFFFF_FFFF : offset) + name + extra
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let z64 = out.count
            out += [0x50, 0x4B, 0x06, 0x06] + Self.le64(44) + Self.le16(45) + Self.le16(45) + Self.le32(0) + Self.le32(0)
            out += Self.le64(entries.count) + Self.le64(entries.count) + Self.le64(central.count) + Self.le64(cdOffset)
            out += [0x50, 0x4B, 0x06, 0x07] + Self.le32(0) + Self.le64(z64) + Self.le32(1)
            out += [0x50, 0x4B, 0x05, 0x06] + Self.le16(0) + Self.le16(0) + Self.le16(0xFFFF) + Self.le16(0xFFFF)
            out += Self.le32(0xFFFF_FFFF) + Self.le32(0xFFFF_FFFF) + Self.le16(0)
        } else {
            out += [0x50, 0x4B, 0x05, 0x06] + Self.le16(0) + Self.le16(0) + Self.le16(entries.count) + Self.le16(entries.count)
            out += Self.le32(central.count) + Self.le32(cdOffset) + Self.le16(0)
        }
        return out
    }
}

/// Assembles protocol-2 pickles opcode by opcode, the way `torch.save` lays out state dicts.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ o: UInt8) { bytes.append(o) }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        bytes += (0..<4).map { UInt8((u.count >> (8 * $0)) & 0xFF) }
        bytes += u
    }
    mutating func int(_ v: Int) {
        if v >= 0, v < 256 { bytes += [0x4B, UInt8(v)] }
        else if v >= Int(Int32.min), v <= Int(Int32.max) { bytes.append(0x4A); bytes += (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        else { bytes += [0x8A, 8]; bytes += (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    }
    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }
    mutating func intTuple(_ v: [Int]) {
        op(0x28)
        for x in v { int(x) }
        op(0x74)
    }
    /// `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`.
    /// `legacy` adds the sixth persistent-id field (`view_metadata = None`) of the pre-zip format.
    mutating func tensor(storage key: String, type: String = "HalfStorage", numel: Int, offset: Int = 0,
                         shape: [Int], stride: [Int]? = nil, legacy: Bool = false) {
        global("torch._utils", "_rebuild_tensor_v2")
        op(0x28) // MARK args
        op(0x28); string("storage"); global("torch", type); string(key); string("cpu"); int(numel)
        if legacy { op(0x4E) }
        op(0x74)
        op(0x51) // BINPERSID
        int(offset)
        intTuple(shape)
        intTuple(stride ?? Self.contiguous(shape))
        op(0x89) // False
        global("collections", "OrderedDict"); op(0x29); op(0x52)
        op(0x74) // TUPLE
        op(0x52) // REDUCE
    }
    mutating func stop() { op(0x2E) }

    static func contiguous(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc = acc &* shape[i] }
        return s
    }
}

/// One tensor entry of a synthetic checkpoint.
struct TensorSpec {
    var key: String
    var storage: String
    var type: String = "HalfStorage"
    var numel: Int
    var offset: Int = 0
    var shape: [Int]
    var stride: [Int]? = nil
}

/// A complete `torch.save`-style zip: `{"weight": {key: tensor…}, "info": info}` (or the bare state
/// dict when `wrapped` is false) plus the storage records.
func makeCheckpoint(_ tensors: [TensorSpec], storages: [String: [UInt8]], wrapped: Bool = true,
                    zip64: Bool = false, archive: String = "archive", hparams: Bool = false) -> [UInt8] {
    var p = PickleWriter()
    if hparams {
        // {"config": HParams(model=HParams(gin_channels=1024, rates=[10, 8], p=0.1, sv=True, x=None)), ...}
        p.op(0x7D); p.op(0x28); p.string("config")
        p.global("utils", "HParams"); p.op(0x71); p.op(0x00) // BINPUT 0
        p.op(0x29); p.op(0x81) // EMPTY_TUPLE NEWOBJ
        p.op(0x7D); p.op(0x28); p.string("model")
        p.op(0x68); p.op(0x00); p.op(0x29); p.op(0x81) // BINGET 0, NEWOBJ
        p.op(0x7D); p.op(0x28)
        p.string("gin_channels"); p.int(1024)
        p.string("rates"); p.op(0x5D); p.op(0x28); p.int(10); p.int(8); p.op(0x65)
        p.string("p"); p.op(0x47); p.raw([0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A])
        p.string("sv"); p.op(0x88)
        p.string("x"); p.op(0x4E)
        p.op(0x75); p.op(0x62) // SETITEMS BUILD
        p.op(0x75); p.op(0x62)
        p.string("weight")
    } else if wrapped {
        p.op(0x7D); p.op(0x28); p.string("weight")
    }
    p.op(0x7D) // EMPTY_DICT
    p.op(0x28) // MARK
    for t in tensors {
        p.string(t.key)
        p.tensor(storage: t.storage, type: t.type, numel: t.numel, offset: t.offset, shape: t.shape, stride: t.stride)
    }
    p.op(0x75) // SETITEMS
    if wrapped || hparams { p.string("info"); p.string("test"); p.op(0x75) }
    p.stop()
    var z = ZipBuilder()
    z.zip64 = zip64
    z.add("\(archive)/data.pkl", p.bytes)
    z.add("\(archive)/byteorder", Array("little".utf8))
    for k in storages.keys.sorted() { z.add("\(archive)/data/\(k)", storages[k] ?? []) }
    z.add("\(archive)/version", Array("3\n".utf8))
    return z.build()
}

/// Little-endian bytes of Float32 values.
func float32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { f in (0..<4).map { UInt8((f.bitPattern >> (8 * $0)) & 0xFF) } } }
/// Little-endian bytes of 16-bit patterns.
func uint16Bytes(_ v: [UInt16]) -> [UInt8] { v.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }

/// A legacy (pre-zip) `torch.save` stream of a bare state dict: magic, protocol 1001, system info,
/// the object, the storage keys, then each storage as an 8-byte element count and its bytes.
func makeLegacyCheckpoint(_ tensors: [TensorSpec], storages: [(key: String, elementSize: Int, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
    var info = PickleWriter()
    info.op(0x7D); info.op(0x28)
    info.string("protocol_version"); info.int(1001)
    info.string("little_endian"); info.op(0x88)
    info.op(0x75); info.stop()
    out += info.bytes
    var p = PickleWriter()
    p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)
    p.op(0x28)
    for t in tensors {
        p.string(t.key)
        p.tensor(storage: t.storage, type: t.type, numel: t.numel, offset: t.offset, shape: t.shape, stride: t.stride, legacy: true)
    }
    p.op(0x75); p.stop()
    out += p.bytes
    var keys = PickleWriter()
    keys.op(0x5D); keys.op(0x28)
    for s in storages { keys.string(s.key) }
    keys.op(0x65); keys.stop()
    out += keys.bytes
    for s in storages {
        let n = s.bytes.count / s.elementSize
        out += (0..<8).map { UInt8((n >> (8 * $0)) & 0xFF) }
        out += s.bytes
    }
    return out
}
