import GSVTensor
import GSVWeights

/// A `[out, in]` weight matrix kept in its stored precision: fp16 checkpoints (every GPT-SoVITS
/// release, including the CN-HuBERT and Chinese RoBERTa files) stay fp16 and are widened inside the
/// kernels (``HalfMatrix``); fp32/bf16/fp64 weights are held as Float32 so that nothing is lost by
/// narrowing. Widening fp16 is exact, so both cases compute with the same weight values.
public enum WeightMatrix: Sendable {
    /// fp16 weights.
    case half(HalfMatrix)
    /// Float32 weights.
    case float(Tensor)

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

    /// The weights as a Float32 `[rows, cols]` tensor (a widened copy for fp16).
    public var widened: Tensor {
        switch self {
        case let .half(m): return m.widened()
        case let .float(t): return t
        }
    }

    /// `F.linear(x, W, bias)` over the last dimension of `x`.
    public func linear(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        switch self {
        case let .half(m): return m.linear(x, bias: bias)
        case let .float(w): return GSVTensor.linear(x, weight: w, bias: bias)
        }
    }

    /// `y = x · Wᵀ (+ bias)` for `n` rows of `x` (`[n, cols]`) into `y` (`[n, rows]`, fully
    /// written), without allocating: the decode loop's form of ``linear(_:bias:)``.
    /// - Precondition: `bias`, when given, is `[rows]`.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, bias: Tensor? = nil) {
        switch self {
        case let .half(m):
            m.multiply(x, rows: n, into: y)
        case let .float(w):
            w.scalars.withUnsafeBufferPointer { wp in
                guard let w0 = wp.baseAddress else { return }
                BLAS.sgemm(transB: true, m: n, n: rows, k: cols, a: x, lda: cols, b: w0, ldb: cols, c: y, ldc: rows)
            }
        }
        guard let bias else { return }
        precondition(bias.shape == [rows], "WeightMatrix.multiply: bias \(bias.shape) != [\(rows)]")
        let r = rows
        bias.scalars.withUnsafeBufferPointer { b in
            for i in 0..<n {
                let yr = y + i * r
                for j in 0..<r { yr[j] += b[j] }
            }
        }
    }

    /// Reads `name` from `r` with shape `[rows, cols]`, keeping its stored precision: contiguous fp16
    /// data is read in place from the mapped checkpoint (kept alive by the matrix, no copy at load),
    /// fp32/bf16/fp64 become Float32.
    /// - Throws: `WeightsError` for a missing key, a wrong shape or a non-float dtype.
    public init(_ r: WeightReader, _ name: String, rows: Int, cols: Int) throws {
        let data = try r.data(name, shape: [rows, cols])
        switch data.dtype {
        case .float16 where data.isContiguous:
            self = .half(HalfMatrix(rows: rows, cols: cols, bytes: try data.rawBytes(), owner: data.file))
        case .float16: self = .half(HalfMatrix(rows: rows, cols: cols, bits: try data.halfBits(declaredShape: [rows, cols])))
        case .float32, .bfloat16, .float64: self = .float(try data.floatTensor(declaredShape: [rows, cols]))
        default: throw WeightsError.unsupportedDType(key: r.fullKey(name), dtype: data.dtype.rawValue)
        }
    }

    /// The matrix `name` `[rows, cols]` from `p`: a checkpoint's in its stored precision (see
    /// ``init(_:_:rows:cols:)``), a random source's drawn as fp16 (the precision official checkpoints
    /// store), without a Float32 copy of the whole matrix.
    /// - Throws: `WeightsError` for a missing key, a wrong shape or a non-float dtype.
    public init(_ p: ParameterSource, _ name: String, rows: Int, cols: Int, initial: ParameterInit = .fanIn()) throws {
        if let r = p.reader {
            try self.init(r, name, rows: rows, cols: cols)
        } else {
            let bits = p.randomHalfBits(name, shape: [rows, cols], initial: initial) ?? []
            self = .half(HalfMatrix(rows: rows, cols: cols, bits: bits))
        }
    }

    /// Rows `range` (shares memory for fp16, copies for Float32).
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        switch self {
        case let .half(m): return .half(m.rows(range))
        case let .float(t): return .float(t.slice(axis: 0, range))
        }
    }

    /// Stacks matrices of equal width along the rows, e.g. separate q/k/v projections into one
    /// packed projection. fp16 when every part is fp16, else Float32.
    /// - Throws: ``NNError/shapeMismatch(layer:tensor:expected:got:)`` for an empty list or unequal widths.
    public static func stacked(_ parts: [WeightMatrix], layer: String) throws -> WeightMatrix {
        guard let first = parts.first else {
            throw NNError.shapeMismatch(layer: layer, tensor: "stacked weights", expected: "at least one matrix", got: [])
        }
        if let bad = parts.first(where: { $0.cols != first.cols }) {
            throw NNError.shapeMismatch(layer: layer, tensor: "stacked weights", expected: "[*, \(first.cols)]",
                                        got: [bad.rows, bad.cols])
        }
        let halves = parts.compactMap { m -> HalfMatrix? in if case let .half(h) = m { return h } else { return nil } }
        if halves.count == parts.count { return .half(HalfMatrix.stacked(halves)) }
        return .float(Tensor.concat(parts.map(\.widened), axis: 0))
    }
}
