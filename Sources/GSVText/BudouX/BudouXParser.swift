import Foundation

// BudouX phrase segmentation (Google, Apache-2.0), as split-lang 2.1.1 uses it to cut Chinese / Japanese
// sections into phrases before labelling them. The model is BudouX's published JSON: thirteen feature
// groups of integer scores keyed by the characters around a candidate boundary. We follow the documented
// model semantics of budoux 0.10.1 (`Parser.parse`): a boundary goes before character i when the
// features' score sum plus the base score (minus half the sum of every score in the model) is positive.

/// A BudouX phrase segmenter: splits text into phrases using a BudouX feature-score model.
public struct BudouXParser: Sendable {
    /// The bundled models (`Resources/budoux/`, from the budoux 0.10.1 wheel).
    public enum BundledModel: String, Sendable, CaseIterable {
        /// `ja.json`, the Japanese model.
        case japanese = "ja"
        /// `zh-hans.json`, the Simplified Chinese model.
        case simplifiedChinese = "zh-hans"
    }

    // Feature groups, in the order the scores are read. The key of a feature is the code points it looks
    // at (1, 2 or 3 characters), packed 21 bits apiece into a UInt64.
    private enum Group: Int, CaseIterable {
        case uw1, uw2, uw3, uw4, uw5, uw6, bw1, bw2, bw3, tw1, tw2, tw3, tw4
        var name: String { ["UW1", "UW2", "UW3", "UW4", "UW5", "UW6", "BW1", "BW2", "BW3", "TW1", "TW2", "TW3", "TW4"][rawValue] }
        var width: Int { rawValue < 6 ? 1 : rawValue < 9 ? 2 : 3 }
    }

    private let tables: [[UInt64: Int32]]
    /// Minus the sum of every score in the model (twice BudouX's base score, so all arithmetic is integer).
    private let twiceBase: Int

    /// Builds a parser from a model: feature group name (`UW1`…`UW6`, `BW1`…`BW3`, `TW1`…`TW4`) →
    /// feature string → score. Groups with other names still count towards the base score (as in
    /// BudouX) but are never looked up.
    /// - Throws: `TextError.dataUnavailable` when a score does not fit in 32 bits.
    public init(model: [String: [String: Int]], name: String = "budoux model") throws {
        var tables = [[UInt64: Int32]](repeating: [:], count: Group.allCases.count)
        var total = 0
        for (groupName, features) in model {
            let group = Group.allCases.first { $0.name == groupName }
            for (feature, score) in features {
                guard let s = Int32(exactly: score) else {
                    throw TextError.dataUnavailable(name: name, reason: "score \(score) of \(groupName) '\(feature)' is out of range")
                }
                total += score
                // A key of another width can never equal the characters BudouX slices for this group.
                guard let g = group, feature.unicodeScalars.count == g.width else { continue }
                tables[g.rawValue][Self.key(feature.unicodeScalars)] = s
            }
        }
        self.tables = tables
        twiceBase = -total
    }

    /// Builds a parser from BudouX's JSON model file.
    /// - Throws: `TextError.dataUnavailable` when the JSON is not an object of objects of integers.
    public init(json: [UInt8], name: String) throws {
        let model: [String: [String: Int]]
        do {
            model = try JSONDecoder().decode([String: [String: Int]].self, from: Data(json))
        } catch {
            throw TextError.dataUnavailable(name: name, reason: "not a BudouX model: \(error.localizedDescription)")
        }
        try self.init(model: model, name: name)
    }

    /// The bundled model `model` (loaded once per process).
    /// - Throws: `TextError.dataUnavailable` when the resource is missing or unreadable.
    public static func bundled(_ model: BundledModel) throws -> BudouXParser {
        switch model {
        case .japanese: return try japanese.get()
        case .simplifiedChinese: return try simplifiedChinese.get()
        }
    }

    private static func load(_ m: BundledModel) -> Result<BudouXParser, TextError> {
        let path = "budoux/\(m.rawValue).json"
        do {
            return .success(try BudouXParser(json: DataFiles.read(path), name: path))
        } catch let e as TextError {
            return .failure(e)
        } catch {
            return .failure(.dataUnavailable(name: path, reason: error.localizedDescription))
        }
    }

    private static let japanese = load(.japanese)
    private static let simplifiedChinese = load(.simplifiedChinese)

    @inline(__always) private static func key<C: Collection>(_ s: C) -> UInt64 where C.Element == Unicode.Scalar {
        var k: UInt64 = 0
        for c in s { k = k << 21 | UInt64(c.value) }
        return k
    }

    @inline(__always) private func score(_ g: Group, _ k: UInt64) -> Int { Int(tables[g.rawValue][k] ?? 0) }

    /// Start offsets of the phrases of `text` (always starting with 0; empty for empty text).
    public func phraseStarts(_ text: [Unicode.Scalar]) -> [Int] {
        let n = text.count
        guard n > 0 else { return [] }
        let v = text.map { UInt64($0.value) }
        var starts = [0]
        for i in 1..<n {
            var f = 0
            if i > 2 { f += score(.uw1, v[i - 3]) }
            if i > 1 { f += score(.uw2, v[i - 2]) }
            f += score(.uw3, v[i - 1])
            f += score(.uw4, v[i])
            if i + 1 < n { f += score(.uw5, v[i + 1]) }
            if i + 2 < n { f += score(.uw6, v[i + 2]) }
            if i > 1 { f += score(.bw1, v[i - 2] << 21 | v[i - 1]) }
            f += score(.bw2, v[i - 1] << 21 | v[i])
            if i + 1 < n { f += score(.bw3, v[i] << 21 | v[i + 1]) }
            if i > 2 { f += score(.tw1, v[i - 3] << 42 | v[i - 2] << 21 | v[i - 1]) }
            if i > 1 { f += score(.tw2, v[i - 2] << 42 | v[i - 1] << 21 | v[i]) }
            if i + 1 < n { f += score(.tw3, v[i - 1] << 42 | v[i] << 21 | v[i + 1]) }
            if i + 2 < n { f += score(.tw4, v[i] << 42 | v[i + 1] << 21 | v[i + 2]) }
            // BudouX: base + f > 0 with base = -total / 2; doubled to stay in integers.
            if twiceBase + 2 * f > 0 { starts.append(i) }
        }
        return starts
    }

    /// The phrases of `text`, split on Unicode scalars (Python characters); empty for empty text.
    public func parse(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        let starts = phraseStarts(text)
        return starts.indices.map { j in Array(text[starts[j]..<(j + 1 < starts.count ? starts[j + 1] : text.count)]) }
    }

    /// The phrases of `text` (see `parse(_:)` on scalars).
    public func parse(_ text: String) -> [String] {
        parse(Array(text.unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
    }
}
