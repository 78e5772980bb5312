// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.to_batch (bucketing of sentences into GPT batches).

/// Groups sentences into GPT batches as the official `to_batch` does.
public enum SentenceBatcher {
    /// Batches of sentence indices.
    ///
    /// With `splitBucket`, sentences are sorted by length (stable) and, from each position, the
    /// largest window of at most `batchSize` sentences whose middle length divided by the mean
    /// length is at least `threshold` becomes a batch (a single sentence always qualifies).
    /// Without it, consecutive groups of `batchSize` in the original order.
    ///
    /// - Parameter lengths: each sentence's length in characters (Unicode scalars of `norm_text`).
    public static func batches(lengths: [Int], batchSize: Int, threshold: Float, splitBucket: Bool) -> [[Int]] {
        let size = max(1, batchSize)
        guard splitBucket else {
            return stride(from: 0, to: lengths.count, by: size).map { Array($0..<min($0 + size, lengths.count)) }
        }
        let order = lengths.indices.sorted { lengths[$0] < lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) }
        var result: [[Int]] = []
        var pos = 0
        while pos < order.count {
            var end = min(pos + size, order.count)
            while pos < end {
                let window = order[pos..<end].map { Float(lengths[$0]) }
                let mean = window.reduce(0, +) / Float(window.count)
                let score = window[(end - pos) / 2] / (mean + 1e-8)
                if score >= threshold || end - pos == 1 {
                    result.append(Array(order[pos..<end]))
                    pos = end
                    break
                }
                end -= 1
            }
        }
        return result
    }
}
