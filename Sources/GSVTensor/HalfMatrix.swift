import Foundation
import GSVKernels

// fp16 weight storage for the memory-bound decode path (DESIGN "Speed"): weights stay as IEEE
// half bit patterns ([out, in], PyTorch Linear layout) and are widened to Float32 inside the
// kernel, so each token reads half the bytes of an fp32 copy.

/// Owns (or keeps alive) the memory that a ``HalfMatrix`` reads.
private final class HalfStorage: @unchecked Sendable {
    // @unchecked: the pointer is written once in `init` and only read afterwards; the memory is
    // either owned here (freed in deinit) or kept alive by `owner` (e.g. a memory-mapped file).
    let base: UnsafePointer<UInt16>
    private let owned: UnsafeMutablePointer<UInt16>?
    private let owner: AnyObject?

    init(copying bits: UnsafeBufferPointer<UInt16>) {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(bits.count, 1))
        if let src = bits.baseAddress { p.initialize(from: src, count: bits.count) }
        owned = p
        base = UnsafePointer(p)
        owner = nil
    }

    /// Takes ownership of `p` (allocated with `UnsafeMutablePointer.allocate`).
    init(adopting p: UnsafeMutablePointer<UInt16>) {
        owned = p
        base = UnsafePointer(p)
        owner = nil
    }

    init(borrowing p: UnsafePointer<UInt16>, owner: AnyObject) {
        base = p
        owned = nil
        self.owner = owner
    }

    deinit { owned?.deallocate() }
}

/// A row-major `[rows, cols]` matrix of fp16 weights (PyTorch `Linear` layout `[out, in]`) with
/// matrix–vector and small-batch kernels that widen to Float32 on the fly.
///
/// The kernels are GSVKernels' C code at ``kernelLevel`` (AVX-512, AVX2 + FMA + F16C, NEON or
/// portable C). Measurements: `BenchmarkTests` (run with `GSV_BENCH=1`).
public struct HalfMatrix: Sendable {
    /// Number of rows (output features).
    public let rows: Int
    /// Number of columns (input features).
    public let cols: Int
    private let storage: HalfStorage

    /// Copies `bits` (IEEE binary16 patterns, row-major).
    /// - Precondition: `bits.count == rows * cols`.
    public init(rows: Int, cols: Int, bits: [UInt16]) {
        precondition(rows >= 0 && cols >= 0 && bits.count == rows * cols,
                     "HalfMatrix [\(rows), \(cols)] needs \(rows * cols) values, got \(bits.count)")
        self.rows = rows
        self.cols = cols
        storage = bits.withUnsafeBufferPointer { HalfStorage(copying: $0) }
    }

    /// Reads fp16 data in place from memory kept alive by `owner` (e.g. a mapped weight file),
    /// without copying. Misaligned data (odd address) is copied instead.
    /// - Precondition: `bytes.count == rows * cols * 2`.
    public init(rows: Int, cols: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        precondition(rows >= 0 && cols >= 0 && bytes.count == rows * cols * 2,
                     "HalfMatrix [\(rows), \(cols)] needs \(rows * cols * 2) bytes, got \(bytes.count)")
        self.rows = rows
        self.cols = cols
        if let raw = bytes.baseAddress, Int(bitPattern: raw) % MemoryLayout<UInt16>.alignment == 0 {
            storage = HalfStorage(borrowing: raw.assumingMemoryBound(to: UInt16.self), owner: owner)
        } else {
            var copy = [UInt16](repeating: 0, count: rows * cols)
            copy.withUnsafeMutableBytes { dst in
                if let d = dst.baseAddress, let s = bytes.baseAddress { d.copyMemory(from: s, byteCount: bytes.count) }
            }
            storage = copy.withUnsafeBufferPointer { HalfStorage(copying: $0) }
        }
    }

