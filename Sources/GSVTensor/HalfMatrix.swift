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
/// On x86-64 with F16C/AVX2/FMA the kernels are C (GSVKernels); elsewhere Swift SIMD code that
/// widens with integer bit operations. Measurements: `BenchmarkTests` (run with `GSV_BENCH=1`).
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

    /// Whether the F16C/AVX2/FMA C kernels (GSVKernels) are used: true on x86-64 CPUs that have
    /// them, unless the environment sets `GSV_NO_F16C=1`. Otherwise the Swift SIMD kernels run.
    public static let usesF16C: Bool =
        gsv_kernels_has_f16c() != 0 && ProcessInfo.processInfo.environment["GSV_NO_F16C"] != "1"

    /// The kernel code the products run: 2 = AVX-512F + F16C, 1 = AVX2 + F16C + FMA, 0 = Swift SIMD.
    /// `GSV_HALF_LEVEL=0|1|2` caps it (for comparisons); `GSV_NO_F16C=1` means 0.
    public static let kernelLevel: Int = {
        guard usesF16C else { return 0 }
        let best = Int(gsv_hgemv_max_level())
        if let s = ProcessInfo.processInfo.environment["GSV_HALF_LEVEL"], let cap = Int(s) { return max(0, min(best, cap)) }
        return best
    }()

    /// The levels available here, lowest first (tests run each).
    public static var availableLevels: [Int] { Array(0...kernelLevel) }

    /// Bytes of weight memory held.
    public var byteCount: Int { rows * cols * 2 }

    /// The bit pattern at (`r`, `c`).
    public subscript(r: Int, c: Int) -> UInt16 {
        precondition(r >= 0 && r < rows && c >= 0 && c < cols, "HalfMatrix index (\(r), \(c)) out of bounds")
        return storage.base[r * cols + c]
    }

    /// The whole matrix widened to a Float32 tensor.
    public func widened() -> Tensor {
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { o in
            widen(storage.base, into: o, count: rows * cols, f16c: HalfMatrix.usesF16C)
        }
        return Tensor(shape: [rows, cols], scalars: out)
    }

    private func widen(_ src: UnsafePointer<UInt16>, into dst: UnsafeMutableBufferPointer<Float>, count: Int, f16c: Bool) {
        if f16c, let d = dst.baseAddress {
            gsv_widen_half_f16c(src, d, count)
        } else {
            HalfConversion.widenHalf(UnsafeBufferPointer(start: src, count: count),
                                     into: UnsafeMutableBufferPointer(rebasing: dst[0..<count]))
        }
    }

    /// Widens four half patterns, one in the low 16 bits of each lane, to Float32. Exact for every
    /// value (subnormals, ±inf, NaN payloads) and free of lane-width conversions, which Swift's SIMD
    /// types do not vectorise.
    @inline(__always)
    static func widen4(_ h: SIMD4<UInt32>) -> SIMD4<Float> {
        let sign = (h & 0x8000) &<< 16
        let magnitude = h & 0x7FFF
        // Place exponent+mantissa in the float's fields and rescale by 2^(127-15): exact for normals
        // and, through float subnormal arithmetic, for half subnormals.
        let scaled = unsafeBitCast(unsafeBitCast(magnitude &<< 13, to: SIMD4<Float>.self) * 0x1p112,
                                   to: SIMD4<UInt32>.self)
        // Inf/NaN (magnitude ≥ 0x7C00): bit 15 of magnitude + 0x400 is set; smear it over the exponent.
        let spread = unsafeBitCast((magnitude &+ 0x400) &<< 16, to: SIMD4<Int32>.self) &>> 8
        let special = unsafeBitCast(spread, to: SIMD4<UInt32>.self) & 0x7F80_0000
        return unsafeBitCast(scaled | special | sign, to: SIMD4<Float>.self)
    }

    /// Splits `x` into its even- and odd-indexed elements (`cols` rounded down to even), the layout
    /// `widen4` produces when it reads two halves per 32-bit lane.
    private func deinterleave(_ x: UnsafePointer<Float>, _ even: UnsafeMutablePointer<Float>,
                              _ odd: UnsafeMutablePointer<Float>) {
        for j in 0..<(cols / 2) {
            even[j] = x[2 * j]
            odd[j] = x[2 * j + 1]
        }
    }

    /// Dot product of row `r` with `x` (length `cols`), given `x` split by ``deinterleave``.
    @inline(__always)
    private func rowDot(_ r: Int, _ x: UnsafePointer<Float>, _ even: UnsafePointer<Float>,
                        _ odd: UnsafePointer<Float>) -> Float {
        let w = storage.base + r * cols
        let raw = UnsafeRawPointer(w), er = UnsafeRawPointer(even), or = UnsafeRawPointer(odd)
        var e0 = SIMD4<Float>(), o0 = e0, e1 = e0, o1 = e0
        var c = 0
        while c + 16 <= cols {
            let w0 = raw.loadUnaligned(fromByteOffset: c * 2, as: SIMD4<UInt32>.self)
            let w1 = raw.loadUnaligned(fromByteOffset: c * 2 + 16, as: SIMD4<UInt32>.self)
            let h = c * 2  // byte offset of element c / 2 in the half-length float arrays
            e0 += HalfMatrix.widen4(w0 & 0xFFFF) * er.loadUnaligned(fromByteOffset: h, as: SIMD4<Float>.self)
            o0 += HalfMatrix.widen4(w0 &>> 16) * or.loadUnaligned(fromByteOffset: h, as: SIMD4<Float>.self)
            e1 += HalfMatrix.widen4(w1 & 0xFFFF) * er.loadUnaligned(fromByteOffset: h + 16, as: SIMD4<Float>.self)
            o1 += HalfMatrix.widen4(w1 &>> 16) * or.loadUnaligned(fromByteOffset: h + 16, as: SIMD4<Float>.self)
            c += 16
        }
        var s = ((e0 + o0) + (e1 + o1)).sum()
        while c < cols {
            s += HalfConversion.float(fromHalf: w[c]) * x[c]
            c += 1
        }
        return s
    }

    /// `y = W · x (+ bias)` for one vector `x` of length `cols`; returns `rows` values.
    /// Rows are split over threads when the matrix is large.
    public func gemv(_ x: [Float], bias: [Float]? = nil) -> [Float] {
        gemv(x, bias: bias, level: HalfMatrix.kernelLevel)
    }

    /// ``gemv(_:bias:)`` with an explicit kernel level (tests run each).
    func gemv(_ x: [Float], bias: [Float]?, level: Int) -> [Float] {
        precondition(x.count == cols, "HalfMatrix.gemv: x has \(x.count) values, expected \(cols)")
        if let b = bias { precondition(b.count == rows, "HalfMatrix.gemv: bias has \(b.count) values, expected \(rows)") }
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                guard let x0 = xp.baseAddress, cols > 0 else {
                    for i in 0..<rows { yp[i] = bias?[i] ?? 0 }
                    return
                }
                if level > 0 {
                    guard let y0 = yp.baseAddress else { return }
                    let w0 = storage.base, lvl = Int32(level)
                    Parallel.forRanges(rows, grain: max(16, 65_536 / max(cols, 1))) { r in
                        gsv_hgemv_rows_at(lvl, w0, cols, x0, y0, r.lowerBound, r.upperBound)
                    }
                    if let b = bias { for i in 0..<rows { yp[i] += b[i] } }
                    return
                }
                let half = cols / 2
                let split = UnsafeMutablePointer<Float>.allocate(capacity: 2 * half + 1)
                defer { split.deallocate() }
                deinterleave(x0, split, split + half)
                let even = UnsafePointer(split), odd = UnsafePointer(split + half)
                Parallel.forRanges(rows, grain: max(16, 262_144 / max(cols, 1))) { r in
                    if let b = bias {
                        for i in r { yp[i] = rowDot(i, x0, even, odd) + b[i] }
                    } else {
                        for i in r { yp[i] = rowDot(i, x0, even, odd) }
                    }
                }
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
    /// weights directly (once per 8 rows at level 2, per 4 at level 1) rather than widening them for
    /// sgemm: decoding batches.
    public static let registerBlockedRows = 16

    /// ``linear(_:bias:)`` with an explicit kernel level (tests run each).
    func linear(_ x: Tensor, bias: Tensor?, level: Int) -> Tensor {
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

    func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, level: Int) {
        guard n > 0 else { return }
        guard cols > 0 else {
            y.update(repeating: 0, count: n * rows)
            return
        }
        if level > 0 && n <= HalfMatrix.registerBlockedRows {
            nonisolated(unsafe) let (xp, yp) = (x, y)
            let w0 = storage.base, lvl = Int32(level), rows = rows, cols = cols
            Parallel.forRanges(rows, grain: max(16, 65_536 / max(cols, 1))) { r in
                if n == 1 {
                    gsv_hgemv_rows_at(lvl, w0, cols, xp, yp, r.lowerBound, r.upperBound)
                } else {
                    gsv_hgemm_rows_at(lvl, w0, rows, cols, xp, n, yp, r.lowerBound, r.upperBound)
                }
            }
        } else if level == 0 && n <= 4 {
            smallBatch(x, n: n, y)
        } else {
            tiledGemm(x, n: n, y, f16c: level > 0)
        }
    }

    /// Up to four input rows: each weight block is widened once and used for every row.
    private func smallBatch(_ x: UnsafePointer<Float>, n: Int, _ o: UnsafeMutablePointer<Float>) {
        let half = cols / 2
        let split = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 2 * half + 1)
        defer { split.deallocate() }
        split.initialize(repeating: 0, count: 4 * 2 * half + 1)
        for b in 0..<n { deinterleave(x + b * cols, split + b * 2 * half, split + b * 2 * half + half) }
        let xs = UnsafeRawPointer(split)
        Parallel.forRanges(rows, grain: max(16, 262_144 / max(cols, 1))) { r in
            for i in r {
                let raw = UnsafeRawPointer(storage.base + i * cols)
                var a0 = SIMD4<Float>(), a1 = a0, a2 = a0, a3 = a0
                var c = 0
                while c + 8 <= cols {
                    let w = raw.loadUnaligned(fromByteOffset: c * 2, as: SIMD4<UInt32>.self)
                    let we = HalfMatrix.widen4(w & 0xFFFF), wo = HalfMatrix.widen4(w &>> 16)
                    let h = c * 2, stride = 2 * half * 4
                    @inline(__always) func load(_ b: Int, _ off: Int) -> SIMD4<Float> {
                        xs.loadUnaligned(fromByteOffset: b * stride + off, as: SIMD4<Float>.self)
                    }
                    a0 += we * load(0, h) + wo * load(0, half * 4 + h)
                    if n > 1 { a1 += we * load(1, h) + wo * load(1, half * 4 + h) }
                    if n > 2 { a2 += we * load(2, h) + wo * load(2, half * 4 + h) }
                    if n > 3 { a3 += we * load(3, h) + wo * load(3, half * 4 + h) }
                    c += 8
                }
                var s = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
                while c < cols {
                    let w = HalfConversion.float(fromHalf: storage.base[i * cols + c])
                    for b in 0..<n { s[b] += w * x[b * cols + c] }
                    c += 1
                }
                for b in 0..<n { o[b * rows + i] = s[b] }
            }
        }
    }

    /// Larger batches: widen tiles of rows and multiply with BLAS.
    private func tiledGemm(_ x: UnsafePointer<Float>, n: Int, _ o: UnsafeMutablePointer<Float>, f16c: Bool) {
        // Up to 16 MB of widened rows per sgemm call (every matrix of the T2S GPT and the encoders
        // in one call): few, large BLAS calls run far closer to peak than many 1 MB ones, and the
        // widening is split over threads.
        let tile = max(1, min(rows, 4_194_304 / max(cols, 1)))
        // Every element is written by the widening before the sgemm reads it: no zero fill.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tile * cols))
        defer { scratch.deallocate() }
        nonisolated(unsafe) let dst = scratch
        var r0 = 0
        while r0 < rows {
            let tr = min(tile, rows - r0)
            let src = storage.base + r0 * cols
            Parallel.forRanges(tr, grain: max(1, 65_536 / max(cols, 1))) { r in
                widen(src + r.lowerBound * cols,
                      into: UnsafeMutableBufferPointer(start: dst + r.lowerBound * cols, count: r.count * cols),
                      count: r.count * cols, f16c: f16c)
            }
            // out[:, r0 ..< r0+tr] = x · tileᵀ
            BLAS.sgemm(transB: true, m: n, n: tr, k: cols, a: x, lda: cols, b: scratch, ldb: cols,
                       c: o + r0, ldc: rows)
            r0 += tr
        }
    }
}
