/// `x · Wᵀ + b` over the last dimension of `x`, with `weight` in PyTorch `[out, in]` layout.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let inF = weight.shape[1], outF = weight.shape[0]
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
                BLAS.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF,
                           a: xp.baseAddress!, lda: inF, b: wp.baseAddress!, ldb: inF,
                           beta: bias == nil ? 0 : 1, c: op.baseAddress!, ldc: outF)
            }
        }
    }
    return Tensor(shape: outShape, scalars: out)
}
