// Follows torch.optim.AdamW (single-tensor CPU path, amsgrad off, decoupled weight decay) as
// GPT_SoVITS/s2_train.py builds it: betas (0.8, 0.99), eps 1e-9, weight decay 0.01 (torch default),
// parameter groups with their own learning rates.

import Foundation
import GSVTensor

/// AdamW state and update for one ``ParameterSet``.
///
/// Per parameter with a gradient, step `t` (1-based):
/// `p ← p·(1 − lr·wd)`, `m ← m + (g − m)(1 − β1)`, `v ← β2·v + (1 − β2)·g²`,
/// `p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps)`. Parameters without a gradient are skipped
/// entirely (no weight decay either), as torch does for `grad is None`.
public struct AdamW: Sendable, Codable {
    /// `(β1, β2)`.
    public var betas: (Float, Float) { (beta1, beta2) }
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    public let weightDecay: Float
    /// Steps taken per parameter (torch keeps one counter per parameter).
    public var steps: [Int]
    /// First moments (empty until the parameter's first step).
    public var expAvg: [[Float]]
    /// Second moments.
    public var expAvgSq: [[Float]]

    /// State for `count` parameters.
    public init(count: Int, beta1: Float = 0.8, beta2: Float = 0.99, eps: Float = 1e-9, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        steps = Array(repeating: 0, count: count)
        expAvg = Array(repeating: [], count: count)
        expAvgSq = Array(repeating: [], count: count)
    }

    /// One update of `params` with `grads`; `learningRate(i)` is parameter `i`'s group rate.
    public mutating func step(_ params: inout ParameterSet, grads: GradientBuffer, learningRate: (Int) -> Double) {
        precondition(grads.values.count == params.count && steps.count == params.count, "AdamW: state for \(steps.count) parameters, set has \(params.count)")
        for i in 0..<params.count {
            guard let g = grads.values[i] else { continue }
            let n = g.count
            if expAvg[i].isEmpty {
                expAvg[i] = [Float](repeating: 0, count: n)
                expAvgSq[i] = [Float](repeating: 0, count: n)
            }
            steps[i] += 1
            let t = steps[i]
            let lr = learningRate(i)
            let decay = Float(1 - lr * Double(weightDecay))
            let bc1 = 1 - Foundation.pow(Double(beta1), Double(t))
            let bc2 = 1 - Foundation.pow(Double(beta2), Double(t))
            let stepSize = Float(lr / bc1)
            let bc2Sqrt = Float(bc2.squareRoot())
            let (b1, b2, e) = (beta1, beta2, eps)
            params.values[i].scalars.withUnsafeMutableBufferPointer { pp in
                g.scalars.withUnsafeBufferPointer { gp in
                    expAvg[i].withUnsafeMutableBufferPointer { mp in
                        expAvgSq[i].withUnsafeMutableBufferPointer { vp in
                            for j in 0..<n {
                                let gj = gp[j]
                                pp[j] *= decay
                                mp[j] += (gj - mp[j]) * (1 - b1)
                                vp[j] = vp[j] * b2 + (1 - b2) * gj * gj
                                let denom = vp[j].squareRoot() / bc2Sqrt + e
                                pp[j] -= stepSize * (mp[j] / denom)
                            }
                        }
                    }
                }
            }
        }
    }

    enum CodingKeys: String, CodingKey { case beta1, beta2, eps, weightDecay, steps, expAvg, expAvgSq }
}

/// `torch.optim.lr_scheduler.ExponentialLR` as s2_train.py drives it: created with
/// `last_epoch = -1` and stepped once before the first epoch and after each epoch, so epoch `e`
/// (1-based) trains at `base · γᵉ`, computed by repeated multiplication in Double as torch does.
public func exponentialLearningRate(base: Double, gamma: Double, epoch: Int) -> Double {
    var lr = base
    for _ in 0..<max(0, epoch) { lr *= gamma }
    return lr
}
