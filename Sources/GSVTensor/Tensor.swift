/// A dense, row-major, contiguous Float32 tensor.
///
/// All compute in swift-gpt-sovits happens in Float32. Weights stored as fp16/bf16 on disk are
/// either widened when a model is loaded or kept as ``HalfMatrix`` and widened inside kernels.
/// `Tensor` is a value type backed by a copy-on-write Swift array, so it is `Sendable` and can be
/// shared freely between concurrent requests.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The size of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.product`.
    public var scalars: [Float]

    /// Creates a tensor from a shape and its row-major elements.
    /// - Precondition: the element count equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A zero-filled tensor.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A one-dimensional tensor holding `values`.
    public init(_ values: [Float]) { self.init(shape: [values.count], scalars: values) }

    /// A tensor built by calling `body` with each flat index.
    public init(shape: [Int], generator body: (Int) -> Float) {
        let n = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = body(i) }
        self.init(shape: shape, scalars: out)
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { scalars.count }

    /// Row-major strides of `shape`, in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    /// Row-major strides for an arbitrary shape.
    public static func strides(for shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Normalises a possibly negative axis (`-1` = last) to `0..<rank`.
    public func axis(_ a: Int) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < rank, "axis \(a) out of range for rank \(rank)")
        return r
    }

    /// The size of dimension `a` (negative counts from the end).
    public func dim(_ a: Int) -> Int { shape[axis(a)] }

    /// Element access by multi-index.
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    @inline(__always)
    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) != tensor rank \(rank)")
        var flat = 0
        for (i, v) in index.enumerated() {
            precondition(v >= 0 && v < shape[i], "index \(index) out of bounds for shape \(shape)")
            flat = flat * shape[i] + v
        }
        return flat
    }

    /// The same elements under a new shape; one dimension may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let infer = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != infer }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[infer] = count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        var t = self
        t.shape = s
        return t
    }

    /// Adds a dimension of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes a dimension of size 1 at `axis`.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = self.axis(axis)
        precondition(shape[a] == 1, "cannot squeeze axis \(axis) of size \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    public var description: String {
        let head = scalars.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}

import Foundation
