// Convolutions on the tape — `F.conv1d`, `F.conv_transpose1d`, `Conv2d` with `(k, 1)` kernels
// (the period discriminators) and legacy weight norm — with their gradients.
//
// Stride-1 convolutions run as one sgemm per kernel tap on shifted views of the zero-padded input
// (forward `y += W_k · x[k·d …]`, backward `dW_k = dy · x[k·d …]ᵀ`, `dx[k·d …] += W_kᵀ · dy`), so no
// im2col buffer is built; strided ones gather im2col columns per time chunk. Groups (the
// grouped discriminator convolutions) run in parallel, one group per task.

import GSVTensor

/// The geometry of one 1-D convolution.
struct ConvGeometry: Sendable {
    let batch: Int, cin: Int, t: Int
    let cout: Int, k: Int
    let stride: Int, padL: Int, padR: Int, dilation: Int, groups: Int
    var cg: Int { cin / groups }
    var coutG: Int { cout / groups }
    var tPadded: Int { t + padL + padR }
    var tOut: Int { (tPadded - dilation * (k - 1) - 1) / stride + 1 }
}

/// Floats of one im2col chunk (4 MiB).
private let columnBudget = 1 << 20

/// `W` `[Cout, Cg, K]` repacked per tap: `[K][Cout][Cg]`.
private func packTaps(_ w: UnsafePointer<Float>, cout: Int, cg: Int, k: Int) -> [Float] {
    var p = [Float](repeating: 0, count: cout * cg * k)
    for o in 0..<cout { for c in 0..<cg { for kk in 0..<k { p[(kk * cout + o) * cg + c] = w[(o * cg + c) * k + kk] } } }
    return p
}

/// The padded input of one (item, group): `[Cg, tPadded]`.
private func padGroup(_ x: UnsafePointer<Float>, _ geo: ConvGeometry, item n: Int, group g: Int,
                      into dst: UnsafeMutablePointer<Float>) {
    let (cg, t, tp) = (geo.cg, geo.t, geo.tPadded)
    for c in 0..<cg {
        let row = dst + c * tp
        row.update(repeating: 0, count: geo.padL)
        row.advanced(by: geo.padL).update(from: x + (n * geo.cin + g * cg + c) * t, count: t)
        row.advanced(by: geo.padL + t).update(repeating: 0, count: geo.padR)
    }
}

/// im2col rows `[Cg·K, tc]` for output columns `j0 ..< j0+tc` from the padded input `[Cg, tPadded]`.
private func gatherColumns(_ xp: UnsafePointer<Float>, _ geo: ConvGeometry, j0: Int, tc: Int,
                           into col: UnsafeMutablePointer<Float>) {
    let (k, tp) = (geo.k, geo.tPadded)
    for c in 0..<geo.cg { for kk in 0..<k {
        let dst = col + (c * k + kk) * tc
        let src = xp + c * tp + kk * geo.dilation
        for j in 0..<tc { dst[j] = src[(j0 + j) * geo.stride] }
    } }
}

/// Adds im2col rows back into the padded input gradient (the adjoint of ``gatherColumns``).
private func scatterColumns(_ col: UnsafePointer<Float>, _ geo: ConvGeometry, j0: Int, tc: Int,
                            into dxp: UnsafeMutablePointer<Float>) {
    let (k, tp) = (geo.k, geo.tPadded)
    for c in 0..<geo.cg { for kk in 0..<k {
        let src = col + (c * k + kk) * tc
        let dst = dxp + c * tp + kk * geo.dilation
        for j in 0..<tc { dst[(j0 + j) * geo.stride] += src[j] }
    } }
}

/// `[B, C, T]` filled with `bias[c]` (or zeros).
private func biasFilled(_ bias: Tensor?, batch: Int, channels: Int, length: Int) -> [Float] {
    var out = [Float](repeating: 0, count: batch * channels * length)
    guard let bias else { return out }
    for n in 0..<batch { for c in 0..<channels {
        let v = bias.scalars[c]
        for j in 0..<length { out[(n * channels + c) * length + j] = v }
    } }
    return out
}

