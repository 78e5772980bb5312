import Foundation
import Testing
@testable import GSVTensor

/// The CPU-feature probe, the kernel-level names and the tuning variables.
@Suite struct TuningTests {
    @Test func levelNamesParse() {
        for (text, level) in [("0", KernelLevel.portable), ("portable", .portable), ("C", .portable), ("1", .simd),
                              ("avx2", .simd), ("NEON", .simd), ("2", .wide), ("avx512", .wide), ("AVX-512", .wide)] {
            #expect(KernelLevel(parsing: text) == level, "\(text)")
        }
        #expect(KernelLevel(parsing: "3") == nil && KernelLevel(parsing: "fast") == nil)
    }

    @Test func probeIsConsistent() {
        #expect(!CPUInfo.model.isEmpty)
        #expect(KernelLevel.portable.isAvailable)
        #if arch(x86_64)
        if KernelLevel.best >= .simd { #expect(Set(["avx2", "fma", "f16c"]).isSubset(of: CPUInfo.features)) }
        if KernelLevel.best == .wide {
            #expect(Set(["avx512f", "avx512bw", "avx512dq", "avx512vl"]).isSubset(of: CPUInfo.features))
        }
        #elseif arch(arm64)
        #expect(KernelLevel.best == .simd && CPUInfo.features.contains("neon"))
        #endif
        // Every level used is one the CPU has.
        for level in [Tuning.cpuLevel, Tuning.halfLevel, Tuning.attentionLevel, Tuning.convLevel] {
            #expect(level.isAvailable && level <= Tuning.cpuLevel)
        }
        if let cores = CPUInfo.availableCores { #expect(cores >= 1) }
        #expect(Parallel.threadCount >= 1)
    }

    /// The README documents every tuning variable in one place.
    @Test func readmeListsEveryVariable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        for name in Tuning.variables { #expect(readme.contains("`\(name)"), "README does not mention \(name)") }
    }
}
