import Foundation

/// A JSON value as WebDriver sends and receives it (script arguments and results, capabilities).
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The string, if this is one.
    public var string: String? { if case let .string(s) = self { return s } else { return nil } }
    /// The number, if this is one.
    public var number: Double? { if case let .number(n) = self { return n } else { return nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    /// The elements, if this is an array.
    public var array: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    /// The members, if this is an object.
    public var object: [String: JSONValue]? { if case let .object(o) = self { return o } else { return nil } }
    /// Whether JavaScript would call the value truthy.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case let .bool(b): return b
        case let .number(n): return n != 0 && !n.isNaN
        case let .string(s): return !s.isEmpty
        case .array, .object: return true
        }
    }

    /// A member of an object (`.null` when absent or not an object).
    public subscript(key: String) -> JSONValue { object?[key] ?? .null }
    /// An element of an array (`.null` when out of range or not an array).
    public subscript(index: Int) -> JSONValue {
        guard let a = array, a.indices.contains(index) else { return .null }
        return a[index]
    }

    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "<unencodable>" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        // JSONDecoder decodes only `true`/`false` as Bool, so numbers are never taken for booleans.
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let n = try? c.decode(Double.self) { self = .number(n); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    /// Parses JSON text.
    public static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    /// The JSON text of this value.
    public func encoded() throws -> Data { try JSONEncoder().encode(self) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { $1 })) }
    public init(nilLiteral: ()) { self = .null }
}
