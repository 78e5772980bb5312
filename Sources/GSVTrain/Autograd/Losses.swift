// Loss functions on the tape: summed cross-entropy (`F.cross_entropy(reduction="sum")`), per-row
// log-probabilities of chosen tokens (AR/models/utils.py: get_batch_logps), `F.logsigmoid`, and the
// differentiable log-mel spectrogram of generated audio (module/mel_processing.py:
// mel_spectrogram_torch) used by the SoVITS mel loss.

import Foundation
import GSVAudio
import GSVTensor

extension Tape {
    /// `Σ_rows −log softmax(logits[row])[target[row]]` for `logits` `[N, V]`, shape `[1]`.
    /// Backward: `softmax − one_hot(target)`.
    public func crossEntropySum(_ logits: Var, targets: [Int]) -> Var {
        let (n, v) = (logits.shape[0], logits.shape[1])
        precondition(logits.value.rank == 2 && targets.count == n, "crossEntropySum: logits \(logits.shape), \(targets.count) targets")
        var probs = [Float](repeating: 0, count: n * v)
        var total = 0.0
        logits.value.scalars.withUnsafeBufferPointer { lp in
            probs.withUnsafeMutableBufferPointer { pp in
                for r in 0..<n {
                    let row = lp.baseAddress! + r * v, out = pp.baseAddress! + r * v
                    var m = -Float.infinity
                    for j in 0..<v where row[j] > m { m = row[j] }
                    var s = 0.0
                    for j in 0..<v { let e = Foundation.exp(row[j] - m); out[j] = e; s += Double(e) }
                    let inv = Float(1 / s)
                    for j in 0..<v { out[j] *= inv }
                    precondition(targets[r] >= 0 && targets[r] < v, "crossEntropySum: target \(targets[r]) outside 0..<\(v)")
                    total -= Double(row[targets[r]] - m) - Foundation.log(s)
                }
            }
        }
        let p = probs
        return record(Tensor([Float(total)]), differentiable: logits.requiresGrad) { g, t in
            let s = g.scalars[0]
            var d = p
            for r in 0..<n { d[r * v + targets[r]] -= 1 }
            for i in 0..<d.count { d[i] *= s }
            t.accumulate(logits, Tensor(shape: logits.shape, scalars: d))
        }
    }

    /// `log_softmax(logits[row])[target[row]]` for each row of `[N, V]`: shape `[N]`.
    public func logProbabilities(_ logits: Var, targets: [Int]) -> Var {
        let (n, v) = (logits.shape[0], logits.shape[1])
        precondition(logits.value.rank == 2 && targets.count == n, "logProbabilities: logits \(logits.shape), \(targets.count) targets")
        var probs = [Float](repeating: 0, count: n * v)
        var out = [Float](repeating: 0, count: n)
        logits.value.scalars.withUnsafeBufferPointer { lp in
            for r in 0..<n {
                let row = lp.baseAddress! + r * v
                var m = -Float.infinity
                for j in 0..<v where row[j] > m { m = row[j] }
                var s = 0.0
                for j in 0..<v { let e = Foundation.exp(row[j] - m); probs[r * v + j] = e; s += Double(e) }
                let inv = Float(1 / s)
                for j in 0..<v { probs[r * v + j] *= inv }
                out[r] = (row[targets[r]] - m) - Float(Foundation.log(s))
            }
        }
        let p = probs
        return record(Tensor(shape: [n], scalars: out), differentiable: logits.requiresGrad) { g, t in
            var d = [Float](repeating: 0, count: n * v)
            for r in 0..<n {
                let gr = g.scalars[r]
                for j in 0..<v { d[r * v + j] = -gr * p[r * v + j] }
                d[r * v + targets[r]] += gr
            }
            t.accumulate(logits, Tensor(shape: logits.shape, scalars: d))
        }
    }

    /// `log σ(x)` element-wise (`F.logsigmoid`), derivative `σ(−x)`.
    public func logSigmoid(_ x: Var) -> Var {
        let y = mapElements(x.value) { v in
            v >= 0 ? -Foundation.log1p(Foundation.exp(-v)) : v - Foundation.log1p(Foundation.exp(v))
        }
        return record(y, differentiable: x.requiresGrad) { g, t in
            t.accumulate(x, zipElements(g, x.value) { gv, v in gv / (1 + Foundation.exp(v)) })
        }
    }

