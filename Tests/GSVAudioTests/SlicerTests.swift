import Foundation
import GSVAudio
import Testing

@Suite("Silence slicer")
struct SlicerTests {
    /// Tones and quiet stretches at 8 kHz. Each quiet stretch is a faint 97 Hz tone whose envelope
    /// is smallest at 37 % of the stretch, so the cut positions are well defined.
    static func signal() -> [Float] {
        let sr = 8000.0
        let segments: [(Bool, Double)] = [(true, 1.2), (false, 0.5), (true, 6.0), (false, 0.15), (true, 2.0), (false, 3.0),
                                          (true, 0.5), (false, 1.0), (true, 7.0), (false, 12.0), (true, 6.0), (false, 2.0)]
        var x: [Float] = []
        var n = 0
        for (tone, seconds) in segments {
            let len = Int((seconds * sr).rounded(.toNearestOrEven))
            for k in 0..<len {
                if tone {
                    x.append(Float(0.5 * sin(2 * Double.pi * 440 * Double(n) / sr)))
                } else {
                    let env = abs(Double(k) - Double(len) * 0.37) / Double(len) + 0.05
                    x.append(Float(0.004 * env * sin(2 * Double.pi * 97 * Double(n) / sr)))
                }
                n += 1
            }
        }
        return x
    }

    // Expected (start, end, sample count) per chunk: printed by running the official
    // tools/slicer2.py Slicer (numpy) on the same signal built in Python with the same formula.
    @Test("cuts match the official slicer (class defaults and WebUI settings)", arguments: [
        (-40.0, 5000, 300, 20, 5000, [(0, 87680, 87680), (87680, 206_240, 118_560), (226_560, 320_640, 94080)]),
        (-34.0, 4000, 300, 10, 500, [(0, 82960, 82960), (98720, 174_960, 76240), (263_280, 318_960, 55680)]),
    ])
    func matchesOfficial(db: Double, minLength: Int, minInterval: Int, hop: Int, keep: Int, expected: [(Int, Int, Int)]) throws {
        let x = Self.signal()
        #expect(x.count == 330_800)
        let slicer = try SilenceSlicer(sampleRate: 8000, thresholdDB: db, minLengthMs: minLength, minIntervalMs: minInterval,
                                       hopSizeMs: hop, maxSilenceKeptMs: keep)
        let chunks = slicer.slice(x)
        #expect(chunks.map { [$0.startSample, $0.endSample, $0.samples.count] } == expected.map { [$0.0, $0.1, $0.2] })
        for c in chunks { #expect(Array(x[c.startSample..<(c.startSample + c.samples.count)]) == c.samples) }
    }

    @Test("short or silent input comes back whole; bad settings are rejected")
    func edges() throws {
        let slicer = try SilenceSlicer(sampleRate: 8000)
        let short = [Float](repeating: 0.2, count: 100)
        #expect(slicer.slice(short) == [.init(samples: short, startSample: 0, endSample: 100)])
        let loud = (0..<40000).map { Float(0.5 * sin(Double($0) * 0.3)) }
        #expect(slicer.slice(loud).count == 1)
        #expect(slicer.frameRMS([]).count == 1)  // one zero-padded frame, like librosa-style framing
        #expect(throws: AudioError.self) { _ = try SilenceSlicer(sampleRate: 8000, minLengthMs: 100, minIntervalMs: 300) }
        #expect(throws: AudioError.self) { _ = try SilenceSlicer(sampleRate: 8000, hopSizeMs: 20, maxSilenceKeptMs: 10) }
        #expect(throws: AudioError.self) { _ = try SilenceSlicer(sampleRate: 0) }
    }

    @Test("level mix follows slice_audio.py (including the double division above 1)")
    func mix() {
        let m = SilenceSlicer.mixLevel([0.5, -0.25], maxLevel: 0.9, alpha: 0.25)
        #expect(abs(m[0] - (0.5 / 0.5 * 0.225 + 0.75 * 0.5)) < 1e-6)
        let loud = SilenceSlicer.mixLevel([2, -1], maxLevel: 0.9, alpha: 0.25)
        // divided by 2 first, then c/2·0.225 + 0.75·c with c = [1, -0.5]
        #expect(abs(loud[0] - (1.0 / 2 * 0.225 + 0.75)) < 1e-6)
        #expect(SilenceSlicer.mixLevel([0, 0]) == [0, 0])
    }
}
