import Foundation
import GSVAudio
import GSVTensor
import GSVTestSupport
import GSVWeights
import Testing

/// Kaldi filter-bank features and the speaker-verification input (v2Pro/v2ProPlus): parity with
/// the official `TTS._get_ref_spec` Pro branch and `eres2net/kaldi.py fbank` (fixture set
/// `v2pro/golden/reference.safetensors`), and with `kaldi.py` under non-default options
/// (`KaldiFbankCases/cases.json`, made by `KaldiFbankCases/make_cases.py`).
@Suite("Kaldi fbank and speaker input")
struct KaldiFbankTests {
    static let golden = "v2pro/golden/reference.safetensors"

    /// `v2pro/golden/reference.json`: the reference files (relative to `v2pro/`).
    static func referencePaths() throws -> (main: String, aux: String) {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("v2pro/golden/reference.json"))) as? [String: Any]
        let main = try #require(json?["ref_file"] as? String)
        let aux = try #require(json?["aux_ref_file"] as? String)
        return (Fixtures.url("v2pro/" + main).path, Fixtures.url("v2pro/" + aux).path)
    }

    static func check(_ ours: Tensor, _ golden: Tensor, _ name: String, gate: ParityGate) {
        #expect(ours.shape == golden.shape, "\(name): shape \(ours.shape) vs \(golden.shape)")
        guard ours.shape == golden.shape else { return }
        let f = Parity.figures(ours.scalars, golden.scalars)
        print("GSVAudio: \(name) cosine \(f.cosine) max rel \(f.maxRel) (gate \(gate))")
        #expect(gate.accepts(f), "\(name): cosine \(f.cosine), max rel \(f.maxRel) outside \(gate)")
    }

    @Test("reference → 32 kHz → 16 kHz matches sv_input_16k (and aux_sv_input_16k)")
    func speakerInput() throws {
        let file = try SafeTensorsFile(path: Fixtures.url(Self.golden).path)
        let paths = try Self.referencePaths()
        for (path, key) in [(paths.main, "sv_input_16k"), (paths.aux, "aux_sv_input_16k")] {
            let audio = try WAV.read(path: path).mono
            let samples32k = try ReferenceAudio.modelRateSamples(audio)
            let ours = try ReferenceAudio.speakerInput(modelRateSamples: samples32k)
            let golden = try file.tensor(key)
            Self.check(Tensor(ours), golden, key, gate: try ParityGate.fixture("v2pro", file: "golden/reference.safetensors", tensor: key))
            let maxAbs = zip(ours, golden.scalars).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            #expect(maxAbs <= 1e-5, "\(key): max abs error \(maxAbs)")
        }
    }

    @Test("fbank of the golden 16 kHz input matches sv_fbank (and aux_sv_fbank)")
    func fbankParity() throws {
        let file = try SafeTensorsFile(path: Fixtures.url(Self.golden).path)
        let fbank = try KaldiFbank(options: .eres2net)
        for (input, key) in [("sv_input_16k", "sv_fbank"), ("aux_sv_input_16k", "aux_sv_fbank")] {
            let ours = try fbank(try file.tensor(input).scalars)
            Self.check(ours, try file.tensor(key), key, gate: try ParityGate.fixture("v2pro", file: "golden/reference.safetensors", tensor: key))
        }
    }

    struct Case: Decodable {
        let name: String
        let options: [String: OptionValue]
        let shape: [Int]
        let signal_f32_base64: String
        let features_f32_base64: String
    }

    enum OptionValue: Decodable {
        case number(Double), bool(Bool), string(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    static func floats(_ base64: String) throws -> [Float] {
        let data = try #require(Data(base64Encoded: base64))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    /// Maps kaldi.py's keyword arguments onto our options (Kaldi's names in camelCase).
    static func options(_ kw: [String: OptionValue]) throws -> KaldiFbankOptions {
        var o = KaldiFbankOptions()
        for (k, v) in kw {
            switch (k, v) {
            case ("num_mel_bins", .number(let d)): o.numMelBins = Int(d)
            case ("sample_frequency", .number(let d)): o.sampleFrequency = d
            case ("dither", .number(let d)): o.dither = d
            case ("window_type", .string(let s)): o.windowType = try #require(KaldiFbankOptions.WindowType(rawValue: s))
            case ("snip_edges", .bool(let b)): o.snipEdges = b
            case ("use_energy", .bool(let b)): o.useEnergy = b
            case ("raw_energy", .bool(let b)): o.rawEnergy = b
            case ("htk_compat", .bool(let b)): o.htkCompat = b
            case ("energy_floor", .number(let d)): o.energyFloor = d
            case ("use_power", .bool(let b)): o.usePower = b
            case ("use_log_fbank", .bool(let b)): o.useLogFbank = b
            case ("preemphasis_coefficient", .number(let d)): o.preemphasisCoefficient = d
            case ("remove_dc_offset", .bool(let b)): o.removeDcOffset = b
            case ("low_freq", .number(let d)): o.lowFreq = d
            case ("high_freq", .number(let d)): o.highFreq = d
            case ("round_to_power_of_two", .bool(let b)): o.roundToPowerOfTwo = b
            case ("frame_length", .number(let d)): o.frameLength = d
            case ("frame_shift", .number(let d)): o.frameShift = d
            case ("subtract_mean", .bool(let b)): o.subtractMean = b
            default: Issue.record("unknown kaldi.py option \(k)")
            }
        }
        return o
    }

    @Test("non-default options match kaldi.py (windows, snip-edges, energy, magnitude, 8/22 kHz, mean subtraction)")
    func optionCases() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("KaldiFbankCases/cases.json")
        struct File: Decodable { let cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
        #expect(cases.count >= 8)
        for c in cases {
            let options = try Self.options(c.options)
            let signal = try Self.floats(c.signal_f32_base64)
            let golden = Tensor(shape: c.shape, scalars: try Self.floats(c.features_f32_base64))
            #expect(options.frameCount(forSampleCount: signal.count) == c.shape.first, "\(c.name)")
            let ours = try KaldiFbank(options: options)(signal)
            Self.check(ours, golden, c.name, gate: .standard)
        }
    }

    @Test("bad options and short signals are refused naming the problem")
    func refusals() throws {
        var o = KaldiFbankOptions.eres2net
        o.highFreq = 9000
        #expect(throws: AudioError.self) { try KaldiFbank(options: o) }
        o = .eres2net
        o.numMelBins = 2
        #expect(throws: AudioError.self) { try KaldiFbank(options: o) }
        o = .eres2net
        o.preemphasisCoefficient = 1.5
        #expect(throws: AudioError.self) { try KaldiFbank(options: o) }
        o = .eres2net
        o.frameShift = 0
        #expect(throws: AudioError.self) { try KaldiFbank(options: o) }
        o = .eres2net
        o.roundToPowerOfTwo = false
        o.frameLength = 25.0625 // 401 samples: odd FFT length
        #expect(throws: AudioError.self) { try KaldiFbank(options: o) }
        let fbank = try KaldiFbank()
        do {
            _ = try fbank([Float](repeating: 0.1, count: 399))
            Issue.record("a signal shorter than one window was accepted")
        } catch let AudioError.invalidArgument(message) {
            #expect(message.contains("399"))
        }
        // Exactly one window gives one frame; silence reaches the log floor, not -inf.
        let one = try fbank([Float](repeating: 0, count: 400))
        #expect(one.shape == [1, 80])
        #expect(one.scalars.allSatisfy { $0 == log(Float.ulpOfOne) })
    }

    @Test("dither is seeded: same seed same features, another seed different")
    func ditherIsSeeded() throws {
        var o = KaldiFbankOptions.eres2net
        o.dither = 1e-3
        let x = (0..<1600).map { Float(sin(Double($0) * 0.05)) * 0.2 }
        let a = try KaldiFbank(options: o)(x)
        let b = try KaldiFbank(options: o)(x)
        o.ditherSeed = 7
        let c = try KaldiFbank(options: o)(x)
        #expect(a == b)
        #expect(a != c)
    }
}
