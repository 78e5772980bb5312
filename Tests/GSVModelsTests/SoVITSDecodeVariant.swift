import Foundation
import GSVTestSupport

/// One decode variant listed in a SoVITS golden sidecar (the `variants` array of
/// `v2/golden/sovits_decode.json` or `v2pro/golden/decode_<version>.json`).
struct SoVITSDecodeVariant: Sendable, CustomStringConvertible {
    /// The model version the variant belongs to ("" where the sidecar is for one model).
    var version: String
    /// Prefix of the variant's tensors in the golden file.
    var prefix: String
    /// The case (codes and phones) it decodes.
    var caseIndex: Int
    var noiseScale: Float
    var speed: Double
    /// Whether the golden file holds the noise the official code drew (`<prefix>noise`).
    var injected: Bool
    /// Number of reference clips whose embeddings are averaged.
    var references: Int
    var description: String { version.isEmpty ? prefix : version + " " + prefix }

    /// The variants of the sidecar at `relativePath` in the fixture folder; none when it is
    /// missing or malformed (the tests that use them then have no arguments and fail elsewhere).
    static func read(_ relativePath: String, version: String = "") -> [SoVITSDecodeVariant] {
        guard let data = try? Data(contentsOf: Fixtures.url(relativePath)),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = json["variants"] as? [[String: Any]] else { return [] }
        return list.compactMap { v in
            guard let prefix = v["prefix"] as? String, let c = v["case"] as? Int,
                  let ns = v["noise_scale"] as? Double, let sp = v["speed"] as? Double else { return nil }
            return SoVITSDecodeVariant(version: version, prefix: prefix, caseIndex: c, noiseScale: Float(ns), speed: sp,
                                       injected: v["injected_noise"] as? Bool ?? false, references: v["refs"] as? Int ?? 1)
        }
    }
}