/// The bias gradient of a `[B, C, T]` output gradient: `Σ_{n,t} dy[n, c, t]` (Double accumulation).
private func biasGradient(_ dy: Tensor) -> Tensor {
    let (batch, channels, length) = (dy.shape[0], dy.shape[1], dy.shape[2])
    var acc = [Double](repeating: 0, count: channels)
    dy.scalars.withUnsafeBufferPointer { gp in
        for n in 0..<batch { for c in 0..<channels {
            var s = 0.0
            let row = (n * channels + c) * length
            for j in 0..<length { s += Double(gp[row + j]) }
            acc[c] += s
        } }
    }
    return Tensor(shape: [channels], scalars: acc.map { Float($0) })
}

/// Forward convolution, `[B, Cin, T] → [B, Cout, Tout]`.
func conv1dForward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry) -> Tensor {
    let (cout, tOut, coutG, cg, k, tp) = (geo.cout, geo.tOut, geo.coutG, geo.cg, geo.k, geo.tPadded)
    var out = biasFilled(b, batch: geo.batch, channels: cout, length: tOut)
    let packed = geo.stride == 1 ? w.scalars.withUnsafeBufferPointer { packTaps($0.baseAddress!, cout: cout, cg: cg, k: k) } : []
    x.scalars.withUnsafeBufferPointer { xb in
        w.scalars.withUnsafeBufferPointer { wb in
            packed.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { ob in
                    guard let x0 = xb.baseAddress, let w0 = wb.baseAddress, let o0 = ob.baseAddress else { return }
                    nonisolated(unsafe) let (xs, ws, os, ps) = (x0, w0, o0, pb.baseAddress)
                    let parallelGroups = geo.groups > 1
                    for n in 0..<geo.batch {
                        let body: (Int) -> Void = { g in
                            let pad = UnsafeMutablePointer<Float>.allocate(capacity: cg * tp)
                            defer { pad.deallocate() }
                            padGroup(xs, geo, item: n, group: g, into: pad)
                            let y = os + (n * cout + g * coutG) * tOut
                            if geo.stride == 1, let ps {
                                for kk in 0..<k {
                                    let a = ps + (kk * cout + g * coutG) * cg
                                    if parallelGroups {
                                        BLAS.sgemmSerial(m: coutG, n: tOut, k: cg, a: a, lda: cg, b: pad + kk * geo.dilation,
                                                         ldb: tp, beta: 1, c: y, ldc: tOut)
                                    } else {
                                        BLAS.sgemm(m: coutG, n: tOut, k: cg, a: a, lda: cg, b: pad + kk * geo.dilation,
                                                   ldb: tp, beta: 1, c: y, ldc: tOut)
                                    }
                                }
                                return
                            }
                            let rows = cg * k
                            let chunk = max(1, min(tOut, columnBudget / max(rows, 1)))
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * chunk)
                            defer { col.deallocate() }
                            var j0 = 0
                            while j0 < tOut {
                                let tc = min(chunk, tOut - j0)
                                gatherColumns(pad, geo, j0: j0, tc: tc, into: col)
                                if parallelGroups {
                                    BLAS.sgemmSerial(m: coutG, n: tc, k: rows, a: ws + g * coutG * rows, lda: rows, b: col,
                                                     ldb: tc, beta: 1, c: y + j0, ldc: tOut)
                                } else {
                                    BLAS.sgemm(m: coutG, n: tc, k: rows, a: ws + g * coutG * rows, lda: rows, b: col,
                                               ldb: tc, beta: 1, c: y + j0, ldc: tOut)
                                }
                                j0 += tc
                            }
                        }
                        if parallelGroups { Parallel.forEach(geo.groups) { body($0) } } else { body(0) }
                    }
                }
            }
        }
    }
    return Tensor(shape: [geo.batch, cout, tOut], scalars: out)
}

