// Follows GPT_SoVITS/AR/data/dataset.py: Text2SemanticDataset (filtering, small-set replication,
// collate), AR/data/bucket_sampler.py: DistributedBucketSampler (2-second duration buckets,
// shuffled within buckets, batches shuffled), and AR/data/data_module.py (batch size capped at a
// quarter of the dataset, halved for DPO).

import Foundation
import GSVTensor
import GSVText

/// One GPT training item.
public struct GPTItem: Sendable {
    public var name: String
    public var phoneIDs: [Int]
    public var semantic: [Int]
}

/// The GPT training set of a voice.
public struct GPTDataset: Sendable {
    /// Items after filtering and replication.
    public let items: [GPTItem]
    /// Items before replication.
    public let uniqueCount: Int
    /// Items dropped by the official filters (too long, too many phones, phones per second outside 3…25, unknown).
    public let dropped: Int
    /// BERT features by item name (`[1024, phones]`); nil for items without `3-bert/<name>.pt` (zeros).
    let bert: [String: Tensor]
    /// Semantic tokens per second (`hz`, 25).
    public static let hz = 25

    /// Reads the folder with the official rules: drop items with more than `maxSec·25` tokens or
    /// `maxSec·25/2.5` phones, or phones per second outside [3, 25]; replicate fewer than 100 items
    /// `max(2, ⌊100/n⌋)` times.
    /// - Throws: ``TrainingError/invalidDataset(_:)`` for a missing or empty set, an unknown phone,
    ///   or BERT features that do not match the phone count.
    public init(folder: DatasetFolder, symbols: SymbolTable, maxSec: Double = 54) throws {
        let phones = Dictionary(try folder.phoneEntries().map { ($0.name, $0.phones) }, uniquingKeysWith: { a, _ in a })
        var kept: [GPTItem] = []
        var dropped = 0
        for (name, tokens) in try folder.semanticEntries() {
            guard let ph = phones[name] else { dropped += 1; continue }
            if Double(tokens.count) > maxSec * Double(Self.hz) { dropped += 1; continue }
            guard let ids = try? symbols.ids(for: ph) else { dropped += 1; continue }
            if Double(ids.count) > maxSec * Double(Self.hz) / 2.5 { dropped += 1; continue }
            guard !tokens.isEmpty else { dropped += 1; continue }
            let ratio = Double(ids.count) / (Double(tokens.count) / Double(Self.hz))
            if ratio > 25 || ratio < 3 { dropped += 1; continue }
            kept.append(GPTItem(name: name, phoneIDs: ids, semantic: tokens))
        }
        guard !kept.isEmpty else {
            throw TrainingError.invalidDataset("\(folder.url.path): no usable GPT item (\(dropped) dropped by the official filters or missing from 2-name2text.txt)")
        }
        var bert: [String: Tensor] = [:]
        for item in kept where bert[item.name] == nil && folder.exists("3-bert/\(item.name).pt") {
            let t = try folder.tensor("3-bert/\(item.name).pt")
            guard t.rank == 2, t.shape[1] == item.phoneIDs.count else {
                throw TrainingError.invalidDataset("3-bert/\(item.name).pt has shape \(t.shape), expected [1024, \(item.phoneIDs.count)]")
            }
            bert[item.name] = t
        }
        self.bert = bert
        uniqueCount = kept.count
        self.dropped = dropped
        items = replicated(kept)
    }

    /// Duration of item `i` in seconds (tokens / 25).
    public func seconds(_ i: Int) -> Double { Double(items[i].semantic.count) / Double(Self.hz) }

    /// The official batch size: `min(requested, count/4)`, at least 1 (halved first for DPO).
    public func effectiveBatchSize(_ requested: Int, dpo: Bool) -> Int {
        max(min(dpo ? requested / 2 : requested, items.count / 4), 1)
    }

    /// One epoch's batches (`DistributedBucketSampler`): items sorted by duration, cut into 2-s
    /// buckets, shuffled within buckets, concatenated, cut into batches, batches shuffled.
    public func batches(batchSize: Int, rng: inout SeededRNG) -> [[Int]] {
        let sorted = items.indices.sorted { (seconds($0), $0) < (seconds($1), $1) }
        var buckets: [[Int]] = [], current: [Int] = []
        var limit = 2.0
        for i in sorted {
            if seconds(i) < limit { current.append(i) } else {
                buckets.append(current)
                current = [i]
                limit += 2
            }
        }
        if !current.isEmpty { buckets.append(current) }
        var flat: [Int] = []
        for var b in buckets { b.shuffle(using: &rng); flat += b }
        var batches = stride(from: 0, to: flat.count, by: batchSize).map { Array(flat[$0..<min(flat.count, $0 + batchSize)]) }
        batches.shuffle(using: &rng)
        return batches
    }

    /// `collate`: phones right-padded with 0, semantic ids with 1024, BERT zero-padded (zeros
    /// for items without BERT features).
    public func collate(_ indices: [Int], bertDim: Int = 1024, pad: Int = 1024) -> T2SBatch {
        let rows = indices.map { items[$0] }
        let tx = rows.map(\.phoneIDs.count).max() ?? 0, ty = rows.map(\.semantic.count).max() ?? 0
        var bertOut = [Float](repeating: 0, count: rows.count * bertDim * tx)
        for (b, item) in rows.enumerated() {
            guard let f = bert[item.name] else { continue }
            let n = f.shape[1]
            for c in 0..<min(bertDim, f.shape[0]) { for j in 0..<n { bertOut[(b * bertDim + c) * tx + j] = f.scalars[c * n + j] } }
        }
        return T2SBatch(phonemeIDs: rows.map { $0.phoneIDs + [Int](repeating: 0, count: tx - $0.phoneIDs.count) },
                        phonemeLengths: rows.map(\.phoneIDs.count),
                        semanticIDs: rows.map { $0.semantic + [Int](repeating: pad, count: ty - $0.semantic.count) },
                        semanticLengths: rows.map(\.semantic.count),
                        bert: Tensor(shape: [rows.count, bertDim, tx], scalars: bertOut))
    }
}

/// The official small-set rule of both loaders: fewer than 100 items are repeated `max(2, ⌊100/n⌋)` times.
func replicated<T>(_ items: [T]) -> [T] {
    guard items.count < 100, !items.isEmpty else { return items }
    let times = max(2, 100 / items.count)
    return Array((0..<times).map { _ in items }.joined())
}
