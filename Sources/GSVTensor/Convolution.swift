// 1-D convolution and transposed convolution with PyTorch semantics (`F.conv1d`,
// `F.conv_transpose1d`): cross-correlation, zero padding, stride, dilation, groups.
//
// conv1d: stride-1 convolutions with narrow inputs (≤ 256 channels per group) run as K shifted
// GEMMs over the padded input (no im2col copy); the others use im2col + sgemm per (batch, group),
// tiled over time so the column buffer stays small; 1×1 convolutions skip im2col; a single-channel
// input (raw samples) is one im2col + sgemm; other depthwise convolutions (one input channel per
// group) use a direct loop, which is faster than a GEMM with a single-row reduction.
// convTranspose1d: sgemm (Wᵀ·x) into columns, then col2im scatter-add, also tiled over time.

/// Upper bound on floats in one column buffer (16 MiB).
let defaultColumnBudget = 1 << 22

/// Output length of a 1-D convolution (torch's formula), or nil if the input is too short.
public func conv1dOutputLength(inputLength t: Int, kernel k: Int, stride: Int = 1,
                               padding: (Int, Int) = (0, 0), dilation: Int = 1) -> Int? {
    let span = t + padding.0 + padding.1 - dilation * (k - 1) - 1
    return span < 0 ? nil : span / stride + 1
}

/// `F.conv1d` with symmetric padding.
public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                   padding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
    conv1d(x, weight: weight, bias: bias, stride: stride, padding: (padding, padding),
           dilation: dilation, groups: groups)
}

/// 1-D convolution, as `F.conv1d` (with `padding = (left, right)` as `F.pad` then conv).
///
/// - Parameters:
///   - x: `[B, Cin, T]` (a 2-D `[Cin, T]` input is treated as batch 1 and returned 2-D).
///   - weight: `[Cout, Cin / groups, K]`.
///   - bias: `[Cout]` or nil.
/// - Returns: `[B, Cout, Tout]`, `Tout = (T + left + right − dilation·(K−1) − 1) / stride + 1`.
/// - Precondition: shapes agree, `stride, dilation, groups ≥ 1`, and the padded input covers one window.
public func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                   padding: (Int, Int), dilation: Int = 1, groups: Int = 1) -> Tensor {
    conv1d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups,
           columnBudget: defaultColumnBudget)
}

