import Foundation

/// A sorted key → payload table in the `GSVK` format written by `scripts/data/make_zh_data.py`.
///
/// Layout (little-endian): `"GSVK"`, `u32` version 1, `u32` count, `u32` offsets[count + 1] relative to
/// the record area, then records sorted by the UTF-8 bytes of their keys; a record is `u8` key length,
/// the key, then the payload (up to the next record). Lookups are binary searches over the raw bytes,
/// so loading is a single file read and never builds a hash map.
struct SortedKeyTable: Sendable {
    let bytes: [UInt8]
    let count: Int
    private let offsetsBase: Int
    private let recordsBase: Int

    init(bytes: [UInt8], name: String) throws {
        guard bytes.count >= 12, bytes[0] == 0x47, bytes[1] == 0x53, bytes[2] == 0x56, bytes[3] == 0x4B else {
            throw TextError.dataUnavailable(name: name, reason: "not a GSVK table")
        }
        let version = Self.u32(bytes, 4)
        guard version == 1 else {
            throw TextError.dataUnavailable(name: name, reason: "unsupported GSVK version \(version)")
        }
        count = Int(Self.u32(bytes, 8))
        offsetsBase = 12
        recordsBase = 12 + 4 * (count + 1)
        guard recordsBase <= bytes.count,
              recordsBase + Int(Self.u32(bytes, offsetsBase + 4 * count)) == bytes.count
        else { throw TextError.dataUnavailable(name: name, reason: "truncated GSVK table") }
        self.bytes = bytes
    }

    @inline(__always) static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    @inline(__always) private func recordStart(_ i: Int) -> Int {
        recordsBase + Int(Self.u32(bytes, offsetsBase + 4 * i))
    }

    /// Byte range of the key of record `i`.
    @inline(__always) func keyRange(_ i: Int) -> Range<Int> {
        let s = recordStart(i)
        return (s + 1)..<(s + 1 + Int(bytes[s]))
    }

    /// Byte range of the payload of record `i`.
    @inline(__always) func payloadRange(_ i: Int) -> Range<Int> {
        keyRange(i).upperBound..<recordStart(i + 1)
    }

    /// Index of the first record whose key is ≥ `key`.
    func lowerBound(_ key: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { b in
            key.withUnsafeBufferPointer { k in lowerBound(b, k) }
        }
    }

    @inline(__always) private func lowerBound(_ b: UnsafeBufferPointer<UInt8>, _ k: UnsafeBufferPointer<UInt8>) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let at = offsetsBase + 4 * mid
            let start = recordsBase + (Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24)
            let len = Int(b[start])
            let n = min(len, k.count)
            var j = 0
            var c = 0
            while j < n {
                let x = b[start + 1 + j], y = k[j]
                if x != y { c = x < y ? -1 : 1; break }
                j += 1
            }
            if c == 0 { c = len == k.count ? 0 : (len < k.count ? -1 : 1) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Index of the record with exactly this key.
    func find(_ key: [UInt8]) -> Int? {
        if case let .exact(i) = match(key) { return i }
        return nil
    }

    /// Result of a combined exact / prefix lookup.
    enum Match { case none, prefixOnly, exact(Int) }

    /// Whether `key` is a key, or a proper prefix of some key.
    func match(_ key: [UInt8]) -> Match {
        bytes.withUnsafeBufferPointer { b in
            key.withUnsafeBufferPointer { k in
                let i = lowerBound(b, k)
                guard i < count else { return .none }
                let at = offsetsBase + 4 * i
                let start = recordsBase + (Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24)
                let len = Int(b[start])
                guard len >= k.count else { return .none }
                for j in 0..<k.count where b[start + 1 + j] != k[j] { return .none }
                return len == k.count ? .exact(i) : .prefixOnly
            }
        }
    }

    func u16(at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }

    func f64(at: Int) -> Double {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * UInt64(k)) }
        return Double(bitPattern: v)
    }
}

/// Loads bundled data files.
enum DataFiles {
    /// Reads `Resources/<path>` from the module bundle.
    static func read(_ path: String) throws -> [UInt8] {
        // `.copy("Resources")` puts a Resources folder inside the bundle; on Apple platforms the bundle's
        // own resource folder may be that folder's parent.
        let fm = FileManager.default
        let candidates = [Bundle.module.bundleURL, Bundle.module.resourceURL].compactMap { $0 }
            .map { $0.appendingPathComponent("Resources").appendingPathComponent(path) }
        guard let url = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
            throw TextError.dataUnavailable(name: path, reason: "not found in the GSVText resource bundle")
        }
        do {
            return [UInt8](try Data(contentsOf: url, options: .mappedIfSafe))
        } catch {
            throw TextError.dataUnavailable(name: path, reason: error.localizedDescription)
        }
    }

    static func text(_ path: String) throws -> String {
        let b = try read(path)
        guard let s = String(bytes: b, encoding: .utf8) else {
            throw TextError.dataUnavailable(name: path, reason: "not UTF-8")
        }
        return s
    }

    static func table(_ path: String) throws -> SortedKeyTable {
        try SortedKeyTable(bytes: read(path), name: path)
    }
}

extension Array where Element == Unicode.Scalar {
    /// UTF-8 bytes of these scalars.
    var utf8Bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * 3)
        for s in self { appendUTF8(s, to: &out) }
        return out
    }
}

@inline(__always) func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
    let v = s.value
    if v < 0x80 { out.append(UInt8(v)) } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

extension String {
    /// The Unicode scalars of the string (Python `str` indexing works on these).
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }
    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
}