/// Gradients of ``conv1dForward``: input (if `needX`), weight (if `needW`), bias (if `needB`).
func conv1dBackward(_ dy: Tensor, _ x: Tensor, _ w: Tensor, _ geo: ConvGeometry,
                    needX: Bool, needW: Bool, needB: Bool) -> (dx: Tensor?, dw: Tensor?, db: Tensor?) {
    let (cout, tOut, coutG, cg, k, tp, t) = (geo.cout, geo.tOut, geo.coutG, geo.cg, geo.k, geo.tPadded, geo.t)
    var dx = [Float](repeating: 0, count: needX ? geo.batch * geo.cin * t : 0)
    // dW accumulates per tap in the packed layout for stride 1, in PyTorch layout otherwise.
    var dw = [Float](repeating: 0, count: needW ? w.count : 0)
    let packed = needX && geo.stride == 1 ? w.scalars.withUnsafeBufferPointer { packTaps($0.baseAddress!, cout: cout, cg: cg, k: k) } : []
    dy.scalars.withUnsafeBufferPointer { gb in
    x.scalars.withUnsafeBufferPointer { xb in
    w.scalars.withUnsafeBufferPointer { wb in
    packed.withUnsafeBufferPointer { pb in
    dx.withUnsafeMutableBufferPointer { dxb in
    dw.withUnsafeMutableBufferPointer { dwb in
        guard let g0 = gb.baseAddress, let x0 = xb.baseAddress, let w0 = wb.baseAddress else { return }
        nonisolated(unsafe) let (gs, xs, ws, ps, dxs, dws) = (g0, x0, w0, pb.baseAddress, dxb.baseAddress, dwb.baseAddress)
        let parallelGroups = geo.groups > 1
        // Short items (the period discriminators: B·period items of a few frames each) take dW in
        // one gemm per (group, tap) over the whole batch; long ones per item (no copies).
        let batchedW = geo.stride == 1 && needW && tOut < cg
        func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, kk: Int, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            if parallelGroups {
                BLAS.sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: kk, a: a, lda: lda, b: b, ldb: ldb,
                                 beta: beta, c: c, ldc: ldc)
            } else {
                BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: kk, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                           c: c, ldc: ldc)
            }
        }
        for n in 0..<geo.batch {
            let body: (Int) -> Void = { g in
                let pad = UnsafeMutablePointer<Float>.allocate(capacity: cg * tp)
                let dpad = UnsafeMutablePointer<Float>.allocate(capacity: needX ? cg * tp : 1)
                defer { pad.deallocate(); dpad.deallocate() }
                padGroup(xs, geo, item: n, group: g, into: pad)
                if needX { dpad.update(repeating: 0, count: cg * tp) }
                let gy = gs + (n * cout + g * coutG) * tOut
                if geo.stride == 1 {
                    for kk in 0..<k {
                        if needW, !batchedW, let dws {
                            // dW_k[o, c] += Σ_j dy[o, j] · xpad[c, j + k·d]
                            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: coutG * cg)
                            defer { tmp.deallocate() }
                            gemm(transB: true, m: coutG, n: cg, kk: tOut, a: gy, lda: tOut, b: pad + kk * geo.dilation,
                                 ldb: tp, beta: 0, c: tmp, ldc: cg)
                            for o in 0..<coutG { for c in 0..<cg {
                                dws[((g * coutG + o) * cg + c) * k + kk] += tmp[o * cg + c]
                            } }
                        }
                        if needX, let ps {
                            gemm(transA: true, m: cg, n: tOut, kk: coutG, a: ps + (kk * cout + g * coutG) * cg, lda: cg,
                                 b: gy, ldb: tOut, beta: 1, c: dpad + kk * geo.dilation, ldc: tp)
                        }
                    }
                } else {
                    let rows = cg * k
                    let chunk = max(1, min(tOut, columnBudget / max(rows, 1)))
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * chunk)
                    let dcol = UnsafeMutablePointer<Float>.allocate(capacity: needX ? rows * chunk : 1)
                    defer { col.deallocate(); dcol.deallocate() }
                    var j0 = 0
                    while j0 < tOut {
                        let tc = min(chunk, tOut - j0)
                        if needW, let dws {
                            gatherColumns(pad, geo, j0: j0, tc: tc, into: col)
                            gemm(transB: true, m: coutG, n: rows, kk: tc, a: gy + j0, lda: tOut, b: col, ldb: tc, beta: 1,
                                 c: dws + g * coutG * rows, ldc: rows)
                        }
                        if needX {
                            gemm(transA: true, m: rows, n: tc, kk: coutG, a: ws + g * coutG * rows, lda: rows, b: gy + j0,
                                 ldb: tOut, beta: 0, c: dcol, ldc: tc)
                            scatterColumns(dcol, geo, j0: j0, tc: tc, into: dpad)
                        }
                        j0 += tc
                    }
                }
                if needX, let dxs {
                    for c in 0..<cg {
                        let dst = dxs + (n * geo.cin + g * cg + c) * t
                        let src = dpad + c * tp + geo.padL
                        for j in 0..<t { dst[j] += src[j] }
                    }
                }
            }
            if parallelGroups { Parallel.forEach(geo.groups) { body($0) } } else { body(0) }
        }
        if batchedW, let dws {
            // dW_k[o, c] = Σ_n Σ_j dy[n, o, j] · xpad[n, c, j + k·d]: the items side by side along j
            // (K = B·Tout), so each (group, tap) is one gemm and one scatter into the PyTorch layout,
            // not one per item (the period discriminators run B·period short items).
            let span = geo.batch * tOut
            let wBody: (Int) -> Void = { g in
                let dyg = UnsafeMutablePointer<Float>.allocate(capacity: coutG * span)
                let xk = UnsafeMutablePointer<Float>.allocate(capacity: cg * span)
                let pad = UnsafeMutablePointer<Float>.allocate(capacity: cg * tp)
                let tmp = UnsafeMutablePointer<Float>.allocate(capacity: coutG * cg)
                defer { dyg.deallocate(); xk.deallocate(); pad.deallocate(); tmp.deallocate() }
                for n in 0..<geo.batch { for o in 0..<coutG {
                    (dyg + o * span + n * tOut).update(from: gs + (n * cout + g * coutG + o) * tOut, count: tOut)
                } }
                for kk in 0..<k {
                    for n in 0..<geo.batch {
                        padGroup(xs, geo, item: n, group: g, into: pad)
                        for c in 0..<cg { (xk + c * span + n * tOut).update(from: pad + c * tp + kk * geo.dilation, count: tOut) }
                    }
                    gemm(transB: true, m: coutG, n: cg, kk: span, a: dyg, lda: span, b: xk, ldb: span, beta: 0, c: tmp, ldc: cg)
                    for o in 0..<coutG { for c in 0..<cg {
                        dws[((g * coutG + o) * cg + c) * k + kk] += tmp[o * cg + c]
                    } }
                }
            }
            if parallelGroups { Parallel.forEach(geo.groups) { wBody($0) } } else { wBody(0) }
        }
    }}}}}}
    let db = needB ? biasGradient(dy) : nil
    return (needX ? Tensor(shape: x.shape, scalars: dx) : nil, needW ? Tensor(shape: w.shape, scalars: dw) : nil, db)
}

