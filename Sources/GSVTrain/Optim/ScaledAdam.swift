// Follows GPT_SoVITS/AR/modules/optim.py: ScaledAdam (BatchedOptimizer, _step_one_batch, _size_update,
// _step, _step_scalar, _get_clipping_scale) with the values AR/models/t2s_lightning_module.py
// configure_optimizers passes, and AR/modules/lr_schedulers.py: WarmupCosineLRSchedule (which pins
// every step after the first to 0.002).
//
// The official optimizer stacks parameters of equal shape into one state entry; that changes no
// number, so here every parameter keeps its own state.

import Foundation
import GSVTensor

/// ScaledAdam hyper-parameters (`configure_optimizers` values by default).
public struct ScaledAdamConfig: Sendable, Codable, Equatable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.95
    public var clippingScale: Double = 2.0
    public var clippingUpdatePeriod: Int = 1000
    public var scalarLRScale: Double = 0.1
    public var eps: Double = 1e-8
    public var paramMinRMS: Double = 1e-5
    public var paramMaxRMS: Double = 3.0
    public var scalarMax: Double = 10.0
    public var sizeUpdatePeriod: Int = 4

    /// The official values.
    public init() {}
}

/// ScaledAdam state for one ``ParameterSet``.
///
/// Per step `t` (previous steps) and parameter `p` with gradient `g`:
/// `delta ← β1·delta`; non-scalar `p`: `scale_grads[t mod 4] = Σ p·g′` (`g′` = clipped copy),
/// every 4th step `param_rms ← rms(p)` and (t > 0) the size update
/// `delta += (1−β1)·p·(−lr·0.1·√bc·Σ scale_grads / (√scale_exp_avg_sq + eps))`;
/// then `exp_avg_sq ← β2·exp_avg_sq + (1−β2)·g²` (bias-corrected while `1−β2^(t+1) < 0.99`),
/// `delta −= lr·(1−β1)·max(param_rms, 1e-5)·g/(√exp_avg_sq + eps)`, `p += delta`.
/// Scalars: Adam-like with `lr·0.1`, `p` clamped to ±10 before `p += delta`.
/// Clipping: the model norm `√Σ(g·param_rms)²` is recorded from the second step; from step 1000
/// `g′ = g·min(1, 2·median/norm)` — which, as in the official code, only reaches `scale_grads`.
public struct ScaledAdam: Sendable, Codable {
    public let config: ScaledAdamConfig
    /// Optimizer steps taken (the official per-parameter `step`, equal for all).
    public var step: Int = 0
    public var delta: [[Float]]
    public var expAvgSq: [[Float]]
    /// `param_rms` per non-scalar parameter (nil for scalars).
    public var paramRMS: [Float?]
    public var scaleExpAvgSq: [Float]
    /// `scale_grads` per parameter, `sizeUpdatePeriod` entries.
    public var scaleGrads: [[Float]]
    /// `model_norms` ring of the first state entry (clipping statistics).
    public var modelNorms: [Float]
    /// `model_norm_threshold`, once computed (from step 1000).
    public var modelNormThreshold: Float?

    /// Empty state for `count` parameters (initialised on the first step, as `_init_state`).
    public init(count: Int, config: ScaledAdamConfig = ScaledAdamConfig()) {
        self.config = config
        delta = Array(repeating: [], count: count)
        expAvgSq = Array(repeating: [], count: count)
        paramRMS = Array(repeating: nil, count: count)
        scaleExpAvgSq = Array(repeating: 0, count: count)
        scaleGrads = Array(repeating: [], count: count)
        modelNorms = []
    }

    private static func rms(_ t: Tensor) -> Float {
        var s: Float = 0
        for v in t.scalars { s += v * v }
        return (s / Float(max(1, t.count))).squareRoot()
    }