/// `conv1d` with an explicit column-buffer budget (tests use a tiny one to exercise tiling) and a
/// switch for the direct depthwise kernel (benchmarks compare it with im2col + sgemm).
func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: (Int, Int), dilation: Int,
            groups: Int, columnBudget: Int, directDepthwise: Bool = true,
            shiftedGemm: Bool? = nil) -> Tensor {
    if x.rank == 2 {
        let y = conv1d(x.unsqueezed(0), weight: weight, bias: bias, stride: stride, padding: padding,
                       dilation: dilation, groups: groups, columnBudget: columnBudget,
                       directDepthwise: directDepthwise, shiftedGemm: shiftedGemm)
        return y.squeezed(0)
    }
    precondition(x.rank == 3, "conv1d input must be [B, C, T], got \(x.shape)")
    precondition(weight.rank == 3, "conv1d weight must be [Cout, Cin/groups, K], got \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && groups >= 1 && padding.0 >= 0 && padding.1 >= 0,
                 "conv1d: stride \(stride), dilation \(dilation), groups \(groups), padding \(padding)")
    let (batch, cin, t) = (x.shape[0], x.shape[1], x.shape[2])
    let (cout, cg, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    precondition(cin % groups == 0 && cout % groups == 0 && cg == cin / groups,
                 "conv1d: input \(x.shape), weight \(weight.shape), groups \(groups) disagree")
    if let b = bias { precondition(b.shape == [cout], "conv1d bias \(b.shape) != [\(cout)]") }
    guard let tOut = conv1dOutputLength(inputLength: t, kernel: k, stride: stride, padding: padding,
                                        dilation: dilation) else {
        preconditionFailure("conv1d: input length \(t) + padding \(padding) shorter than kernel span \(dilation * (k - 1) + 1)")
    }
    let coutG = cout / groups
    let (pl, _) = padding
    var out = [Float](repeating: 0, count: batch * cout * tOut)
    if let b = bias {
        for n in 0..<batch { for c in 0..<cout {
            let v = b.scalars[c]
            for j in 0..<tOut { out[(n * cout + c) * tOut + j] = v }
        } }
    }
    x.scalars.withUnsafeBufferPointer { xp in
        weight.scalars.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                guard let x0 = xp.baseAddress, let w0 = wp.baseAddress, let o0 = op.baseAddress, tOut > 0 else { return }
                if cin == 1 && groups == 1 && dilation == 1 && padding == (0, 0) && cout > 1 && directDepthwise {
                    singleChannel(x0, w0, o0, batch: batch, t: t, cout: cout, k: k, tOut: tOut, stride: stride)
                    return
                }
                if cg == 1 && directDepthwise {
                    depthwise(x0, w0, o0, batch: batch, cin: cin, t: t, cout: cout, k: k, tOut: tOut,
                              stride: stride, pl: pl, dilation: dilation, coutG: coutG)
                    return
                }
                let rows = cg * k
                if k == 1 && stride == 1 && padding == (0, 0) {
                    for n in 0..<batch { for g in 0..<groups {
                        BLAS.sgemm(m: coutG, n: tOut, k: cg, a: w0 + g * coutG * cg, lda: cg,
                                   b: x0 + (n * cin + g * cg) * t, ldb: t, beta: 1,
                                   c: o0 + (n * cout + g * coutG) * tOut, ldc: tOut)
                    } }
                    return
                }
                if stride == 1 && (shiftedGemm ?? preferShiftedGemm(cg: cg, k: k)) {
                    shifted(x0, w0, o0, batch: batch, cin: cin, t: t, cout: cout, cg: cg, k: k, tOut: tOut,
                            padding: padding, dilation: dilation, groups: groups, chunk: max(1, columnBudget / max(rows, 1)))
                    return
                }
                let chunk = min(tOut, max(1, columnBudget / max(rows, 1)))
                var col = [Float](repeating: 0, count: rows * chunk)
                col.withUnsafeMutableBufferPointer { cp in
                    guard let c0 = cp.baseAddress else { return }
                    for n in 0..<batch { for g in 0..<groups {
                        let xg = x0 + (n * cin + g * cg) * t
                        var t0 = 0
                        while t0 < tOut {
                            let tc = min(chunk, tOut - t0)
                            Parallel.forRanges(rows, grain: max(1, 8192 / max(tc, 1))) { r in
                                for row in r {
                                    let ci = row / k, kk = row % k
                                    let src = xg + ci * t
                                    let dst = c0 + row * tc
                                    let shift = kk * dilation - pl
                                    for j in 0..<tc {
                                        let i = (t0 + j) * stride + shift
                                        dst[j] = (i >= 0 && i < t) ? src[i] : 0
                                    }
                                }
                            }
                            BLAS.sgemm(m: coutG, n: tc, k: rows, a: w0 + g * coutG * rows, lda: rows,
                                       b: c0, ldb: tc, beta: 1,
                                       c: o0 + (n * cout + g * coutG) * tOut + t0, ldc: tOut)
                            t0 += tc
                        }
                    } }
                }
            }
        }
    }
    return Tensor(shape: [batch, cout, tOut], scalars: out)
}

/// Whether a stride-1 convolution should use shifted GEMMs rather than im2col (see `shifted`).
/// Measured (`BenchmarkTests.convolutionThroughput`, 2 shared cores): shifted GEMMs win for narrow
/// inputs over long sequences (Cin 32: 8.8–12.2 vs 6.8–8.0 GFLOP/s; Cin 128: 17–19 vs 13–16) and
/// are no better at Cin 512 with short sequences, where the im2col GEMM has a deeper reduction.
func preferShiftedGemm(cg: Int, k: Int) -> Bool { cg <= 256 }

