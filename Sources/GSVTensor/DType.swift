/// Element types that appear in weight files. Compute is always Float32.
public enum DType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    public var description: String { rawValue }
}

/// Bit-exact conversions between IEEE half / bfloat16 and Float32.
///
/// Implemented on bit patterns (not `Float16`) so that the same code runs on every platform,
/// including Intel macOS where `Float16` is unavailable.
public enum HalfConversion {
    /// Widens an IEEE 754 binary16 bit pattern to Float32 (exact).
    @inline(__always)
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        let bits: UInt32
        if exp == 0 {
            if mant == 0 {
                bits = sign
            } else {
                // Subnormal half: normalise.
                var m = mant
                var e: UInt32 = 127 - 15 + 1
                while m & 0x400 == 0 {
                    m <<= 1
                    e -= 1
                }
                bits = sign | (e << 23) | ((m & 0x3FF) << 13)
            }
        } else if exp == 0x1F {
            bits = sign | 0x7F80_0000 | (mant << 13)
        } else {
            bits = sign | ((exp + 127 - 15) << 23) | (mant << 13)
        }
        return Float(bitPattern: bits)
    }

    /// Narrows a Float32 to binary16 with round-to-nearest-even (as PyTorch's `.half()`).
    @inline(__always)
    public static func half(fromFloat f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        var mant = x & 0x7F_FFFF
        if exp == 0xFF {
            return sign | 0x7C00 | (mant != 0 ? 0x200 : 0)
        }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - e)
            var h = mant >> shift
            let rem = mant & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rem > halfway || (rem == halfway && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e << 10) | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into the exponent (→ inf): correct
        return sign | UInt16(truncatingIfNeeded: h)
    }

    /// Widens a bfloat16 bit pattern to Float32 (exact).
    @inline(__always)
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Narrows a Float32 to bfloat16 with round-to-nearest-even.
    @inline(__always)
    public static func bfloat16(fromFloat f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((x >> 16) & 1)
        return UInt16((x &+ rounding) >> 16)
    }

    /// Widens a buffer of half bit patterns.
    public static func widenHalf(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count)
        let table = halfTable
        table.withUnsafeBufferPointer { t in
            for i in 0..<src.count { dst[i] = t[Int(src[i])] }
        }
    }

    /// Widens a buffer of bfloat16 bit patterns.
    public static func widenBFloat16(_ src: UnsafeBufferPointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(dst.count >= src.count)
        for i in 0..<src.count { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
    }

    /// All 65 536 half values widened, for table-driven conversion.
    public static let halfTable: [Float] = (0...0xFFFF).map { float(fromHalf: UInt16($0)) }
}