extension Tape {
    /// `F.conv1d(x, w, b, stride, padding, dilation, groups)` on `[B, Cin, T]`; `padding` is
    /// `(left, right)` (`F.pad` then conv).
    public func conv1d(_ x: Var, weight w: Var, bias b: Var?, stride: Int = 1, padding: (Int, Int) = (0, 0),
                       dilation: Int = 1, groups: Int = 1) -> Var {
        precondition(x.value.rank == 3 && w.value.rank == 3, "conv1d: input \(x.shape), weight \(w.shape)")
        let geo = ConvGeometry(batch: x.shape[0], cin: x.shape[1], t: x.shape[2], cout: w.shape[0], k: w.shape[2],
                               stride: stride, padL: padding.0, padR: padding.1, dilation: dilation, groups: groups)
        precondition(geo.cin % groups == 0 && geo.cout % groups == 0 && w.shape[1] == geo.cg,
                     "conv1d: input \(x.shape), weight \(w.shape), groups \(groups)")
        precondition(geo.tPadded >= dilation * (geo.k - 1) + 1, "conv1d: input \(x.shape) shorter than the kernel span")
        let y = conv1dForward(x.value, w.value, b?.value, geo)
        let needs = x.requiresGrad || w.requiresGrad || (b?.requiresGrad ?? false)
        return record(y, differentiable: needs, label: "conv1d \(geo.cin)→\(geo.cout) k\(geo.k)"
                      + (stride > 1 ? " s\(stride)" : "") + (groups > 1 ? " g\(groups)" : "")) { g, t in
            let (dx, dw, db) = conv1dBackward(g, x.value, w.value, geo, needX: x.requiresGrad, needW: w.requiresGrad,
                                              needB: b?.requiresGrad ?? false)
            if let dx { t.accumulate(x, dx) }
            if let dw { t.accumulate(w, dw) }
            if let b, let db { t.accumulate(b, db) }
        }
    }

