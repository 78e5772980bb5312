import GSVAudio
import Testing
@testable import GPTSoVITS

@Suite struct BatchingTests {
    @Test func withoutBucketingKeepsOrder() {
        #expect(SentenceBatcher.batches(lengths: [5, 1, 9, 3, 2], batchSize: 2, threshold: 0.75, splitBucket: false)
                == [[0, 1], [2, 3], [4]])
    }

    @Test func bucketingSortsAndShrinksUnbalancedWindows() {
        // Sorted by length: idx 1 (2), 4 (3), 3 (10), 0 (11), 2 (30).
        // Window [2,3,10]: middle 3 / mean 5 = 0.6 < 0.75 → shrink to [2,3]: 3/2.5 = 1.2 → accept.
        // Window [10,11,30]: 11/17 = 0.65 → shrink [10,11]: 11/10.5 → accept. Then [30].
        let b = SentenceBatcher.batches(lengths: [11, 2, 30, 10, 3], batchSize: 3, threshold: 0.75, splitBucket: true)
        #expect(b == [[1, 4], [3, 0], [2]])
        #expect(b.flatMap { $0 }.sorted() == [0, 1, 2, 3, 4])
    }

    @Test func equalLengthsAreStable() {
        #expect(SentenceBatcher.batches(lengths: [4, 4, 4], batchSize: 1, threshold: 0.75, splitBucket: true) == [[0], [1], [2]])
    }
}

@Suite struct AssemblyTests {
    @Test func fragmentsArePeakNormalisedAndPadded() {
        let f = AudioAssembly.finishFragment([0.5, -2, 1], silence: 3)
        #expect(f == [0.25, -1, 0.5, 0, 0, 0])
        #expect(AudioAssembly.silenceSamples(seconds: 0.3, sampleRate: 32000) == 9600)
    }

    @Test func int16ConversionTruncatesAndClamps() {
        #expect([1, -1, 0.5, -0.00001, 0.99999].map(PCM16Conversion.truncateClamp.convert) == [32767, -32768, 16384, 0, 32767])
    }

    @Test func solaAlignsAShiftedContinuation() {
        // A sine split into two fragments whose second part restarts 40 samples early: SOLA finds
        // the shift, so the joined signal continues the sine without a jump.
        let n = 4000, overlap = 256
        let signal = (0..<n).map { Float(sin(Double($0) * 0.05)) }
        let cut = 2000
        let first = Array(signal[0..<cut])
        let second = Array(signal[(cut - overlap - 40)...])
        let joined = AudioAssembly.sola([first, second], overlap: overlap)
        #expect(joined.count == n)  // 1744 samples of the first + the second from the matched offset
        var maxErr: Float = 0
        for i in 0..<joined.count { maxErr = max(maxErr, abs(joined[i] - signal[i])) }
        #expect(maxErr < 1e-3)
    }
}

#if canImport(Glibc)
import Glibc
#endif
