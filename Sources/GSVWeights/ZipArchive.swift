import Foundation

/// The two bytes GPT-SoVITS may write over the `PK` at the start of a SoVITS `.pth` zip.
///
/// Follows GPT_SoVITS/process_ckpt.py: `head2version`, `my_save2`. The official tools replace the zip
/// signature's first two bytes with two ASCII digits; the rest of the file is an ordinary PyTorch zip.
/// Readers restore `PK` logically (the file is never copied or modified).
public enum SoVITSHeaderMarker: String, Sendable, Codable, CaseIterable {
    /// `00`: v1 (recognised by the official loader, never written).
    case v1 = "00"
    /// `01`: v2 (recognised, never written).
    case v2 = "01"
    /// `02`: full v3 (recognised, never written).
    case v3 = "02"
    /// `03`: v3 LoRA.
    case v3LoRA = "03"
    /// `04`: v4 LoRA.
    case v4LoRA = "04"
    /// `05`: v2Pro.
    case v2Pro = "05"
    /// `06`: v2ProPlus.
    case v2ProPlus = "06"

    /// The marker for two header bytes, or nil when they are not one of the seven markers.
    public init?(bytes b0: UInt8, _ b1: UInt8) {
        guard b0 == 0x30, (0x30...0x36).contains(b1) else { return nil }
        self.init(rawValue: String(UnicodeScalar(b0)) + String(UnicodeScalar(b1)))
    }

    /// The model version the official loader assigns to this marker.
    public var modelVersion: ModelVersion {
        switch self {
        case .v1: return .v1
        case .v2: return .v2
        case .v3, .v3LoRA: return .v3
        case .v4LoRA: return .v4
        case .v2Pro: return .v2Pro
        case .v2ProPlus: return .v2ProPlus
        }
    }

    /// Whether the marker denotes a LoRA file (needs the pretrained base model).
    public var isLoRA: Bool { self == .v3LoRA || self == .v4LoRA }

    /// The two ASCII bytes written at offset 0.
    public var bytes: [UInt8] { Array(rawValue.utf8) }
}

/// A read-only view of a zip archive inside a ``MappedFile``: the central directory, with each
/// entry's stored bytes addressed in place.
///
/// PyTorch writes every record uncompressed ("stored") and 64-byte aligned, so records are read
/// without copying. Compressed or encrypted entries are refused with a clear error. Zip64 end
/// records and extra fields are understood. When the first two bytes are a GPT-SoVITS version marker
/// (see ``SoVITSHeaderMarker``), they are treated as `PK`.
public struct ZipArchive: Sendable {
    /// One file inside the archive.
    public struct Entry: Sendable, Equatable {
        /// The entry name, e.g. `archive/data/0`.
        public let name: String
        /// Offset of the entry's data in the mapped file.
        public let dataOffset: Int
        /// Length of the entry's data (stored entries only).
        public let size: Int
    }

    /// The mapped file.
    public let file: MappedFile
    /// Entries in central-directory order.
    public let entries: [Entry]
    /// Entries by name.
    public let entriesByName: [String: Entry]
    /// The version marker found in place of `PK`, if any.
    public let headerMarker: SoVITSHeaderMarker?

    /// Upper bound on the number of entries accepted (a checkpoint has one per storage).
    static let maxEntries = 1_000_000

    /// Whether `file` starts like a zip archive (`PK` or a GPT-SoVITS marker, then `\u{3}\u{4}`).
    public static func looksLikeZip(_ file: MappedFile) -> Bool {
        guard file.size >= 4, let b = try? file.bytes(0..<4) else { return false }
        let startsPK = b[0] == 0x50 && b[1] == 0x4B
        let marker = SoVITSHeaderMarker(bytes: b[0], b[1]) != nil
        return (startsPK || marker) && b[2] == 0x03 && b[3] == 0x04
    }

    /// Parses the central directory of `file`.
    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        func corrupt(_ why: String) -> WeightsError { .corrupt(path: path, reason: "zip: \(why)") }
        guard file.size >= 22 else {
            throw WeightsError.unknownFormat(path: path, reason: "too short for a zip archive (\(file.size) bytes)")
        }
        let head = try file.bytes(0..<2)
        headerMarker = SoVITSHeaderMarker(bytes: head[0], head[1])

