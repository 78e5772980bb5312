import Foundation

// Follows g2p_en/g2p.py (g2p_en 2.1.0): G2p.predict, G2p.grucell, G2p.encode — the GRU
// encoder-decoder that spells out-of-vocabulary words, decoded greedily for at most 20 steps.
// Weights: checkpoint20.npz converted by scripts/data/make_en_data.py (Apache-2.0, g2p_en).

/// The g2p_en character-to-phoneme GRU (hidden size 256), in plain Swift.
struct NeuralG2P: Sendable {
    /// Grapheme vocabulary: `<pad> <unk> </s> a…z`.
    static let graphemes: [String] = ["<pad>", "<unk>", "</s>"] + (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
    /// Phoneme vocabulary of the decoder (index = output id).
    static let phonemes: [String] = ["<pad>", "<unk>", "<s>", "</s>",
        "AA0", "AA1", "AA2", "AE0", "AE1", "AE2", "AH0", "AH1", "AH2", "AO0", "AO1", "AO2", "AW0", "AW1", "AW2",
        "AY0", "AY1", "AY2", "B", "CH", "D", "DH", "EH0", "EH1", "EH2", "ER0", "ER1", "ER2", "EY0", "EY1", "EY2",
        "F", "G", "HH", "IH0", "IH1", "IH2", "IY0", "IY1", "IY2", "JH", "K", "L", "M", "N", "NG", "OW0", "OW1",
        "OW2", "OY0", "OY1", "OY2", "P", "R", "S", "SH", "T", "TH", "UH0", "UH1", "UH2", "UW", "UW0", "UW1", "UW2",
        "V", "W", "Y", "Z", "ZH"]

    struct GRU: Sendable {
        /// W_ih·emb[t] + b_ih for every input token t ([tokens, 3H]): the input side of the cell
        /// only ever sees embedding rows, so it is computed once at load.
        var inputProjection: [Float] = []
        let wIH: [Float]  // [3H, E]
        let wHH: [Float]  // [3H, H]
        let bIH: [Float]  // [3H]
        let bHH: [Float]  // [3H]
    }

    let hidden: Int
    let embed: Int
    let encEmb: [Float]  // [29, E]
    let decEmb: [Float]  // [74, E]
    var encoder: GRU
    var decoder: GRU
    let fcW: [Float]  // [74, H]
    let fcB: [Float]  // [74]

    init(file: EnglishDataFile) throws(TextError) {
        func tensor(_ name: String, _ shape: [Int]) throws(TextError) -> [Float] {
            let stored = try file.uint32s(name + ".shape").map(Int.init)
            let values = try file.floats(name)
            guard stored == shape, values.count == shape.reduce(1, *) else {
                throw TextError.dataUnavailable(name: file.name, reason: "'\(name)' has shape \(stored), expected \(shape)")
            }
            return values
        }
        let h = try file.uint32s("enc_w_hh.shape").last.map(Int.init) ?? 0
        let e = try file.uint32s("enc_emb.shape").last.map(Int.init) ?? 0
        guard h > 0, e > 0 else { throw TextError.dataUnavailable(name: file.name, reason: "GRU sizes missing") }
        hidden = h
        embed = e
        let g = Self.graphemes.count, p = Self.phonemes.count
        encEmb = try tensor("enc_emb", [g, e])
        decEmb = try tensor("dec_emb", [p, e])
        encoder = GRU(wIH: try tensor("enc_w_ih", [3 * h, e]), wHH: try tensor("enc_w_hh", [3 * h, h]),
                      bIH: try tensor("enc_b_ih", [3 * h]), bHH: try tensor("enc_b_hh", [3 * h]))
        decoder = GRU(wIH: try tensor("dec_w_ih", [3 * h, e]), wHH: try tensor("dec_w_hh", [3 * h, h]),
                      bIH: try tensor("dec_b_ih", [3 * h]), bHH: try tensor("dec_b_hh", [3 * h]))
        fcW = try tensor("fc_w", [p, h])
        fcB = try tensor("fc_b", [p])
        encoder.inputProjection = Self.project(encoder, embeddings: encEmb, rows: g, embed: e, hidden: h)
        decoder.inputProjection = Self.project(decoder, embeddings: decEmb, rows: p, embed: e, hidden: h)
    }

    /// W_ih·emb[t] + b_ih for all rows t.
    static func project(_ g: GRU, embeddings: [Float], rows: Int, embed E: Int, hidden H: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * 3 * H)
        g.wIH.withUnsafeBufferPointer { w in
            embeddings.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in
                    for t in 0..<rows {
                        for k in 0..<(3 * H) {
                            o[t * 3 * H + k] = dot(w.baseAddress! + k * E, x.baseAddress! + t * E, E) + g.bIH[k]
                        }
                    }
                }
            }
        }
        return out
    }

    /// Grapheme ids of `word` + `</s>`; characters outside a–z map to `<unk>` (as g2p_en's encode).
    static func graphemeIDs(_ word: String) -> [Int] {
        var ids: [Int] = []
        for ch in word {
            if let a = ch.asciiValue, a >= UInt8(ascii: "a"), a <= UInt8(ascii: "z") {
                ids.append(Int(a - UInt8(ascii: "a")) + 3)
            } else {
                ids.append(1)
            }
        }
        ids.append(2)
        return ids
    }

    /// Predicted phonemes of `word` (lower case) — may contain `<unk>`, `UW`, `<pad>` as g2p_en does.
    func predict(_ word: String) -> [String] {
        let ids = Self.graphemeIDs(word)
        var h = [Float](repeating: 0, count: hidden)
        var scratch = [Float](repeating: 0, count: 6 * hidden)
        for id in ids {
            step(encoder, row: id, h: &h, scratch: &scratch)
        }
        var token = 2  // <s>
        var out: [String] = []
        var logits = [Float](repeating: 0, count: Self.phonemes.count)
        for _ in 0..<20 {
            step(decoder, row: token, h: &h, scratch: &scratch)
            fcW.withUnsafeBufferPointer { w in
                h.withUnsafeBufferPointer { hp in
                    for o in 0..<logits.count {
                        logits[o] = Self.dot(hp.baseAddress!, w.baseAddress! + o * hidden, hidden) + fcB[o]
                    }
                }
            }
            // np.argmax: first index of the maximum.
            var best = 0
            for o in 1..<logits.count where logits[o] > logits[best] { best = o }
            if best == 3 { break }  // </s>
            out.append(Self.phonemes[best])
            token = best
        }
        return out
    }

    /// One GRU cell update: r,z = σ(W_ih x + b_ih + W_hh h + b_hh); n = tanh(ih_n + r·hh_n); h = (1−z)n + z h.
    private func step(_ g: GRU, row: Int, h: inout [Float], scratch: inout [Float]) {
        let H = hidden
        g.inputProjection.withUnsafeBufferPointer { proj in
            g.wHH.withUnsafeBufferPointer { whh in
                h.withUnsafeMutableBufferPointer { hp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        let ih = proj.baseAddress! + row * 3 * H
                        for k in 0..<(3 * H) {
                            sp[k] = ih[k]
                            sp[3 * H + k] = Self.dot(whh.baseAddress! + k * H, UnsafePointer(hp.baseAddress!), H) + g.bHH[k]
                        }
                        for j in 0..<H {
                            let r = 1 / (1 + expf(-(sp[j] + sp[3 * H + j])))
                            let z = 1 / (1 + expf(-(sp[H + j] + sp[4 * H + j])))
                            let n = tanhf(sp[2 * H + j] + r * sp[5 * H + j])
                            hp[j] = (1 - z) * n + z * hp[j]
                        }
                    }
                }
            }
        }
    }

    /// Float dot product with 8 interleaved partial sums (element i goes to sum i mod 8), combined
    /// pairwise. Plain scalar code: the same result in debug and release builds, and fast in both.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var i = 0
        while i + 8 <= n {
            s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
            s4 += a[i + 4] * b[i + 4]; s5 += a[i + 5] * b[i + 5]; s6 += a[i + 6] * b[i + 6]; s7 += a[i + 7] * b[i + 7]
            i += 8
        }
        while i < n { s0 += a[i] * b[i]; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }
}
