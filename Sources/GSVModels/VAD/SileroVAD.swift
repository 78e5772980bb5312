// Follows the Silero VAD network (silero-vad 6.2.3, MIT): silero_vad/tinygrad_model.py: TinySileroVAD
// (the plain reference implementation of the package) and the 16 kHz model of silero_vad.jit
// (`VADRNNJITMerge._model`: stft → encoder → decoder, with 64 samples of context per window), whose
// weights we bundle as Resources/vad/silero_vad.safetensors (see scripts/data/export_silero_vad.py).

import Foundation
import GSVNN
import GSVTensor
import GSVWeights

/// Errors of the voice-activity detector.
public enum VADError: Error, LocalizedError, Sendable, Equatable {
    /// The bundled weights are missing from the package resources.
    case missingBundledWeights
    /// The audio's sample rate is not 16 kHz or a multiple of it.
    case unsupportedSampleRate(Int)
    /// The audio contains NaN or infinity.
    case nonFiniteAudio(index: Int)

    public var errorDescription: String? {
        switch self {
        case .missingBundledWeights: return "the bundled Silero VAD weights (silero_vad.safetensors) are missing from the GSVModels resources"
        case let .unsupportedSampleRate(sr): return "Silero VAD needs 16 kHz audio or a multiple of 16 kHz, got \(sr) Hz"
        case let .nonFiniteAudio(i): return "audio sample \(i) is not a finite number"
        }
    }
}

/// Silero VAD (16 kHz): speech probability per 512-sample window (32 ms).
///
/// Each window is read together with the 64 samples before it (zeros before the first), reflect-padded
/// by 64 on the right, turned into a 129-bin magnitude spectrum by a fixed STFT convolution (4 frames),
/// encoded by four ReLU convolutions to 128 features, then fed through an LSTM cell whose state carries
/// over from window to window; the decoder (ReLU, 1×1 convolution, sigmoid) gives the probability.
/// Immutable: one instance serves concurrent callers.
public struct SileroVAD: Sendable {
    /// The model's sample rate.
    public static let sampleRate = 16000
    /// Samples per window.
    public static let windowSamples = 512
    /// Samples of the previous window each window also reads.
    public static let contextSamples = 64

    /// `stft_conv`: 258 filters (129 real, 129 imaginary) of 256 taps, stride 128.
    let stft: Conv1d
    /// `conv1` … `conv4` (kernel 3, padding 1; strides 1, 2, 2, 1).
    let encoder: [Conv1d]
    /// `lstm_cell` (128 → 128).
    let rnn: LSTMCell
    /// `final_conv` (128 → 1, kernel 1): weight row and bias.
    let decoderWeight: [Float]
    let decoderBias: Float

    init(_ p: ParameterSource) throws {
        stft = try Conv1d(weight: try p.tensor("stft_conv.weight", shape: [258, 1, 256]), bias: nil, stride: 128)
        let shapes = [(129, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1)]
        encoder = try shapes.enumerated().map { i, s in
            try Conv1d(weight: try p.tensor("conv\(i + 1).weight", shape: [s.1, s.0, 3]),
                       bias: try p.tensor("conv\(i + 1).bias", shape: [s.1], initial: .std(0.02)), stride: s.2, padding: 1)
        }
        rnn = try LSTMCell(weightIH: try p.tensor("lstm_cell.weight_ih", shape: [512, 128]),
                           weightHH: try p.tensor("lstm_cell.weight_hh", shape: [512, 128]),
                           biasIH: try p.tensor("lstm_cell.bias_ih", shape: [512], initial: .std(0.02)),
                           biasHH: try p.tensor("lstm_cell.bias_hh", shape: [512], initial: .std(0.02)))
        decoderWeight = try p.tensor("final_conv.weight", shape: [1, 128, 1]).scalars
        decoderBias = try p.tensor("final_conv.bias", shape: [1], initial: .std(0.02)).scalars[0]
    }

    /// Loads the weights from a safetensors file with the package's tensor names.
    public static func load(path: String) throws -> SileroVAD {
        let reader = WeightReader(try WeightArchive.open(path))
        let model = try SileroVAD(ParameterSource(reader: reader))
        try reader.verifyAllConsumed()
        return model
    }

