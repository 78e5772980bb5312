// Scaled dot-product attention on the tape, fused per (item, head): the SoVITS relative-position
// attention (GPT_SoVITS/module/attentions.py: MultiHeadAttention, windowed `emb_rel_k/v` shared by
// the heads, masked scores set to −1e4), the MRTE cross-attention and the reference encoder's
// attention (module/modules.py: ScaledDotProductAttention, −∞ for padded keys), and the GPT's
// masked self-attention (AR/modules/activation.py: MultiheadAttention with a float −∞ mask).
//
// Forward per (item, head): `S = scale·Q·Kᵀ (+ scale·Q·e_kᵀ on the window)`, masked entries set to
// the fill value, `P = softmax(S)`, `O = P·V (+ Σ P·e_v on the window)`. Only `P` is kept for
// the backward pass; `Q`, `K`, `V` are read again from the inputs. Backward:
// `dV = Pᵀ·dO`, `dP = dO·Vᵀ (+ dO·e_vᵀ)`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))` (0 where masked),
// `dQ = scale·dS·K (+ scale·R(dS)·e_k)`, `dK = scale·dSᵀ·Q`, `de_k = scale·R(dS)ᵀ·Q`, `de_v = R(P)ᵀ·dO`,
// where `R(X)[i, r] = X[i, i + r − w]` reads the window diagonals.

import Foundation
import GSVTensor

/// Where the heads of a `q`/`k`/`v` tensor live.
public enum AttentionLayout: Sendable {
    /// `[B, H·d, T]` (the SoVITS 1×1-convolution projections).
    case channelFirst
    /// `[B, T, H·d]` (Linear projections).
    case rows
}

/// Which scores are masked and what they become.
public struct AttentionMask: Sendable {
    /// Per item, `Tq·Tk` flags, 1 = blocked.
    public let blocked: [[UInt8]]
    /// The value a blocked score is set to (−1e4 in VITS attention, −∞ elsewhere).
    public let fill: Float

    /// A mask from explicit per-item flags.
    public init(blocked: [[UInt8]], fill: Float) {
        self.blocked = blocked
        self.fill = fill
    }

    /// Blocked unless both the query and the key are valid (`attn_mask = x_mask·y_maskᵀ`).
    public static func outer(queryValid: [[Bool]], keyValid: [[Bool]], fill: Float) -> AttentionMask {
        AttentionMask(blocked: zip(queryValid, keyValid).map { qv, kv in
            var m = [UInt8](repeating: 0, count: qv.count * kv.count)
            for i in qv.indices { for j in kv.indices where !(qv[i] && kv[j]) { m[i * kv.count + j] = 1 } }
            return m
        }, fill: fill)
    }

    /// Blocked where the key is padding (every query row alike).
    public static func keys(keyValid: [[Bool]], queries: Int, fill: Float) -> AttentionMask {
        AttentionMask(blocked: keyValid.map { kv in
            var m = [UInt8](repeating: 0, count: queries * kv.count)
            for i in 0..<queries { for j in kv.indices where !kv[j] { m[i * kv.count + j] = 1 } }
            return m
        }, fill: fill)
    }
}

/// Windowed relative-position embeddings (`emb_rel_k`, `emb_rel_v`, `[1, 2w+1, d]`, shared by heads).
public struct RelativeEmbeddings {
    public let keys: Var
    public let values: Var
    public let window: Int

    public init(keys: Var, values: Var, window: Int) {
        self.keys = keys
        self.values = values
        self.window = window
    }
}

/// Dimensions of one attention call.
private struct AttentionShape {
    let batch: Int, heads: Int, d: Int, tq: Int, tk: Int
    let layout: AttentionLayout
    var width: Int { heads * d }

    /// Copies head `h` of item `b` of a `[.., T, ..]` tensor into `dst` as `[T, d]` rows.
    func gather(_ src: UnsafePointer<Float>, t: Int, b: Int, h: Int, into dst: UnsafeMutablePointer<Float>) {
        switch layout {
        case .channelFirst:
            let base = src + (b * width + h * d) * t
            for c in 0..<d { for i in 0..<t { dst[i * d + c] = base[c * t + i] } }
        case .rows:
            let base = src + b * t * width + h * d
            for i in 0..<t { (dst + i * d).update(from: base + i * width, count: d) }
        }
    }

