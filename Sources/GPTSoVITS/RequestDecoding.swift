// Lenient, field-naming decoding of request values, following the conventions api_v2's clients rely
// on (FastAPI/pydantic "lax" mode): numbers arrive as JSON numbers or as numeric strings (a query
// string carries only strings), booleans as JSON booleans, "true"/"false"/"1"/"0", or 0/1; a list
// may arrive as one value. Anything else is refused with an error that names the field and says
// what arrived. Hand-written because `Codable`'s own errors name neither the request field nor the
// value, and its decoders refuse "15" for an integer.
import Foundation
import GSVText

/// A request field that could not be read. `message` names the field (`"top_k: expected a number,
/// got an array"`).
public struct RequestFieldError: Error, LocalizedError, Sendable, Equatable {
    /// The request key (`top_k`, `text`, …).
    public let field: String
    /// The whole message, field name included.
    public let message: String

    /// An error about `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var errorDescription: String? { message }
}

/// What a JSON value turned out to be, for lenient conversions and for error messages.
enum RequestScalar: Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array
    case object

    init(from decoder: any Decoder) throws {
        if let c = try? decoder.singleValueContainer() {
            if c.decodeNil() { self = .null; return }
            if let b = try? c.decode(Bool.self) { self = .bool(b); return }
            if let i = try? c.decode(Int64.self) { self = .integer(i); return }
            if let d = try? c.decode(Double.self) { self = .number(d); return }
            if let s = try? c.decode(String.self) { self = .string(s); return }
        }
        if (try? decoder.unkeyedContainer()) != nil { self = .array; return }
        self = .object
    }

    /// "a string", "an array", … for messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension KeyedDecodingContainer {
    private func scalar(_ key: Key) throws -> RequestScalar? {
        guard contains(key) else { return nil }
        let value = try decode(RequestScalar.self, forKey: key)
        if case .null = value { return nil }
        return value
    }

    /// A string field; `nil` when absent or null. Numbers, booleans, arrays and objects are refused.
    public func requestString(_ key: Key) throws -> String? {
        guard let v = try scalar(key) else { return nil }
        guard case let .string(s) = v else {
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): expected a string, got \(v.kind)")
        }
        return s
    }

    /// A list of strings, also accepted as one string (a query key given once); `nil` when absent.
    public func requestStringList(_ key: Key) throws -> [String]? {
        guard contains(key) else { return nil }
        if let one = try? decode(RequestScalar.self, forKey: key) {
            switch one {
            case .null: return nil
            case let .string(s): return [s]
            case .array: break
            default:
                throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): expected a list of strings, got \(one.kind)")
            }
        }
        var list = try nestedUnkeyedContainer(forKey: key)
        var out: [String] = []
        while !list.isAtEnd {
            let item = try list.decode(RequestScalar.self)
            guard case let .string(s) = item else {
                throw RequestFieldError(field: key.stringValue,
                                        message: "\(key.stringValue): expected a list of strings, got \(item.kind) at index \(out.count)")
            }
            out.append(s)
        }
        return out
    }

    /// A number field: a JSON number or a numeric string; `nil` when absent or null.
    public func requestDouble(_ key: Key) throws -> Double? {
        guard let v = try scalar(key) else { return nil }
        switch v {
        case let .integer(i): return Double(i)
        case let .number(d): return d
        case let .string(s):
            guard let d = Double(s.trimmingCharacters(in: .whitespaces)), d.isFinite else {
                throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): '\(s)' is not a valid number")
            }
            return d
        default:
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): expected a number, got \(v.kind)")
        }
    }

    /// An integer field: a whole JSON number or an integer string; `nil` when absent or null.
    public func requestInt64(_ key: Key) throws -> Int64? {
        guard let v = try scalar(key) else { return nil }
        switch v {
        case let .integer(i): return i
        case let .number(d):
            guard d.rounded() == d, let i = Int64(exactly: d) else {
                throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): \(d) is not an integer")
            }
            return i
        case let .string(s):
            let t = s.trimmingCharacters(in: .whitespaces)
            if let i = Int64(t) { return i }
            if let d = Double(t), d.rounded() == d, let i = Int64(exactly: d) { return i }
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): '\(s)' is not a valid number")
        default:
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): expected an integer, got \(v.kind)")
        }
    }

    /// An `Int` field (see ``requestInt64(_:)``).
    public func requestInt(_ key: Key) throws -> Int? {
        guard let v = try requestInt64(key) else { return nil }
        guard let i = Int(exactly: v) else {
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): \(v) is out of range")
        }
        return i
    }

    /// A boolean field: a JSON boolean, `"true"`/`"false"`/`"1"`/`"0"` (any case), or the numbers 0
    /// and 1; `nil` when absent or null.
    public func requestBool(_ key: Key) throws -> Bool? {
        guard let v = try scalar(key) else { return nil }
        switch v {
        case let .bool(b): return b
        case let .integer(i) where i == 0 || i == 1: return i == 1
        case let .string(s):
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): '\(s)' is not a boolean")
            }
        default:
            throw RequestFieldError(field: key.stringValue, message: "\(key.stringValue): expected a boolean, got \(v.kind)")
        }
    }

    /// A language field parsed into ``TextLanguage`` (api_v2 codes, case-insensitive, or web-UI
    /// labels such as `中文`); `nil` when absent, null or empty. `version`, when given, completes the
    /// official message for unknown languages.
    public func requestLanguage(_ key: Key, version: String? = nil) throws -> TextLanguage? {
        guard let raw = try requestString(key), !raw.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        guard let lang = try? TextLanguage(parsing: raw) else {
            throw RequestFieldError(field: key.stringValue,
                                    message: "\(key.stringValue): \(raw) is not supported" + (version.map { " in version \($0)" } ?? ""))
        }
        return lang
    }
}

extension CodingUserInfoKey {
    /// ``SynthesisOptions`` decoded with this key in the decoder's `userInfo` start from the
    /// options stored there (a server's defaults) instead of the official ones.
    public static let synthesisDefaults = CodingUserInfoKey(rawValue: "gpt-sovits.synthesis-defaults")!
    /// The model version (`"v2"`, …) a request is decoded for, completing the official messages
    /// about unsupported languages.
    public static let requestModelVersion = CodingUserInfoKey(rawValue: "gpt-sovits.model-version")!
}
