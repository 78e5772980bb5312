import Foundation

// Little-endian reader for fastText model files (`.bin` / `.ftz`). Every read is bounds-checked and a
// short or inconsistent file raises `TextError.dataUnavailable` naming the file and the field.

struct FastTextReader {
    let bytes: [UInt8]
    let name: String
    var offset = 0

    init(bytes: [UInt8], name: String) { self.bytes = bytes; self.name = name }

    func fail(_ reason: String) -> TextError {
        TextError.dataUnavailable(name: name, reason: "\(reason) (at byte \(offset) of \(bytes.count))")
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, offset <= bytes.count, bytes.count - offset >= n else {
            throw fail("file ends inside \(what)")
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool(_ what: String) throws -> Bool { try u8(what) != 0 }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return v
    }

    mutating func i32(_ what: String) throws -> Int32 { Int32(bitPattern: try u32(what)) }

    mutating func i64(_ what: String) throws -> Int64 {
        try need(8, what)
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        offset += 8
        return Int64(bitPattern: v)
    }

    mutating func f64(_ what: String) throws -> Double { Double(bitPattern: UInt64(bitPattern: try i64(what))) }

    /// `count` little-endian float32 values.
    mutating func floats(_ count: Int, _ what: String) throws -> [Float] {
        guard count >= 0, count <= Int.max / 4 else { throw fail("bad element count \(count) for \(what)") }
        try need(count * 4, what)
        var out = [Float](repeating: 0, count: count)
        var o = offset
        for i in 0..<count {
            let v = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            out[i] = Float(bitPattern: v)
            o += 4
        }
        offset = o
        return out
    }

    mutating func raw(_ count: Int, _ what: String) throws -> [UInt8] {
        try need(count, what)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Bytes up to (not including) the next NUL.
    mutating func cString(_ what: String) throws -> [UInt8] {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw fail("unterminated \(what)") }
        defer { offset = end + 1 }
        return Array(bytes[offset..<end])
    }
}

/// Product quantizer of a quantized fastText matrix: each row is stored as one byte per sub-vector, an
/// index into 256 centroids of that sub-space (the last sub-space may be narrower).
// Follows fastText src/productquantizer.cc: ProductQuantizer (load, get_centroids, addcode, mulcode).
struct ProductQuantizer: Sendable {
    static let centroidCount = 256
    let dim: Int
    let subquantizers: Int
    let subDim: Int
    let lastSubDim: Int
    let centroids: [Float]

    init(_ r: inout FastTextReader, what: String) throws {
        dim = Int(try r.i32("\(what) dim"))
        subquantizers = Int(try r.i32("\(what) nsubq"))
        subDim = Int(try r.i32("\(what) dsub"))
        lastSubDim = Int(try r.i32("\(what) lastdsub"))
        guard dim > 0, dim <= 1 << 16, subquantizers > 0, subDim > 0, lastSubDim > 0, lastSubDim <= subDim || subquantizers == 1,
              (subquantizers - 1) * subDim + lastSubDim == dim else {
            throw r.fail("inconsistent \(what) shape dim \(dim), nsubq \(subquantizers), dsub \(subDim), lastdsub \(lastSubDim)")
        }
        centroids = try r.floats(dim * Self.centroidCount, "\(what) centroids")
    }

    /// Start of centroid `code` of sub-space `m` in `centroids`.
    @inline(__always) func centroidStart(_ m: Int, _ code: UInt8) -> Int {
        m == subquantizers - 1
            ? m * Self.centroidCount * subDim + Int(code) * lastSubDim
            : (m * Self.centroidCount + Int(code)) * subDim
    }

    /// x += alpha · decode(codes[row]).
    func addCode(to x: inout [Float], codes: [UInt8], row: Int, alpha: Float) {
        let base = row * subquantizers
        for m in 0..<subquantizers {
            let c = centroidStart(m, codes[base + m])
            let d = m == subquantizers - 1 ? lastSubDim : subDim
            for n in 0..<d { x[m * subDim + n] += alpha * centroids[c + n] }
        }
    }

