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
        let parsed: Result<Sections, TextError> = data.withUnsafeBytes { raw in
            do throws(TextError) {
                return .success(try Self.parse(raw, name: name))
            } catch {
                return .failure(error)
            }
        }
        let sections = try parsed.get()
        u8 = sections.u8
        u32 = sections.u32
        i32 = sections.i32
        f32 = sections.f32
        u64 = sections.u64
    }

    private struct Sections {
        var u8: [String: [UInt8]] = [:]
        var u32: [String: [UInt32]] = [:]
        var i32: [String: [Int32]] = [:]
        var f32: [String: [Float]] = [:]
        var u64: [String: [UInt64]] = [:]
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, name: String) throws(TextError) -> Sections {
        var pos = 0
        func fail(_ reason: String) -> TextError { .dataUnavailable(name: name, reason: reason) }
        func read<T: FixedWidthInteger>(_: T.Type) throws(TextError) -> T {
            let size = MemoryLayout<T>.size
            guard pos + size <= bytes.count else { throw fail("truncated at byte \(pos)") }
            let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: T.self))
            pos += size
            return v
        }
        guard bytes.count >= 16, bytes.prefix(8).elementsEqual("GSVENDAT".utf8) else {
            throw fail("bad magic (not a GSVENDAT file)")
        }
        pos = 8
        let version = try read(UInt32.self)
        guard version == 1 else { throw fail("unsupported version \(version)") }
        let count = try read(UInt32.self)
        var out = Sections()
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
            let source = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n * width)])
            switch dtype {
            case 0: out.u8[sectionName] = Self.copy(source, n, UInt8.self)
            case 1: out.u32[sectionName] = Self.copy(source, n, UInt32.self)
            case 2: out.i32[sectionName] = Self.copy(source, n, Int32.self)
            case 3: out.f32[sectionName] = Self.copy(source, n, Float.self)
            default: out.u64[sectionName] = Self.copy(source, n, UInt64.self)
            }
            pos += n * width
        }
        return out
    }

    /// Copies n little-endian elements (one memcpy on little-endian hosts).
    private static func copy<T: BitwiseCopyable>(_ source: UnsafeRawBufferPointer, _ n: Int, _: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0, let base = source.baseAddress {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base, byteCount: n * MemoryLayout<T>.size)
            }
            #if _endian(big)
            Self.swapBytes(UnsafeMutableRawBufferPointer(buffer), width: MemoryLayout<T>.size)
            #endif
            initialized = n
        }
    }

    #if _endian(big)
    private static func swapBytes(_ b: UnsafeMutableRawBufferPointer, width: Int) {
        guard width > 1 else { return }
        var i = 0
        while i + width <= b.count {
            for k in 0..<(width / 2) { b.swapAt(i + k, i + width - 1 - k) }
            i += width
        }
    }
    #endif

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
/// The largest byte of `a` (0 when empty), for validating index tables cheaply.
func maxElement(_ a: [UInt8]) -> UInt8 {
    a.withUnsafeBufferPointer { b in
        var m: UInt8 = 0
        for v in b where v > m { m = v }
        return m
    }
}

struct SortedStringTable: Sendable {
    let keys: [UInt8]
    let offsets: [UInt32]

    init?(keys: [UInt8], offsets: [UInt32]) {
        guard let first = offsets.first, first == 0, let last = offsets.last, Int(last) == keys.count else { return nil }
        let monotonic = offsets.withUnsafeBufferPointer { o in
            var ok = true
            var i = 1
            while i < o.count { if o[i] < o[i - 1] { ok = false; break }; i += 1 }
            return ok
        }
        guard monotonic else { return nil }
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
