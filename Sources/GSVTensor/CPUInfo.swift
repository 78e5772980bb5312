import GSVKernels

/// A code level of the hand-written kernels (`GSVKernels`): which vector instructions they use.
///
/// Every kernel runs at any level up to the CPU's best (``best``); ``Tuning`` caps the levels the
/// package uses (`GSV_CPU_LEVEL`, `GSV_HALF_LEVEL`, …) so that one machine can measure them all.
public enum KernelLevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// Portable C (plain loops and compiler vector extensions): every CPU.
    case portable = 0
    /// x86-64: AVX2 + FMA + F16C. AArch64: NEON.
    case simd = 1
    /// x86-64: AVX-512 F/BW/DQ/VL. (No AArch64 code at this level.)
    case wide = 2

    /// The best level this CPU supports (the one CPU-feature probe: `gsv_cpu_level`).
    public static let best = KernelLevel(rawValue: Int(gsv_cpu_level())) ?? .portable

    /// Whether this CPU can run code of this level.
    public var isAvailable: Bool { self <= Self.best }

    /// The level's name on this architecture, e.g. `AVX2+FMA+F16C`, `NEON`, `portable C`.
    public var description: String { String(cString: gsv_level_name(Int32(rawValue))) }

    /// Why a test of this level does not run here (for `.enabled(if:_:)`).
    public var unavailableReason: String {
        "kernel level \(rawValue) (\(self)) is not supported by this CPU (\(CPUInfo.model), best level \(Self.best))"
    }

    /// The level for a value of a `GSV_*_LEVEL` variable: a number, or a name
    /// (`portable`/`c`, `simd`/`avx2`/`neon`, `wide`/`avx512`).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "0", "portable", "c", "plain": self = .portable
        case "1", "simd", "avx2", "neon": self = .simd
        case "2", "wide", "avx512", "avx-512": self = .wide
        default: return nil
        }
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }
}

/// What the CPU-feature probe found (reported by `gpt-sovits bench`).
public enum CPUInfo {
    /// The CPU's name, e.g. `AMD EPYC 9R14`.
    public static let model: String = {
        var buffer = [CChar](repeating: 0, count: 128)
        gsv_cpu_model(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The vector features the kernels look for that this CPU and OS support, e.g.
    /// `["avx", "avx2", "fma", "f16c", "avx512f", …]`.
    public static let features: [String] = {
        let bits = gsv_cpu_features()
        let names: [(UInt32, String)] = [
            (1 << 0, "avx"), (1 << 1, "avx2"), (1 << 2, "fma"), (1 << 3, "f16c"), (1 << 4, "avx512f"),
            (1 << 5, "avx512bw"), (1 << 6, "avx512dq"), (1 << 7, "avx512vl"), (1 << 8, "neon"), (1 << 9, "fp16"),
            (1 << 10, "fhm"),
        ]
        return names.filter { bits & $0.0 != 0 }.map(\.1)
    }()

    /// Cores this process may use: the smaller of its CPU affinity mask and its cgroup CPU quota
    /// (rounded to the nearest core); nil when neither is known (then use the OS's count).
    public static let availableCores: Int? = {
        let n = Int(gsv_cpu_available_cores(nil, nil))
        return n > 0 ? n : nil
    }()

    /// How ``availableCores`` was found, e.g. `affinity 2, no cgroup quota`.
    public static let coresDescription: String = {
        var affinity: Int32 = 0
        var quota: Double = 0
        _ = gsv_cpu_available_cores(&affinity, &quota)
        let a = affinity > 0 ? "affinity \(affinity)" : "affinity unknown"
        let q = quota > 0 ? "cgroup quota \((quota * 100).rounded() / 100) cores" : "no cgroup quota"
        return "\(a), \(q)"
    }()
}
