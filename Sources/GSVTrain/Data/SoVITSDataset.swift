// Follows GPT_SoVITS/module/data_utils.py: TextAudioSpeakerLoader (items present in 2-name2text.txt,
// 4-cnhubert, 5-wav32k (and 7-sv_cn for v2Pro); duration from the wav file size in (0.6 s, 54 s);
// small-set replication; SSL padded by one replicated frame when shorter than the spectrogram),
// TextAudioSpeakerCollate (sort by spectrogram length, pad to 2·(max/2+1) frames) and
// DistributedBucketSampler (length buckets (32, 300], (300, 400], … (1800, 1900] frames, each
// bucket filled up to a multiple of the batch size, batches shuffled).

import Foundation
import GSVAudio
import GSVTensor
import GSVText

/// One SoVITS training item (audio, features), loaded once and shared by its replicas.
public struct SoVITSItem: Sendable {
    public var name: String
    public var phoneIDs: [Int]
    /// Audio at 32 kHz, `int16 / 32768`.
    public var wav: [Float]
    /// Linear spectrogram `[bins, T]` (`spectrogram_torch`, not centred).
    public var spec: Tensor
    /// HuBERT features `[768, T]` (padded to the spectrogram length as the loader does).
    public var ssl: Tensor
    /// v2Pro speaker embedding `[20480]`.
    public var speakerEmbedding: Tensor?
    /// Frames by the official length estimate (`file size / (2 · hop)`), for bucketing.
    public var bucketLength: Int
}

/// The SoVITS training set of a voice.
public struct SoVITSDataset: Sendable {
    /// Unique items.
    public let unique: [SoVITSItem]
    /// The epoch's item list after replication: indices into ``unique``.
    public let order: [Int]
    /// Items dropped (duration outside (0.6 s, 54 s), unknown phones, unreadable features).
    public let dropped: Int

    /// Official bucket boundaries (frames).
    public static let boundaries = [32, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900]

    /// Loads every usable item.
    /// - Throws: ``TrainingError/invalidDataset(_:)`` for a missing folder part or fewer than two items.
    public init(folder: DatasetFolder, symbols: SymbolTable, spectrogram: Spectrogram, hop: Int = 640,
                sampleRate: Int = 32000, speakerEmbeddings: Bool = false) throws {
        for part in ["4-cnhubert", "5-wav32k"] + (speakerEmbeddings ? ["7-sv_cn"] : []) where !folder.exists(part) {
            throw TrainingError.invalidDataset("\(folder.url.path) has no \(part)/ (run `gpt-sovits prepare format` first)")
        }
        let phones = Dictionary(try folder.phoneEntries().map { ($0.name, $0.phones) }, uniquingKeysWith: { a, _ in a })
        var names = Set(phones.keys).intersection(folder.names(in: "4-cnhubert", stripPT: true))
            .intersection(folder.names(in: "5-wav32k", stripPT: false))
        if speakerEmbeddings { names.formIntersection(folder.names(in: "7-sv_cn", stripPT: true)) }
        var items: [SoVITSItem] = []
        var dropped = 0
        for name in names.sorted() {
            guard let ph = phones[name], let ids = try? symbols.ids(for: ph), !ids.isEmpty else { dropped += 1; continue }
            let wavPath = folder.file("5-wav32k/\(name)").path
            let size = ((try? FileManager.default.attributesOfItem(atPath: wavPath))?[.size] as? Int) ?? 0
            let duration = Double(size) / Double(sampleRate) / 2
            guard duration > 0.6, duration < 54 else { dropped += 1; continue }
            let audio = try WAV.readMono(path: wavPath)
            guard audio.sampleRate == sampleRate else {
                throw TrainingError.invalidDataset("5-wav32k/\(name) is \(audio.sampleRate) Hz, expected \(sampleRate)")
            }
            let spec = try spectrogram.magnitude(audio.samples)
            var ssl = try folder.tensor("4-cnhubert/\(name).pt")
            if ssl.rank == 3, ssl.shape[0] == 1 { ssl = ssl.squeezed(0) }
            guard ssl.rank == 2, ssl.shape[0] == 768 else {
                throw TrainingError.invalidDataset("4-cnhubert/\(name).pt has shape \(ssl.shape), expected [1, 768, T]")
            }
            if ssl.shape[1] != spec.shape[1] {
                // F.pad(ssl, (0, 1), "replicate"): one copy of the last frame.
                ssl = ssl.padded([0, 1], mode: .replicate)
            }
            var sv: Tensor?
            if speakerEmbeddings {
                let e = try folder.tensor("7-sv_cn/\(name).pt")
                sv = e.reshaped([e.count])
            }
            items.append(SoVITSItem(name: name, phoneIDs: ids, wav: audio.samples, spec: spec, ssl: ssl,
                                    speakerEmbedding: sv, bucketLength: size / (2 * hop)))
        }
        guard items.count > 1 else {
            throw TrainingError.invalidDataset("\(folder.url.path): \(items.count) usable SoVITS item(s); at least 2 are needed (\(dropped) dropped)")
        }
        unique = items
        self.dropped = dropped
        order = replicated(Array(items.indices))
    }

