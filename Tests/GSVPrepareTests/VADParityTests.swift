import Foundation
import GSVAudio
import GSVModels
import GSVPrepare
import GSVTestSupport
import Testing

/// Silero VAD against `prepare/vad.json`: the probabilities and speech timestamps the silero-vad
/// package (its default TorchScript model and `get_speech_timestamps`) gives on `recording.flac`.
@Suite("Silero VAD: parity with the silero-vad package")
struct VADParityTests {
    static func load() throws -> (audio: [Float], json: [String: Any]) {
        let json = try fixtureJSON("prepare/vad.json")
        guard let input = json["input"] as? String else { throw FixtureError.malformed("prepare/vad.json") }
        let audio = try DatasetSlicer.load(Fixtures.url("prepare/\(input)").path)
        return (audio, json)
    }

    static func stamps(_ any: Any?) throws -> [[Int]] {
        guard let list = any as? [[String: Any]] else { throw FixtureError.malformed("timestamps") }
        return try list.map { d in
            guard let s = d["start"] as? Int, let e = d["end"] as? Int else { throw FixtureError.malformed("timestamp") }
            return [s, e]
        }
    }

    @Test("speech probabilities within 1e-4 and identical timestamps (defaults and a stricter setting)",
          .enabled(if: ffmpegAvailable, "ffmpeg is not installed (the recording is FLAC)"))
    func parity() throws {
        let (audio, json) = try Self.load()
        let rate = try #require(json["input_sample_rate"] as? Int)
        let expectedProbs = try #require(json["speech_probs"] as? [Double])
        let model = try SileroVAD.bundled()
        let step = rate / SileroVAD.sampleRate
        let audio16k = stride(from: 0, to: audio.count, by: step).map { audio[$0] }
        let probs = try model.speechProbabilities(audio16k)
        try #require(probs.count == expectedProbs.count)
        let worst = zip(probs, expectedProbs).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-4, "largest probability difference \(worst)")

        let got = try model.speechTimestamps(audio, sampleRate: rate).map { [$0.lowerBound, $0.upperBound] }
        #expect(got == (try Self.stamps(json["timestamps_default"])))
        #expect(!got.isEmpty)

        let strict = try #require(json["timestamps_strict"] as? [String: Any])
        let s = try #require(strict["settings"] as? [String: Any])
        var options = SpeechTimestampOptions()
        options.threshold = try #require(s["threshold"] as? Double)
        options.minSilenceDurationMs = try #require(s["min_silence_duration_ms"] as? Double)
        options.speechPadMs = try #require(s["speech_pad_ms"] as? Double)
        options.minSpeechDurationMs = try #require(s["min_speech_duration_ms"] as? Double)
        let gotStrict = try model.speechTimestamps(audio, sampleRate: rate, options: options).map { [$0.lowerBound, $0.upperBound] }
        #expect(gotStrict == (try Self.stamps(strict["timestamps"])))
    }

    @Test("bad input is refused with a typed error")
    func badInput() throws {
        let model = try SileroVAD.random(seed: 1)
        #expect(throws: VADError.unsupportedSampleRate(22050)) { _ = try model.speechTimestamps([0, 0], sampleRate: 22050) }
        #expect(throws: VADError.nonFiniteAudio(index: 1)) { _ = try model.speechProbabilities([0, .nan]) }
        #expect(try model.speechProbabilities([]).isEmpty)
        #expect(try model.speechProbabilities([Float](repeating: 0.1, count: 513)).count == 2)
    }

    @Test("timestamp logic: padding, merging of close segments, the minimum length and the maximum length split")
    func timestampLogic() {
        // 0.9 = speech, 0.0 = silence; windows of 512 samples at 16 kHz.
        func run(_ pattern: [Float], _ o: SpeechTimestampOptions = SpeechTimestampOptions()) -> [[Int]] {
            SpeechTimestamps.segments(probabilities: pattern, audioLength: pattern.count * 512, options: o).map { [$0.lowerBound, $0.upperBound] }
        }
        let speech = [Float](repeating: 0.9, count: 20), silence = [Float](repeating: 0, count: 10)
        // One segment from window 10 to 30, padded by 480 samples (30 ms) each side.
        #expect(run(silence + speech + silence) == [[10 * 512 - 480, 30 * 512 + 480]])
        // A short blip (3 windows = 96 ms < 250 ms) is dropped.
        #expect(run(silence + [0.9, 0.9, 0.9] + silence).isEmpty)
        // A gap of 2 windows (64 ms < 100 ms) does not end a segment.
        #expect(run(speech + [0, 0] + speech + silence).count == 1)
        // A maximum length of 0.5 s splits a 40-window (1.28 s) run into pieces of at most 0.5 s
        // (plus the padding on each side).
        var o = SpeechTimestampOptions()
        o.maxSpeechDurationS = 0.5
        let pieces = run(silence + speech + speech + silence, o)
        #expect(pieces.count >= 2)
        #expect(pieces.allSatisfy { $0[1] - $0[0] <= 8000 + 2 * 480 })
    }
}
