// Follows silero_vad/utils_vad.py (silero-vad 6.2.3, MIT): get_speech_timestamps_from_probs, with the
// defaults of get_speech_timestamps. Arithmetic in Double as Python does it.

import Foundation

/// Settings of ``SpeechTimestamps`` (the defaults of Silero's `get_speech_timestamps`).
public struct SpeechTimestampOptions: Sendable, Equatable, Codable {
    /// Probability at or above which a window is speech (0.5).
    public var threshold: Double = 0.5
    /// Speech segments not longer than this are dropped (250 ms).
    public var minSpeechDurationMs: Double = 250
    /// Longest segment; longer ones are split (infinite).
    public var maxSpeechDurationS: Double = .infinity
    /// Silence needed to end a segment (100 ms).
    public var minSilenceDurationMs: Double = 100
    /// Padding added on each side of a segment (30 ms).
    public var speechPadMs: Double = 30
    /// Probability below which speech ends (default `max(threshold − 0.15, 0.01)`).
    public var negThreshold: Double?
    /// Shortest silence used as a split point when a segment reaches the maximum length (98 ms).
    public var minSilenceAtMaxSpeechMs: Double = 98
    /// Split an over-long segment at its longest silence (true) or at the last one (false).
    public var useMaxPossibleSilenceAtMaxSpeech: Bool = true

    /// The defaults.
    public init() {}
}

/// Speech segments from per-window speech probabilities.
public enum SpeechTimestamps {
    /// Segments (in 16 kHz samples) from the probabilities of consecutive 512-sample windows of
    /// audio with `audioLength` samples.
    public static func segments(probabilities: [Float], audioLength: Int, sampleRate: Int = 16000,
                                options o: SpeechTimestampOptions = SpeechTimestampOptions()) -> [Range<Int>] {
        let window = sampleRate == 16000 ? 512 : 256
        let sr = Double(sampleRate)
        let minSpeechSamples = sr * o.minSpeechDurationMs / 1000
        let speechPadSamples = sr * o.speechPadMs / 1000
        let maxSpeechSamples = sr * o.maxSpeechDurationS - Double(window) - 2 * speechPadSamples
        let minSilenceSamples = sr * o.minSilenceDurationMs / 1000
        let minSilenceAtMax = sr * o.minSilenceAtMaxSpeechMs / 1000
        let negThreshold = o.negThreshold ?? max(o.threshold - 0.15, 0.01)

        var triggered = false
        var speeches: [(start: Int, end: Int)] = []
        var current: (start: Int?, end: Int?) = (nil, nil)
        var tempEnd = 0
        var prevEnd = 0, nextStart = 0
        var possibleEnds: [(end: Int, duration: Int)] = []

        for (i, p32) in probabilities.enumerated() {
            let p = Double(p32)
            let cur = window * i
            if p >= o.threshold && tempEnd != 0 {
                let sil = cur - tempEnd
                if Double(sil) > minSilenceAtMax { possibleEnds.append((tempEnd, sil)) }
                tempEnd = 0
                if nextStart < prevEnd { nextStart = cur }
            }
            if p >= o.threshold && !triggered {
                triggered = true
                current.start = cur
                continue
            }
            if triggered, let s = current.start, Double(cur - s) > maxSpeechSamples {
                if o.useMaxPossibleSilenceAtMaxSpeech && !possibleEnds.isEmpty {
                    // the longest silence (first of equals, as Python's max)
                    var best = possibleEnds[0]
                    for e in possibleEnds.dropFirst() where e.duration > best.duration { best = e }
                    prevEnd = best.end
                    speeches.append((s, prevEnd))
                    current = (nil, nil)
                    nextStart = prevEnd + best.duration
                    if nextStart < prevEnd + cur {
                        current.start = nextStart
                    } else {
                        triggered = false
                    }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    possibleEnds = []
                } else if prevEnd != 0 {
                    speeches.append((s, prevEnd))
                    current = (nil, nil)
                    if nextStart < prevEnd {
                        triggered = false
                    } else {
                        current.start = nextStart
                    }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    possibleEnds = []
                } else {
                    speeches.append((s, cur))
                    current = (nil, nil)
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    triggered = false
                    possibleEnds = []
                    continue
                }
            }
            if p < negThreshold && triggered {
                if tempEnd == 0 { tempEnd = cur }
                let silNow = cur - tempEnd
                if !o.useMaxPossibleSilenceAtMaxSpeech && Double(silNow) > minSilenceAtMax { prevEnd = tempEnd }
                if Double(silNow) < minSilenceSamples { continue }
                if let s = current.start, Double(tempEnd - s) > minSpeechSamples { speeches.append((s, tempEnd)) }
                current = (nil, nil)
                prevEnd = 0; nextStart = 0; tempEnd = 0
                triggered = false
                possibleEnds = []
                continue
            }
        }
        if let s = current.start, Double(audioLength - s) > minSpeechSamples {
            speeches.append((s, audioLength))
        }
        for i in speeches.indices {
            if i == 0 { speeches[i].start = Int(max(0, Double(speeches[i].start) - speechPadSamples)) }
            if i != speeches.count - 1 {
                let silence = speeches[i + 1].start - speeches[i].end
                if Double(silence) < 2 * speechPadSamples {
                    speeches[i].end += floorDiv(silence, 2)
                    speeches[i + 1].start = max(0, speeches[i + 1].start - floorDiv(silence, 2))
                } else {
                    speeches[i].end = Int(min(Double(audioLength), Double(speeches[i].end) + speechPadSamples))
                    speeches[i + 1].start = Int(max(0, Double(speeches[i + 1].start) - speechPadSamples))
                }
            } else {
                speeches[i].end = Int(min(Double(audioLength), Double(speeches[i].end) + speechPadSamples))
            }
        }
        return speeches.map { $0.start..<max($0.start, $0.end) }
    }

    /// Python's `//` on integers.
    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