/// Stride-1 convolution as K accumulated GEMMs over shifted views of the (padded) input:
/// `y += W[:, :, k] · xpad[:, k·dilation ..< k·dilation + Tout]`, with no im2col copy. Tiled over
/// time so each output tile stays in cache across the K products.
private func shifted(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                     batch: Int, cin: Int, t: Int, cout: Int, cg: Int, k: Int, tOut: Int,
                     padding: (Int, Int), dilation: Int, groups: Int, chunk: Int) {
    let coutG = cout / groups
    let tp = t + padding.0 + padding.1
    // Weight as [K, Cout, Cin/groups] so each tap is a contiguous matrix.
    var wk = [Float](repeating: 0, count: k * cout * cg)
    for co in 0..<cout { for ci in 0..<cg { for kk in 0..<k { wk[(kk * cout + co) * cg + ci] = w[(co * cg + ci) * k + kk] } } }
    var xpad = [Float](repeating: 0, count: padding == (0, 0) ? 0 : batch * cin * tp)
    if padding != (0, 0) {
        for r in 0..<(batch * cin) { for j in 0..<t { xpad[r * tp + padding.0 + j] = x[r * t + j] } }
    }
    wk.withUnsafeBufferPointer { wp in
        xpad.withUnsafeBufferPointer { xp in
            guard let wk0 = wp.baseAddress else { return }
            let padded = padding != (0, 0)
            guard let src = padded ? xp.baseAddress.map({ UnsafePointer($0) }) : x else { return }
            let tile = max(256, min(tOut, chunk))
            for n in 0..<batch { for g in 0..<groups {
                var t0 = 0
                while t0 < tOut {
                    let tc = min(tile, tOut - t0)
                    for kk in 0..<k {
                        BLAS.sgemm(m: coutG, n: tc, k: cg, a: wk0 + (kk * cout + g * coutG) * cg, lda: cg,
                                   b: src + (n * cin + g * cg) * tp + kk * dilation + t0, ldb: tp, beta: 1,
                                   c: o + (n * cout + g * coutG) * tOut + t0, ldc: tOut)
                    }
                    t0 += tc
                }
            } }
        }
    }
}

/// A convolution of a single-channel signal (HuBERT's first feature convolution on raw samples):
/// one im2col of the `K` taps and one sgemm per batch entry, `y += W [Cout, K] · cols [K, Tout]`,
/// where the depthwise loop would walk the long signal once per output channel.
private func singleChannel(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                           batch: Int, t: Int, cout: Int, k: Int, tOut: Int, stride: Int) {
    var col = [Float](repeating: 0, count: k * tOut)
    col.withUnsafeMutableBufferPointer { cp in
        guard let c0 = cp.baseAddress else { return }
        for b in 0..<batch {
            let src = x + b * t
            for kk in 0..<k {
                let row = c0 + kk * tOut
                for j in 0..<tOut { row[j] = src[j * stride + kk] }
            }
            BLAS.sgemm(m: cout, n: tOut, k: k, a: w, lda: k, b: c0, ldb: tOut, beta: 1, c: o + b * cout * tOut, ldc: tOut)
        }
    }
}

/// Direct kernel for convolutions whose groups have one input channel each.
private func depthwise(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                       batch: Int, cin: Int, t: Int, cout: Int, k: Int, tOut: Int,
                       stride: Int, pl: Int, dilation: Int, coutG: Int) {
    Parallel.forEach(batch * cout, grain: max(1, 16384 / max(1, tOut * k))) { idx in
        let n = idx / cout, c = idx % cout
        let src = x + (n * cin + c / coutG) * t
        let dst = o + idx * tOut
        for kk in 0..<k {
            let wv = w[c * k + kk]
            let shift = kk * dilation - pl
            // Valid outputs: 0 ≤ j·stride + shift < t.
            let lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride
            let hiExclusive = t - shift <= 0 ? 0 : min(tOut, (t - shift - 1) / stride + 1)
            if lo >= hiExclusive { continue }
            if stride == 1 {
                for j in lo..<hiExclusive { dst[j] += wv * src[j + shift] }
            } else {
                for j in lo..<hiExclusive { dst[j] += wv * src[j * stride + shift] }
            }
        }
    }
}

/// Output length of a transposed 1-D convolution (torch's formula).
public func convTranspose1dOutputLength(inputLength t: Int, kernel k: Int, stride: Int = 1, padding: Int = 0,
                                        outputPadding: Int = 0, dilation: Int = 1) -> Int {
    (t - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1
}

/// Transposed 1-D convolution, as `F.conv_transpose1d`.
///
/// - Parameters:
///   - x: `[B, Cin, T]` (2-D `[Cin, T]` is treated as batch 1).
///   - weight: `[Cin, Cout / groups, K]` (PyTorch `ConvTranspose1d` layout).
///   - bias: `[Cout]` or nil.
/// - Returns: `[B, Cout, (T−1)·stride − 2·padding + dilation·(K−1) + outputPadding + 1]`.
/// - Precondition: shapes agree; `outputPadding < max(stride, dilation)` as torch requires.
public func convTranspose1d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                            padding: Int = 0, outputPadding: Int = 0, groups: Int = 1,
                            dilation: Int = 1) -> Tensor {
    convTranspose1d(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                    groups: groups, dilation: dilation, columnBudget: defaultColumnBudget)
}

