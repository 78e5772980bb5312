import Foundation
import GSVTensor

/// One stored tensor: its dtype and shape, and a view of its bytes inside a mapped file.
///
/// Nothing is converted or copied until a caller asks for Float32 values (``floatTensor()``) or the
/// raw half-precision bits (``halfBits()``), so checkpoints stay in the page cache as they are.
public struct TensorData: Sendable {
    /// The key of the tensor in its file.
    public let name: String
    /// The stored element type.
    public let dtype: DType
    /// The shape, outermost first.
    public let shape: [Int]
    /// The file the bytes live in.
    public let file: MappedFile
    /// Byte offset of element 0 in the file.
    public let offset: Int
    /// Strides in elements (contiguous row-major unless a checkpoint stored a view).
    public let strides: [Int]

    /// Creates a view and checks that every element it addresses lies inside the file.
    public init(name: String, dtype: DType, shape: [Int], file: MappedFile, offset: Int, strides: [Int]? = nil) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.corrupt(path: file.path, reason: "tensor '\(name)' has a negative dimension \(shape)")
        }
        let st = strides ?? Tensor.strides(for: shape)
        guard st.count == shape.count, st.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.corrupt(path: file.path, reason: "tensor '\(name)' has invalid strides \(st) for shape \(shape)")
        }
        // Element count, guarding against overflow from absurd shapes.
        var n = 1
        for d in shape {
            let (r, o) = n.multipliedReportingOverflow(by: d)
            guard !o, r <= Int(Int32.max) * 16 else {
                throw WeightsError.corrupt(path: file.path, reason: "tensor '\(name)' has an absurd shape \(shape)")
            }
            n = r
        }
        if n > 0 {
            var last = 0
            for (d, s) in zip(shape, st) {
                let (r, o) = (d - 1).multipliedReportingOverflow(by: s)
                let (a, o2) = last.addingReportingOverflow(r)
                guard !o, !o2 else { throw WeightsError.corrupt(path: file.path, reason: "tensor '\(name)' strides overflow") }
                last = a
            }
            let (elements, o0) = last.addingReportingOverflow(1)
            let (bytes, o1) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            let (end, o2) = offset.addingReportingOverflow(bytes)
            guard !o0, !o1, !o2, offset >= 0, end <= file.size else {
                throw WeightsError.corrupt(path: file.path,
                    reason: "tensor '\(name)' \(shape) \(dtype) needs bytes \(offset)..<\(end) but the file has \(file.size)")
            }
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.file = file
        self.offset = offset
        self.strides = st
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Storage elements from element 0 to the last element the view addresses (0 when empty): how
    /// much of the file the view reads, whatever its strides.
    public var storageSpan: Int {
        guard count > 0 else { return 0 }
        return zip(shape, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
    }

    /// Whether the view has more elements than the storage it reads — overlapping or zero strides,
    /// which PyTorch writes for expanded or overlapping views (`as_strided`, `expand`). Such a view
    /// is only materialised against a shape the caller declares (see ``floatTensor(declaredShape:)``),
    /// so a small hostile file cannot make the loader allocate more than a model asked for.
    public var isExpandedView: Bool { count > storageSpan }

    /// Whether the elements are stored contiguously in row-major order.
    public var isContiguous: Bool { count <= 1 || strides == Tensor.strides(for: shape) }

    /// The stored bytes of a contiguous tensor (throws for a strided view).
    public func rawBytes() throws -> UnsafeRawBufferPointer {
        guard isContiguous else {
            throw WeightsError.unsupportedDType(key: name, dtype: "\(dtype) strided view \(strides) (raw bytes need a contiguous tensor)")
        }
        return try file.bytes(offset..<(offset + count * dtype.byteSize))
    }

    /// Checks that materialising this view stays within what the caller allows: `declaredShape`
    /// (when given) must equal the stored shape; without one, the view may not hold more elements
    /// than it reads from the file.
    private func checkMaterialisable(_ declaredShape: [Int]?) throws {
        if let declaredShape {
            guard declaredShape == shape else {
                throw WeightsError.shapeMismatch(key: name, expected: declaredShape, actual: shape)
            }
        } else if isExpandedView {
            throw WeightsError.undeclaredExpansion(key: name, elements: count, stored: storageSpan)
        }
    }

    /// The values as IEEE half-precision bit patterns in row-major order: float16 is copied as
    /// stored (bit-exact), float32/float64/bfloat16 are rounded to nearest half. For fp16 kernels that
    /// keep weights at two bytes per element.
    ///
    /// - Parameter declaredShape: the shape the caller expects; required for an expanded view
    ///   (``isExpandedView``), checked when given.
    public func halfBits(declaredShape: [Int]? = nil) throws -> [UInt16] {
        try checkMaterialisable(declaredShape)
        guard dtype.isFloatingPoint else {
            throw WeightsError.unsupportedDType(key: name, dtype: "\(dtype) (half bits need a floating-point tensor)")
        }
        let n = count
        guard n > 0, let base = file.base else { return [] }
        let raw = base + offset
        return [UInt16](unsafeUninitializedCapacity: n) { buf, done in
            let out = buf.baseAddress!
            forEachRun(from: 0, count: n) { dst, src, run, step in
                if dtype == .float16 && step == 1 {
                    memcpy(out + dst, raw + src * 2, run * 2)
                } else if dtype == .float16 {
                    for i in 0..<run { out[dst + i] = raw.loadUnaligned(fromByteOffset: (src + i * step) * 2, as: UInt16.self) }
                } else {
                    for i in 0..<run { out[dst + i] = HalfConversion.half(fromFloat: element(raw, src + i * step)) }
                }
            }
            done = n
        }
    }

    /// Calls `body` with the stored half-precision elements in place (no copy). Requires a
    /// contiguous float16 tensor whose bytes are 2-byte aligned in the mapping, as PyTorch (64-byte)
    /// and safetensors writers lay them out.
    public func withUnsafeHalfBits<R>(_ body: (UnsafeBufferPointer<UInt16>) throws -> R) throws -> R {
        guard dtype == .float16 else { throw WeightsError.unsupportedDType(key: name, dtype: dtype.rawValue) }
        let raw = try rawBytes()
        guard raw.isEmpty || Int(bitPattern: raw.baseAddress) % 2 == 0 else {
            throw WeightsError.corrupt(path: file.path, reason: "tensor '\(name)' is not 2-byte aligned")
        }
        return try body(raw.bindMemory(to: UInt16.self))
    }

    /// Element at storage index `storageIndex` converted to Float.
    @inline(__always)
    private func element(_ raw: UnsafeRawPointer, _ storageIndex: Int) -> Float {
        switch dtype {
        case .float32: return raw.loadUnaligned(fromByteOffset: storageIndex * 4, as: Float.self)
        case .float16: return HalfConversion.float(fromHalf: raw.loadUnaligned(fromByteOffset: storageIndex * 2, as: UInt16.self))
        case .bfloat16: return HalfConversion.float(fromBFloat16: raw.loadUnaligned(fromByteOffset: storageIndex * 2, as: UInt16.self))
        case .float64: return Float(raw.loadUnaligned(fromByteOffset: storageIndex * 8, as: Double.self))
        case .int64: return Float(raw.loadUnaligned(fromByteOffset: storageIndex * 8, as: Int64.self))
        case .int32: return Float(raw.loadUnaligned(fromByteOffset: storageIndex * 4, as: Int32.self))
        case .int16: return Float(raw.loadUnaligned(fromByteOffset: storageIndex * 2, as: Int16.self))
        case .int8: return Float(raw.loadUnaligned(fromByteOffset: storageIndex, as: Int8.self))
        case .uint8, .bool: return Float(raw.loadUnaligned(fromByteOffset: storageIndex, as: UInt8.self))
        }
    }

    /// Walks the logical (row-major) elements `from ..< from + count` as runs along the innermost
    /// dimension: `body(destinationIndex, storageIndex, runLength, storageStep)`, where run element
    /// `i` is logical element `start + destinationIndex + i` and lives at storage index
    /// `storageIndex + i · storageStep`.
    private func forEachRun(from start: Int, count total: Int, _ body: (Int, Int, Int, Int) -> Void) {
        guard total > 0 else { return }
        let rank = shape.count
        if rank == 0 { body(0, 0, 1, 1); return }
        // Multi-index of `start`.
        var index = [Int](repeating: 0, count: rank)
        var rem = start
        for d in stride(from: rank - 1, through: 0, by: -1) {
            index[d] = rem % shape[d]
            rem /= shape[d]
        }
        let inner = shape[rank - 1], step = strides[rank - 1]
        var done = 0
        while done < total {
            var base = 0
            for d in 0..<rank { base += index[d] * strides[d] }
            let run = min(inner - index[rank - 1], total - done)
            body(done, base, run, step)
            done += run
            // Advance the multi-index by `run` (the innermost index wraps to 0, carrying outwards).
            index[rank - 1] += run
            var d = rank - 1
            while d > 0 && index[d] == shape[d] {
                index[d] = 0
                index[d - 1] += 1
                d -= 1
            }
        }
    }

    /// Converts logical elements `start ..< start + n` to Float32 into `out`.
    private func convert(from start: Int, count n: Int, into out: UnsafeMutablePointer<Float>, raw: UnsafeRawPointer) {
        forEachRun(from: start, count: n) { dst, src, run, step in
            let o = out + dst
            if step == 1 {
                let p = raw + src * dtype.byteSize
                switch dtype {
                case .float32:
                    memcpy(o, p, run * 4)
                    return
                case .float16 where Int(bitPattern: p) % 2 == 0:
                    // Aligned (as torch and safetensors lay data out): GSVTensor's widening kernel.
                    HalfConversion.widenHalf(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt16.self), count: run),
                                             into: UnsafeMutableBufferPointer(start: o, count: run))
                    return
                case .bfloat16 where Int(bitPattern: p) % 2 == 0:
                    HalfConversion.widenBFloat16(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt16.self), count: run),
                                                 into: UnsafeMutableBufferPointer(start: o, count: run))
                    return
                default: break
                }
            }
            for i in 0..<run { o[i] = element(raw, src + i * step) }
        }
    }

    /// The values widened (or converted) to a Float32 ``Tensor``, honouring the storage offset and
    /// any strides (transposed, overlapping or broadcast views read as PyTorch reads them).
    ///
    /// - Parameter declaredShape: the shape the caller expects; required for an expanded view
    ///   (``isExpandedView``) — otherwise ``WeightsError/undeclaredExpansion(key:elements:stored:)``
    ///   — and checked when given (``WeightsError/shapeMismatch(key:expected:actual:)``).
    public func floatTensor(declaredShape: [Int]? = nil) throws -> Tensor {
        try checkMaterialisable(declaredShape)
        let n = count
        var out = [Float](repeating: 0, count: n)
        guard n > 0, let base = file.base else { return Tensor(shape: shape, scalars: out) }
        out.withUnsafeMutableBufferPointer { convert(from: 0, count: n, into: $0.baseAddress!, raw: base + offset) }
        return Tensor(shape: shape, scalars: out)
    }

    /// Calls `body` with the values as Float32, in row-major order, `maxElements` at a time: reads
    /// any view (expanded ones included) with bounded memory, for whole-file checks.
    public func forEachFloatChunk(maxElements: Int = 1 << 20, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        let n = count
        guard n > 0, let base = file.base else { return }
        let chunk = max(1, min(maxElements, n))
        var buffer = [Float](repeating: 0, count: chunk)
        var start = 0
        while start < n {
            let m = min(chunk, n - start)
            try buffer.withUnsafeMutableBufferPointer { b in
                convert(from: start, count: m, into: b.baseAddress!, raw: base + offset)
                try body(UnsafeBufferPointer(start: b.baseAddress, count: m))
            }
            start += m
        }
    }

    /// The values as 64-bit integers (for int64 index tensors such as token ids).
    ///
    /// - Parameter declaredShape: as for ``floatTensor(declaredShape:)``.
    public func int64Values(declaredShape: [Int]? = nil) throws -> [Int64] {
        try checkMaterialisable(declaredShape)
        let n = count
        guard n > 0, let base = file.base else { return [] }
        let raw = base + offset
        let size = dtype.byteSize
        switch dtype {
        case .int64, .int32, .int16, .int8, .uint8, .bool: break
        default: throw WeightsError.unsupportedDType(key: name, dtype: dtype.rawValue)
        }
        var out = [Int64](repeating: 0, count: n)
        forEachRun(from: 0, count: n) { dst, src, run, step in
            for i in 0..<run {
                let at = (src + i * step) * size
                switch dtype {
                case .int64: out[dst + i] = raw.loadUnaligned(fromByteOffset: at, as: Int64.self)
                case .int32: out[dst + i] = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
                case .int16: out[dst + i] = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int16.self))
                case .int8: out[dst + i] = Int64(raw.loadUnaligned(fromByteOffset: at, as: Int8.self))
                default: out[dst + i] = Int64(raw.loadUnaligned(fromByteOffset: at, as: UInt8.self))
                }
            }
        }
        return out
    }
}
