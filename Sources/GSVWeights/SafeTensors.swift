import Foundation
import GSVTensor

/// A `.safetensors` file, memory-mapped.
///
/// Layout: an 8-byte little-endian header length, a JSON header mapping names to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the header),
/// an optional `__metadata__` string map, then the data.
public struct SafeTensorsFile: Sendable {
    /// The tensors by name.
    public let tensors: [String: TensorData]
    /// The `__metadata__` entries.
    public let metadata: [String: String]
    /// The mapped file.
    public let file: MappedFile

    /// Largest header we accept (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Opens and validates `path`.
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        guard file.size >= 8 else {
            throw WeightsError.unknownFormat(path: path, reason: "too short for a safetensors header (\(file.size) bytes)")
        }
        let lenBytes = try file.bytes(0..<8)
        let headerLen = lenBytes.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLen <= UInt64(Self.maxHeaderBytes), Int(headerLen) + 8 <= file.size else {
            throw WeightsError.unknownFormat(path: path, reason: "header length \(headerLen) does not fit the file (\(file.size) bytes)")
        }
        let headerBytes = try file.bytes(8..<(8 + Int(headerLen)))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw WeightsError.unknownFormat(path: path, reason: "header is not JSON")
        }
        guard let dict = json as? [String: Any] else {
            throw WeightsError.corrupt(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLen)
        var tensors: [String: TensorData] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsAny = entry["data_offsets"] as? [Any], offsAny.count == 2 else {
                throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' has a malformed header entry")
            }
            guard let dtype = Self.dtype(dtypeName) else {
                throw WeightsError.unsupportedDType(key: name, dtype: dtypeName)
            }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else {
                    throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' has an invalid shape")
                }
                return n
            }
            guard let b = (offsAny[0] as? NSNumber)?.intValue, let e = (offsAny[1] as? NSNumber)?.intValue,
                  b >= 0, e >= b, e <= file.size - dataStart else {
                throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' has data offsets outside the file")
            }
            let t = try TensorData(name: name, dtype: dtype, shape: shape, file: file, offset: dataStart + b)
            guard t.count * dtype.byteSize == e - b else {
                throw WeightsError.corrupt(path: path,
                    reason: "tensor '\(name)' \(shape) \(dtype) needs \(t.count * dtype.byteSize) bytes, the file gives \(e - b)")
            }
            tensors[name] = t
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Maps a safetensors dtype name to ``DType``.
    static func dtype(_ s: String) -> DType? {
        switch s {
        case "F32": return .float32
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "F64": return .float64
        case "I64": return .int64
        case "I32": return .int32
        case "I16": return .int16
        case "I8": return .int8
        case "U8": return .uint8
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// The safetensors name of a ``DType``.
    static func name(of dtype: DType) -> String {
        switch dtype {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// Float32 values of tensor `name`.
    public func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw WeightsError.missingKey(name) }
        return try t.floatTensor()
    }

    /// Writes Float32 tensors to a safetensors file (sorted by name, as the Python library does).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for n in names {
            let t = tensors[n]!
            header[n] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]] as [String: Any]
            offset += t.count * 4
        }
        var hdr = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while hdr.count % 8 != 0 { hdr.append(0x20) }
        var out = Data()
        var len = UInt64(hdr.count).littleEndian
        out.append(Data(bytes: &len, count: 8))
        out.append(hdr)
        for n in names {
            tensors[n]!.scalars.withUnsafeBufferPointer { out.append(Data(buffer: $0)) }
        }
        do {
            try out.write(to: URL(fileURLWithPath: path))
        } catch {
            throw WeightsError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
