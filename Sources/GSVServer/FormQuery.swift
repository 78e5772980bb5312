// Query strings decoded as `application/x-www-form-urlencoded` (WHATWG URL standard, "application/
// x-www-form-urlencoded parsing"): `+` is a space, then percent-decoding. Python `requests`,
// `urllib.parse.urlencode`, HTML forms and JavaScript `URLSearchParams` all send spaces as `+`.
// Hand-written because Hummingbird's `uri.queryParameters` percent-decodes but leaves `+` alone
// (RFC 3986 reading), which turns "Hello+world" into "Helloworld" speech.
import Foundation
import Hummingbird

/// The parameters of a query string, in order, decoded as a form.
public struct FormQuery: Sendable, Equatable {
    /// Name–value pairs in the order they appear (a name may repeat).
    public let pairs: [(name: String, value: String)]

    /// Parses `query` (without the leading `?`). Pairs are split at `&`, each at its first `=`;
    /// `+` becomes a space before percent-decoding; a malformed percent sequence is kept as written.
    public init(_ query: Substring) {
        var pairs: [(String, String)] = []
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring, value: Substring
            if let eq = piece.firstIndex(of: "=") {
                name = piece[..<eq]
                value = piece[piece.index(after: eq)...]
            } else {
                name = piece
                value = ""
            }
            pairs.append((Self.decode(name), Self.decode(value)))
        }
        self.pairs = pairs
    }

    /// The query of `request`.
    public init(_ request: Request) {
        self.init(request.uri.query.map { Substring($0) } ?? "")
    }

    public static func == (a: FormQuery, b: FormQuery) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// The parameters as a JSON object for decoding a request type: one string per name, or an
    /// array of strings for a name given more than once.
    public func jsonData() -> Data {
        var object: [String: Any] = [:]
        for (name, value) in pairs {
            switch object[name] {
            case nil: object[name] = value
            case let s as String: object[name] = [s, value]
            case let list as [String]: object[name] = list + [value]
            default: break
            }
        }
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    }

    /// `+` → space, then `%XX` → byte; the bytes are read as UTF-8 (invalid sequences repaired).
    static func decode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%"), it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) {
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
