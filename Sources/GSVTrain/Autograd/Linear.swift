// Fully connected layers on the tape: `torch.nn.functional.linear` and its gradients.

import GSVTensor

extension Tape {
    /// `x · Wᵀ + b` over the last dimension of `x` (`weight` `[out, in]`, PyTorch layout).
    ///
    /// Backward: `dx = dy · W`, `dW = dyᵀ · x`, `db = Σ_rows dy` (three sgemm-sized products).
    public func linear(_ x: Var, weight w: Var, bias b: Var?) -> Var {
        let (outF, inF) = (w.shape[0], w.shape[1])
        precondition(x.shape.last == inF, "linear: input \(x.shape) vs weight \(w.shape)")
        let y = GSVTensor.linear(x.value, weight: w.value, bias: b?.value)
        let rows = x.value.count / max(1, inF)
        let needs = x.requiresGrad || w.requiresGrad || (b?.requiresGrad ?? false)
        return record(y, differentiable: needs) { g, t in
            g.scalars.withUnsafeBufferPointer { gp in
                guard let g0 = gp.baseAddress, rows > 0 else { return }
                if x.requiresGrad {
                    var dx = [Float](repeating: 0, count: rows * inF)
                    w.value.scalars.withUnsafeBufferPointer { wp in
                        dx.withUnsafeMutableBufferPointer { dp in
                            BLAS.sgemm(m: rows, n: inF, k: outF, a: g0, lda: outF, b: wp.baseAddress!, ldb: inF,
                                       c: dp.baseAddress!, ldc: inF)
                        }
                    }
                    t.accumulate(x, Tensor(shape: x.shape, scalars: dx))
                }
                if w.requiresGrad {
                    var dw = [Float](repeating: 0, count: outF * inF)
                    x.value.scalars.withUnsafeBufferPointer { xp in
                        dw.withUnsafeMutableBufferPointer { dp in
                            BLAS.sgemm(transA: true, m: outF, n: inF, k: rows, a: g0, lda: outF, b: xp.baseAddress!,
                                       ldb: inF, c: dp.baseAddress!, ldc: inF)
                        }
                    }
                    t.accumulate(w, Tensor(shape: w.shape, scalars: dw))
                }
                if let b, b.requiresGrad {
                    var db = [Double](repeating: 0, count: outF)
                    for r in 0..<rows { for j in 0..<outF { db[j] += Double(g0[r * outF + j]) } }
                    t.accumulate(b, Tensor(shape: [outF], scalars: db.map { Float($0) }))
                }
            }
        }
    }
}
