// Weight storage for the model matrices (no official counterpart: a storage choice).

import GSVNN
import GSVTensor
import GSVWeights

/// The T2S GPT's weight matrices: a ``WeightMatrix`` (fp16 checkpoints stay fp16).
public typealias T2SWeightMatrix = WeightMatrix

extension WeightMatrix {
    /// A seeded random `[rows, cols]` matrix N(0, `std`²) held as fp16 (the layout official
    /// checkpoints load into): drawn one row block at a time, so no Float32 copy of the whole
    /// matrix is ever made.
    public static func randomHalf(rows: Int, cols: Int, std: Float, rng: inout SeededRNG) -> WeightMatrix {
        var bits = [UInt16](repeating: 0, count: rows * cols)
        let block = max(1, 65_536 / max(cols, 1))
        var r0 = 0
        while r0 < rows {
            let n = min(block, rows - r0)
            let t = rng.gaussian(shape: [n, cols], std: std)
            t.scalars.withUnsafeBufferPointer { src in
                for i in 0..<(n * cols) { bits[r0 * cols + i] = HalfConversion.half(fromFloat: src[i]) }
            }
            r0 += n
        }
        return .half(HalfMatrix(rows: rows, cols: cols, bits: bits))
    }
}
