import Foundation
import GSVTensor

/// One LSTM cell, as `torch.nn.LSTMCell`: gates `x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh` split into input,
/// forget, cell and output parts (that order), `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`.
///
/// A sequence runs in two parts: ``inputProjection(_:)`` for every step at once (one matrix
/// product), then ``step(projected:state:)`` per step, which only adds the recurrent product.
public struct LSTMCell: Sendable {
    /// `[4·hidden, input]`.
    public let weightIH: Tensor
    /// `[4·hidden, hidden]`.
    public let weightHH: Tensor
    /// `[4·hidden]` (`bias_ih + bias_hh`, summed once).
    public let bias: Tensor

    /// The recurrent state: hidden and cell vectors, `[hidden]` each.
    public struct State: Sendable, Equatable {
        /// `h`.
        public var hidden: [Float]
        /// `c`.
        public var cell: [Float]

        /// The zero state of a cell with `size` hidden units.
        public init(size: Int) {
            hidden = [Float](repeating: 0, count: size)
            cell = [Float](repeating: 0, count: size)
        }
    }

    /// Creates the cell from PyTorch-layout weights (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`).
    /// - Throws: ``NNError/shapeMismatch(layer:tensor:expected:got:)`` for inconsistent shapes.
    public init(weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?) throws {
        guard weightHH.rank == 2, weightHH.shape[0] == 4 * weightHH.shape[1] else {
            throw NNError.shapeMismatch(layer: "LSTMCell", tensor: "weight_hh", expected: "[4·hidden, hidden]", got: weightHH.shape)
        }
        let gates = weightHH.shape[0]
        guard weightIH.rank == 2, weightIH.shape[0] == gates else {
            throw NNError.shapeMismatch(layer: "LSTMCell", tensor: "weight_ih", expected: "[\(gates), input]", got: weightIH.shape)
        }
        for (name, b) in [("bias_ih", biasIH), ("bias_hh", biasHH)] {
            if let b, b.shape != [gates] {
                throw NNError.shapeMismatch(layer: "LSTMCell", tensor: name, expected: "[\(gates)]", got: b.shape)
            }
        }
        self.weightIH = weightIH
        self.weightHH = weightHH
        var sum = [Float](repeating: 0, count: gates)
        if let b = biasIH { for i in 0..<gates { sum[i] += b.scalars[i] } }
        if let b = biasHH { for i in 0..<gates { sum[i] += b.scalars[i] } }
        bias = Tensor(shape: [gates], scalars: sum)
    }

    /// Hidden units.
    public var hiddenSize: Int { weightHH.shape[1] }
    /// Input width.
    public var inputSize: Int { weightIH.shape[1] }

    /// `x·W_ihᵀ + b_ih + b_hh` for every row of `x [steps, input]` → `[steps, 4·hidden]`.
    public func inputProjection(_ x: Tensor) -> Tensor {
        linear(x, weight: weightIH, bias: bias)
    }

    /// One step from a projected input row (`4·hidden` values of ``inputProjection(_:)``).
    public func step(projected: UnsafeBufferPointer<Float>, state: inout State) {
        let n = hiddenSize
        precondition(projected.count == 4 * n && state.hidden.count == n && state.cell.count == n, "LSTMCell state/input size")
        var gates = Array(projected)
        weightHH.scalars.withUnsafeBufferPointer { w in
            state.hidden.withUnsafeBufferPointer { h in
                for r in 0..<(4 * n) {
                    var acc: Float = 0
                    let row = w.baseAddress! + r * n
                    for k in 0..<n { acc += row[k] * h[k] }
                    gates[r] += acc
                }
            }
        }
        @inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }
        for j in 0..<n {
            let i = sigmoid(gates[j]), f = sigmoid(gates[n + j])
            let g = Foundation.tanh(gates[2 * n + j]), o = sigmoid(gates[3 * n + j])
            let c = f * state.cell[j] + i * g
            state.cell[j] = c
            state.hidden[j] = o * Foundation.tanh(c)
        }
    }

    /// One step from an input vector `[input]`.
    public func step(_ x: [Float], state: inout State) {
        let p = inputProjection(Tensor(shape: [1, x.count], scalars: x))
        p.scalars.withUnsafeBufferPointer { step(projected: $0, state: &state) }
    }
}
