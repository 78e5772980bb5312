import Testing
@testable import GSVTensor

/// Random tensor with entries uniform in [-1, 1), reproducible from `seed`.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SeededRNG(seed: seed)
    return rng.uniform(shape: shape, lo: -1, hi: 1)
}

/// Largest |a − b| (infinite when the counts differ).
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .infinity }
        m = max(m, d)
    }
    return m
}

/// Checks element-wise closeness with a tolerance relative to the magnitude of `expected`.
func expectClose(_ actual: [Float], _ expected: [Float], tol: Float = 1e-5,
                 _ what: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "count \(actual.count) vs \(expected.count) \(what())",
            sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    for i in 0..<actual.count {
        let ok = abs(actual[i] - expected[i]) <= tol * max(1, abs(expected[i]))
        if !ok {
            Issue.record("element \(i): \(actual[i]) vs expected \(expected[i]) (tol \(tol)) \(what())",
                         sourceLocation: sourceLocation)
            return
        }
    }
}

/// Kernel-level tests run once per level as separate tests; a level this CPU lacks is reported as
/// skipped with the reason (never passed silently).
func levelTrait(_ level: KernelLevel) -> ConditionTrait {
    .enabled(if: level.isAvailable, Comment(rawValue: level.unavailableReason))
}
