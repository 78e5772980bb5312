import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights

/// Access to the training fixtures (`v2/train/…`, or the same layout under `GSV_FIXTURES`).
enum TrainFixtures {
    static func path(_ relative: String) -> String { Fixtures.url("v2/train/" + relative).path }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.malformed(relative)
        }
        return obj
    }

    static func tensors(_ relative: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: path(relative)) }

    enum FixtureError: Error { case malformed(String), missing(String) }
}

extension SafeTensorsFile {
    func float(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw TrainFixtures.FixtureError.missing(name) }
        return try t.floatTensor()
    }

    func ints(_ name: String) throws -> [Int] {
        guard let t = tensors[name] else { throw TrainFixtures.FixtureError.missing(name) }
        return try t.int64Values().map { Int($0) }
    }

    func shape(_ name: String) throws -> [Int] {
        guard let t = tensors[name] else { throw TrainFixtures.FixtureError.missing(name) }
        return t.shape
    }
}

/// Comparison figures of two tensors (Double accumulation).
struct Comparison: CustomStringConvertible {
    var cosine: Double
    var maxAbs: Double
    var maxRef: Double
    var maxRel: Double { maxRef == 0 ? maxAbs : maxAbs / maxRef }
    var description: String { String(format: "cos %.7f max|Δ| %.3e rel %.3e", cosine, maxAbs, maxRel) }

    /// Figures over the elements where `include` is true.
    init(_ ours: [Float], _ ref: [Float], include: ((Int) -> Bool)? = nil) {
        var dot = 0.0, na = 0.0, nb = 0.0, ma = 0.0, mr = 0.0
        for i in 0..<min(ours.count, ref.count) where include?(i) ?? true {
            let (a, b) = (Double(ours[i]), Double(ref[i]))
            dot += a * b; na += a * a; nb += b * b
            ma = max(ma, abs(a - b)); mr = max(mr, abs(b))
        }
        cosine = na == 0 && nb == 0 ? 1 : dot / max(1e-300, (na * nb).squareRoot())
        maxAbs = ma
        maxRef = mr
    }
}

/// Element ranges whose gradients are rounding noise, from a fixture sidecar's `noise_gradient_params`
/// (`"key[lo:hi]"` or a whole `"key"`).
func noiseRanges(_ sidecar: [String: Any]) -> [String: Range<Int>] {
    guard let noise = sidecar["noise_gradient_params"] as? [String: Any],
          let keys = noise["max_abs_grad"] as? [String: Any] else { return [:] }
    var out: [String: Range<Int>] = [:]
    for k in keys.keys {
        if let open = k.firstIndex(of: "["), let colon = k.firstIndex(of: ":"), let close = k.firstIndex(of: "]"),
           let lo = Int(k[k.index(after: open)..<colon]), let hi = Int(k[k.index(after: colon)..<close]) {
            out[String(k[..<open])] = lo..<hi
        } else {
            out[k] = 0..<Int.max
        }
    }
    return out
}
