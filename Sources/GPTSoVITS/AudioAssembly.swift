// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.audio_postprocess and sola_algorithm.
import Foundation

/// Joining synthesized fragments into the output waveform.
public enum AudioAssembly {
    /// Peak-normalises a fragment whose magnitude exceeds 1 and appends `silence` zero samples,
    /// as `audio_postprocess` does per sentence.
    public static func finishFragment(_ samples: [Float], silence: Int) -> [Float] {
        var out = samples
        let peak = out.reduce(Float(0)) { max($0, abs($1)) }
        if peak > 1 { for i in out.indices { out[i] /= peak } }
        if silence > 0 { out.append(contentsOf: repeatElement(0, count: silence)) }
        return out
    }

    /// Number of silence samples for `seconds` at `sampleRate` (`int(sr * interval)`).
    public static func silenceSamples(seconds: Double, sampleRate: Int) -> Int {
        Int(Double(sampleRate) * seconds)
    }

    /// Joins fragments with the official SOLA cross-fade: each following fragment is shifted to the
    /// offset (within `searchLength`) that best matches the previous fragment's last `overlap`
    /// samples, and the overlap is cross-faded with a Hann window.
    public static func sola(_ fragments: [[Float]], overlap: Int, searchLength: Int = 320) -> [Float] {
        guard var previous = fragments.first else { return [] }
        guard overlap > 0 else { return fragments.flatMap { $0 } }
        var output: [Float] = []
        let hann = (0..<(2 * overlap)).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(2 * overlap))) }
        for next in fragments.dropFirst() {
            guard previous.count >= overlap, next.count >= overlap else {
                output.append(contentsOf: previous)
                previous = next
                continue
            }
            let w1 = Array(previous.suffix(overlap))
            var bestIndex = 0
            var best = -Float.infinity
            for k in 0...min(searchLength, next.count - overlap) {
                var dot: Float = 0, energy: Float = 0
                for j in 0..<overlap {
                    let v = next[k + j]
                    dot += v * w1[j]
                    energy += v * v
                }
                let c = dot / (energy + 1e-8).squareRoot()
                if c > best { best = c; bestIndex = k }
            }
            output.append(contentsOf: previous.dropLast(overlap))
            var shifted = Array(next[bestIndex...])
            for j in 0..<overlap { shifted[j] = hann[j] * shifted[j] + hann[overlap + j] * w1[j] }
            previous = shifted
        }
        output.append(contentsOf: previous)
        return output
    }
}
