// Layer normalisation on the tape (`F.layer_norm` over the last dimension, and the channel-first
// `modules.LayerNorm` of SoVITS over dimension 1), with its gradient:
// `dx = r/n · (n·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂))`, `dx̂ = dy·γ`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.

import GSVTensor

extension Tape {
    /// Layer norm of `x` over dimension `axis` (statistics in Double, biased variance, as torch).
    public func layerNorm(_ x: Var, weight w: Var, bias b: Var, axis: Int, eps: Float = 1e-5) -> Var {
        let ax = x.value.axis(axis)
        let shape = x.shape
        let n = shape[ax]
        let inner = shape[(ax + 1)...].reduce(1, *)
        let outer = shape[..<ax].reduce(1, *)
        precondition(w.shape == [n] && b.shape == [n], "layerNorm: weight \(w.shape), bias \(b.shape) for \(shape) axis \(ax)")
        let groups = outer * inner
        var xhat = [Float](repeating: 0, count: x.value.count)
        var rstd = [Float](repeating: 0, count: groups)
        var out = [Float](repeating: 0, count: x.value.count)
        x.value.scalars.withUnsafeBufferPointer { xp in
            w.value.scalars.withUnsafeBufferPointer { wp in
                b.value.scalars.withUnsafeBufferPointer { bp in
                    xhat.withUnsafeMutableBufferPointer { hp in
                        out.withUnsafeMutableBufferPointer { op in
                            rstd.withUnsafeMutableBufferPointer { rp in
                                nonisolated(unsafe) let (xs, ws, bs, hs, os, rs) = (xp.baseAddress!, wp.baseAddress!, bp.baseAddress!,
                                                                                   hp.baseAddress!, op.baseAddress!, rp.baseAddress!)
                                Parallel.forRanges(outer, grain: max(1, 16_384 / max(1, n * inner))) { range in
                                    var mean = [Double](repeating: 0, count: inner), ss = mean
                                    for o in range {
                                        let base = o * n * inner
                                        for j in 0..<inner { mean[j] = 0; ss[j] = 0 }
                                        for c in 0..<n { for j in 0..<inner { mean[j] += Double(xs[base + c * inner + j]) } }
                                        for j in 0..<inner { mean[j] /= Double(n) }
                                        for c in 0..<n { for j in 0..<inner {
                                            let v = Double(xs[base + c * inner + j]) - mean[j]
                                            ss[j] += v * v
                                        } }
                                        for j in 0..<inner {
                                            rs[o * inner + j] = Float(1 / (ss[j] / Double(n) + Double(eps)).squareRoot())
                                        }
                                        for c in 0..<n {
                                            for j in 0..<inner {
                                                let i = base + c * inner + j
                                                let h = (xs[i] - Float(mean[j])) * rs[o * inner + j]
                                                hs[i] = h
                                                os[i] = h * ws[c] + bs[c]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let xh = Tensor(shape: shape, scalars: xhat)
        let invStd = rstd
        let needs = x.requiresGrad || w.requiresGrad || b.requiresGrad
        return record(Tensor(shape: shape, scalars: out), differentiable: needs) { g, t in
            var dx = [Float](repeating: 0, count: x.requiresGrad ? g.count : 0)
            var dw = [Double](repeating: 0, count: n), db = [Double](repeating: 0, count: n)
            g.scalars.withUnsafeBufferPointer { gp in
                xh.scalars.withUnsafeBufferPointer { hp in
                    w.value.scalars.withUnsafeBufferPointer { wp in
                        for o in 0..<outer {
                            let base = o * n * inner
                            for c in 0..<n {
                                var sw = 0.0, sb = 0.0
                                for j in 0..<inner {
                                    let i = base + c * inner + j
                                    sw += Double(gp[i] * hp[i])
                                    sb += Double(gp[i])
                                }
                                dw[c] += sw
                                db[c] += sb
                            }
                        }
                        guard x.requiresGrad else { return }
                        dx.withUnsafeMutableBufferPointer { dp in
                            nonisolated(unsafe) let (gs, hs, ws, ds) = (gp.baseAddress!, hp.baseAddress!, wp.baseAddress!, dp.baseAddress!)
                            Parallel.forRanges(outer, grain: max(1, 16_384 / max(1, n * inner))) { range in
                                var s1 = [Float](repeating: 0, count: inner), s2 = s1
                                for o in range {
                                    let base = o * n * inner
                                    for j in 0..<inner { s1[j] = 0; s2[j] = 0 }
                                    for c in 0..<n {
                                        let wc = ws[c]
                                        for j in 0..<inner {
                                            let i = base + c * inner + j
                                            let d = gs[i] * wc
                                            s1[j] += d
                                            s2[j] += d * hs[i]
                                        }
                                    }
                                    let invN = 1 / Float(n)
                                    for c in 0..<n {
                                        let wc = ws[c]
                                        for j in 0..<inner {
                                            let i = base + c * inner + j
                                            let d = gs[i] * wc
                                            ds[i] = invStd[o * inner + j] * invN * (Float(n) * d - s1[j] - hs[i] * s2[j])
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if x.requiresGrad { t.accumulate(x, Tensor(shape: shape, scalars: dx)) }
            t.accumulate(w, Tensor(shape: [n], scalars: dw.map { Float($0) }))
            t.accumulate(b, Tensor(shape: [n], scalars: db.map { Float($0) }))
        }
    }
}
