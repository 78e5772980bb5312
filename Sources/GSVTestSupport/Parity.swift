/// The parity figures every model test asserts against the official tensors.
public enum Parity {
    /// Cosine similarity and max relative error (max |ours − golden| ÷ max |golden|), accumulated
    /// in Double. Two all-zero tensors have cosine 1; an all-zero golden gives the max absolute error.
    public static func figures(_ ours: [Float], _ golden: [Float]) -> (cosine: Double, maxRel: Double) {
        precondition(ours.count == golden.count, "parity: \(ours.count) values vs \(golden.count)")
        var dot = 0.0, na = 0.0, nb = 0.0, maxDiff = 0.0, maxRef = 0.0
        for (a, b) in zip(ours, golden) {
            let (x, y) = (Double(a), Double(b))
            dot += x * y; na += x * x; nb += y * y
            maxDiff = max(maxDiff, abs(x - y)); maxRef = max(maxRef, abs(y))
        }
        let cosine = na == 0 && nb == 0 ? 1 : dot / (na.squareRoot() * nb.squareRoot())
        return (cosine, maxRef == 0 ? maxDiff : maxDiff / maxRef)
    }
}