    /// The bundled weights (Silero VAD 6.2.3's default model, MIT licence).
    public static func bundled() throws -> SileroVAD {
        guard let url = Bundle.module.url(forResource: "silero_vad", withExtension: "safetensors", subdirectory: "Resources/vad")
                ?? Bundle.module.url(forResource: "silero_vad", withExtension: "safetensors", subdirectory: "vad")
                ?? Bundle.module.url(forResource: "silero_vad", withExtension: "safetensors") else {
            throw VADError.missingBundledWeights
        }
        return try load(path: url.path)
    }

    /// The network with seeded random weights (shape tests).
    public static func random(seed: UInt64) throws -> SileroVAD {
        try SileroVAD(ParameterSource(randomSeed: seed))
    }

    /// Windows handled per batch of the convolutional front end (bounds memory on long audio).
    static let batchWindows = 1024

    /// Speech probability of every 512-sample window of 16 kHz audio, the last window zero-padded —
    /// what `get_speech_timestamps` computes (state reset at the start, then one call per window).
    /// - Throws: ``VADError/nonFiniteAudio(index:)`` for NaN or infinite samples.
    public func speechProbabilities(_ audio: [Float]) throws -> [Float] {
        if let bad = audio.firstIndex(where: { !$0.isFinite }) { throw VADError.nonFiniteAudio(index: bad) }
        let w = Self.windowSamples, ctx = Self.contextSamples
        let windows = (audio.count + w - 1) / w
        var probs = [Float](repeating: 0, count: windows)
        var state = LSTMCell.State(size: rnn.hiddenSize)
        let span = ctx + w + ctx  // context, window, reflect padding
        var start = 0
        while start < windows {
            try Task.checkCancellation()
            let n = min(Self.batchWindows, windows - start)
            // Input rows: 64 samples of context, the window, then 64 samples reflected.
            var input = [Float](repeating: 0, count: n * span)
            for b in 0..<n {
                let first = (start + b) * w - ctx
                let row = b * span
                for j in 0..<(ctx + w) {
                    let s = first + j
                    if s >= 0 && s < audio.count { input[row + j] = audio[s] }
                }
                for j in 0..<ctx { input[row + ctx + w + j] = input[row + ctx + w - 2 - j] }
            }
            let spec = stft(Tensor(shape: [n, 1, span], scalars: input))  // [n, 258, 4]
            let frames = spec.shape[2]
            var mag = [Float](repeating: 0, count: n * 129 * frames)
            spec.scalars.withUnsafeBufferPointer { s in
                for b in 0..<n {
                    for k in 0..<129 {
                        for t in 0..<frames {
                            let re = s[(b * 258 + k) * frames + t], im = s[(b * 258 + 129 + k) * frames + t]
                            mag[(b * 129 + k) * frames + t] = (re * re + im * im).squareRoot()
                        }
                    }
                }
            }
            var x = Tensor(shape: [n, 129, frames], scalars: mag)
            for conv in encoder { x = conv(x).relu() }
            // [n, 128, 1] → [n, 128]
            let features = x.reshaped([n, x.shape[1] * x.shape[2]])
            let projected = rnn.inputProjection(features)  // [n, 512]
            projected.scalars.withUnsafeBufferPointer { p in
                for b in 0..<n {
                    rnn.step(projected: UnsafeBufferPointer(rebasing: p[(b * 512)..<((b + 1) * 512)]), state: &state)
                    var z = decoderBias
                    for k in 0..<128 { z += decoderWeight[k] * max(0, state.hidden[k]) }
                    probs[start + b] = 1 / (1 + Foundation.exp(-z))
                }
            }
            start += n
        }
        return probs
    }

    /// Speech segments of `audio` at `sampleRate` (16 kHz or a multiple: every `rate/16000`-th sample
    /// is used, as `get_speech_timestamps` does), in samples of the input rate.
    /// - Throws: ``VADError`` for an unsupported rate or non-finite samples.
    public func speechTimestamps(_ audio: [Float], sampleRate: Int, options: SpeechTimestampOptions = SpeechTimestampOptions()) throws -> [Range<Int>] {
        guard sampleRate >= Self.sampleRate, sampleRate % Self.sampleRate == 0 else { throw VADError.unsupportedSampleRate(sampleRate) }
        let step = sampleRate / Self.sampleRate
        let audio16k = step == 1 ? audio : stride(from: 0, to: audio.count, by: step).map { audio[$0] }
        let probs = try speechProbabilities(audio16k)
        return SpeechTimestamps.segments(probabilities: probs, audioLength: audio16k.count, options: options)
            .map { ($0.lowerBound * step)..<($0.upperBound * step) }
    }
}
