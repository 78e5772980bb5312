// Follows GPT_SoVITS/module/models.py: SynthesizerTrn (the `is_v2pro` parts: `sv_emb`, `prelu`,
// `ge_to512`, and `decode`'s `get_ge`).

import GSVNN
import GSVTensor
import GSVWeights

/// The v2Pro / v2ProPlus speaker head of ``SynthesizerTrn``: the speaker-verification embedding
/// (ERes2NetV2 `forward3`, 20480 values) joins the style encoder's `ge`, and the text encoder's
/// MRTE gets `ge` mapped to its width.
///
/// Per reference `ge_r = PReLU(ref_enc(spec_r) + sv_emb(sv_r))`; `ge = mean_r ge_r` goes to the
/// flow and the decoder; `ge_to512(ge)` to the MRTE.
public struct SpeakerConditioning: Sendable {
    /// `sv_emb`: Linear(20480 → gin), kept in its stored precision (fp16 in official files).
    let svEmb: Linear
    /// `prelu.weight`: one slope per `ge` channel.
    let preluSlopes: Tensor
    /// `ge_to512`: Linear(gin → MRTE width).
    let geToMRTE: Linear

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        svEmb = try Linear(p.scoped("sv_emb"), in: c.speakerEmbeddingDim, out: c.ginChannels, stored: true,
                           biasInit: .std(0.02))
        preluSlopes = try p.tensor("prelu.weight", shape: [c.ginChannels], initial: .constant(0.25))
        geToMRTE = try Linear(p.scoped("ge_to512"), in: c.ginChannels, out: c.mrteHidden)
    }

    /// Width of the speaker embedding `sv_emb` reads.
    public var speakerEmbeddingDim: Int { svEmb.inFeatures }

    /// `PReLU(styleGe + sv_emb(speakerEmbedding))` for one reference (`[gin]` each).
    func combine(styleGe: Tensor, speakerEmbedding sv: Tensor) -> Tensor {
        let projected = svEmb(sv.reshaped([1, sv.count])).reshaped([preluSlopes.count])
        var sum = styleGe.reshaped([preluSlopes.count]) + projected
        for i in 0..<sum.count where sum.scalars[i] < 0 { sum.scalars[i] *= preluSlopes.scalars[i] }
        return sum
    }

    /// `ge_to512(ge)`: the timbre the MRTE adds, `[mrteHidden, 1]`.
    func mrteTimbre(_ ge: Tensor) -> Tensor {
        geToMRTE(ge.reshaped([1, ge.count])).reshaped([geToMRTE.outFeatures, 1])
    }
}

/// One reference's inputs to the timbre embedding: its linear spectrogram and, for v2Pro/v2ProPlus,
/// its speaker-verification embedding.
public struct TimbreReference: Sendable {
    /// Linear magnitude spectrogram `[bins, frames]` at the model's rate.
    public var spectrogram: Tensor
    /// ERes2NetV2 `forward3` embedding `[20480]` (v2Pro/v2ProPlus only; nil for v1/v2).
    public var speakerEmbedding: Tensor?

    /// A reference from its parts.
    public init(spectrogram: Tensor, speakerEmbedding: Tensor? = nil) {
        self.spectrogram = spectrogram
        self.speakerEmbedding = speakerEmbedding
    }
}
