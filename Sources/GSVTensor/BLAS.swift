// The ONLY file that chooses the BLAS implementation: Accelerate on Apple platforms,
// OpenBLAS (through the CBLAS system-library target) everywhere else.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import Foundation
import GSVKernels
#if canImport(Glibc)
import Glibc
#endif
#endif

/// Thin, typed wrappers over the CBLAS routines the tensor core uses.
public enum BLAS {
    /// Row-major single-precision GEMM: `C = alpha * op(A) * op(B) + beta * C`.
    ///
    /// `A` is `m×k` after `op`, `B` is `k×n` after `op`, `C` is `m×n`; leading dimensions are in
    /// elements of the stored (untransposed) matrices.
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
        _ = configured
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row-major single-precision GEMV: `y = alpha * op(A) * x + beta * y`, `A` stored `m×n`.
    public static func sgemv(
        trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        _ = configured
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// True once the process's BLAS is set up: the first use picks OpenBLAS's kernels
    /// (``kernelDescription``) before any product runs. Accelerate needs nothing.
    static let configured: Bool = {
        #if !canImport(Accelerate)
        _ = kernelSelection
        #endif
        return true
    }()

    /// The BLAS kernels in use and how they were chosen, e.g. `OpenBLAS SkylakeX (chosen for
    /// AVX-512; OpenBLAS detected Prescott)`, `OpenBLAS Haswell`, `Accelerate`.
    public static var kernelDescription: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return kernelSelection
        #endif
    }

    #if !canImport(Accelerate)
    /// OpenBLAS built with `DYNAMIC_ARCH` (Debian's) picks its kernels from the CPU model at load
    /// time, and versions older than the CPU fall back to generic ones: OpenBLAS 0.3.21 runs its
    /// SSE3 `Prescott` kernels on Sapphire/Emerald Rapids (sgemm 25 vs 100 GFLOP/s per core with
    /// `SkylakeX`) and `Zen` (AVX2) kernels on AVX-512 Zen 4. Unless `OPENBLAS_CORETYPE` is set,
    /// this picks the kernel family from the CPU's features instead — `SkylakeX` with
    /// AVX-512 F/BW/DQ/VL, `Haswell` with AVX2 + FMA — and re-runs OpenBLAS's own kernel set-up
    /// (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, looked up at run time, so a build without
    /// them is left alone), before the first BLAS call of the process.
    private static let kernelSelection: String = {
        let detected = coreName()
        if let forced = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }), !forced.isEmpty {
            return "OpenBLAS \(detected) (OPENBLAS_CORETYPE=\(forced))"
        }
        let level = Int(gsv_cpu_simd_level())
        let avx512 = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2 = avx512 + ["haswell", "zen"]
        let wanted: String
        switch level {
        case 2 where !avx512.contains(detected.lowercased()): wanted = "SkylakeX"
        case 1 where !avx2.contains(detected.lowercased()): wanted = "Haswell"
        default: return "OpenBLAS \(detected)"
        }
        guard let quit = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initialise = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init") else {
            return "OpenBLAS \(detected) (no DYNAMIC_ARCH kernel selection)"
        }
        typealias Call = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quit, to: Call.self)()
        unsafeBitCast(initialise, to: Call.self)()
        unsetenv("OPENBLAS_CORETYPE")
        let now = coreName()
        let reason = level == 2 ? "AVX-512" : "AVX2+FMA"
        return now.lowercased() == wanted.lowercased()
            ? "OpenBLAS \(now) (chosen for \(reason); OpenBLAS detected \(detected))"
            : "OpenBLAS \(now) (asked for \(wanted) for \(reason); OpenBLAS detected \(detected))"
    }()

    private static func coreName() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    #endif
}
