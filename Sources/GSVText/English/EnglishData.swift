import Foundation

// Reader of the compact data container written by scripts/data/make_en_data.py:
// magic "GSVENDAT", u32 version (1), u32 section count, then per section
// u16 name length, UTF-8 name, u8 dtype (0 u8, 1 u32, 2 i32, 3 f32, 4 u64), u64 element count and
// the raw little-endian elements. Sections are copied into typed arrays once at load.

/// One loaded data container: named typed arrays.
struct EnglishDataFile: Sendable {
    let name: String
    private var u8: [String: [UInt8]] = [:]
    private var u32: [String: [UInt32]] = [:]
    private var i32: [String: [Int32]] = [:]
    private var f32: [String: [Float]] = [:]
    private var u64: [String: [UInt64]] = [:]

    /// Loads `Resources/en/<name>` from the module bundle.
    static func bundled(_ name: String) throws(TextError) -> EnglishDataFile {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources/en")
            ?? Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "en")
        else {
            throw TextError.dataUnavailable(name: name, reason: "not found in the GSVText resource bundle")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TextError.dataUnavailable(name: name, reason: "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try EnglishDataFile(name: name, data: data)
    }

    /// Parses a container held in memory.
    init(name: String, data: Data) throws(TextError) {
        self.name = name
        let bytes = [UInt8](data)
        var pos = 0
        func fail(_ reason: String) -> TextError { .dataUnavailable(name: name, reason: reason) }
        func read<T: FixedWidthInteger>(_: T.Type) throws(TextError) -> T {
            let size = MemoryLayout<T>.size
            guard pos + size <= bytes.count else { throw fail("truncated at byte \(pos)") }
            var v: T = 0
            for i in 0..<size { v |= T(truncatingIfNeeded: bytes[pos + i]) << (8 * i) }
            pos += size
            return v
        }
        guard bytes.count >= 16, Array(bytes[0..<8]) == Array("GSVENDAT".utf8) else {
            throw fail("bad magic (not a GSVENDAT file)")
        }
        pos = 8
        let version = try read(UInt32.self)
        guard version == 1 else { throw fail("unsupported version \(version)") }
        let count = try read(UInt32.self)
        for _ in 0..<count {
            let nameLength = Int(try read(UInt16.self))
            guard pos + nameLength <= bytes.count else { throw fail("truncated section name") }
            let sectionName = String(decoding: bytes[pos..<(pos + nameLength)], as: UTF8.self)
            pos += nameLength
            let dtype = try read(UInt8.self)
            let elements = try read(UInt64.self)
            let width: Int
            switch dtype {
            case 0: width = 1
            case 1, 2, 3: width = 4
            case 4: width = 8
            default: throw fail("section '\(sectionName)' has unknown dtype \(dtype)")
            }
            guard elements <= UInt64(bytes.count), pos + Int(elements) * width <= bytes.count else {
                throw fail("section '\(sectionName)' is truncated")
            }
            let n = Int(elements)
            let range = pos..<(pos + n * width)
            switch dtype {
            case 0: u8[sectionName] = Array(bytes[range])
            case 1: u32[sectionName] = Self.decode(bytes, range, n, UInt32.self)
            case 2: i32[sectionName] = Self.decode(bytes, range, n, Int32.self)
            case 3: f32[sectionName] = Self.decode(bytes, range, n, UInt32.self).map { Float(bitPattern: $0) }
            default: u64[sectionName] = Self.decode(bytes, range, n, UInt64.self)
            }
            pos = range.upperBound
        }
    }

    private static func decode<T: FixedWidthInteger>(_ bytes: [UInt8], _ range: Range<Int>, _ n: Int, _: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + range.lowerBound
                for i in 0..<n {
                    buffer[i] = T(littleEndian: (base + i * MemoryLayout<T>.size).loadUnaligned(as: T.self))
                }
            }
            initialized = n
        }
    }

    func bytes(_ key: String) throws(TextError) -> [UInt8] {
        guard let v = u8[key] else { throw missing(key, "u8") }
        return v
    }
    func uint32s(_ key: String) throws(TextError) -> [UInt32] {
        guard let v = u32[key] else { throw missing(key, "u32") }
        return v
    }
    func int32s(_ key: String) throws(TextError) -> [Int32] {
        guard let v = i32[key] else { throw missing(key, "i32") }
        return v
    }
    func floats(_ key: String) throws(TextError) -> [Float] {
        guard let v = f32[key] else { throw missing(key, "f32") }
        return v
    }
    func uint64s(_ key: String) throws(TextError) -> [UInt64] {
        guard let v = u64[key] else { throw missing(key, "u64") }
        return v
    }
    /// A sorted string table stored as `<key>.keys` + `<key>.offsets`.
    func strings(_ key: String) throws(TextError) -> SortedStringTable {
        let keys = try bytes(key + ".keys")
        let offsets = try uint32s(key + ".offsets")
        guard let table = SortedStringTable(keys: keys, offsets: offsets) else {
            throw TextError.dataUnavailable(name: name, reason: "string table '\(key)' has inconsistent offsets")
        }
        return table
    }

    private func missing(_ key: String, _ type: String) -> TextError {
        .dataUnavailable(name: name, reason: "missing \(type) section '\(key)'")
    }
}

/// Bytewise-sorted UTF-8 strings with binary-search lookup (no per-entry allocation at load).
struct SortedStringTable: Sendable {
    let keys: [UInt8]
    let offsets: [UInt32]

    init?(keys: [UInt8], offsets: [UInt32]) {
        guard let first = offsets.first, first == 0, let last = offsets.last, Int(last) == keys.count else { return nil }
        for i in 1..<max(offsets.count, 1) where offsets[i] < offsets[i - 1] { return nil }
        self.keys = keys
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }

    /// The i-th key.
    func key(_ i: Int) -> String {
        String(decoding: keys[Int(offsets[i])..<Int(offsets[i + 1])], as: UTF8.self)
    }

    /// Index of `key` (UTF-8 bytes), or nil.
    func index<C: Collection>(of key: C) -> Int? where C.Element == UInt8 {
        var lo = 0
        var hi = count
        return keys.withUnsafeBufferPointer { kb in
            offsets.withUnsafeBufferPointer { ob in
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    let c = compare(kb, Int(ob[mid]), Int(ob[mid + 1]), key)
                    if c == 0 { return mid }
                    if c < 0 { lo = mid + 1 } else { hi = mid }
                }
                return nil
            }
        }
    }

    func index(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { index(of: $0) }
    }

    @inline(__always)
    private func compare<C: Collection>(_ kb: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ key: C) -> Int
    where C.Element == UInt8 {
        var i = start
        var it = key.makeIterator()
        while true {
            let a: UInt8? = i < end ? kb[i] : nil
            let b = it.next()
            switch (a, b) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?):
                if x != y { return x < y ? -1 : 1 }
            }
            i += 1
        }
    }
}
