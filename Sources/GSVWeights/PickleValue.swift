import Foundation
import GSVTensor

/// One storage record of a PyTorch checkpoint (`<archive>/data/<key>`): a flat array of `count`
/// elements of `dtype`, in place in the mapped file. Several tensors may view the same storage.
public struct TorchStorage: Sendable, Hashable {
    /// The record key (`N` of `data/N`).
    public let key: String
    /// The element type (from the pickled storage class, e.g. `torch.HalfStorage` → float16).
    public let dtype: DType
    /// Number of elements the pickle declares.
    public let count: Int
    /// Offset of element 0 in the mapped file.
    public let fileOffset: Int
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2`: a strided view into a ``TorchStorage``.
public struct TorchTensorRef: Sendable, Hashable {
    /// The storage the tensor views.
    public let storage: TorchStorage
    /// Offset of element 0 within the storage, in elements.
    public let storageOffset: Int
    /// Shape, outermost first.
    public let shape: [Int]
    /// Strides in elements.
    public let strides: [Int]

    /// The element type.
    public var dtype: DType { storage.dtype }
}

/// A value decoded by the restricted unpickler. Python objects the checkpoints use are mapped to
/// plain data: `dict`/`OrderedDict` → ``dict(_:)`` (insertion order kept), attribute bags such as
/// `utils.HParams` → ``object(className:state:)``, tensors → ``tensor(_:)``.
public indirect enum PickleValue: Sendable, Equatable {
    /// Python `None`.
    case none
    /// `True` / `False`.
    case bool(Bool)
    /// An integer that fits 64 bits (larger ones are refused).
    case int(Int)
    /// A Python float.
    case float(Double)
    /// A `str`.
    case string(String)
    /// `bytes` / `bytearray`.
    case bytes([UInt8])
    /// A tuple (also `torch.Size`).
    case tuple([PickleValue])
    /// A list (sets are read as lists).
    case list([PickleValue])
    /// A dict or OrderedDict, in insertion order.
    case dict([PickleDictEntry])
    /// An instance of an allowed class, e.g. `utils.HParams`; `state` is what `BUILD` gave it
    /// (its `__dict__`, normally a ``dict(_:)``).
    case object(className: String, state: PickleValue)
    /// A tensor view rebuilt by `_rebuild_tensor_v2` (or `_rebuild_parameter`).
    case tensor(TorchTensorRef)
    /// A storage that was pickled on its own, not inside a tensor.
    case storage(TorchStorage)
    /// A class or function reference that was pickled but never called (e.g. a storage type).
    case global(String)

    /// For a dict (or an object whose state is a dict), the value stored under string key `key`.
    public subscript(key: String) -> PickleValue? {
        switch self {
        case let .dict(entries):
            return entries.last(where: { $0.key == .string(key) })?.value
        case let .object(_, state):
            return state[key]
        default:
            return nil
        }
    }

    /// The dict entries of a dict, or of an object whose state is a dict.
    public var dictEntries: [PickleDictEntry]? {
        switch self {
        case let .dict(e): return e
        case let .object(_, state): return state.dictEntries
        default: return nil
        }
    }

    /// The string payload, if this is a string.
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }

    /// The integer payload (booleans count as 0/1), if this is an integer.
    public var intValue: Int? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A short name of the value's kind, for messages.
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .object(c, _): return c
        case .tensor: return "tensor"
        case .storage: return "storage"
        case let .global(g): return g
        }
    }
}

/// One key/value pair of a pickled dict.
public struct PickleDictEntry: Sendable, Equatable {
    /// The key (a string in every checkpoint we read).
    public let key: PickleValue
    /// The value.
    public let value: PickleValue
}

/// A JSON-like configuration value: the `config` of a checkpoint (GPT YAML dict, SoVITS `HParams`)
/// or a Hugging Face `config.json`.
public indirect enum ConfigValue: Sendable, Equatable, Codable, CustomStringConvertible {
    /// `null` / `None`.
    case null
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case int(Int)
    /// A non-integral number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array (also Python tuples and lists).
    case array([ConfigValue])
    /// Keys sorted when encoded; insertion order is not kept.
    case object([String: ConfigValue])

    /// Member `key` of an object.
    public subscript(key: String) -> ConfigValue? {
        if case let .object(o) = self { return o[key] } else { return nil }
    }

    /// Follows a dotted path, e.g. `"model.hidden_channels"`.
    public func value(at path: String) -> ConfigValue? {
        var cur: ConfigValue? = self
        for part in path.split(separator: ".") { cur = cur?[String(part)] }
        return cur
    }

    /// Integer value (doubles with an integral value count).
    public var intValue: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Numeric value as Double.
    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    /// String payload.
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }

    /// Array payload.
    public var arrayValue: [ConfigValue]? { if case let .array(a) = self { return a } else { return nil } }

    /// Decodes any JSON value.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ConfigValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ConfigValue].self)) }
    }

    /// Encodes as plain JSON.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d):
            // JSON has no NaN or infinity: those are written as strings ("nan", "inf", "-inf").
            if d.isFinite { try c.encode(d) } else { try c.encode(d.isNaN ? "nan" : (d > 0 ? "inf" : "-inf")) }
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    /// Compact JSON-ish rendering for humans.
    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.keys.sorted().map { "\($0): \(o[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }

    /// Converts a decoded pickle to configuration data. Tensors and storages become a short
    /// description string; dict keys that are not strings are rendered with their description.
    public init(pickle: PickleValue) {
        switch pickle {
        case .none: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .float(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .bytes(b): self = .string(String(decoding: b, as: UTF8.self))
        case let .tuple(a), let .list(a): self = .array(a.map(ConfigValue.init(pickle:)))
        case let .dict(entries):
            var o: [String: ConfigValue] = [:]
            for e in entries {
                let k: String
                switch e.key {
                case let .string(s): k = s
                case let .int(i): k = String(i)
                default: k = ConfigValue(pickle: e.key).description
                }
                o[k] = ConfigValue(pickle: e.value)
            }
            self = .object(o)
        case let .object(_, state): self = ConfigValue(pickle: state)
        case let .tensor(t): self = .string("<tensor \(t.dtype) \(t.shape)>")
        case let .storage(s): self = .string("<storage \(s.dtype) ×\(s.count)>")
        case let .global(g): self = .string("<\(g)>")
        }
    }
}