    /// `mel_spectrogram_torch(y)`: reflect-pad `(nFFT − hop)/2`, Hann-windowed frames every `hop`,
    /// magnitude `sqrt(re² + im² + 1e-8)`, `log(clamp(mel · magnitude, min 1e-5))`.
    /// `y` `[B, N]` → `[B, nMels, frames]`.
    ///
    /// Backward: `d mel = g / mel` (0 where clamped), `d|X| = melᵀ · d mel`,
    /// `d re = d|X|·re/|X|`, `d im = d|X|·im/|X|`, and the adjoint of the real DFT,
    /// `dx[n] = Σ_k d re_k·cos(2πkn/N) − d im_k·sin(2πkn/N)`, computed with two real FFTs per frame.
    public func logMelSpectrogram(_ y: Var, spectrogram spec: Spectrogram, filterbank mel: MelFilterbank) throws -> Var {
        precondition(y.value.rank == 2, "logMelSpectrogram: input \(y.shape)")
        let (b, n) = (y.shape[0], y.shape[1])
        let padding = (spec.config.nFFT - spec.config.hopSize) / 2
        let padded = reflectPad(y, left: padding, right: padding)
        let nFFT = spec.config.nFFT, hop = spec.config.hopSize, bins = nFFT / 2 + 1
        let m = padded.shape[1]
        let frames = (m - nFFT) / hop + 1
        guard frames > 0, n > padding else {
            throw TrainingError.invalidInput("audio of \(n) samples is too short for the mel loss")
        }
        let fft = try RealFFT(n: nFFT)
        let window = spec.window
        // re/im per item and frame, [B][frames][bins]
        var re = [Float](repeating: 0, count: b * frames * bins), im = re, mag = re
        padded.value.scalars.withUnsafeBufferPointer { xp in
            re.withUnsafeMutableBufferPointer { rp in
                im.withUnsafeMutableBufferPointer { ip in
                    mag.withUnsafeMutableBufferPointer { mp in
                        nonisolated(unsafe) let (xs, rs, iss, ms) = (xp.baseAddress!, rp.baseAddress!, ip.baseAddress!, mp.baseAddress!)
                        Parallel.forEach(b * frames) { task in
                            let (item, f) = (task / frames, task % frames)
                            var frame = [Float](repeating: 0, count: nFFT)
                            for i in 0..<nFFT { frame[i] = xs[item * m + f * hop + i] * window[i] }
                            let base = task * bins
                            frame.withUnsafeBufferPointer { fp in
                                fft.forward(fp, re: UnsafeMutableBufferPointer(start: rs + base, count: bins),
                                            im: UnsafeMutableBufferPointer(start: iss + base, count: bins))
                            }
                            for k in 0..<bins {
                                let r = rs[base + k], c = iss[base + k]
                                ms[base + k] = (r * r + c * c + 1e-8).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        // mel[b, m, f] = Σ_k W[m, k]·mag[b, f, k]
        let nMels = mel.nMels
        var melLinear = [Float](repeating: 0, count: b * nMels * frames)
        mel.weights.withUnsafeBufferPointer { wp in
            mag.withUnsafeBufferPointer { mp in
                melLinear.withUnsafeMutableBufferPointer { op in
                    for item in 0..<b {
                        BLAS.sgemm(transB: true, m: nMels, n: frames, k: bins, a: wp.baseAddress!, lda: bins,
                                   b: mp.baseAddress! + item * frames * bins, ldb: bins,
                                   c: op.baseAddress! + item * nMels * frames, ldc: frames)
                    }
                }
            }
        }
        let out = melLinear.map { Foundation.log(Swift.max($0, 1e-5)) }
        let (reF, imF, magF, linF) = (re, im, mag, melLinear)
        return record(Tensor(shape: [b, nMels, frames], scalars: out), differentiable: padded.requiresGrad) { g, t in
            // d mel_linear
            var dLin = [Float](repeating: 0, count: linF.count)
            for i in 0..<linF.count where linF[i] >= 1e-5 { dLin[i] = g.scalars[i] / linF[i] }
            // d mag [B][frames][bins] = (Wᵀ · dLin[b])ᵀ
            var dMag = [Float](repeating: 0, count: magF.count)
            mel.weights.withUnsafeBufferPointer { wp in
                dLin.withUnsafeBufferPointer { dp in
                    dMag.withUnsafeMutableBufferPointer { op in
                        for item in 0..<b {
                            // dMag[f, k] = Σ_m dLin[m, f]·W[m, k]
                            BLAS.sgemm(transA: true, m: frames, n: bins, k: nMels, a: dp.baseAddress! + item * nMels * frames,
                                       lda: frames, b: wp.baseAddress!, ldb: bins,
                                       c: op.baseAddress! + item * frames * bins, ldc: bins)
                        }
                    }
                }
            }
            var dPadded = [Float](repeating: 0, count: b * m)
            dMag.withUnsafeBufferPointer { dmp in
                dPadded.withUnsafeMutableBufferPointer { dpp in
                    nonisolated(unsafe) let (dms, dps) = (dmp.baseAddress!, dpp.baseAddress!)
                    // Frames overlap: run items in parallel, frames of one item in order.
                    Parallel.forEach(b) { item in
                        var a = [Float](repeating: 0, count: nFFT), c = a
                        var ar = [Float](repeating: 0, count: bins), ai = ar, cr = ar, ci = ar
                        for f in 0..<frames {
                            let base = (item * frames + f) * bins
                            for k in 0..<bins {
                                let s = dms[base + k] / magF[base + k]
                                a[k] = s * reF[base + k]
                                c[k] = s * imF[base + k]
                            }
                            a.withUnsafeBufferPointer { ap in
                                ar.withUnsafeMutableBufferPointer { rp in ai.withUnsafeMutableBufferPointer { ip in
                                    fft.forward(ap, re: rp, im: ip)
                                } }
                            }
                            c.withUnsafeBufferPointer { cp in
                                cr.withUnsafeMutableBufferPointer { rp in ci.withUnsafeMutableBufferPointer { ip in
                                    fft.forward(cp, re: rp, im: ip)
                                } }
                            }
                            let dst = dps + item * m + f * hop
                            for i in 0..<nFFT {
                                let (j, sign): (Int, Float) = i <= nFFT / 2 ? (i, 1) : (nFFT - i, -1)
                                dst[i] += (ar[j] + sign * ci[j]) * window[i]
                            }
                        }
                    }
                }
            }
            t.accumulate(padded, Tensor(shape: padded.shape, scalars: dPadded))
        }
    }
}
