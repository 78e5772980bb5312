import Foundation
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing
@testable import GSVModels

// The SoVITS half of the official end-to-end runs (fixtures README §3.8): every `vits.decode` call of a
// `TTS.run` case, with its recorded noise injected, cut and joined as TTS.run does (fragments in text
// order, 0.3 s of silence after each, int16 by truncation), against the official wav. Cases with at most
// `maxTokens` semantic tokens in all are run, to keep debug test time in seconds.

fileprivate let maxTokens = 150

fileprivate struct SoVITSE2ECase: Sendable, CustomStringConvertible {
    struct Item: Sendable { var call: Int; var batchItem: Int; var segment: Int; var tokens: Int }
    var name: String
    var wav: String
    var speed: Double
    var items: [Item]
    var decodeCalls: Int
    var description: String { name }

    static let all: [SoVITSE2ECase] = {
        guard let data = try? Data(contentsOf: Fixtures.url("v2/e2e/e2e.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = json["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { c in
            guard let name = c["name"] as? String, let wav = c["wav"] as? String,
                  let inputs = c["inputs"] as? [String: Any], let speed = inputs["speed_factor"] as? Double,
                  let calls = c["gpt_calls"] as? [[String: Any]],
                  let decodes = c["decode_calls"] as? [[String: Any]] else { return nil }
            let items = calls.compactMap { g -> Item? in
                guard let call = g["call"] as? Int, let b = g["batch_item"] as? Int, let s = g["segment"] as? Int,
                      let n = g["n_tokens"] as? Int else { return nil }
                return Item(call: call, batchItem: b, segment: s, tokens: n)
            }
            return SoVITSE2ECase(name: name, wav: wav, speed: speed, items: items, decodeCalls: decodes.count)
        }
    }()

    static let model: Result<SynthesizerTrn, Error> = Result {
        try SynthesizerTrn.load(path: Fixtures.url("v2/models/sovits_v2_tiny.pth").path)
    }

    static let small: [SoVITSE2ECase] = all.filter { c in
        c.items.reduce(0) { $0 + $1.tokens } <= maxTokens && Fixtures.exists("v2/e2e/" + c.wav)
    }
}

/// The int16 samples of a PCM-16 WAV file.
fileprivate func sovitsReadPCM16(_ url: URL) throws -> [Int16] {
    let d = try Data(contentsOf: url)
    let bytes = [UInt8](d)
    func u32(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24 }
    guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
        throw SoVITSError.invalidInput("\(url.lastPathComponent) is not a WAV file")
    }
    var o = 12
    while o + 8 <= bytes.count {
        let size = u32(o + 4)
        if bytes[o..<(o + 4)].elementsEqual("data".utf8) {
            let n = min(size, bytes.count - o - 8) / 2
            return (0..<n).map { Int16(bitPattern: UInt16(bytes[o + 8 + 2 * $0]) | UInt16(bytes[o + 9 + 2 * $0]) << 8) }
        }
        o += 8 + size + (size & 1)
    }
    throw SoVITSError.invalidInput("\(url.lastPathComponent) has no data chunk")
}

@Suite struct SoVITSEndToEndTests {
    @Test func someCasesAreSmallEnoughToRun() {
        #expect(!SoVITSE2ECase.small.isEmpty, "no e2e case with ≤ \(maxTokens) tokens and its wav")
    }

    @Test(arguments: SoVITSE2ECase.small)
    fileprivate func decodeCallsReproduceTheOfficialWav(_ c: SoVITSE2ECase) throws {
        let model = try SoVITSE2ECase.model.get()
        let ref = try SafeTensorsFile(path: Fixtures.url("v2/golden/reference.safetensors").path)
        let e2e = try SafeTensorsFile(path: Fixtures.url("v2/e2e/e2e.safetensors").path)
        func ints(_ key: String) throws -> [Int] {
            guard let t = e2e.tensors[key] else { throw WeightsError.missingKey(key) }
            return try t.int64Values().map { Int($0) }
        }
        let ge = try model.referenceEmbedding(spectrogram: ref.tensor("refer_spec"))
        let hop = model.config.hopLength
        var fragments: [(segment: Int, audio: [Float])] = []
        #expect(c.decodeCalls == Set(c.items.map(\.call)).count)
        for k in 0..<c.decodeCalls {
            let audio = try model.decode(codes: ints("\(c.name)/decode\(k)_codes"), phones: ints("\(c.name)/decode\(k)_phone_ids"),
                                         ge: ge, speed: c.speed, noiseScale: 0.5,
                                         noise: .injected(e2e.tensor("\(c.name)/noise\(k)")))
            let items = c.items.filter { $0.call == k }.sorted { $0.batchItem < $1.batchItem }
            if items.count == 1 {
                fragments.append((items[0].segment, audio.scalars))
            } else {
                // Parallel decode of a batch: cut at tokens·2·hop sample boundaries.
                var start = 0
                for it in items {
                    let end = min(audio.count, start + it.tokens * 2 * hop)
                    fragments.append((it.segment, Array(audio.scalars[start..<end])))
                    start = end
                }
            }
        }
        let silence = [Float](repeating: 0, count: Int(Double(model.config.samplingRate) * 0.3))
        var joined: [Float] = []
        for f in fragments.sorted(by: { $0.segment < $1.segment }) {
            let peak = f.audio.reduce(0) { max($0, abs($1)) }
            joined += peak > 1 ? f.audio.map { $0 / peak } : f.audio
            joined += silence
        }
        let wav = try sovitsReadPCM16(Fixtures.url("v2/e2e/" + c.wav))
        #expect(joined.count == wav.count, "\(c.name): \(joined.count) samples vs \(wav.count)")
        var signal = 0.0, noise = 0.0
        for (x, w) in zip(joined, wav) {
            let ours = Double(x) * 32768, theirs = Double(w)
            signal += theirs * theirs
            noise += (ours - theirs) * (ours - theirs)
        }
        let snr = 10 * log10(signal / max(noise, 1e-12))
        print("SoVITS e2e \(c.name): SNR \(String(format: "%.1f", snr)) dB against the official wav")
        #expect(snr >= 40, "\(c.name): SNR \(snr) dB against the official wav")
    }
}