    /// Writes (`add`: adds) `[T, d]` rows back as head `h` of item `b`.
    func scatter(_ src: UnsafePointer<Float>, t: Int, b: Int, h: Int, into dst: UnsafeMutablePointer<Float>, add: Bool) {
        switch layout {
        case .channelFirst:
            let base = dst + (b * width + h * d) * t
            for c in 0..<d { for i in 0..<t {
                if add { base[c * t + i] += src[i * d + c] } else { base[c * t + i] = src[i * d + c] }
            } }
        case .rows:
            let base = dst + b * t * width + h * d
            for i in 0..<t { for c in 0..<d {
                if add { base[i * width + c] += src[i * d + c] } else { base[i * width + c] = src[i * d + c] }
            } }
        }
    }
}

extension Tape {
    /// Multi-head scaled dot-product attention (see the file header).
    ///
    /// - Parameters:
    ///   - q: queries, `[B, H·d, Tq]` (channel-first) or `[B, Tq, H·d]` (rows).
    ///   - k, v: keys and values in the same layout with `Tk` positions.
    ///   - heads: `H`.
    ///   - scale: multiplies `Q·Kᵀ` (1/√d, or 1/temperature).
    ///   - relative: windowed relative embeddings (self-attention only, `Tq == Tk`).
    ///   - mask: blocked scores and their fill value.
    /// - Returns: the attention output in the layout of `q`.
    public func attention(q: Var, k: Var, v: Var, heads: Int, scale: Float, layout: AttentionLayout,
                          relative: RelativeEmbeddings? = nil, mask: AttentionMask? = nil) -> Var {
        precondition(q.value.rank == 3 && k.value.rank == 3 && v.shape == k.shape, "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
        let width = layout == .channelFirst ? q.shape[1] : q.shape[2]
        let tq = layout == .channelFirst ? q.shape[2] : q.shape[1]
        let tk = layout == .channelFirst ? k.shape[2] : k.shape[1]
        precondition(width % heads == 0, "attention: width \(width) not divisible by \(heads) heads")
        let geo = AttentionShape(batch: q.shape[0], heads: heads, d: width / heads, tq: tq, tk: tk, layout: layout)
        if relative != nil { precondition(tq == tk, "relative attention needs Tq == Tk") }
        if let m = mask { precondition(m.blocked.count == geo.batch && m.blocked.allSatisfy { $0.count == tq * tk }, "attention mask shape") }
        let d = geo.d, w = relative?.window ?? 0, nRel = 2 * w + 1
        let tasks = geo.batch * heads
        var probs = [Float](repeating: 0, count: tasks * tq * tk)
        var out = [Float](repeating: 0, count: q.value.count)
        let ek = relative?.keys.value, ev = relative?.values.value
        q.value.scalars.withUnsafeBufferPointer { qb in
        k.value.scalars.withUnsafeBufferPointer { kb in
        v.value.scalars.withUnsafeBufferPointer { vb in
        probs.withUnsafeMutableBufferPointer { pb in
        out.withUnsafeMutableBufferPointer { ob in
            nonisolated(unsafe) let (qs, ks, vs, ps, os) = (qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, pb.baseAddress!, ob.baseAddress!)
            Parallel.forEach(tasks) { task in
                let (b, h) = (task / heads, task % heads)
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: tq * d + 2 * tk * d + tq * d + tq * nRel)
                defer { buf.deallocate() }
                let (Q, K, V, O, RK) = (buf, buf + tq * d, buf + tq * d + tk * d, buf + tq * d + 2 * tk * d,
                                        buf + 2 * tq * d + 2 * tk * d)
                geo.gather(qs, t: tq, b: b, h: h, into: Q)
                geo.gather(ks, t: tk, b: b, h: h, into: K)
                geo.gather(vs, t: tk, b: b, h: h, into: V)
                let S = ps + task * tq * tk
                BLAS.sgemmSerial(transB: true, m: tq, n: tk, k: d, a: Q, lda: d, b: K, ldb: d, c: S, ldc: tk)
                for i in 0..<(tq * tk) { S[i] *= scale }
                if let ek {
                    ek.scalars.withUnsafeBufferPointer { ep in
                        BLAS.sgemmSerial(transB: true, m: tq, n: nRel, k: d, a: Q, lda: d, b: ep.baseAddress!, ldb: d, c: RK, ldc: nRel)
                    }
                    for i in 0..<tq { for r in 0..<nRel {
                        let j = i + r - w
                        if j >= 0 && j < tk { S[i * tk + j] += scale * RK[i * nRel + r] }
                    } }
                }
                if let mask {
                    mask.blocked[b].withUnsafeBufferPointer { mp in
                        for i in 0..<(tq * tk) where mp[i] != 0 { S[i] = mask.fill }
                    }
                }
                softmaxRows(S, rows: tq, cols: tk)
                BLAS.sgemmSerial(m: tq, n: d, k: tk, a: S, lda: tk, b: V, ldb: d, c: O, ldc: d)
                if let ev {
                    ev.scalars.withUnsafeBufferPointer { ep in
                        for i in 0..<tq { for r in 0..<nRel {
                            let j = i + r - w
                            guard j >= 0 && j < tk else { continue }
                            let p = S[i * tk + j]
                            let e = ep.baseAddress! + r * d
                            for c in 0..<d { O[i * d + c] += p * e[c] }
                        } }
                    }
                }
                geo.scatter(O, t: tq, b: b, h: h, into: os, add: false)
            }
        }}}}}
        let y = Tensor(shape: q.shape, scalars: out)
        let needs = q.requiresGrad || k.requiresGrad || v.requiresGrad
            || (relative.map { $0.keys.requiresGrad || $0.values.requiresGrad } ?? false)
        let p = probs
        return record(y, differentiable: needs) { g, t in
            var dq = [Float](repeating: 0, count: q.value.count)
            var dk = [Float](repeating: 0, count: k.value.count)
            var dv = [Float](repeating: 0, count: v.value.count)
            // Per-task partial gradients of the shared relative embeddings.
            var dek = [Float](repeating: 0, count: relative == nil ? 0 : tasks * nRel * d)
            var dev = dek
            g.scalars.withUnsafeBufferPointer { gb in
            q.value.scalars.withUnsafeBufferPointer { qb in
            k.value.scalars.withUnsafeBufferPointer { kb in
            v.value.scalars.withUnsafeBufferPointer { vb in
            p.withUnsafeBufferPointer { pb in
            dq.withUnsafeMutableBufferPointer { dqb in
            dk.withUnsafeMutableBufferPointer { dkb in
            dv.withUnsafeMutableBufferPointer { dvb in
            dek.withUnsafeMutableBufferPointer { dekb in
            dev.withUnsafeMutableBufferPointer { devb in
                nonisolated(unsafe) let (gs, qs, ks, vs, ps) = (gb.baseAddress!, qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, pb.baseAddress!)
                nonisolated(unsafe) let (dqs, dks, dvs, deks, devs) = (dqb.baseAddress!, dkb.baseAddress!, dvb.baseAddress!,
                                                                       dekb.baseAddress, devb.baseAddress)
                Parallel.forEach(tasks) { task in
                    let (b, h) = (task / heads, task % heads)
                    let size = 2 * tq * d + 2 * tk * d + tq * tk + 2 * tq * nRel + tq * d + 2 * tk * d
                    let buf = UnsafeMutablePointer<Float>.allocate(capacity: size)
                    defer { buf.deallocate() }
                    var at = buf
                    func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { at += n }; return at }
                    let (Q, K, V, dO) = (take(tq * d), take(tk * d), take(tk * d), take(tq * d))
                    let dP = take(tq * tk), R = take(tq * nRel), RP = take(tq * nRel)
                    let (dQ, dK, dV) = (take(tq * d), take(tk * d), take(tk * d))
                    geo.gather(qs, t: tq, b: b, h: h, into: Q)
                    geo.gather(ks, t: tk, b: b, h: h, into: K)
                    geo.gather(vs, t: tk, b: b, h: h, into: V)
                    geo.gather(gs, t: tq, b: b, h: h, into: dO)
                    let P = ps + task * tq * tk
                    // dV = Pᵀ·dO
                    BLAS.sgemmSerial(transA: true, m: tk, n: d, k: tq, a: P, lda: tk, b: dO, ldb: d, c: dV, ldc: d)
                    // dP = dO·Vᵀ
                    BLAS.sgemmSerial(transB: true, m: tq, n: tk, k: d, a: dO, lda: d, b: V, ldb: d, c: dP, ldc: tk)
                    if let ev, let devs {
                        ev.scalars.withUnsafeBufferPointer { ep in
                            // dP[i, i+r−w] += dO[i]·e_v[r]
                            BLAS.sgemmSerial(transB: true, m: tq, n: nRel, k: d, a: dO, lda: d, b: ep.baseAddress!, ldb: d, c: R, ldc: nRel)
                        }
                        for i in 0..<tq { for r in 0..<nRel {
                            let j = i + r - w
                            let inside = j >= 0 && j < tk
                            if inside { dP[i * tk + j] += R[i * nRel + r] }
                            RP[i * nRel + r] = inside ? P[i * tk + j] : 0
                        } }
                        // de_v += R(P)ᵀ·dO
                        BLAS.sgemmSerial(transA: true, m: nRel, n: d, k: tq, a: RP, lda: nRel, b: dO, ldb: d,
                                         c: devs + task * nRel * d, ldc: d)
                    }
                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), zero where blocked.
                    for i in 0..<tq {
                        var s: Float = 0
                        for j in 0..<tk { s += dP[i * tk + j] * P[i * tk + j] }
                        for j in 0..<tk { dP[i * tk + j] = P[i * tk + j] * (dP[i * tk + j] - s) }
                    }
                    if let mask {
                        mask.blocked[b].withUnsafeBufferPointer { mp in
                            for i in 0..<(tq * tk) where mp[i] != 0 { dP[i] = 0 }
                        }
                    }
                    for i in 0..<(tq * tk) { dP[i] *= scale }
                    // dQ = dS·K, dK = dSᵀ·Q (scale folded into dS)
                    BLAS.sgemmSerial(m: tq, n: d, k: tk, a: dP, lda: tk, b: K, ldb: d, c: dQ, ldc: d)
                    BLAS.sgemmSerial(transA: true, m: tk, n: d, k: tq, a: dP, lda: tk, b: Q, ldb: d, c: dK, ldc: d)
                    if let ek, let deks {
                        for i in 0..<tq { for r in 0..<nRel {
                            let j = i + r - w
                            R[i * nRel + r] = (j >= 0 && j < tk) ? dP[i * tk + j] : 0
                        } }
                        ek.scalars.withUnsafeBufferPointer { ep in
                            BLAS.sgemmSerial(m: tq, n: d, k: nRel, a: R, lda: nRel, b: ep.baseAddress!, ldb: d, beta: 1, c: dQ, ldc: d)
                        }
                        BLAS.sgemmSerial(transA: true, m: nRel, n: d, k: tq, a: R, lda: nRel, b: Q, ldb: d,
                                         c: deks + task * nRel * d, ldc: d)
                    }
                    geo.scatter(dQ, t: tq, b: b, h: h, into: dqs, add: false)
                    geo.scatter(dK, t: tk, b: b, h: h, into: dks, add: false)
                    geo.scatter(dV, t: tk, b: b, h: h, into: dvs, add: false)
                }
            }}}}}}}}}}
            t.accumulate(q, Tensor(shape: q.shape, scalars: dq))
            t.accumulate(k, Tensor(shape: k.shape, scalars: dk))
            t.accumulate(v, Tensor(shape: v.shape, scalars: dv))
            if let relative {
                var sk = [Float](repeating: 0, count: nRel * d), sv = sk
                for task in 0..<tasks { for i in 0..<(nRel * d) {
                    sk[i] += dek[task * nRel * d + i]
                    sv[i] += dev[task * nRel * d + i]
                } }
                t.accumulate(relative.keys, Tensor(shape: relative.keys.shape, scalars: sk))
                t.accumulate(relative.values, Tensor(shape: relative.values.shape, scalars: sv))
            }
        }
    }
}
