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

    /// Whether the elements are stored contiguously in row-major order.
    public var isContiguous: Bool { count <= 1 || strides == Tensor.strides(for: shape) }

    /// The stored bytes of a contiguous tensor (throws for a strided view).
    public func rawBytes() throws -> UnsafeRawBufferPointer {
        guard isContiguous else {
            throw WeightsError.unsupportedDType(key: name, dtype: "\(dtype) strided view \(strides) (raw bytes need a contiguous tensor)")
        }
        return try file.bytes(offset..<(offset + count * dtype.byteSize))
    }

    /// The values as IEEE half-precision bit patterns in row-major order: float16 is copied as
    /// stored (bit-exact), float32/float64/bfloat16 are rounded to nearest half. For fp16 kernels that
    /// keep weights at two bytes per element.
    public func halfBits() throws -> [UInt16] {
        let n = count
        guard n > 0, let base = file.base else { return [] }
        let raw = base + offset
        switch dtype {
        case .float16:
            if isContiguous {
                return [UInt16](unsafeUninitializedCapacity: n) { buf, done in
                    memcpy(buf.baseAddress!, raw, n * 2)
                    done = n
                }
            }
            return (0..<n).map { raw.loadUnaligned(fromByteOffset: storageIndex($0) * 2, as: UInt16.self) }
        case .float32, .float64, .bfloat16:
            return (0..<n).map { HalfConversion.half(fromFloat: element(raw, isContiguous ? $0 : storageIndex($0))) }
        default:
            throw WeightsError.unsupportedDType(key: name, dtype: "\(dtype) (half bits need a floating-point tensor)")
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

    /// Element `i` (row-major logical order) converted to Float.
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

    /// Storage index of logical (row-major) element `i`.
    @inline(__always)
    private func storageIndex(_ i: Int) -> Int {
        var rem = i, idx = 0
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let s = shape[d]
            idx += (rem % s) * strides[d]
            rem /= s
        }
        return idx
    }

    /// The values widened (or converted) to a Float32 ``Tensor``.
    public func floatTensor() throws -> Tensor {
        let n = count
        var out = [Float](repeating: 0, count: n)
        guard n > 0, let base = file.base else { return Tensor(shape: shape, scalars: out) }
        let raw = base + offset
        if isContiguous {
            out.withUnsafeMutableBufferPointer { o in
                switch dtype {
                case .float32:
                    memcpy(o.baseAddress!, raw, n * 4)
                case .float16 where Int(bitPattern: raw) % 2 == 0:
                    // Aligned (as torch and safetensors lay data out): GSVTensor's widening kernel.
                    let src = UnsafeRawBufferPointer(start: raw, count: n * 2).bindMemory(to: UInt16.self)
                    HalfConversion.widenHalf(src, into: o)
                case .bfloat16 where Int(bitPattern: raw) % 2 == 0:
                    let src = UnsafeRawBufferPointer(start: raw, count: n * 2).bindMemory(to: UInt16.self)
                    HalfConversion.widenBFloat16(src, into: o)
                case .float16:
                    let table = HalfConversion.halfTable
                    table.withUnsafeBufferPointer { t in
                        for i in 0..<n { o[i] = t[Int(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))] }
                    }
                default:
                    for i in 0..<n { o[i] = element(raw, i) }
                }
            }
        } else {
            for i in 0..<n { out[i] = element(raw, storageIndex(i)) }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// The values as 64-bit integers (for int64 index tensors such as token ids).
    public func int64Values() throws -> [Int64] {
        let n = count
        guard n > 0, let base = file.base else { return [] }
        let raw = base + offset
        var out = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            let s = isContiguous ? i : storageIndex(i)
            switch dtype {
            case .int64: out[i] = raw.loadUnaligned(fromByteOffset: s * 8, as: Int64.self)
            case .int32: out[i] = Int64(raw.loadUnaligned(fromByteOffset: s * 4, as: Int32.self))
            case .int16: out[i] = Int64(raw.loadUnaligned(fromByteOffset: s * 2, as: Int16.self))
            case .int8: out[i] = Int64(raw.loadUnaligned(fromByteOffset: s, as: Int8.self))
            case .uint8, .bool: out[i] = Int64(raw.loadUnaligned(fromByteOffset: s, as: UInt8.self))
            default: throw WeightsError.unsupportedDType(key: name, dtype: dtype.rawValue)
            }
        }
        return out
    }
}
