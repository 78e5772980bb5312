// The ONLY file that chooses the BLAS implementation: Accelerate on Apple platforms,
// OpenBLAS (through the CBLAS system-library target) everywhere else.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import Foundation
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
        guard splitsProducts, m * n * k >= splitWork, Parallel.threadCount > 1 else {
            rawSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // One block of C per thread (columns in multiples of 16, rows in multiples of 4, so each
        // block keeps the full-width kernels busy), on the same threads as every other kernel.
        if n >= m {
            Parallel.forRanges((n + 15) / 16, grain: max(1, splitWork / max(1, m * k * 16))) { r in
                let j0 = r.lowerBound * 16, nj = min(n, r.upperBound * 16) - j0
                rawSgemm(transA, transB, m, nj, k, alpha, a, lda, transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc)
            }
        } else {
            Parallel.forRanges((m + 3) / 4, grain: max(1, splitWork / max(1, n * k * 4))) { r in
                let i0 = r.lowerBound * 4, mi = min(m, r.upperBound * 4) - i0
                rawSgemm(transA, transB, mi, n, k, alpha, transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta,
                         c + i0 * ldc, ldc)
            }
        }
    }

    /// ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` on the calling thread only, for
    /// callers that already run one piece of work per thread.
    public static func sgemmSerial(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        _ = splitsProducts
        rawSgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
    }

    /// Multiply–adds from which ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` splits
    /// its work over threads (about 0.1 ms of one core).
    static let splitWork = 1 << 20

    @inline(__always)
    private static func rawSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                                 _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                 _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row-major single-precision GEMV: `y = alpha * op(A) * x + beta * y`, `A` stored `m×n`.
    public static func sgemv(
        trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        _ = splitsProducts
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Whether large products are split over ``Parallel`` here, with OpenBLAS itself single-threaded
    /// (set up on first use, after its kernels are chosen, ``kernelDescription``). OpenBLAS's idle
    /// worker threads spin in `sched_yield` for a long while after every threaded call and take the
    /// cores from the convolution and decode kernels that follow (≈ 12 % of the SoVITS decode's
    /// samples in `perf`); one set of threads avoids that. `GSV_BLAS_THREADS=openblas` keeps
    /// OpenBLAS's own threading instead. Accelerate manages its own threads and is called as is.
    static let splitsProducts: Bool = {
        #if canImport(Accelerate)
        return false
        #else
        _ = kernelSelection
        if Tuning.blasOwnThreads { return false }
        openblas_set_num_threads(1)
        return true
        #endif
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
    /// AVX-512 F/BW/DQ/VL, `Haswell` with AVX2 + FMA, or when `GSV_CPU_LEVEL` caps the level there
    /// (``Tuning/cpuLevel``) — and re-runs OpenBLAS's own kernel set-up
    /// (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, looked up at run time, so a build without
    /// them is left alone), before the first BLAS call of the process.
    private static let kernelSelection: String = {
        let detected = coreName()
        if let forced = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }), !forced.isEmpty {
            return "OpenBLAS \(detected) (OPENBLAS_CORETYPE=\(forced))"
        }
        let level = Tuning.cpuLevel
        let avx512 = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2 = avx512 + ["haswell", "zen"]
        let wanted: String
        switch level {
        case .wide where !avx512.contains(detected.lowercased()): wanted = "SkylakeX"
        case .simd where !avx2.contains(detected.lowercased()) || (Tuning.cpuLevel < .best && avx512.contains(detected.lowercased())):
            wanted = "Haswell"
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
        let reason = level == .wide ? "AVX-512" : level == KernelLevel.best ? "AVX2+FMA" : "AVX2+FMA, GSV_CPU_LEVEL"
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
