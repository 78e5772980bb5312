// 2-D convolution with PyTorch semantics (`F.conv2d`): cross-correlation, zero padding, stride,
// dilation, groups, on channel-first `[B, C, H, W]` tensors.
//
// 1×1 convolutions with stride 1 and no padding are one sgemm over the input as it lies
// (`[Cout, Cin] · [Cin, H·W]`); every other shape builds im2col columns for a run of output
// positions at a time (the column buffer stays under `defaultColumnBudget` floats, the rows built
// in parallel) and multiplies them with one sgemm, written straight into the output rows. Channel
// slices of a channel-first image are contiguous, so callers can convolve a slice of channels in
// place and write into a slice of a larger output (``conv2d(input:channels:height:width:weight:outChannels:kernel:bias:stride:padding:dilation:output:)``).

import Foundation

/// Output size of one spatial axis of a convolution (torch's formula), or nil if the input is too short.
@inlinable
public func conv2dOutputLength(inputLength n: Int, kernel k: Int, stride: Int, padding: Int, dilation: Int) -> Int? {
    let span = n + 2 * padding - dilation * (k - 1) - 1
    return span < 0 ? nil : span / stride + 1
}

/// `F.conv2d`.
///
/// - Parameters:
///   - x: `[B, Cin, H, W]` (a 3-D `[Cin, H, W]` input is treated as batch 1 and returned 3-D).
///   - weight: `[Cout, Cin / groups, KH, KW]`.
///   - bias: `[Cout]` or nil.
///   - stride, padding, dilation: `(height, width)`.
/// - Returns: `[B, Cout, Hout, Wout]`.
/// - Precondition: shapes agree, strides/dilations/groups ≥ 1, padding ≥ 0, the padded input covers one kernel.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    if x.rank == 3 {
        return conv2d(x.unsqueezed(0), weight: weight, bias: bias, stride: stride, padding: padding,
                      dilation: dilation, groups: groups).squeezed(0)
    }
    precondition(x.rank == 4, "conv2d input must be [B, C, H, W], got \(x.shape)")
    precondition(weight.rank == 4, "conv2d weight must be [Cout, Cin/groups, KH, KW], got \(weight.shape)")
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, cg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    precondition(groups >= 1 && cin % groups == 0 && cout % groups == 0 && cg == cin / groups,
                 "conv2d: input \(x.shape), weight \(weight.shape), groups \(groups) disagree")
    if let b = bias { precondition(b.shape == [cout], "conv2d bias \(b.shape) != [\(cout)]") }
    guard let ho = conv2dOutputLength(inputLength: h, kernel: kh, stride: stride.0, padding: padding.0, dilation: dilation.0),
          let wo = conv2dOutputLength(inputLength: w, kernel: kw, stride: stride.1, padding: padding.1, dilation: dilation.1) else {
        preconditionFailure("conv2d: input \(h)×\(w) with padding \(padding) is smaller than the kernel \(kh)×\(kw) (dilation \(dilation))")
    }
    let coutG = cout / groups
    var out = [Float](repeating: 0, count: batch * cout * ho * wo)
    x.scalars.withUnsafeBufferPointer { xp in
        weight.scalars.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                guard let x0 = xp.baseAddress, let w0 = wp.baseAddress, let o0 = op.baseAddress else { return }
                bias.map { $0.scalars }.withOptionalPointer { b0 in
                    for n in 0..<batch {
                        for g in 0..<groups {
                            conv2d(input: x0 + (n * cin + g * cg) * h * w, channels: cg, height: h, width: w,
                                   weight: w0 + g * coutG * cg * kh * kw, outChannels: coutG, kernel: (kh, kw),
                                   bias: b0.map { $0 + g * coutG }, stride: stride, padding: padding, dilation: dilation,
                                   output: o0 + (n * cout + g * coutG) * ho * wo)
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: [batch, cout, ho, wo], scalars: out)
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}

/// One image's 2-D convolution between raw buffers (one group), overwriting `output`.
///
/// - Parameters:
///   - input: `[channels, height, width]`, contiguous.
///   - weight: `[outChannels, channels, KH, KW]`, contiguous.
///   - bias: `[outChannels]` or nil.
///   - output: `[outChannels, Hout, Wout]`, contiguous (may be a channel slice of a larger image).
public func conv2d(input: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                   weight: UnsafePointer<Float>, outChannels cout: Int, kernel: (Int, Int),
                   bias: UnsafePointer<Float>?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int) = (1, 1),
                   output: UnsafeMutablePointer<Float>) {
    let (kh, kw) = kernel
    let (sh, sw) = stride, (ph, pw) = padding, (dh, dw) = dilation
    precondition(cin >= 1 && cout >= 1 && kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && dh >= 1 && dw >= 1 && ph >= 0 && pw >= 0,
                 "conv2d: channels \(cin)→\(cout), kernel \(kernel), stride \(stride), padding \(padding), dilation \(dilation)")
    guard let ho = conv2dOutputLength(inputLength: h, kernel: kh, stride: sh, padding: ph, dilation: dh),
          let wo = conv2dOutputLength(inputLength: w, kernel: kw, stride: sw, padding: pw, dilation: dw) else {
        preconditionFailure("conv2d: input \(h)×\(w) with padding \(padding) is smaller than the kernel \(kernel)")
    }
    let positions = ho * wo
    guard positions > 0 else { return }
    let rows = cin * kh * kw
    if let bias {
        Parallel.forRanges(cout, grain: max(1, 65_536 / positions)) { r in
            for c in r {
                let v = bias[c], o = output + c * positions
                for j in 0..<positions { o[j] = v }
            }
        }
    }
    let beta: Float = bias == nil ? 0 : 1
    if kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 {
        BLAS.sgemm(m: cout, n: positions, k: cin, a: weight, lda: cin, b: input, ldb: positions, beta: beta,
                   c: output, ldc: positions)
        return
    }
    // Columns for a run of output positions (whole output rows when they fit), under the budget.
    let chunk = min(positions, max(wo, (defaultColumnBudget / max(rows, 1)) / wo * wo))
    let columns = UnsafeMutablePointer<Float>.allocate(capacity: rows * chunk)
    defer { columns.deallocate() }
    var p0 = 0
    while p0 < positions {
        let n = min(chunk, positions - p0)
        Parallel.forRanges(rows, grain: max(1, 16_384 / n)) { range in
            for row in range {
                let ci = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
                let src = input + ci * h * w
                let dst = columns + row * n
                var p = p0
                while p < p0 + n {
                    let oy = p / wo, ox0 = p - oy * wo
                    let run = min(wo - ox0, p0 + n - p)
                    let d = dst + (p - p0)
                    let iy = oy * sh - ph + ky * dh
                    if iy < 0 || iy >= h {
                        d.initialize(repeating: 0, count: run)
                    } else {
                        let line = src + iy * w
                        let shift = kx * dw - pw
                        if sw == 1 {
                            // ix = ox + shift: zero before 0 and from w on, a straight copy between.
                            let lo = min(run, max(0, -(ox0 + shift)))
                            let hi = max(lo, min(run, w - (ox0 + shift)))
                            if lo > 0 { d.initialize(repeating: 0, count: lo) }
                            if hi > lo { (d + lo).update(from: line + ox0 + shift + lo, count: hi - lo) }
                            if run > hi { (d + hi).initialize(repeating: 0, count: run - hi) }
                        } else {
                            for j in 0..<run {
                                let ix = (ox0 + j) * sw + shift
                                d[j] = ix >= 0 && ix < w ? line[ix] : 0
                            }
                        }
                    }
                    p += run
                }
            }
        }
        BLAS.sgemm(m: cout, n: n, k: rows, a: weight, lda: rows, b: columns, ldb: n, beta: beta,
                   c: output + p0, ldc: positions)
        p0 += n
    }
}
