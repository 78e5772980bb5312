import GSVKernels
import GSVTensor

/// Which vector code the hand-written kernels run on this CPU (reported by `gpt-sovits bench`).
public enum KernelInfo {
    private static func name(_ level: Int, _ names: [String]) -> String { level < names.count ? names[level] : "level \(level)" }

    /// e.g. `fp16 matrices AVX-512, attention AVX-512, convolution AVX-512`.
    public static var description: String {
        let half = name(HalfMatrix.kernelLevel, ["Swift SIMD", "AVX2+F16C", "AVX-512"])
        let attention = name(Int(T2SSequenceCache.attentionLevel), ["plain C", "AVX-512"])
        let conv = name(DirectConv1d.maxLevel, ["plain C", "AVX2+FMA", "AVX-512"])
        return "fp16 matrices \(half), attention \(attention), convolution \(conv)"
    }
}
