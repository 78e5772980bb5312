// Reverse-mode differentiation for training: a tape of coarse operations (a convolution, a fused
// attention, a layer norm — not scalar arithmetic), each with a hand-written backward that runs
// on BLAS products and the tensor core's loops. No official counterpart (PyTorch autograd's role).
//
// Why a tape and not one backward function per model: the SoVITS graph branches (the timbre
// embedding `ge` feeds the MRTE, every flow and WaveNet layer and the decoder; the discriminator
// runs on real and generated audio twice per step; the GPT's DPO branch reruns the transformer on a
// second sequence). A tape routes gradients through those joins by construction, while each
// operation's backward stays a hand-written, tested kernel. Activations live only in the
// closures of the nodes that need them, and a node is dropped the moment its backward has run,
// so memory falls as the backward pass proceeds.

import GSVTensor

/// A value recorded on a ``Tape``: its tensor and whether gradients flow back to it.
///
/// `Var`s are cheap handles (the tensor storage is copy-on-write and shared).
public struct Var: Sendable {
    /// Position on the tape's gradient table; `-1` for constants.
    public let id: Int
    /// The value.
    public let value: Tensor
    /// The shape of ``value``.
    public var shape: [Int] { value.shape }
    /// Whether some trainable parameter contributed to this value.
    public var requiresGrad: Bool { id >= 0 }

    init(id: Int, value: Tensor) {
        self.id = id
        self.value = value
    }

    /// A constant (no gradient flows back through it).
    public static func constant(_ t: Tensor) -> Var { Var(id: -1, value: t) }
}

/// Gradients of the trainable tensors of one backward pass, by parameter index.
public typealias GradientSink = (Int, Tensor) -> Void

/// A recording of the operations of one forward pass, run backwards by ``backward(from:seed:)``.
///
/// Single-threaded: one tape belongs to one training step (the operations themselves use every
/// core). Operations whose inputs are all constants record nothing.
public final class Tape {
    private struct Node {
        let output: Int
        let backward: (Tensor, Tape) -> Void
    }

    private var nodes: [Node] = []
    private var grads: [Tensor?] = []
    /// Leaf variables bound to trainable parameters: var id → parameter index.
    private var leafParameter: [Int: Int] = [:]
    /// Parameter index → its leaf variable (one leaf per parameter per tape).
    private var parameterLeaf: [Int: Var] = [:]

    /// An empty tape.
    public init() {}

    /// Number of recorded operations not yet run backwards.
    public var pendingOperations: Int { nodes.count }

    /// The leaf for trainable parameter `index` with value `value` (the same leaf each time).
    public func parameter(_ index: Int, value: Tensor) -> Var {
        if let v = parameterLeaf[index] { return v }
        let v = Var(id: newID(), value: value)
        leafParameter[v.id] = index
        parameterLeaf[index] = v
        return v
    }

    /// A fresh trainable leaf that is not a parameter (tests: finite-difference checks on inputs).
    public func leaf(_ value: Tensor) -> Var { Var(id: newID(), value: value) }

    private func newID() -> Int {
        grads.append(nil)
        return grads.count - 1
    }

    /// Records an operation: `value` is its result; `backward(grad, tape)` receives the gradient of
    /// the result and calls ``accumulate(_:_:)`` for each input that requires a gradient.
    /// Returns a constant when `differentiable` is false (no input needs a gradient).
    public func record(_ value: Tensor, differentiable: Bool, backward: @escaping (Tensor, Tape) -> Void) -> Var {
        guard differentiable else { return .constant(value) }
        let v = Var(id: newID(), value: value)
        nodes.append(Node(output: v.id, backward: backward))
        return v
    }

    /// Adds `g` to the gradient of `v` (ignored for constants).
    /// - Precondition: `g` has the shape of `v`.
    public func accumulate(_ v: Var, _ g: Tensor) {
        guard v.id >= 0 else { return }
        precondition(g.shape == v.value.shape, "gradient \(g.shape) for a value of shape \(v.value.shape)")
        if grads[v.id] == nil {
            grads[v.id] = g
        } else {
            grads[v.id]!.scalars.withUnsafeMutableBufferPointer { dst in
                g.scalars.withUnsafeBufferPointer { src in
                    guard let d = dst.baseAddress, let s = src.baseAddress else { return }
                    addInto(d, s, count: dst.count)
                }
            }
        }
    }

    /// Runs the tape backwards from `output` (seeded with `seed`, ones by default for a scalar),
    /// handing each parameter's gradient to `sink` as soon as nothing else can add to it (at the
    /// end), and freeing every node and intermediate gradient as it goes. The tape is empty after.
    public func backward(from output: Var, seed: Tensor? = nil, sink: GradientSink) {
        guard output.id >= 0 else {
            nodes.removeAll()
            return
        }
        runBackward(from: output, seed: seed)
        for (id, index) in leafParameter.sorted(by: { $0.value < $1.value }) {
            if let g = grads[id] { sink(index, g) }
            grads[id] = nil
        }
    }

    /// The gradient accumulated for a leaf created with ``leaf(_:)`` (tests), after ``backward(from:seed:sink:)``.
    public func gradient(of v: Var) -> Tensor? { v.id >= 0 && v.id < grads.count ? grads[v.id] : nil }

    /// Like ``backward(from:seed:sink:)`` but keeps the gradients of non-parameter leaves readable
    /// with ``gradient(of:)`` (tests).
    public func backwardKeepingLeaves(from output: Var, seed: Tensor? = nil) {
        runBackward(from: output, seed: seed)
    }

    /// Seeds `output` and runs every node backwards, last first, dropping each node and its
    /// output's gradient as soon as it has run.
    private func runBackward(from output: Var, seed: Tensor?) {
        accumulate(output, seed ?? Tensor(repeating: 1, shape: output.shape))
        while let node = nodes.popLast() {
            guard let g = grads[node.output] else { continue }
            grads[node.output] = nil
            node.backward(g, self)
        }
    }
}

/// `d[i] += s[i]`.
@inline(__always)
func addInto(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { d[i] += s[i] }
}