    /// alpha · ⟨x, decode(codes[row])⟩, accumulated in float as fastText does.
    func mulCode(_ x: [Float], codes: [UInt8], row: Int, alpha: Float) -> Float {
        var res: Float = 0
        let base = row * subquantizers
        for m in 0..<subquantizers {
            let c = centroidStart(m, codes[base + m])
            let d = m == subquantizers - 1 ? lastSubDim : subDim
            for n in 0..<d { res += x[m * subDim + n] * centroids[c + n] }
        }
        return res * alpha
    }
}

/// A fastText matrix, plain or product-quantized.
// Follows fastText src/densematrix.cc and src/quantmatrix.cc: load, addRowToVector, dotRow.
enum FastTextMatrix: Sendable {
    case dense(rows: Int, cols: Int, data: [Float])
    /// Quantized rows; `norms` (with `normQuantizer`) rescale each row when the norm is quantized separately.
    case quantized(rows: Int, cols: Int, codes: [UInt8], quantizer: ProductQuantizer, norms: [UInt8]?, normQuantizer: ProductQuantizer?)

    static func dense(_ r: inout FastTextReader, what: String) throws -> FastTextMatrix {
        let m = try r.i64("\(what) rows"), n = try r.i64("\(what) columns")
        guard m >= 0, n > 0, n <= 1 << 16, m <= Int64(r.bytes.count) / 4 / n else {
            throw r.fail("bad \(what) shape \(m)×\(n)")
        }
        return .dense(rows: Int(m), cols: Int(n), data: try r.floats(Int(m * n), "\(what) values"))
    }

    static func quantized(_ r: inout FastTextReader, what: String) throws -> FastTextMatrix {
        let qnorm = try r.bool("\(what) qnorm flag")
        let m = try r.i64("\(what) rows"), n = try r.i64("\(what) columns")
        let codeSize = try r.i32("\(what) code size")
        guard m >= 0, n > 0, n <= 1 << 16, m <= Int64(r.bytes.count) else { throw r.fail("bad \(what) shape \(m)×\(n)") }
        let codes = try r.raw(Int(codeSize), "\(what) codes")
        let pq = try ProductQuantizer(&r, what: "\(what) quantizer")
        guard pq.dim == Int(n), Int64(codeSize) == m * Int64(pq.subquantizers) else {
            throw r.fail("\(what): quantizer dim \(pq.dim) / code size \(codeSize) do not fit \(m)×\(n)")
        }
        var norms: [UInt8]?
        var npq: ProductQuantizer?
        if qnorm {
            norms = try r.raw(Int(m), "\(what) norm codes")
            let q = try ProductQuantizer(&r, what: "\(what) norm quantizer")
            guard q.dim == 1, q.subquantizers == 1 else { throw r.fail("\(what): norm quantizer is not one-dimensional") }
            npq = q
        }
        return .quantized(rows: Int(m), cols: Int(n), codes: codes, quantizer: pq, norms: norms, normQuantizer: npq)
    }

    var rows: Int {
        switch self { case let .dense(r, _, _): return r; case let .quantized(r, _, _, _, _, _): return r }
    }

    var cols: Int {
        switch self { case let .dense(_, c, _): return c; case let .quantized(_, c, _, _, _, _): return c }
    }

    /// x += row i. `i` must be below `rows` (checked by the caller).
    func addRow(_ i: Int, to x: inout [Float]) {
        switch self {
        case let .dense(_, cols, data):
            let base = i * cols
            for j in 0..<cols { x[j] += data[base + j] }
        case let .quantized(_, _, codes, pq, norms, npq):
            var norm: Float = 1
            if let norms, let npq { norm = npq.centroids[npq.centroidStart(0, norms[i])] }
            pq.addCode(to: &x, codes: codes, row: i, alpha: norm)
        }
    }

    /// ⟨row i, x⟩.
    func dotRow(_ i: Int, _ x: [Float]) -> Float {
        switch self {
        case let .dense(_, cols, data):
            var d: Float = 0
            let base = i * cols
            for j in 0..<cols { d += data[base + j] * x[j] }
            return d
        case let .quantized(_, _, codes, pq, norms, npq):
            var norm: Float = 1
            if let norms, let npq { norm = npq.centroids[npq.centroidStart(0, norms[i])] }
            return pq.mulCode(x, codes: codes, row: i, alpha: norm)
        }
    }
}
