// Follows GPT_SoVITS/module/quantize.py: ResidualVectorQuantizer and GPT_SoVITS/module/core_vq.py:
// ResidualVectorQuantization, EuclideanCodebook (quantize / dequantize). Inference only: the EMA
// buffers (`cluster_size`, `embed_avg`) are read for shape and ignored.

import GSVNN
import GSVTensor

/// Residual vector quantizer over SSL features: nearest codebook row per frame, layer by layer.
public struct ResidualVectorQuantizer: Sendable {
    /// `vq.layers.<i>._codebook.embed`, each `[bins, dim]`.
    public let codebooks: [Tensor]
    /// Squared norms of every codebook row, per layer (precomputed at load).
    let rowNorms: [[Float]]

    init(_ p: ParameterSource, config c: SoVITSConfig) throws {
        var books: [Tensor] = []
        for i in 0..<c.quantizerLayers {
            let cb = p.scoped("vq.layers.\(i)._codebook")
            let embed = try cb.tensor("embed", shape: [c.codebookSize, c.sslDim], initial: .std(1))
            if !cb.isRandom {
                if let inited = try cb.optionalTensor("inited", shape: [1], randomPresent: false),
                   inited.scalars[0] != 1 {
                    throw SoVITSError.invalidConfig("codebook layer \(i) is not initialised (inited = \(inited.scalars[0]))")
                }
                _ = try cb.optionalTensor("cluster_size", shape: [c.codebookSize], randomPresent: false)
                _ = try cb.optionalTensor("embed_avg", shape: [c.codebookSize, c.sslDim], randomPresent: false)
            }
            books.append(embed)
        }
        self.init(codebooks: books)
    }

    /// A quantizer over the given codebooks (`vq.layers.<i>._codebook.embed`, each `[bins, dim]`,
    /// all of one shape) — e.g. the frozen quantizer of SoVITS training.
    /// - Precondition: at least one codebook, all 2-D of equal shape.
    public init(codebooks books: [Tensor]) {
        precondition(!books.isEmpty && books.allSatisfy { $0.rank == 2 && $0.shape == books[0].shape },
                     "ResidualVectorQuantizer: codebooks \(books.map(\.shape))")
        codebooks = books
        rowNorms = books.map { e in
            let (n, d) = (e.shape[0], e.shape[1])
            return (0..<n).map { r in
                var s: Float = 0
                for j in 0..<d { let v = e.scalars[r * d + j]; s += v * v }
                return s
            }
        }
    }

    /// Codebook entries per layer.
    public var codebookSize: Int { codebooks[0].shape[0] }
    /// Feature width.
    public var dimension: Int { codebooks[0].shape[1] }

    /// Quantizes `x` `[dim, T]`: for each layer the index maximising
    /// `−(‖x‖² − 2·x·e + ‖e‖²)` of the running residual. Returns one row of `T` codes per layer.
    /// - Throws: ``SoVITSError/invalidInput(_:)`` if `x` is not `[dim, T ≥ 1]`.
    public func encode(_ x: Tensor) throws -> [[Int]] {
        guard x.rank == 2, x.shape[0] == dimension, x.shape[1] > 0 else {
            throw SoVITSError.invalidInput("quantizer input has shape \(x.shape), expected [\(dimension), T ≥ 1]")
        }
        let t = x.shape[1]
        var residual = x.transposed()  // [T, dim]
        var all: [[Int]] = []
        for (layer, embed) in codebooks.enumerated() {
            let (n, d) = (embed.shape[0], embed.shape[1])
            let dots = matmul(residual, embed.transposed())  // [T, n]
            var codes = [Int](repeating: 0, count: t)
            for i in 0..<t {
                var xx: Float = 0
                for j in 0..<d { let v = residual.scalars[i * d + j]; xx += v * v }
                var best = -Float.infinity, bestIndex = 0
                for r in 0..<n {
                    let dist = -(xx - 2 * dots.scalars[i * n + r] + rowNorms[layer][r])
                    if dist > best { best = dist; bestIndex = r }
                }
                codes[i] = bestIndex
            }
            all.append(codes)
            if layer + 1 < codebooks.count {
                residual = residual - embedding(ids: codes, table: embed)
            }
        }
        return all
    }

    /// Sum over the given layers of the codebook rows: `codes[l][t]` → `[dim, T]`.
    /// - Throws: ``SoVITSError`` for no rows, more rows than layers, empty or unequal rows, or a
    ///   code outside the codebook.
    public func decode(_ codes: [[Int]]) throws -> Tensor {
        guard !codes.isEmpty, codes.count <= codebooks.count else {
            throw SoVITSError.invalidInput("\(codes.count) code rows for a \(codebooks.count)-layer quantizer")
        }
        let t = codes[0].count
        guard t > 0, codes.allSatisfy({ $0.count == t }) else {
            throw SoVITSError.invalidInput("code rows must be non-empty and of equal length, got \(codes.map(\.count))")
        }
        for row in codes {
            for (i, c) in row.enumerated() where c < 0 || c >= codebookSize {
                throw SoVITSError.codeOutOfRange(position: i, value: c, codebookSize: codebookSize)
            }
        }
        var sum = embedding(ids: codes[0], table: codebooks[0])
        for l in 1..<codes.count { sum = sum + embedding(ids: codes[l], table: codebooks[l]) }
        return sum.transposed()
    }
}
