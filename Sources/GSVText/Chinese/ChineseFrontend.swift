import Foundation

// Follows GPT_SoVITS/text/cleaner.py: clean_text / clean_special for language "zh" (v2+ module chinese2,
// v1 module chinese: the same without erhua).

/// Result of cleaning one Chinese segment.
public struct CleanedText: Sendable, Equatable {
    /// Phones (already UNK-mapped for the symbol table).
    public var phones: [String]
    /// Phones per normalised character; nil for languages without it (English).
    public var word2ph: [Int]?
    /// The normalised text.
    public var normText: String
}

/// `clean_text(text, "zh", version)`: normalisation, G2P, the `￥`/`^` special pauses, UNK mapping.
public struct ChineseFrontend: Sendable {
    let g2p: ChineseG2P
    let symbols: SymbolTable?
    let erhua: Bool
    let polyphonic: Bool

    /// - Parameters:
    ///   - g2p: loaded Chinese G2P.
    ///   - symbols: table used to map unknown phones to UNK (nil: no mapping).
    ///   - version: v1 uses text/chinese.py (no erhua step), later versions text/chinese2.py.
    ///   - polyphonicDictionary: apply the official polyphonic dictionary (see `ChineseG2P.g2p`).
    public init(g2p: ChineseG2P, symbols: SymbolTable? = nil, version: ModelVersion = .v2, polyphonicDictionary: Bool = false) {
        self.g2p = g2p; self.symbols = symbols; erhua = version != .v1; polyphonic = polyphonicDictionary
    }

    /// Cleans one zh segment.
    public func process(_ text: String) throws -> CleanedText {
        for (special, target) in [("￥", "SP2"), ("^", "SP3")] where text.contains(special) {
            let t = text.replacingOccurrences(of: special, with: ",")
            let norm = g2p.normalize(t)
            let r = try g2p.g2p(normalized: norm, erhua: erhua, polyphonicDictionary: polyphonic)
            return CleanedText(phones: r.phones.map { $0 == "," ? target : $0 }, word2ph: r.word2ph, normText: norm)
        }
        let norm = g2p.normalize(text)
        let r = try g2p.g2p(normalized: norm, erhua: erhua, polyphonicDictionary: polyphonic)
        let phones = symbols?.replacingUnknown(r.phones) ?? r.phones
        return CleanedText(phones: phones, word2ph: r.word2ph, normText: norm)
    }
}
