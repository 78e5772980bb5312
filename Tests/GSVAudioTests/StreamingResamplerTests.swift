import Foundation
import Testing
@testable import GSVAudio

@Suite("StreamingResampler")
struct StreamingResamplerTests {
    /// A deterministic test signal: a chirp plus a little seeded noise.
    static func signal(_ n: Int, rate: Int) -> [Float] {
        var state: UInt64 = 0x1234_5678
        return (0..<n).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Float(Int64(bitPattern: state >> 11) % 1000) / 20000
            let t = Double(i) / Double(rate)
            return Float(0.5 * sin(2 * Double.pi * (200 + 3000 * t) * t)) + noise
        }
    }

    @Test("Chunked input gives the samples of resampling the whole signal", arguments: [
        (32000, 24000, [1, 7, 500, 4096, 13, 3000, 2, 9000]),
        (32000, 24000, [20000]),
        (32000, 24000, [3, 3, 3]),
        (24000, 32000, [100, 2500, 777, 6000]),
        (32000, 16000, [999, 1, 4000, 8191]),
        (22050, 16000, [1000, 2205, 5000]),
    ])
    func matchesWhole(from: Int, to: Int, pieces: [Int]) throws {
        let total = pieces.reduce(0, +)
        let input = Self.signal(total, rate: from)
        let whole = try KaiserResampler(from: from, to: to)(input)
        var streaming = try StreamingResampler(from: from, to: to)
        var out: [Float] = []
        var offset = 0
        var piecesWithOutput = 0
        for n in pieces {
            let part = streaming.push(Array(input[offset..<offset + n]))
            if !part.isEmpty { piecesWithOutput += 1 }
            out += part
            offset += n
        }
        out += streaming.finish()
        #expect(out.count == whole.count)
        #expect(out.count == (total * to + from - 1) / from)
        let maxDiff = zip(out, whole).map { abs($0 - $1) }.max() ?? 0
        #expect(maxDiff < 1e-5, "max difference \(maxDiff)")
        // Pieces longer than the filter reach produce output right away, not only at the end.
        if pieces.contains(where: { $0 > 2000 }) { #expect(piecesWithOutput >= 1) }
        #expect(streaming.samplesIn == total)
        #expect(streaming.samplesOut == whole.count)
        // Nothing more after finish.
        #expect(streaming.push([1, 2, 3]).isEmpty)
        #expect(streaming.finish().isEmpty)
    }

    @Test("Empty and tiny inputs")
    func tiny() throws {
        var r = try StreamingResampler(from: 32000, to: 24000)
        #expect(r.push([]).isEmpty)
        #expect(r.finish().isEmpty)
        var s = try StreamingResampler(from: 32000, to: 24000)
        #expect(s.push([0.5]).isEmpty)
        let tail = s.finish()
        let whole = try KaiserResampler(from: 32000, to: 24000)([0.5])
        #expect(tail == whole)
        #expect(throws: AudioError.self) { try StreamingResampler(from: 0, to: 24000) }
    }
}
