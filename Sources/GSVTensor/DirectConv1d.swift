import Foundation
import GSVKernels

/// A stride-1 1-D convolution computed directly (no im2col, no per-tap GEMM) by the vector kernels
/// of `GSVKernels` (AVX-512, AVX2 + FMA or NEON, at ``Tuning/convLevel``): output channels in blocks
/// of eight and 16–48 columns are accumulated in registers while every input channel and tap
/// streams past.
///
/// For narrow convolutions (HiFi-GAN's late stages, 16–64 channels) this runs well above one
/// BLAS call per tap, whose inner dimension there is only the channel count. Columns are split
/// over ``Parallel/threadCount`` threads.
public struct DirectConv1d: Sendable {
    /// Output channels.
    public let outChannels: Int
    /// Input channels.
    public let inChannels: Int
    /// Kernel taps.
    public let kernelSize: Int
    /// The weights in the kernel's block layout (`[⌈Cout/8⌉][Cin][K][8]`).
    let packed: [Float]

    /// Whether the kernels run vector code at ``level`` (else they are plain loops, slower than BLAS).
    public static var isFast: Bool { level > .portable }

    /// The code level used: ``Tuning/convLevel`` (the CPU's best unless `GSV_CONV_LEVEL` or
    /// `GSV_CPU_LEVEL` lowers it).
    public static var level: KernelLevel { Tuning.convLevel }

    /// Packs a PyTorch `Conv1d` weight `[Cout, Cin, K]`.
    public init(weight: Tensor) {
        precondition(weight.rank == 3, "DirectConv1d: weight \(weight.shape) is not [Cout, Cin, K]")
        let (cout, cin, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        (outChannels, inChannels, kernelSize) = (cout, cin, k)
        let blocks = (cout + Int(GSV_CONV_CO_BLOCK) - 1) / Int(GSV_CONV_CO_BLOCK)
        var p = [Float](repeating: 0, count: blocks * Int(GSV_CONV_CO_BLOCK) * cin * k)
        weight.scalars.withUnsafeBufferPointer { w in
            p.withUnsafeMutableBufferPointer { d in
                gsv_conv1d_pack_weights(w.baseAddress, cout, cin, k, d.baseAddress)
            }
        }
        packed = p
    }

    /// `y[o, t] += Σ_c Σ_q W[o, c, q] · x[c, t + q·dilation]` for `t < outLength`: `x` holds `Cin`
    /// rows of `xStride` already padded columns (at least `outLength + (K−1)·dilation`), `y` holds
    /// `Cout` rows of `yStride` columns, preset with the bias or zeros.
    /// - Parameter level: force a code level (tests); nil = ``level``.
    public func accumulate(x: UnsafePointer<Float>, xStride: Int, dilation: Int, into y: UnsafeMutablePointer<Float>,
                           yStride: Int, outLength: Int, level: KernelLevel? = nil) {
        precondition(xStride >= outLength + (kernelSize - 1) * dilation, "DirectConv1d: input rows too short")
        precondition(yStride >= outLength, "DirectConv1d: output rows too short")
        let lvl = Int32((level ?? Self.level).rawValue)
        // Ranges in multiples of the kernel's column block, so only the last one has a partial block.
        let step = Int(GSV_CONV_COLUMNS)
        let tiles = (outLength + step - 1) / step
        nonisolated(unsafe) let (xp, yp) = (x, y)
        packed.withUnsafeBufferPointer { w in
            nonisolated(unsafe) let wp = w.baseAddress
            Parallel.forRanges(tiles, grain: max(1, 2_000_000 / max(step * inChannels * kernelSize * outChannels, 1))) { r in
                gsv_conv1d_direct_at(lvl, xp, xStride, inChannels, wp, outChannels, kernelSize, dilation, yp, yStride,
                                     r.lowerBound * step, min(outLength, r.upperBound * step))
            }
        }
    }

    /// ``accumulate(x:xStride:dilation:into:yStride:outLength:level:)`` on the calling thread only:
    /// for callers that already run one tile per thread.
    public func accumulateSerial(x: UnsafePointer<Float>, xStride: Int, dilation: Int, into y: UnsafeMutablePointer<Float>,
                                 yStride: Int, outLength: Int, level: KernelLevel? = nil) {
        precondition(xStride >= outLength + (kernelSize - 1) * dilation, "DirectConv1d: input rows too short")
        precondition(yStride >= outLength, "DirectConv1d: output rows too short")
        guard outLength > 0 else { return }
        let lvl = Int32((level ?? Self.level).rawValue)
        packed.withUnsafeBufferPointer { w in
            gsv_conv1d_direct_at(lvl, x, xStride, inChannels, w.baseAddress, outChannels, kernelSize, dilation, y, yStride,
                                 0, outLength)
        }
    }
}
