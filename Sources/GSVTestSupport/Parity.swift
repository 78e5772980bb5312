import Foundation

/// The parity figures every model test asserts against the official tensors.
public enum Parity {
    /// Cosine similarity and max relative error (max |ours − golden| ÷ max |golden|), accumulated
    /// in Double. Two all-zero tensors have cosine 1; an all-zero golden gives the max absolute error.
    public static func figures(_ ours: [Float], _ golden: [Float]) -> (cosine: Double, maxRel: Double) {
        precondition(ours.count == golden.count, "parity: \(ours.count) values vs \(golden.count)")
        var dot = 0.0, na = 0.0, nb = 0.0, maxDiff = 0.0, maxRef = 0.0
        for (a, b) in zip(ours, golden) {
            let (x, y) = (Double(a), Double(b))
            dot += x * y; na += x * x; nb += y * y
            maxDiff = max(maxDiff, abs(x - y)); maxRef = max(maxRef, abs(y))
        }
        let cosine = na == 0 && nb == 0 ? 1 : dot / (na.squareRoot() * nb.squareRoot())
        return (cosine, maxRef == 0 ? maxDiff : maxDiff / maxRef)
    }
}

/// The tolerance a parity test allows one tensor of a fixture set.
public struct ParityGate: Sendable, CustomStringConvertible {
    /// Lowest cosine similarity accepted.
    public let minCosine: Double
    /// Highest max relative error (max |ours − golden| ÷ max |golden|) accepted.
    public let maxRelative: Double

    /// The project's default gate: cosine ≥ 0.99999, max relative error ≤ 1e-3.
    public static let standard = ParityGate(minCosine: 0.99999, maxRelative: 1e-3)

    /// A gate with explicit limits.
    public init(minCosine: Double, maxRelative: Double) {
        self.minCosine = minCosine
        self.maxRelative = maxRelative
    }

    /// Whether figures from ``Parity/figures(_:_:)`` pass.
    public func accepts(_ f: (cosine: Double, maxRel: Double)) -> Bool {
        f.cosine >= minCosine && f.maxRel <= maxRelative
    }

    public var description: String { "cosine ≥ \(minCosine), max rel ≤ \(maxRelative)" }

    /// The gate for `tensor` of `file` in the fixture folder `set` (e.g. `"v2pro"`): the standard
    /// gate, widened to twice the largest spread the official code itself showed under other
    /// settings where a record exists — the set's `tolerances.json` (`relative` → every rerun →
    /// `rel_to_max`, `one_minus_cos`) and any `reruns` files of the same schema that apply to this
    /// set (their `applies_to` maps fixture files, relative to the set, to the FNV-1a 64 hash of
    /// their bytes; a file recorded for other fixture data is ignored). Without any record the
    /// standard gate applies.
    public static func fixture(_ set: String, file: String, tensor: String, reruns: [URL] = []) throws -> ParityGate {
        var rel = 0.0, oneMinusCos = 0.0
        func merge(_ root: [String: Any]) {
            guard let relative = root["relative"] as? [String: Any] else { return }
            for case let entries as [[String: Any]] in relative.values {
                for e in entries where e["file"] as? String == file && e["tensor"] as? String == tensor {
                    rel = max(rel, (e["rel_to_max"] as? Double) ?? 0)
                    oneMinusCos = max(oneMinusCos, (e["one_minus_cos"] as? Double) ?? 0)
                }
            }
        }
        let url = Fixtures.url(set + "/tolerances.json")
        if FileManager.default.fileExists(atPath: url.path),
           let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] {
            merge(root)
        }
        for extra in reruns {
            guard let root = try JSONSerialization.jsonObject(with: Data(contentsOf: extra)) as? [String: Any] else { continue }
            let appliesTo = root["applies_to"] as? [String: String] ?? [:]
            let matches = try appliesTo.allSatisfy { path, hash in
                let target = Fixtures.url(set + "/" + path)
                return try FileManager.default.fileExists(atPath: target.path) && fileHash(target) == hash
            }
            if matches && !appliesTo.isEmpty {
                merge(root)
            } else {
                print("ParityGate: \(extra.lastPathComponent) was recorded for other fixture data; not used for \(set)/\(file)")
            }
        }
        return ParityGate(minCosine: min(standard.minCosine, 1 - 2 * oneMinusCos),
                          maxRelative: max(standard.maxRelative, 2 * rel))
    }

    /// FNV-1a 64 of a file's bytes, as 16 hex digits (cached per path).
    public static func fileHash(_ url: URL) throws -> String {
        if let h = hashCache.value(url.path) { return h }
        let data = try Data(contentsOf: url)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { raw in
            for b in raw { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        let hex = String(h, radix: 16)
        let text = String(repeating: "0", count: 16 - hex.count) + hex
        hashCache.set(url.path, text)
        return text
    }

    private static let hashCache = HashCache()

    private final class HashCache: @unchecked Sendable {
        // @unchecked: the dictionary is only touched while `lock` is held.
        private let lock = NSLock()
        private var values: [String: String] = [:]
        func value(_ key: String) -> String? { lock.lock(); defer { lock.unlock() }; return values[key] }
        func set(_ key: String, _ value: String) { lock.lock(); values[key] = value; lock.unlock() }
    }
}