/// `convTranspose1d` with an explicit column-buffer budget (tests use a tiny one to exercise tiling).
func convTranspose1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, outputPadding: Int,
                     groups: Int, dilation: Int, columnBudget: Int) -> Tensor {
    if x.rank == 2 {
        return convTranspose1d(x.unsqueezed(0), weight: weight, bias: bias, stride: stride, padding: padding,
                               outputPadding: outputPadding, groups: groups, dilation: dilation,
                               columnBudget: columnBudget).squeezed(0)
    }
    precondition(x.rank == 3, "convTranspose1d input must be [B, C, T], got \(x.shape)")
    precondition(weight.rank == 3, "convTranspose1d weight must be [Cin, Cout/groups, K], got \(weight.shape)")
    precondition(stride >= 1 && dilation >= 1 && groups >= 1 && padding >= 0,
                 "convTranspose1d: stride \(stride), dilation \(dilation), groups \(groups), padding \(padding)")
    precondition(outputPadding >= 0 && outputPadding < max(stride, dilation),
                 "convTranspose1d: outputPadding \(outputPadding) must be < max(stride, dilation)")
    let (batch, cin, t) = (x.shape[0], x.shape[1], x.shape[2])
    let (wcin, coutG, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    precondition(wcin == cin && cin % groups == 0,
                 "convTranspose1d: input \(x.shape), weight \(weight.shape), groups \(groups) disagree")
    let cout = coutG * groups, cinG = cin / groups
    if let b = bias { precondition(b.shape == [cout], "convTranspose1d bias \(b.shape) != [\(cout)]") }
    let tOut = convTranspose1dOutputLength(inputLength: t, kernel: k, stride: stride, padding: padding,
                                           outputPadding: outputPadding, dilation: dilation)
    precondition(tOut > 0, "convTranspose1d: non-positive output length \(tOut)")
    var out = [Float](repeating: 0, count: batch * cout * tOut)
    if let b = bias {
        for n in 0..<batch { for c in 0..<cout {
            let v = b.scalars[c]
            for j in 0..<tOut { out[(n * cout + c) * tOut + j] = v }
        } }
    }
    let rows = coutG * k
    let chunk = max(1, min(t, columnBudget / max(rows, 1)))
    var col = [Float](repeating: 0, count: rows * chunk)
    x.scalars.withUnsafeBufferPointer { xp in
        weight.scalars.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                col.withUnsafeMutableBufferPointer { cp in
                    guard let x0 = xp.baseAddress, let w0 = wp.baseAddress, let o0 = op.baseAddress,
                          let c0 = cp.baseAddress, t > 0, cinG > 0 else { return }
                    for n in 0..<batch { for g in 0..<groups {
                        var t0 = 0
                        while t0 < t {
                            let tc = min(chunk, t - t0)
                            // cols[rows, tc] = W_gᵀ · x_g[:, t0 ..< t0+tc]
                            BLAS.sgemm(transA: true, m: rows, n: tc, k: cinG,
                                       a: w0 + g * cinG * rows, lda: rows,
                                       b: x0 + (n * cin + g * cinG) * t + t0, ldb: t,
                                       c: c0, ldc: tc)
                            let ob = o0 + (n * cout + g * coutG) * tOut
                            Parallel.forRanges(coutG, grain: max(1, 8192 / max(1, k * tc))) { r in
                                for co in r {
                                    let dst = ob + co * tOut
                                    for kk in 0..<k {
                                        let src = c0 + (co * k + kk) * tc
                                        let shift = t0 * stride + kk * dilation - padding
                                        for j in 0..<tc {
                                            let i = j * stride + shift
                                            if i >= 0 && i < tOut { dst[i] += src[j] }
                                        }
                                    }
                                }
                            }
                            t0 += tc
                        }
                    } }
                }
            }
        }
    }
    return Tensor(shape: [batch, cout, tOut], scalars: out)
}
