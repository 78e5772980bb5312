import Foundation

/// Exact 2:1 downsampling as `librosa.resample(y, orig_sr=2r, target_sr=r)` does it by default
/// (`res_type="soxr_hq"`): libsoxr's HQ filter at that ratio, measured from its impulse responses
/// (`scripts/data/measure_soxr_halfband.py`, kernel in `SoxrHalfbandKernel.swift`). At 2:1 the
/// resampler is linear and shift-invariant with zero padding at both ends, so
/// `y[j] = Σ_m h[m]·x[2j − m]` (|m| ≤ 200) reproduces librosa within float32 rounding (≈2e-7
/// relative), where the general ``KaiserResampler`` only approximates its response.
///
/// Used by the official dataset formatting (2-get-hubert-wav32k.py: 32 kHz → 16 kHz before
/// CN-HuBERT) and by ``AudioBuffer/resampled(to:)`` whenever the rate halves exactly.
public struct SoxrHalfband: Sendable {
    private let filter: PolyphaseFilter

    /// Builds the filter.
    public init() {
        let reach = (Self.kernel.count - 1) / 2
        // PolyphaseFilter reads x[2j − left + k]·c[k]; with left = reach, c[k] = h[reach − k].
        let reversed = Self.kernel.reversed().map { Float($0) }
        filter = PolyphaseFilter(blockwise: true, up: 1, down: 2, taps: reversed.count, left: reach, coefficients: reversed)
    }

    /// The shared instance.
    public static let shared = SoxrHalfband()

    /// Number of output samples for `n` input samples: `ceil(n / 2)`.
    public func outputCount(forInputCount n: Int) -> Int { (n + 1) / 2 }

    /// Halves the sample rate of `samples`.
    public func callAsFunction(_ samples: [Float]) -> [Float] {
        filter.apply(samples, outputCount: outputCount(forInputCount: samples.count))
    }
}
