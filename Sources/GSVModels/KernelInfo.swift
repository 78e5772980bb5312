import GSVKernels
import GSVTensor

/// What the hand-written kernels run on this CPU (reported by `gpt-sovits bench`).
public enum KernelInfo {
    /// The CPU, the vector features the probe found, its best kernel level and the threads used,
    /// e.g. `AMD EPYC 9R14 (avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl; best level
    /// AVX-512); 2 threads (affinity 2, no cgroup quota)`.
    public static var cpu: String {
        let features = CPUInfo.features.isEmpty ? "no vector features found" : CPUInfo.features.joined(separator: " ")
        return "\(CPUInfo.model) (\(features); best level \(KernelLevel.best)); "
            + "\(Parallel.threadCount) threads (\(CPUInfo.coresDescription))"
    }

    /// The level of every kernel family and the tuning variables set, e.g. `fp16 matrices AVX-512,
    /// attention AVX-512, convolution AVX-512 (direct and Winograd transforms); tuning: none`.
    public static var description: String {
        let conv = DirectConv1d.isFast ? "\(Tuning.convLevel) (direct and Winograd transforms)"
            : "\(Tuning.convLevel) Winograd transforms, BLAS per tap instead of direct"
        return "fp16 matrices \(Tuning.halfLevel), attention \(Tuning.attentionLevel), convolution \(conv); "
            + "tuning: \(Tuning.setVariables)"
    }
}