    /// One optimizer step with learning rate `lr`. Parameters without a gradient use zeros (the
    /// official batching stacks `zeros_like(p)` for a missing `.grad`).
    public mutating func step(_ params: inout ParameterSet, grads: GradientBuffer, lr: Double) {
        let n = params.count
        precondition(grads.values.count == n && delta.count == n, "ScaledAdam: state for \(delta.count) parameters, set has \(n)")
        let c = config
        let grad: [Tensor] = (0..<n).map { grads.values[$0] ?? Tensor.zeros(params.values[$0].shape) }
        if step == 0 {
            for i in 0..<n {
                let p = params.values[i]
                delta[i] = [Float](repeating: 0, count: p.count)
                expAvgSq[i] = [Float](repeating: 0, count: p.count)
                if p.count > 1 {
                    paramRMS[i] = Self.rms(p)
                    scaleExpAvgSq[i] = 0
                    scaleGrads[i] = [Float](repeating: 0, count: c.sizeUpdatePeriod)
                }
            }
        }
        // Clipping factor (_get_clipping_scale).
        var clip: Float = 1
        if step > 0 {
            var sumsq: Float = 0
            for i in 0..<n {
                let rmsv = paramRMS[i] ?? 1
                for v in grad[i].scalars { let x = v * rmsv; sumsq += x * x }
            }
            let norm = sumsq.squareRoot()
            if modelNorms.isEmpty { modelNorms = [Float](repeating: 0, count: c.clippingUpdatePeriod) }
            modelNorms[step % c.clippingUpdatePeriod] = norm
            if step % c.clippingUpdatePeriod == 0 {
                let sorted = modelNorms.sorted()
                let median = sorted[min(c.clippingUpdatePeriod - 1, (c.clippingUpdatePeriod / 4) * 2)]
                modelNormThreshold = Float(c.clippingScale) * median
            }
            if step >= c.clippingUpdatePeriod, let threshold = modelNormThreshold {
                clip = min(1, threshold / (norm + 1e-20))
            }
        }
        let beta1 = Float(c.beta1), beta2 = Float(c.beta2), eps = Float(c.eps)
        let t = step
        for i in 0..<n {
            let g = grad[i]
            let count = g.count
            for j in 0..<count { delta[i][j] *= beta1 }
            if count > 1 {
                // scale_grads from the (possibly clipped) local gradient copy.
                var s: Float = 0
                let p = params.values[i].scalars
                for j in 0..<count { s += p[j] * (g.scalars[j] * clip) }
                scaleGrads[i][t % c.sizeUpdatePeriod] = s
                if t % c.sizeUpdatePeriod == c.sizeUpdatePeriod - 1 {
                    paramRMS[i] = Self.rms(params.values[i])
                    if t > 0 { sizeUpdate(i, params: params, lr: lr) }
                }
                // _step: exp_avg_sq from the unclipped gradient.
                let bc2 = 1 - Foundation.pow(c.beta2, Double(t + 1))
                let correction: Float = bc2 < 0.99 ? Float(1 / bc2) : 1
                let alpha = Float(-lr * (1 - c.beta1)) * max(paramRMS[i] ?? 0, Float(c.paramMinRMS))
                params.values[i].scalars.withUnsafeMutableBufferPointer { pp in
                    g.scalars.withUnsafeBufferPointer { gp in
                        expAvgSq[i].withUnsafeMutableBufferPointer { vp in
                            delta[i].withUnsafeMutableBufferPointer { dp in
                                for j in 0..<count {
                                    let gj = gp[j]
                                    vp[j] = vp[j] * beta2 + gj * gj * (1 - beta2)
                                    let denom = (vp[j] * correction).squareRoot() + eps
                                    dp[j] += (gj / denom) * alpha
                                    pp[j] += dp[j]
                                }
                            }
                        }
                    }
                }
            } else {
                // _step_scalar
                let gj = g.scalars[0]
                expAvgSq[i][0] = expAvgSq[i][0] * beta2 + gj * gj * (1 - beta2)
                let bc2 = Float(1 - Foundation.pow(c.beta2, Double(t + 1)))
                let denom = (expAvgSq[i][0] / bc2).squareRoot() + eps
                delta[i][0] += (gj / denom) * Float(-lr * c.scalarLRScale * (1 - c.beta1))
                var p = params.values[i].scalars[0]
                p = min(max(p, Float(-c.scalarMax)), Float(c.scalarMax))
                params.values[i].scalars[0] = p + delta[i][0]
            }
        }
        step += 1
    }

    private mutating func sizeUpdate(_ i: Int, params: ParameterSet, lr: Double) {
        let c = config
        let period = c.sizeUpdatePeriod
        let beta2Corr = Foundation.pow(c.beta2, Double(period))
        var meanSq: Float = 0
        for s in scaleGrads[i] { meanSq += s * s }
        meanSq /= Float(period)
        scaleExpAvgSq[i] = scaleExpAvgSq[i] * Float(beta2Corr) + meanSq * Float(1 - beta2Corr)
        let sizeStep = (step + 1) / period
        let bc2 = 1 - Foundation.pow(beta2Corr, Double(sizeStep))
        let denom = scaleExpAvgSq[i].squareRoot() + Float(c.eps)
        let sizeLR = lr * c.scalarLRScale
        var sum: Float = 0
        for s in scaleGrads[i] { sum += s }
        var scaleStep = Float(-sizeLR * bc2.squareRoot()) * sum / denom
        let rms = paramRMS[i] ?? 0
        if rms < Float(c.paramMinRMS) { scaleStep = 0 }
        if rms > Float(c.paramMaxRMS) { scaleStep = Float(-sizeLR * Double(period)) }
        let factor = Float(1 - c.beta1)
        let p = params.values[i].scalars
        for j in 0..<p.count { delta[i][j] += p[j] * scaleStep * factor }
    }
}

/// The learning rate of GPT optimizer step `k` (1-based) under the official
/// `WarmupCosineLRSchedule`: the optimizer starts at its own `lr` (0.01) and the scheduler's first
/// `step()` overwrites every group with 0.002 for good.
public func gptLearningRate(optimizerStep k: Int, initial: Double = 0.01, pinned: Double = 0.002) -> Double {
    k <= 1 ? initial : pinned
}
