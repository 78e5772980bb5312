import GSVTensor
import GSVWeights

/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm(D)`.
public struct LayerNorm: Sendable {
    /// `[D]` or nil (`elementwise_affine=False`).
    public let weight: Tensor?
    /// `[D]` or nil.
    public let bias: Tensor?
    /// Added to the variance before the square root.
    public let eps: Float

    /// - Throws: ``NNError`` if `weight` and `bias` are not matching 1-D tensors.
    public init(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws {
        if let w = weight, w.rank != 1 {
            throw NNError.shapeMismatch(layer: "LayerNorm", tensor: "weight", expected: "[D]", got: w.shape)
        }
        if let b = bias, b.rank != 1 || (weight != nil && b.shape != weight?.shape) {
            throw NNError.shapeMismatch(layer: "LayerNorm", tensor: "bias", expected: "\(weight?.shape ?? [-1])", got: b.shape)
        }
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    /// Declares the affine parameters `[dim]` through `p`. `names` gives their keys (the
    /// channel-first `modules.LayerNorm` of VITS/SoVITS stores `gamma`/`beta`); by default they are
    /// `weight`/`bias`, or `gamma`/`beta` when a checkpoint stores those instead (the TensorFlow
    /// names transformers renames at load; so do we). Random sources draw them with the given laws.
    /// - Throws: `WeightsError` for missing or misshapen weights.
    public init(_ p: ParameterSource, dim: Int, eps: Float = 1e-5, names: (weight: String, bias: String)? = nil,
                weightInit: ParameterInit = .constant(1), biasInit: ParameterInit = .constant(0)) throws {
        let keys = names ?? (p.contains("gamma") && !p.contains("weight") ? ("gamma", "beta") : ("weight", "bias"))
        try self.init(weight: p.tensor(keys.weight, shape: [dim], initial: weightInit),
                      bias: p.tensor(keys.bias, shape: [dim], initial: biasInit), eps: eps)
    }

    /// Normalises each row of the last dimension.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: weight, bias: bias, eps: eps)
    }

    /// In place, `count` rows of `x` (row-major, width `D`): `x = LayerNorm(x + delta)`, the
    /// residual and post-norm of a transformer layer in one pass per row (the decoder's
    /// allocation-free form; ``GSVTensor/addLayerNorm(_:adding:rows:width:weight:bias:eps:)``).
    /// - Precondition: the layer has both affine parameters.
    public func addNormalizing(rows x: UnsafeMutablePointer<Float>, delta: UnsafePointer<Float>, count rows: Int) {
        guard let weight, let bias else { preconditionFailure("LayerNorm.addNormalizing needs weight and bias") }
        weight.scalars.withUnsafeBufferPointer { wp in
            bias.scalars.withUnsafeBufferPointer { bp in
                guard let w = wp.baseAddress, let b = bp.baseAddress else { return }
                addLayerNorm(x, adding: delta, rows: rows, width: wp.count, weight: w, bias: b, eps: eps)
            }
        }
    }

    /// Normalises over `axis` instead — `axis: 0` on `[C, T]` (or 1 on `[B, C, T]`) is the
    /// channel-first `modules.LayerNorm` of VITS/SoVITS (`gamma`/`beta` as weight/bias).
    public func callAsFunction(_ x: Tensor, axis: Int) -> Tensor {
        layerNorm(x, weight: weight, bias: bias, eps: eps, axis: axis)
    }
}

/// Group normalisation of `[B, C, *]`, as `torch.nn.GroupNorm(groups, C)`.
public struct GroupNorm: Sendable {
    /// Number of channel groups.
    public let groups: Int
    /// `[C]` or nil.
    public let weight: Tensor?
    /// `[C]` or nil.
    public let bias: Tensor?
    /// Added to the variance before the square root.
    public let eps: Float

    /// - Throws: ``NNError`` if the channel count is not divisible by `groups` or shapes disagree.
    public init(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws {
        guard groups >= 1 else { throw NNError.invalidParameter(layer: "GroupNorm", message: "groups \(groups) < 1") }
        if let w = weight, w.rank != 1 || w.shape[0] % groups != 0 {
            throw NNError.shapeMismatch(layer: "GroupNorm", tensor: "weight", expected: "[C], C divisible by \(groups)",
                                        got: w.shape)
        }
        if let b = bias, b.rank != 1 || (weight != nil && b.shape != weight?.shape) {
            throw NNError.shapeMismatch(layer: "GroupNorm", tensor: "bias", expected: "\(weight?.shape ?? [-1])", got: b.shape)
        }
        self.groups = groups
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    /// Declares `<p>.weight` / `<p>.bias` `[channels]` through `p` (random: the given laws).
    /// - Throws: `WeightsError` for missing or misshapen weights, ``NNError`` for a bad group count.
    public init(_ p: ParameterSource, groups: Int, channels: Int, eps: Float = 1e-5,
                weightInit: ParameterInit = .constant(1), biasInit: ParameterInit = .constant(0)) throws {
        try self.init(groups: groups, weight: p.tensor("weight", shape: [channels], initial: weightInit),
                      bias: p.tensor("bias", shape: [channels], initial: biasInit), eps: eps)
    }

    /// Normalises `[B, C, *]`; with `gelu`, applies GELU to the result (in the same pass when each
    /// channel is its own group).
    public func callAsFunction(_ x: Tensor, gelu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, gelu: gelu)
    }
}

/// A lookup table of embeddings, as `torch.nn.Embedding`.
public struct Embedding: Sendable {
    /// `[V, D]`.
    public let weight: Tensor

    /// Declares `<p>.weight` `[count, dimension]` through `p` (random: the given law).
    /// - Throws: `WeightsError` for a missing or misshapen table.
    public init(_ p: ParameterSource, count: Int, dimension: Int, initial: ParameterInit = .std(1)) throws {
        try self.init(weight: p.tensor("weight", shape: [count, dimension], initial: initial))
    }

    /// - Throws: ``NNError`` if `weight` is not 2-D.
    public init(weight: Tensor) throws {
        guard weight.rank == 2 else {
            throw NNError.shapeMismatch(layer: "Embedding", tensor: "weight", expected: "[V, D]", got: weight.shape)
        }
        self.weight = weight
    }

    /// Vocabulary size `V`.
    public var count: Int { weight.shape[0] }
    /// Embedding width `D`.
    public var dimension: Int { weight.shape[1] }

    /// Rows for `ids`: `[ids.count, D]`. Ids come from models; an id outside `0..<count` is a
    /// programmer error and stops with a precondition failure naming it.
    public func callAsFunction(_ ids: [Int]) -> Tensor {
        embedding(ids: ids, table: weight)
    }

    /// Rows for a `[B, T]` (or any shape) grid of ids: returns `shape + [D]`.
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        precondition(shape.reduce(1, *) == ids.count, "Embedding: \(ids.count) ids for shape \(shape)")
        return embedding(ids: ids, table: weight).reshaped(shape + [dimension])
    }
}
