// Weight storage for the T2S GPT's matrices (no official counterpart: a storage choice).

import GSVTensor
import GSVWeights

/// A `[out, in]` weight matrix kept in its stored precision: fp16 checkpoints (all GPT-SoVITS
/// releases) stay fp16, read in place from the mapped file, and are widened inside the kernels
/// (``HalfMatrix``); fp32/bf16/fp64
/// weights are held as Float32 so that no precision is lost by narrowing.
public enum T2SWeightMatrix: Sendable {
    /// fp16 weights.
    case half(HalfMatrix)
    /// Float32 weights.
    case float(Tensor)

    /// Reads `name` from `r` with shape `[rows, cols]`.
    /// - Throws: `WeightsError` for a missing key, a wrong shape or a non-float dtype.
    public init(_ r: WeightReader, _ name: String, rows: Int, cols: Int) throws {
        let data = try r.data(name, shape: [rows, cols])
        switch data.dtype {
        case .float16 where data.isContiguous:
            // Read in place from the mapped checkpoint (kept alive by the matrix): no copy at load.
            self = .half(HalfMatrix(rows: rows, cols: cols, bytes: try data.rawBytes(), owner: data.file))
        case .float16: self = .half(HalfMatrix(rows: rows, cols: cols, bits: try data.halfBits()))
        case .float32, .bfloat16, .float64: self = .float(try data.floatTensor())
        default: throw WeightsError.unsupportedDType(key: r.fullKey(name), dtype: data.dtype.rawValue)
        }
    }

    /// Output features.
    public var rows: Int {
        switch self {
        case let .half(m): return m.rows
        case let .float(t): return t.shape[0]
        }
    }

    /// Input features.
    public var cols: Int {
        switch self {
        case let .half(m): return m.cols
        case let .float(t): return t.shape[1]
        }
    }

    /// Bytes of weight memory held.
    public var byteCount: Int {
        switch self {
        case let .half(m): return m.byteCount
        case let .float(t): return t.count * MemoryLayout<Float>.stride
        }
    }

    /// `F.linear(x, W, bias)` over the last dimension of `x`.
    public func linear(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        switch self {
        case let .half(m): return m.linear(x, bias: bias)
        case let .float(w): return GSVTensor.linear(x, weight: w, bias: bias)
        }
    }
}
