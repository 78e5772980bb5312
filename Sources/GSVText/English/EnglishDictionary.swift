import Foundation

// Follows GPT_SoVITS/text/english.py: get_dict, read_dict_new, hot_reload_hot, get_namedict and the
// deletions in en_G2p.__init__. The merge (cmudict.rep first, cmudict-fast.rep for missing words,
// engdict-hot.rep overriding, minus ae/ai/ar/ios/hud/os) is done once by
// scripts/data/make_en_data.py; this type only looks words up.

/// A pronouncing dictionary: lower-case word → ARPAbet phones (first pronunciation only).
struct PronouncingTable: Sendable {
    let words: SortedStringTable
    let pronOffsets: [UInt32]
    let pronIDs: [UInt8]
    let phones: [String]

    init(file: EnglishDataFile, prefix: String, phones: [String]) throws(TextError) {
        words = try file.strings(prefix)
        pronOffsets = try file.uint32s(prefix + ".pron.offsets")
        pronIDs = try file.bytes(prefix + ".pron.ids")
        self.phones = phones
        guard pronOffsets.count == words.count + 1, Int(pronOffsets.last ?? 0) == pronIDs.count,
              pronIDs.isEmpty || Int(maxElement(pronIDs)) < phones.count
        else {
            throw TextError.dataUnavailable(name: file.name, reason: "pronunciations of '\(prefix)' are inconsistent")
        }
    }

    /// The pronunciation of `word` (already lower-cased), or nil.
    func lookup(_ word: String) -> [String]? {
        guard let i = words.index(of: word) else { return nil }
        return pronOffsets.withUnsafeBufferPointer { ob in
            (Int(ob[i])..<Int(ob[i + 1])).map { phones[Int(pronIDs[$0])] }
        }
    }

    func contains(_ word: String) -> Bool { words.index(of: word) != nil }
}

/// The CMU dictionary as GPT-SoVITS extends it, plus its name dictionary.
struct EnglishDictionary: Sendable {
    /// cmudict.rep + cmudict-fast.rep + engdict-hot.rep (english.get_dict()).
    let cmu: PronouncingTable
    /// namedict_cache.pickle (english.get_namedict()): used for title-case words only.
    let names: PronouncingTable

    init(file: EnglishDataFile) throws(TextError) {
        let phoneTable = try file.strings("phones")
        let phones = (0..<phoneTable.count).map { phoneTable.key($0) }
        cmu = try PronouncingTable(file: file, prefix: "cmu", phones: phones)
        names = try PronouncingTable(file: file, prefix: "names", phones: phones)
    }
}