    /// One epoch's batches (indices into ``order``-expanded items, as ``unique`` indices).
    public func batches(batchSize: Int, rng: inout SeededRNG) -> [[Int]] {
        let bounds = Self.boundaries
        var buckets = [[Int]](repeating: [], count: bounds.count - 1)
        for u in order {
            let l = unique[u].bucketLength
            if let b = (0..<(bounds.count - 1)).first(where: { bounds[$0] < l && l <= bounds[$0 + 1] }) { buckets[b].append(u) }
        }
        buckets.removeAll { $0.isEmpty }
        var batches: [[Int]] = []
        for bucket in buckets {
            var ids = Array(bucket.indices)
            ids.shuffle(using: &rng)
            let rem = (batchSize - bucket.count % batchSize) % batchSize
            ids = ids + Array(repeating: ids, count: rem / bucket.count).flatMap { $0 } + Array(ids.prefix(rem % bucket.count))
            for j in 0..<(ids.count / batchSize) { batches.append(ids[(j * batchSize)..<((j + 1) * batchSize)].map { bucket[$0] }) }
        }
        batches.shuffle(using: &rng)
        return batches
    }

    /// `TextAudioSpeakerCollate` for items `indices` (of ``unique``): sorted by spectrogram length,
    /// SSL and spectrogram padded to `2·(max/2+1)` frames, audio to the longest; SSL features stay
    /// raw (the frozen quantizer runs on them later).
    public func collate(_ indices: [Int]) -> (batch: SoVITSBatch, ssl: Tensor) {
        let rows = indices.map { unique[$0] }.enumerated().sorted { a, b in
            a.element.spec.shape[1] != b.element.spec.shape[1] ? a.element.spec.shape[1] > b.element.spec.shape[1] : a.offset < b.offset
        }.map(\.element)
        let maxSSL = 2 * ((rows.map { $0.ssl.shape[1] }.max() ?? 0) / 2 + 1)
        let maxSpec = 2 * ((rows.map { $0.spec.shape[1] }.max() ?? 0) / 2 + 1)
        let maxWav = rows.map(\.wav.count).max() ?? 0
        let maxText = rows.map(\.phoneIDs.count).max() ?? 0
        let bins = rows.first?.spec.shape[0] ?? 0
        var ssl = [Float](repeating: 0, count: rows.count * 768 * maxSSL)
        var spec = [Float](repeating: 0, count: rows.count * bins * maxSpec)
        var wav = [Float](repeating: 0, count: rows.count * maxWav)
        for (b, r) in rows.enumerated() {
            let ts = r.ssl.shape[1], tf = r.spec.shape[1]
            for c in 0..<768 { for j in 0..<ts { ssl[(b * 768 + c) * maxSSL + j] = r.ssl.scalars[c * ts + j] } }
            for c in 0..<bins { for j in 0..<tf { spec[(b * bins + c) * maxSpec + j] = r.spec.scalars[c * tf + j] } }
            for j in 0..<r.wav.count { wav[b * maxWav + j] = r.wav[j] }
        }
        var sv: Tensor?
        if let d = rows.first?.speakerEmbedding?.count {
            sv = Tensor(shape: [rows.count, d], scalars: rows.flatMap { $0.speakerEmbedding?.scalars ?? [Float](repeating: 0, count: d) })
        }
        let batch = SoVITSBatch(codes: [], spec: Tensor(shape: [rows.count, bins, maxSpec], scalars: spec),
                                specLengths: rows.map { $0.spec.shape[1] },
                                wav: Tensor(shape: [rows.count, maxWav], scalars: wav),
                                text: rows.map { $0.phoneIDs + [Int](repeating: 0, count: maxText - $0.phoneIDs.count) },
                                textLengths: rows.map(\.phoneIDs.count), speakerEmbedding: sv)
        return (batch, Tensor(shape: [rows.count, 768, maxSSL], scalars: ssl))
    }
}
