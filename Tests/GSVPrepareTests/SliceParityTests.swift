import Foundation
import GSVAudio
import GSVPrepare
import GSVTestSupport
import Testing

/// The slicing step against `prepare/slicer.json`: the clips the official `tools/slice_audio.py`
/// wrote for `prepare/recording.flac` (espeak-ng speech with pauses, music and noise), per setting.
@Suite("Slicing: parity with the official slicer")
struct SliceParityTests {
    struct Expected {
        var settings: SliceSettings
        var name: String
        var clips: [(file: String, start: Int, end: Int, samples: Int, sha: String)]
    }

    static func expectations() throws -> (input: String, cases: [Expected]) {
        let json = try fixtureJSON("prepare/slicer.json")
        guard let input = json["input"] as? String, let settings = json["settings"] as? [[String: Any]] else {
            throw FixtureError.malformed("prepare/slicer.json")
        }
        var cases: [Expected] = []
        for s in settings {
            var st = SliceSettings()
            guard let th = s["threshold"] as? Double, let ml = s["min_length"] as? Int, let mi = s["min_interval"] as? Int,
                  let hop = s["hop_size"] as? Int, let keep = s["max_sil_kept"] as? Int, let mx = s["max"] as? Double,
                  let alpha = s["alpha"] as? Double, let clips = s["clips"] as? [[String: Any]] else {
                throw FixtureError.malformed("prepare/slicer.json settings")
            }
            st.thresholdDB = th; st.minLengthMs = ml; st.minIntervalMs = mi; st.hopSizeMs = hop
            st.maxSilenceKeptMs = keep; st.maxLevel = mx; st.alpha = alpha
            let parsed = try clips.map { c -> (String, Int, Int, Int, String) in
                guard let f = c["file"] as? String, let a = c["start"] as? Int, let b = c["end"] as? Int,
                      let n = c["samples"] as? Int, let sha = c["sha256"] as? String else { throw FixtureError.malformed("clip") }
                return (f, a, b, n, sha)
            }
            cases.append(Expected(settings: st, name: s["name"] as? String ?? "?", clips: parsed.map { (file: $0.0, start: $0.1, end: $0.2, samples: $0.3, sha: $0.4) }))
        }
        return (input, cases)
    }

    @Test("cut points, clip names and clip files identical to the official slicer",
          .enabled(if: ffmpegAvailable, "ffmpeg is not installed (the recording is FLAC)"))
    func officialCutPoints() throws {
        let (input, cases) = try Self.expectations()
        #expect(!cases.isEmpty)
        let recording = Fixtures.url("prepare/\(input)").path
        for c in cases {
            let dir = try TempFolder()
            defer { dir.cleanup() }
            let clips = try DatasetSlicer(settings: c.settings).slice(file: recording, to: dir.path)
            let got = clips.map { [$0.start, $0.end, $0.samples] }
            #expect(got == c.clips.map { [$0.start, $0.end, $0.samples] }, "setting \(c.name)")
            #expect(clips.map { URL(fileURLWithPath: $0.path).lastPathComponent } == c.clips.map(\.file), "setting \(c.name)")
            for (clip, exp) in zip(clips, c.clips) {
                #expect(sha256(ofFile: clip.path) == exp.sha, "setting \(c.name): \(exp.file) differs from the official file")
            }
        }
    }

    @Test("the step resumes: a second run reuses the clips; changed settings redo them",
          .enabled(if: ffmpegAvailable, "ffmpeg is not installed (the recording is FLAC)"))
    func resumes() throws {
        let (input, cases) = try Self.expectations()
        let first = try #require(cases.first)
        let recording = Fixtures.url("prepare/\(input)").path
        let dir = try TempFolder()
        defer { dir.cleanup() }
        let step = DatasetSlicer(settings: first.settings)
        let a = try step.slice(inputs: [recording], to: dir.path)
        #expect(a.map(\.reused) == [false] && a[0].error == nil)
        let b = try step.slice(inputs: [recording], to: dir.path)
        #expect(b.map(\.reused) == [true] && b[0].clips == a[0].clips)
        var other = first.settings
        other.thresholdDB -= 6
        let c = try DatasetSlicer(settings: other).slice(inputs: [recording], to: dir.path)
        #expect(c.map(\.reused) == [false])
        let bad = try step.slice(inputs: [dir.path("missing.wav")], to: dir.path)
        #expect(bad.count == 1 && bad[0].error != nil && bad[0].clips.isEmpty)
    }

    @Test("numpy's pairwise float32 summation (the frame RMS the official slicer computes)")
    func rmsUsesFloat32Mean() throws {
        // A square of 2^24 among ones: a float32 running sum started there never moves, the pairwise
        // sum of eight accumulators does — the two differ, so this checks which one frameRMS uses.
        let slicer = try SilenceSlicer(sampleRate: 1000, minLengthMs: 40, minIntervalMs: 40, hopSizeMs: 10, maxSilenceKeptMs: 10)
        #expect(slicer.windowSize == 40)
        var x = [Float](repeating: 1, count: 200)
        x[20] = 4096  // its square is 2^24: adding 1 to it in float32 rounds back to 2^24
        let rms = slicer.frameRMS(x)
        var naive = [Float]()
        for f in 0..<rms.count {
            var s: Float = 0
            for j in 0..<40 { let i = f * 10 - 20 + j; if i >= 0 && i < x.count { s += x[i] * x[i] } }
            naive.append((s / 40).squareRoot())
        }
        #expect(rms.count == naive.count)
        #expect(rms != naive, "pairwise and sequential sums should differ on this input")
        #expect(zip(rms, naive).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, $1) })
    }
}
