// The ONLY file that chooses the BLAS implementation: Accelerate on Apple platforms,
// OpenBLAS (through the CBLAS system-library target) everywhere else.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Thin, typed wrappers over the CBLAS routines the tensor core uses.
public enum BLAS {
    /// Row-major single-precision GEMM: `C = alpha * op(A) * op(B) + beta * C`.
    ///
    /// `A` is `m×k` after `op`, `B` is `k×n` after `op`, `C` is `m×n`; leading dimensions are in
    /// elements of the stored (untransposed) matrices.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C scaled by beta; do it explicitly for clarity.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row-major single-precision GEMV: `y = alpha * op(A) * x + beta * y`, `A` stored `m×n`.
    @inline(__always)
    public static func sgemv(
        trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads BLAS may use (OpenBLAS only; Accelerate manages its own).
    public static func setThreadCount(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, n)))
        #endif
    }
}
