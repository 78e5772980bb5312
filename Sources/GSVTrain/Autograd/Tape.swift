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

import Foundation
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
        let label: String
        let backward: (Tensor, Tape) -> Void
    }

    private var nodes: [Node] = []
    private var grads: [Tensor?] = []
    /// Leaf variables bound to trainable parameters: var id → parameter index.
    private var leafParameter: [Int: Int] = [:]
    /// Parameter index → its leaf variable (one leaf per parameter per tape).
    private var parameterLeaf: [Int: Var] = [:]

    /// Where the time of each operation is added up (benchmarks); nil = not measured.
    public let profile: TapeProfile?

    /// An empty tape; `profile` (shared by the tapes of one step) adds up the time of each operation.
    public init(profile: TapeProfile? = nil) { self.profile = profile }

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
    /// `label` names the operation in a ``TapeProfile`` (the calling function by default).
    public func record(_ value: Tensor, differentiable: Bool, label: @autoclosure () -> String = "",
                       function: StaticString = #function, backward: @escaping (Tensor, Tape) -> Void) -> Var {
        var name = ""
        if let profile {
            let l = label()
            name = l.isEmpty ? Self.shortName(function) : l
            profile.endForward(name)
        }
        guard differentiable else { return .constant(value) }
        let v = Var(id: newID(), value: value)
        nodes.append(Node(output: v.id, label: name, backward: backward))
        return v
    }

    /// `conv1d(_:weight:…)` → `conv1d`.
    private static func shortName(_ f: StaticString) -> String {
        let s = f.description
        return s.firstIndex(of: "(").map { String(s[..<$0]) } ?? s
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
        profile?.mark()
        while let node = nodes.popLast() {
            guard let g = grads[node.output] else { continue }
            grads[node.output] = nil
            node.backward(g, self)
            profile?.endBackward(node.label)
        }
    }
}

/// `d[i] += s[i]`.
@inline(__always)
func addInto(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { d[i] += s[i] }
}

/// Adds up the time of the operations of one or more tapes by label (benchmarks: where a training
/// step spends its time). Forward time is the time since the previous mark, charged to the operation
/// recorded next; work outside the tapes is charged with ``section(_:_:)``. Times are process CPU
/// seconds (every thread) and wall seconds.
public final class TapeProfile: @unchecked Sendable {
    /// The figures of one label.
    public struct Entry: Sendable {
        public var cpu = 0.0, wall = 0.0, calls = 0
    }

    private var last: (cpu: Double, wall: Double)
    /// Forward (and outside-tape sections) by label.
    public private(set) var forward: [String: Entry] = [:]
    /// Backward by label.
    public private(set) var backward: [String: Entry] = [:]

    public init() { last = Self.now() }

    /// Process CPU seconds (every thread) and monotonic wall seconds, now.
    public static func now() -> (cpu: Double, wall: Double) {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        let cpu = Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        var w = timespec()
        clock_gettime(CLOCK_MONOTONIC, &w)
        return (cpu, Double(w.tv_sec) + Double(w.tv_nsec) * 1e-9)
    }

    /// Starts a new interval without charging the time since the last mark to anything.
    public func mark() { last = Self.now() }

    private func charge(_ table: inout [String: Entry], _ label: String) {
        let t = Self.now()
        table[label, default: Entry()].cpu += t.cpu - last.cpu
        table[label, default: Entry()].wall += t.wall - last.wall
        table[label, default: Entry()].calls += 1
        last = t
    }

    /// Charges the time since the last mark to `label` (work outside the tapes).
    public func lap(_ label: String) { charge(&forward, label) }

    func endForward(_ label: String) { charge(&forward, label) }
    func endBackward(_ label: String) { charge(&backward, label) }

    /// Runs `body` and charges its time (and the time since the last mark) to `label`.
    public func section<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        mark()
        defer { charge(&forward, label) }
        return try body()
    }

    /// Merges another profile's figures into this one.
    public func add(_ other: TapeProfile) {
        for (k, e) in other.forward { forward[k, default: Entry()].cpu += e.cpu; forward[k, default: Entry()].wall += e.wall; forward[k, default: Entry()].calls += e.calls }
        for (k, e) in other.backward { backward[k, default: Entry()].cpu += e.cpu; backward[k, default: Entry()].wall += e.wall; backward[k, default: Entry()].calls += e.calls }
    }

    /// Total CPU seconds charged.
    public var totalCPU: Double { (forward.values.map(\.cpu) + backward.values.map(\.cpu)).reduce(0, +) }

    /// The `limit` labels with the most CPU time (forward + backward), as printable lines.
    public func report(limit: Int = 30) -> [String] {
        let keys = Set(forward.keys).union(backward.keys)
        let rows = keys.map { k -> (String, Entry, Entry) in (k, forward[k] ?? Entry(), backward[k] ?? Entry()) }
            .sorted { $0.1.cpu + $0.2.cpu > $1.1.cpu + $1.2.cpu }
        let total = max(totalCPU, 1e-9)
        var lines = [String(format: "%-44@ %9@ %9@ %6@ %7@", "operation" as NSString, "fwd cpu s" as NSString,
                            "bwd cpu s" as NSString, "share" as NSString, "calls" as NSString)]
        for (k, f, b) in rows.prefix(limit) {
            lines.append(String(format: "%-44@ %9.2f %9.2f %5.1f%% %7d", k as NSString, f.cpu, b.cpu, 100 * (f.cpu + b.cpu) / total,
                                f.calls + b.calls))
        }
        return lines
    }
}