    /// `Conv2d` with a `(K, 1)` kernel, stride `(s, 1)` and padding `(p, 0)` on `[B, C, H, W]`: every
    /// column `W` is an independent 1-D convolution along `H` (the period discriminators).
    /// `weight` is `[Cout, Cin, K, 1]`.
    public func conv2dColumns(_ x: Var, weight w: Var, bias b: Var?, stride: Int, padding: Int) -> Var {
        precondition(x.value.rank == 4 && w.value.rank == 4 && w.shape[3] == 1, "conv2dColumns: \(x.shape), \(w.shape)")
        let (bsz, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cols = permute(x, [0, 3, 1, 2])                                  // [B, W, C, H]
        let flat = reshape(cols, [bsz * wd, c, h])
        let w3 = reshape(w, [w.shape[0], w.shape[1], w.shape[2]])
        let y = conv1d(flat, weight: w3, bias: b, stride: stride, padding: (padding, padding))
        let ho = y.shape[2]
        return permute(reshape(y, [bsz, wd, w.shape[0], ho]), [0, 2, 3, 1])   // [B, Cout, Ho, W]
    }

    /// `F.conv_transpose1d(x, w, b, stride, padding)` on `[B, Cin, T]` (`w` `[Cin, Cout, K]`,
    /// groups 1, dilation 1, output padding 0).
    public func convTranspose1d(_ x: Var, weight w: Var, bias b: Var?, stride s: Int, padding p: Int) -> Var {
        precondition(x.value.rank == 3 && w.value.rank == 3 && x.shape[1] == w.shape[0],
                     "convTranspose1d: input \(x.shape), weight \(w.shape)")
        let (bsz, cin, tIn) = (x.shape[0], x.shape[1], x.shape[2])
        let (cout, k) = (w.shape[1], w.shape[2])
        let tOut = (tIn - 1) * s - 2 * p + k
        precondition(tOut > 0, "convTranspose1d: output length \(tOut)")
        let rows = cout * k
        var out = biasFilled(b?.value, batch: bsz, channels: cout, length: tOut)
        var col = [Float](repeating: 0, count: rows * tIn)
        x.value.scalars.withUnsafeBufferPointer { xb in
            w.value.scalars.withUnsafeBufferPointer { wb in
                col.withUnsafeMutableBufferPointer { cb in
                    out.withUnsafeMutableBufferPointer { ob in
                        guard let x0 = xb.baseAddress, let w0 = wb.baseAddress, let c0 = cb.baseAddress,
                              let o0 = ob.baseAddress else { return }
                        nonisolated(unsafe) let (cs, os) = (c0, o0)
                        for n in 0..<bsz {
                            // col[Cout·K, T] = Wᵀ · x
                            BLAS.sgemm(transA: true, m: rows, n: tIn, k: cin, a: w0, lda: rows, b: x0 + n * cin * tIn,
                                       ldb: tIn, c: c0, ldc: tIn)
                            Parallel.forRanges(cout, grain: max(1, 8192 / max(1, k * tIn))) { r in
                                for co in r {
                                    let dst = os + (n * cout + co) * tOut
                                    for kk in 0..<k {
                                        let src = cs + (co * k + kk) * tIn
                                        for j in 0..<tIn {
                                            let i = j * s + kk - p
                                            if i >= 0 && i < tOut { dst[i] += src[j] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let y = Tensor(shape: [bsz, cout, tOut], scalars: out)
        let needs = x.requiresGrad || w.requiresGrad || (b?.requiresGrad ?? false)
        return record(y, differentiable: needs, label: "convTranspose1d \(cin)→\(cout) k\(k)") { g, t in
            var dx = [Float](repeating: 0, count: x.requiresGrad ? x.value.count : 0)
            var dw = [Float](repeating: 0, count: w.requiresGrad ? w.value.count : 0)
            var dcol = [Float](repeating: 0, count: rows * tIn)
            g.scalars.withUnsafeBufferPointer { gb in
            x.value.scalars.withUnsafeBufferPointer { xb in
            w.value.scalars.withUnsafeBufferPointer { wb in
            dcol.withUnsafeMutableBufferPointer { db in
            dx.withUnsafeMutableBufferPointer { dxb in
            dw.withUnsafeMutableBufferPointer { dwb in
                guard let g0 = gb.baseAddress, let x0 = xb.baseAddress, let w0 = wb.baseAddress,
                      let d0 = db.baseAddress else { return }
                nonisolated(unsafe) let (gs, ds) = (g0, d0)
                for n in 0..<bsz {
                    // dcol[co·K + k, j] = dy[co, j·s + k − p]
                    Parallel.forRanges(cout, grain: max(1, 8192 / max(1, k * tIn))) { r in
                        for co in r {
                            let src = gs + (n * cout + co) * tOut
                            for kk in 0..<k {
                                let dst = ds + (co * k + kk) * tIn
                                for j in 0..<tIn {
                                    let i = j * s + kk - p
                                    dst[j] = (i >= 0 && i < tOut) ? src[i] : 0
                                }
                            }
                        }
                    }
                    if let dxp = dxb.baseAddress {
                        BLAS.sgemm(m: cin, n: tIn, k: rows, a: w0, lda: rows, b: d0, ldb: tIn,
                                   c: dxp + n * cin * tIn, ldc: tIn)
                    }
                    if let dwp = dwb.baseAddress {
                        BLAS.sgemm(transB: true, m: cin, n: rows, k: tIn, a: x0 + n * cin * tIn, lda: tIn, b: d0, ldb: tIn,
                                   beta: 1, c: dwp, ldc: rows)
                    }
                }
            }}}}}}
            if x.requiresGrad { t.accumulate(x, Tensor(shape: x.shape, scalars: dx)) }
            if w.requiresGrad { t.accumulate(w, Tensor(shape: w.shape, scalars: dw)) }
            if let b, b.requiresGrad { t.accumulate(b, biasGradient(g)) }
        }
    }

    /// Legacy weight norm, `w = g · v / ‖v‖` with the norm over every dimension but 0
    /// (`torch.nn.utils.weight_norm(dim=0)`; `g` is `[C0, 1, …]`).
    ///
    /// Backward: `dg = (dw·v)/‖v‖`, `dv = (g/‖v‖)·dw − g·(dw·v)/‖v‖³·v`, per slice of dim 0.
    public func weightNorm(g: Var, v: Var) -> Var {
        let c0 = v.shape[0]
        precondition(g.value.count == c0, "weightNorm: g \(g.shape) for v \(v.shape)")
        let per = v.value.count / max(1, c0)
        var norms = [Float](repeating: 0, count: c0)
        var w = [Float](repeating: 0, count: v.value.count)
        v.value.scalars.withUnsafeBufferPointer { vp in
            for i in 0..<c0 {
                var s: Float = 0
                for j in 0..<per { let e = vp[i * per + j]; s += e * e }
                norms[i] = s.squareRoot()
                let f = g.value.scalars[i] / norms[i]
                for j in 0..<per { w[i * per + j] = vp[i * per + j] * f }
            }
        }
        let y = Tensor(shape: v.shape, scalars: w)
        return record(y, differentiable: g.requiresGrad || v.requiresGrad) { dw, t in
            var dg = [Float](repeating: 0, count: c0)
            var dv = [Float](repeating: 0, count: v.value.count)
            let vs = v.value.scalars, gs = g.value.scalars, ds = dw.scalars
            for i in 0..<c0 {
                var dot: Float = 0
                for j in 0..<per { dot += ds[i * per + j] * vs[i * per + j] }
                let n = norms[i]
                dg[i] = dot / n
                let a = gs[i] / n, bcoef = gs[i] * dot / (n * n * n)
                for j in 0..<per { dv[i * per + j] = a * ds[i * per + j] - bcoef * vs[i * per + j] }
            }
            t.accumulate(g, Tensor(shape: g.shape, scalars: dg))
            t.accumulate(v, Tensor(shape: v.shape, scalars: dv))
        }
    }
}