    /// Rows `range` of this matrix as a matrix sharing the same memory (no copy).
    /// - Precondition: `range` lies within `0..<rows`.
    public func rows(_ range: Range<Int>) -> HalfMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "HalfMatrix rows \(range) outside 0..<\(rows)")
        return HalfMatrix(rows: range.count, cols: cols,
                          storage: HalfStorage(borrowing: storage.base + range.lowerBound * cols, owner: storage))
    }

    private init(rows: Int, cols: Int, storage: HalfStorage) {
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Stacks matrices of equal width along the rows (one copy into new fp16 storage).
    /// - Precondition: `parts` is non-empty and every part has the same `cols`.
    public static func stacked(_ parts: [HalfMatrix]) -> HalfMatrix {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.cols == parts[0].cols }, "HalfMatrix.stacked needs equal widths")
        let cols = parts[0].cols, rows = parts.reduce(0) { $0 + $1.rows }
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(rows * cols, 1))
        var offset = 0
        for m in parts {
            (p + offset).initialize(from: m.storage.base, count: m.rows * cols)
            offset += m.rows * cols
        }
        return HalfMatrix(rows: rows, cols: cols, storage: HalfStorage(adopting: p))
    }

    /// Narrows a Float32 `[rows, cols]` tensor to fp16 (round to nearest even).
    public init(_ t: Tensor) {
        precondition(t.rank == 2, "HalfMatrix from a \(t.shape) tensor")
        self.init(rows: t.shape[0], cols: t.shape[1], bits: t.scalars.map { HalfConversion.half(fromFloat: $0) })
    }

    /// The kernel level of the products: ``Tuning/halfLevel`` (`GSV_HALF_LEVEL`, `GSV_CPU_LEVEL`; default
    /// the CPU's best: AVX-512, AVX2 + FMA + F16C, NEON or portable C).
    public static var kernelLevel: KernelLevel { Tuning.halfLevel }

    /// Bytes of weight memory held.
    public var byteCount: Int { rows * cols * 2 }

    /// The bit pattern at (`r`, `c`).
    public subscript(r: Int, c: Int) -> UInt16 {
        precondition(r >= 0 && r < rows && c >= 0 && c < cols, "HalfMatrix index (\(r), \(c)) out of bounds")
        return storage.base[r * cols + c]
    }

    /// The whole matrix widened to a Float32 tensor (exact at every level).
    public func widened(level: KernelLevel = HalfMatrix.kernelLevel) -> Tensor {
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { o in
            gsv_widen_half_at(Int32(level.rawValue), storage.base, o.baseAddress, rows * cols)
        }
        return Tensor(shape: [rows, cols], scalars: out)
    }

    /// `y = W · x (+ bias)` for one vector `x` of length `cols`; returns `rows` values.
    /// Rows are split over threads when the matrix is large.
    public func gemv(_ x: [Float], bias: [Float]? = nil) -> [Float] {
        gemv(x, bias: bias, level: HalfMatrix.kernelLevel)
    }

    /// ``gemv(_:bias:)`` with an explicit kernel level (tests run each).
    public func gemv(_ x: [Float], bias: [Float]?, level: KernelLevel) -> [Float] {
        precondition(x.count == cols, "HalfMatrix.gemv: x has \(x.count) values, expected \(cols)")
        if let b = bias { precondition(b.count == rows, "HalfMatrix.gemv: bias has \(b.count) values, expected \(rows)") }
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                guard let x0 = xp.baseAddress, let y0 = yp.baseAddress, cols > 0 else {
                    for i in 0..<rows { yp[i] = bias?[i] ?? 0 }
                    return
                }
                multiply(x0, rows: 1, into: y0, level: level)
                if let b = bias { for i in 0..<rows { yp[i] += b[i] } }
            }
        }
        return y
    }

    /// `x · Wᵀ (+ bias)` over the last dimension of `x` (`F.linear` with fp16 weights).
    ///
    /// One row (decode, batch 1) uses ``gemv(_:bias:)``; up to ``registerBlockedRows`` rows share
    /// each widened weight vector in registers; larger batches widen row tiles into a scratch buffer
    /// and call sgemm.
    public func linear(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        linear(x, bias: bias, level: HalfMatrix.kernelLevel)
    }

    /// Input rows up to which ``linear(_:bias:)`` and ``multiply(_:rows:into:)`` read the fp16
    /// weights directly (once per pass of up to 16 input rows at the AVX-512 level, 12 with AVX2 or
    /// NEON, 4 in portable C) rather than widening them for sgemm: decoding batches.
    public static let registerBlockedRows = 16

    /// ``linear(_:bias:)`` with an explicit kernel level (tests run each).
    public func linear(_ x: Tensor, bias: Tensor?, level: KernelLevel) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == cols,
                     "HalfMatrix.linear: input \(x.shape) last dim != \(cols)")
        if let b = bias { precondition(b.shape == [rows], "HalfMatrix.linear: bias \(b.shape) != [\(rows)]") }
        var outShape = x.shape
        outShape[outShape.count - 1] = rows
        let n = cols == 0 ? 0 : x.count / cols
        if n == 1 {
            return Tensor(shape: outShape, scalars: gemv(x.scalars, bias: bias?.scalars, level: level))
        }
        var out = [Float](repeating: 0, count: n * rows)
        x.scalars.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                guard let x0 = xp.baseAddress, let o0 = op.baseAddress, n > 0 else { return }
                multiply(x0, rows: n, into: o0, level: level)
            }
        }
        var y = Tensor(shape: outShape, scalars: out)
        if let b = bias { y = y + b }
        return y
    }

    /// `y = x · Wᵀ` for `n` rows of `x` (`[n, cols]`) into `y` (`[n, rows]`, fully written): the
    /// allocation-free form of ``linear(_:bias:)`` for callers that keep their own buffers.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>) {
        multiply(x, rows: n, into: y, level: HalfMatrix.kernelLevel)
    }

    /// ``multiply(_:rows:into:)`` with an explicit kernel level (tests run each).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, level: KernelLevel) {
        guard n > 0 else { return }
        guard cols > 0 else {
            y.update(repeating: 0, count: n * rows)
            return
        }
        guard n <= HalfMatrix.registerBlockedRows else {
            tiledGemm(x, n: n, y, level: level)
            return
        }
        nonisolated(unsafe) let (xp, yp) = (x, y)
        let w0 = storage.base, lvl = Int32(level.rawValue), rows = rows, cols = cols
        Parallel.forRanges(rows, grain: max(16, 65_536 / max(cols, 1))) { r in
            if n == 1 {
                gsv_hgemv_rows_at(lvl, w0, cols, xp, yp, r.lowerBound, r.upperBound)
            } else {
                gsv_hgemm_rows_at(lvl, w0, rows, cols, xp, n, yp, r.lowerBound, r.upperBound)
            }
        }
    }

    /// Larger batches: widen tiles of rows and multiply with BLAS.
    private func tiledGemm(_ x: UnsafePointer<Float>, n: Int, _ o: UnsafeMutablePointer<Float>, level: KernelLevel) {
        // Up to 16 MB of widened rows per sgemm call (every matrix of the T2S GPT and the encoders
        // in one call): few, large BLAS calls run far closer to peak than many 1 MB ones, and the
        // widening is split over threads.
        let tile = max(1, min(rows, 4_194_304 / max(cols, 1)))
        // Every element is written by the widening before the sgemm reads it: no zero fill.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tile * cols))
        defer { scratch.deallocate() }
        nonisolated(unsafe) let dst = scratch
        let lvl = Int32(level.rawValue)
        var r0 = 0
        while r0 < rows {
            let tr = min(tile, rows - r0)
            let src = storage.base + r0 * cols
            Parallel.forRanges(tr, grain: max(1, 65_536 / max(cols, 1))) { r in
                gsv_widen_half_at(lvl, src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count * cols)
            }
            // out[:, r0 ..< r0+tr] = x · tileᵀ
            BLAS.sgemm(transB: true, m: n, n: tr, k: cols, a: x, lda: cols, b: scratch, ldb: cols,
                       c: o + r0, ldc: rows)
            r0 += tr
        }
    }
}
