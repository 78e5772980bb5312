/// `x · Wᵀ + b` over the last dimension of `x`, with `weight` in PyTorch `[out, in]` layout.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let inF = weight.shape[1], outF = weight.shape[0]
    if let b = bias { precondition(b.shape == [outF], "linear: bias \(b.shape) != [\(outF)]") }
    precondition(x.shape.last == inF, "linear: input last dim \(x.shape) != weight in-features \(inF)")
    let rows = x.count / max(inF, 1)
    var outShape = x.shape
    outShape[outShape.count - 1] = outF
    var out = [Float](repeating: 0, count: rows * outF)
    if let b = bias {
        b.scalars.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                for r in 0..<rows { for j in 0..<outF { op[r * outF + j] = bp[j] } }
            }
        }
    }
    x.scalars.withUnsafeBufferPointer { xp in
        weight.scalars.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                // Empty operands (no rows, or zero features) leave `out` as the bias / zeros.
                guard let x0 = xp.baseAddress, let w0 = wp.baseAddress, let o0 = op.baseAddress else { return }
                BLAS.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF,
                           a: x0, lda: inF, b: w0, ldb: inF,
                           beta: bias == nil ? 0 : 1, c: o0, ldc: outF)
            }
        }
    }
    return Tensor(shape: outShape, scalars: out)
}

/// Matrix product with PyTorch `torch.matmul` semantics: 1-D operands are promoted (and the added
/// dimension removed afterwards), leading batch dimensions broadcast, and each batch entry is one
/// BLAS `sgemm`.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank >= 1 && b.rank >= 1, "matmul of a 0-d tensor: \(a.shape) × \(b.shape)")
    let A = a.rank == 1 ? a.reshaped([1, a.count]) : a
    let B = b.rank == 1 ? b.reshaped([b.count, 1]) : b
    let m = A.shape[A.rank - 2], k = A.shape[A.rank - 1]
    let k2 = B.shape[B.rank - 2], n = B.shape[B.rank - 1]
    precondition(k == k2, "matmul: inner dimensions differ, \(a.shape) × \(b.shape)")
    let batchA = Array(A.shape.dropLast(2)), batchB = Array(B.shape.dropLast(2))
    guard let batch = Broadcast.shape(batchA, batchB) else {
        preconditionFailure("matmul: batch dimensions do not broadcast, \(a.shape) × \(b.shape)")
    }
    let batchCount = batch.reduce(1, *)
    var outShape = batch + [m, n]
    var out = [Float](repeating: 0, count: batchCount * m * n)
    let sa = Broadcast.strides(of: batchA, broadcastTo: batch)
    let sb = Broadcast.strides(of: batchB, broadcastTo: batch)
    A.scalars.withUnsafeBufferPointer { ap in
        B.scalars.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                guard let a0 = ap.baseAddress, let b0 = bp.baseAddress, let o0 = op.baseAddress, k > 0 else { return }
                if sb.allSatisfy({ $0 == 0 }) && batchA == batch {
                    // B is shared by every batch entry and A is contiguous: one tall GEMM.
                    BLAS.sgemm(m: batchCount * m, n: n, k: k, a: a0, lda: k, b: b0, ldb: n, c: o0, ldc: n)
                    return
                }
                let batchStrides = Tensor.strides(for: batch)
                for t in 0..<batchCount {
                    var rem = t, offA = 0, offB = 0
                    for d in 0..<batch.count {
                        let i = rem / batchStrides[d]
                        rem -= i * batchStrides[d]
                        offA += i * sa[d]
                        offB += i * sb[d]
                    }
                    BLAS.sgemm(m: m, n: n, k: k, a: a0 + offA * m * k, lda: k, b: b0 + offB * k * n, ldb: n,
                               c: o0 + t * m * n, ldc: n)
                }
            }
        }
    }
    if b.rank == 1 { outShape.removeLast() }
    if a.rank == 1 { outShape.remove(at: outShape.count - (b.rank == 1 ? 1 : 2)) }
    return Tensor(shape: outShape, scalars: out)
}
