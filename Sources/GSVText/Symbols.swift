import Foundation
@_exported import GSVCore

// Follows GPT_SoVITS/text/symbols.py, symbols2.py and text/__init__.py: cleaned_text_to_sequence.

/// A phone table: index = phone id.
public struct SymbolTable: Sendable {
    /// Every symbol, in id order.
    public let symbols: [String]
    private let ids: [String: Int]

    /// Creates a table from symbols in id order.
    public init(symbols: [String]) {
        self.symbols = symbols
        var m: [String: Int] = [:]
        for (i, s) in symbols.enumerated() { m[s] = i }
        ids = m
    }

    /// The id of `phone`, or nil when the table lacks it.
    public func id(of phone: String) -> Int? { ids[phone] }

    /// Whether the table has `phone`.
    public func contains(_ phone: String) -> Bool { ids[phone] != nil }

    /// Phone ids; unknown phones throw (the official code raises a KeyError).
    public func ids(for phones: [String]) throws -> [Int] {
        try phones.map { p in
            guard let i = ids[p] else { throw TextError.unknownPhone(p) }
            return i
        }
    }

    /// Replaces phones missing from the table by `UNK`, as the official `clean_text` does.
    public func replacingUnknown(_ phones: [String]) -> [String] {
        phones.map { ids[$0] == nil ? "UNK" : $0 }
    }

    /// The v1 table (322 symbols).
    public static var v1: SymbolTable { get throws { try SymbolTables.shared.v1.get() } }
    /// The v2 table (732 symbols), used by v2 and every later version.
    public static var v2: SymbolTable { get throws { try SymbolTables.shared.v2.get() } }

    /// The table for a model version.
    public static func forVersion(_ v: ModelVersion) throws -> SymbolTable { v.symbolVersion == .v1 ? try v1 : try v2 }
}

final class SymbolTables: Sendable {
    static let shared = SymbolTables()
    let v1: Result<SymbolTable, Error>
    let v2: Result<SymbolTable, Error>
    private init() {
        func load(_ name: String) -> Result<SymbolTable, Error> {
            Result {
                let text = try DataFiles.text("common/\(name)")
                var lines = text.components(separatedBy: "\n")
                if lines.last == "" { lines.removeLast() }
                return SymbolTable(symbols: lines)
            }
        }
        v1 = load("symbols_v1.txt")
        v2 = load("symbols_v2.txt")
    }
}
