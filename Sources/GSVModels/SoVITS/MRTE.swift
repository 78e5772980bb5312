// Follows GPT_SoVITS/module/mrte_model.py: MRTE (multi-reference timbre encoder, default widths).

import GSVNN
import GSVTensor

/// Cross-attention of the SSL content over the encoded phones, plus the timbre embedding.
///
/// `x = CrossAttn(c_pre(ssl), text_pre(text)) + c_pre(ssl) + ge`, then `c_post(x)`.
struct MRTE: Sendable {
    let crossAttention: RelativePositionAttention  // cross_attention (no relative window)
    let cPre: Conv1d                               // c_pre
    let textPre: Conv1d                            // text_pre
    let cPost: Conv1d                              // c_post

    init(_ p: ParameterSource, contentChannels: Int, hidden: Int, heads: Int, outChannels: Int) throws {
        crossAttention = try RelativePositionAttention(p.scoped("cross_attention"), channels: hidden,
                                                       outChannels: hidden, heads: heads, window: nil)
        cPre = try Conv1d(p.scoped("c_pre"), in: contentChannels, out: hidden, kernel: 1)
        textPre = try Conv1d(p.scoped("text_pre"), in: contentChannels, out: hidden, kernel: 1)
        cPost = try Conv1d(p.scoped("c_post"), in: hidden, out: outChannels, kernel: 1)
    }

    /// - Parameters:
    ///   - ssl: content `[C, Tssl]`; text: encoded phones `[C, Ttext]`; ge: `[hidden, 1]`.
    /// - Returns: `[out, Tssl]`.
    func callAsFunction(ssl: Tensor, text: Tensor, ge: Tensor) -> Tensor {
        let s = cPre(ssl)
        let t = textPre(text)
        let x = crossAttention(s, t) + s + ge
        return cPost(x)
    }
}
