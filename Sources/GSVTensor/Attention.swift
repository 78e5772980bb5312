// Scaled dot-product attention on already-projected heads.
// Follows GPT_SoVITS/AR/models/t2s_model.py: scaled_dot_product_attention (the explicit version the
// T2S decoder uses when torch_sdpa is off), which matches F.scaled_dot_product_attention otherwise.

/// `softmax(q·kᵀ · scale + mask) · v` over the last two dimensions, with batch broadcasting.
///
/// - Parameters:
///   - query: `[..., L, d]`; key: `[..., S, d]`; value: `[..., S, dv]`.
///   - mask: `true` = blocked (T2S's own convention; `F.scaled_dot_product_attention` takes the
///     inverse), broadcasting to `[..., L, S]`; blocked scores become `-inf`.
///   - additiveMask: added to the scaled scores (broadcasting).
///   - scale: defaults to `1/√d`; applied after the product, as the official helper does.
///   - zeroMaskedWeights: after the softmax, set the weights of masked positions (`-inf` scores)
///     to 0, as the official helper does — a fully masked query row then yields zeros instead of
///     NaN (torch's plain softmax result, the default here).
/// - Returns: `[..., L, dv]`.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Mask? = nil,
                                      additiveMask: Tensor? = nil, scale: Float? = nil,
                                      zeroMaskedWeights: Bool = false) -> Tensor {
    precondition(query.rank >= 2 && key.rank >= 2 && value.rank >= 2, "attention operands must be at least 2-D")
    let d = query.shape[query.rank - 1]
    let s = scale ?? 1 / Float(d).squareRoot()
    var logits = matmul(query, key.transposed()) * s
    if let add = additiveMask { logits = logits + add }
    if let m = mask { logits = logits.maskedFill(m, -.infinity) }
    var p = softmax(logits, axis: -1)
    if zeroMaskedWeights {
        logits.scalars.withUnsafeBufferPointer { lp in
            p.scalars.withUnsafeMutableBufferPointer { pp in
                for i in 0..<pp.count where lp[i] == -.infinity { pp[i] = 0 }
            }
        }
    }
    return matmul(p, value)
}