        // End of central directory: the last 22…65557 bytes.
        let searchStart = max(0, file.size - 22 - 65_535)
        let tail = try file.bytes(searchStart..<file.size)
        var eocd = -1
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = searchStart + i; break }
            i -= 1
        }
        guard eocd >= 0 else {
            throw WeightsError.unknownFormat(path: path, reason: "no zip end-of-central-directory record")
        }
        let r = try ByteReader(file: file, range: eocd..<file.size)
        var count = Int(try r.u16(10))
        var cdSize = Int(try r.u32(12))
        var cdOffset = Int(try r.u32(16))

        // Zip64: a locator just before the EOCD points at the zip64 end record.
        if eocd >= 20 {
            let loc = try ByteReader(file: file, range: (eocd - 20)..<eocd)
            if try loc.u32(0) == 0x0706_4B50 {
                let z64 = try loc.u64(8)
                guard file.size >= 56, z64 <= UInt64(file.size - 56) else { throw corrupt("zip64 end record offset \(z64) outside the file") }
                let rec = try ByteReader(file: file, range: Int(z64)..<(Int(z64) + 56))
                guard try rec.u32(0) == 0x0606_4B50 else { throw corrupt("bad zip64 end record signature") }
                let c64 = try rec.u64(32), s64 = try rec.u64(40), o64 = try rec.u64(48)
                guard c64 <= UInt64(Self.maxEntries), s64 <= UInt64(file.size), o64 <= UInt64(file.size) else {
                    throw corrupt("zip64 end record declares \(c64) entries / \(s64) bytes at \(o64), beyond the file")
                }
                count = Int(c64); cdSize = Int(s64); cdOffset = Int(o64)
            }
        }
        guard count <= Self.maxEntries else { throw corrupt("declares \(count) entries") }
        guard cdOffset <= file.size, cdSize <= file.size - cdOffset else {
            throw corrupt("central directory (\(cdSize) bytes at \(cdOffset)) lies outside the file (\(file.size) bytes)")
        }
        let cd = try ByteReader(file: file, range: cdOffset..<(cdOffset + cdSize))
        var entries: [Entry] = []
        entries.reserveCapacity(min(count, cdSize / 46))
        var byName: [String: Entry] = [:]
        var p = 0
        for n in 0..<count {
            guard try cd.u32(p) == 0x0201_4B50 else { throw corrupt("central directory entry \(n) has a bad signature") }
            let flags = try cd.u16(p + 8)
            let method = try cd.u16(p + 10)
            var csize = UInt64(try cd.u32(p + 20))
            var usize = UInt64(try cd.u32(p + 24))
            let nameLen = Int(try cd.u16(p + 28))
            let extraLen = Int(try cd.u16(p + 30))
            let commentLen = Int(try cd.u16(p + 32))
            var localOffset = UInt64(try cd.u32(p + 42))
            let nameBytes = try cd.slice(p + 46, nameLen)
            let name = String(decoding: nameBytes, as: UTF8.self)
            // Zip64 extended information: the 0xFFFFFFFF fields, in order usize, csize, offset.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = try cd.u16(e), len = Int(try cd.u16(e + 2))
                guard e + 4 + len <= extraEnd else { throw corrupt("entry '\(name)' has a truncated extra field") }
                if id == 0x0001 {
                    var q = e + 4
                    if usize == 0xFFFF_FFFF, q + 8 <= e + 4 + len { usize = try cd.u64(q); q += 8 }
                    if csize == 0xFFFF_FFFF, q + 8 <= e + 4 + len { csize = try cd.u64(q); q += 8 }
                    if localOffset == 0xFFFF_FFFF, q + 8 <= e + 4 + len { localOffset = try cd.u64(q); q += 8 }
                }
                e += 4 + len
            }
            p = extraEnd + commentLen
            guard flags & 0x1 == 0 else {
                throw WeightsError.unknownFormat(path: path, reason: "zip entry '\(name)' is encrypted")
            }
            guard method == 0 else {
                throw WeightsError.unknownFormat(path: path,
                    reason: "zip entry '\(name)' is compressed (method \(method)); PyTorch checkpoints store entries uncompressed — re-save with torch.save")
            }
            guard csize == usize else { throw corrupt("stored entry '\(name)' has sizes \(csize) ≠ \(usize)") }
            guard localOffset <= UInt64(file.size), usize <= UInt64(file.size) else {
                throw corrupt("entry '\(name)' points outside the file")
            }
            let lo = Int(localOffset)
            let local = try ByteReader(file: file, range: lo..<min(file.size, lo + 30))
            let sig = try local.u32(0)
            let sigOK = sig == 0x0403_4B50 || (lo == 0 && headerMarker != nil && (sig >> 16) == 0x0403)
            guard sigOK else { throw corrupt("entry '\(name)' has a bad local header signature") }
            let dataOffset = lo + 30 + Int(try local.u16(26)) + Int(try local.u16(28))
            guard dataOffset <= file.size, Int(usize) <= file.size - dataOffset else {
                throw corrupt("entry '\(name)' (\(usize) bytes at \(dataOffset)) runs past the end of the file")
            }
            let entry = Entry(name: name, dataOffset: dataOffset, size: Int(usize))
            entries.append(entry)
            byName[name] = entry
        }
        self.entries = entries
        self.entriesByName = byName
    }

    /// The bytes of entry `entry`, in place.
    public func data(of entry: Entry) throws -> UnsafeRawBufferPointer {
        try file.bytes(entry.dataOffset..<(entry.dataOffset + entry.size))
    }
}

/// Bounds-checked little-endian reads inside one byte range of a mapped file.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    let path: String

    init(file: MappedFile, range: Range<Int>) throws {
        buffer = try file.bytes(range)
        path = file.path
    }

    private func check(_ o: Int, _ n: Int) throws {
        guard o >= 0, n >= 0, o <= buffer.count, n <= buffer.count - o else {
            throw WeightsError.corrupt(path: path, reason: "zip: truncated structure (needs \(n) bytes at \(o), has \(buffer.count))")
        }
    }

    func u16(_ o: Int) throws -> UInt16 { try check(o, 2); return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    func u32(_ o: Int) throws -> UInt32 { try check(o, 4); return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    func u64(_ o: Int) throws -> UInt64 { try check(o, 8); return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
    func slice(_ o: Int, _ n: Int) throws -> UnsafeRawBufferPointer {
        try check(o, n)
        return UnsafeRawBufferPointer(rebasing: buffer[o..<(o + n)])
    }
}
