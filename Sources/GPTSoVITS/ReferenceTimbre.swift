// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS._get_ref_spec (the reference's linear spectrogram
// and, for v2Pro/v2ProPlus, its 16 kHz resampling) and the `is_v2pro` part of TTS.run
// (`SV.compute_embedding3` of every reference, GPT_SoVITS/sv.py); the embeddings then join in
// SynthesizerTrn.decode (`ge`).

import GSVAudio
import GSVModels
import GSVTensor

extension ModelBundle {
    /// One reference clip's inputs to the timbre embedding: its linear spectrogram at the model's
    /// rate and, when the SoVITS model has the speaker branch, its ERes2NetV2 speaker embedding
    /// (Kaldi fbank of the clip resampled 32 kHz → 16 kHz).
    /// - Throws: ``SynthesisError/missingSpeakerModel(sovits:version:path:)`` when the SoVITS model
    ///   needs the speaker model and the bundle has none; audio and model errors as they come.
    public func timbreReference(_ audio: AudioBuffer) throws -> TimbreReference {
        let samples = try ReferenceAudio.modelRateSamples(audio, modelSampleRate: sampleRate)
        let spectrogram = try ReferenceAudio.spectrogram(modelRateSamples: samples)
        guard sovits.needsSpeakerEmbedding else { return TimbreReference(spectrogram: spectrogram) }
        return TimbreReference(spectrogram: spectrogram, speakerEmbedding: try speakerEmbedding(modelRateSamples: samples))
    }

    /// `SV.compute_embedding3` of one reference: its model-rate samples resampled to 16 kHz, Kaldi
    /// filter-bank features (80 bins, no dither), ERes2NetV2 `forward3` → `[20480]`.
    /// - Throws: ``SynthesisError/missingSpeakerModel(sovits:version:path:)`` without a speaker model.
    public func speakerEmbedding(modelRateSamples samples: [Float]) throws -> Tensor {
        guard let speaker else {
            throw SynthesisError.missingSpeakerModel(sovits: source, version: sovits.config.version, path: speakerModelPath)
        }
        let input = try ReferenceAudio.speakerInput(modelRateSamples: samples, modelSampleRate: sampleRate)
        return try speaker.embedding(features: try KaldiFbank(options: .eres2net)(input))
    }

    /// The timbre embedding `ge` of a voice's reference clips (main first, then auxiliary ones): the
    /// mean over the clips, each through the style encoder and, for v2Pro/v2ProPlus, joined with its
    /// speaker embedding.
    public func referenceTimbre(_ clips: [AudioBuffer]) throws -> Tensor {
        try sovits.referenceEmbedding(references: clips.map(timbreReference))
    }
}
