import Testing
@testable import GSVTensor

@Suite struct HalfConversionTests {
    @Test func halfRoundTripsEveryPattern() {
        for bits in 0...0xFFFF {
            let h = UInt16(bits)
            let f = HalfConversion.float(fromHalf: h)
            if f.isNaN { continue }
            #expect(HalfConversion.half(fromFloat: f) == h, "pattern \(String(h, radix: 16))")
        }
    }

    @Test func knownHalfValues() {
        #expect(HalfConversion.float(fromHalf: 0x3C00) == 1)
        #expect(HalfConversion.float(fromHalf: 0xC000) == -2)
        #expect(HalfConversion.float(fromHalf: 0x7BFF) == 65504)
        #expect(HalfConversion.float(fromHalf: 0x0001) == Float(5.9604645e-08))
        #expect(HalfConversion.half(fromFloat: 65520) == 0x7C00)  // rounds to inf
        #expect(HalfConversion.half(fromFloat: 1 + 1.0 / 2048) == 0x3C00)  // tie → even
        #expect(HalfConversion.half(fromFloat: 1 + 3.0 / 2048) == 0x3C02)  // tie → even (up)
    }

    @Test func bfloat16() {
        #expect(HalfConversion.float(fromBFloat16: 0x3F80) == 1)
        #expect(HalfConversion.bfloat16(fromFloat: 1.00390625) == 0x3F80)  // tie → even
        #expect(HalfConversion.bfloat16(fromFloat: -3.5) == 0xC060)
    }
}
