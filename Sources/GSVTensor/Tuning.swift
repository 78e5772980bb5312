import Foundation

/// The one place that reads the `GSV_*` tuning variables (README "Tuning knobs"): thread counts,
/// kernel levels and the size thresholds measurements compare. Each is read once, at first use;
/// values that do not parse are ignored (the default applies). Unset variables are nil here and the
/// code that uses them documents its default and why.
public enum Tuning {
    private static func text(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func count(_ name: String, minimum: Int) -> Int? {
        text(name).flatMap { Int($0) }.flatMap { $0 >= minimum ? $0 : nil }
    }

    private static func level(_ name: String) -> KernelLevel? { text(name).flatMap(KernelLevel.init(parsing:)) }

    /// `GSV_THREADS`: threads of the tensor kernels (default: the cores available, ``CPUInfo/availableCores``).
    public static let threads: Int? = count("GSV_THREADS", minimum: 1)

    /// `GSV_CPU_LEVEL`: the highest kernel level anything uses (`portable`/`0`, `avx2`/`neon`/`1`,
    /// `avx512`/`2`), also choosing OpenBLAS's kernel family to match; default the CPU's best.
    public static let cpuLevel: KernelLevel = min(level("GSV_CPU_LEVEL") ?? .best, .best)

    /// `GSV_HALF_LEVEL`: the level of the fp16 matrix products (capped by ``cpuLevel``).
    public static let halfLevel: KernelLevel = min(level("GSV_HALF_LEVEL") ?? cpuLevel, cpuLevel)

    /// `GSV_ATTENTION_LEVEL`: the level of the fused decode attention (capped by ``cpuLevel``).
    public static let attentionLevel: KernelLevel = min(level("GSV_ATTENTION_LEVEL") ?? cpuLevel, cpuLevel)

    /// `GSV_CONV_LEVEL`: the level of the direct convolutions and Winograd transforms (capped by
    /// ``cpuLevel``). At the portable level the direct kernels are not chosen (BLAS is faster).
    public static let convLevel: KernelLevel = min(level("GSV_CONV_LEVEL") ?? cpuLevel, cpuLevel)

    /// `GSV_OVERLAP_SOVITS`: `0` turns off the GPT/SoVITS overlap, `1` turns it on.
    public static let overlapSoVITS: Bool? = {
        switch text("GSV_OVERLAP_SOVITS") {
        case "0": return false
        case "1": return true
        default: return nil
        }
    }()

    /// `GSV_TILED_MAX_CHANNELS`: HiFi-GAN stages up to this many channels run tiled (0 = never).
    public static let tiledMaxChannels: Int? = count("GSV_TILED_MAX_CHANNELS", minimum: 0)

    /// `GSV_CONV_DIRECT_MAX_COUT`: stride-1 convolutions up to this many output channels run the
    /// direct kernels (0 = never).
    public static let convDirectMaxOutChannels: Int? = count("GSV_CONV_DIRECT_MAX_COUT", minimum: 0)

    /// `GSV_CONV_WINOGRAD_MIN_CHANNELS`: long convolutions with at least this many channels run
    /// Winograd F(4, 4) (0 = never).
    public static let convWinogradMinChannels: Int? = count("GSV_CONV_WINOGRAD_MIN_CHANNELS", minimum: 0)

    /// `GSV_GENERATOR_CHUNK_FRAMES`: long latents are vocoded in pieces of this many frames (0 = never).
    public static let generatorChunkFrames: Int? = count("GSV_GENERATOR_CHUNK_FRAMES", minimum: 0)

    /// `GSV_BLAS_THREADS=openblas`: let OpenBLAS run its own threads instead of splitting products
    /// over ours.
    public static let blasOwnThreads: Bool = text("GSV_BLAS_THREADS") == "openblas"

    /// Names of every variable above, for documentation checks and `bench`.
    public static let variables = [
        "GSV_THREADS", "GSV_CPU_LEVEL", "GSV_HALF_LEVEL", "GSV_ATTENTION_LEVEL", "GSV_CONV_LEVEL",
        "GSV_OVERLAP_SOVITS", "GSV_TILED_MAX_CHANNELS", "GSV_CONV_DIRECT_MAX_COUT",
        "GSV_CONV_WINOGRAD_MIN_CHANNELS", "GSV_GENERATOR_CHUNK_FRAMES", "GSV_BLAS_THREADS",
    ]

    /// The tuning variables set in this process's environment, e.g. `GSV_CPU_LEVEL=avx2`, or `none`.
    public static var setVariables: String {
        let set = variables.compactMap { name in text(name).map { "\(name)=\($0)" } }
        return set.isEmpty ? "none" : set.joined(separator: " ")
    }
}
