// Memory accounting for loaded networks (no official counterpart: used by the server's model cache).
import GSVModels
import GSVTensor

/// Estimates how much memory loaded networks hold, by walking their stored properties (with
/// reflection) and adding up the weight buffers found: `Tensor` scalars (4 bytes each),
/// `HalfMatrix` / fp16 weights (2 bytes each) and plain numeric arrays. Class instances reached
/// twice are counted once. Bookkeeping (shapes, configs, object headers) is ignored, so the figure
/// is a slight underestimate dominated by the weights themselves.
public enum ModelMemory {
    /// Bytes of weight memory reachable from `value`.
    public static func bytes(of value: Any) -> Int {
        var seen = Set<ObjectIdentifier>()
        return walk(value, seen: &seen, depth: 0)
    }

    private static func walk(_ value: Any, seen: inout Set<ObjectIdentifier>, depth: Int) -> Int {
        // Networks are a few dozen levels deep; the guard only stops pathological cycles through structs.
        guard depth < 256 else { return 0 }
        switch value {
        case let t as Tensor: return t.count * MemoryLayout<Float>.stride
        case let m as HalfMatrix: return m.byteCount
        case let a as [Float]: return a.count * MemoryLayout<Float>.stride
        case let a as [Double]: return a.count * MemoryLayout<Double>.stride
        case let a as [Int]: return a.count * MemoryLayout<Int>.stride
        case let a as [Int32]: return a.count * MemoryLayout<Int32>.stride
        case let a as [UInt16]: return a.count * MemoryLayout<UInt16>.stride
        case let a as [UInt8]: return a.count
        case is String: return 0
        default: break
        }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .class {
            let id = ObjectIdentifier(value as AnyObject)
            if seen.contains(id) { return 0 }
            seen.insert(id)
        }
        var total = 0
        var current: Mirror? = mirror
        while let m = current {
            for child in m.children { total += walk(child.value, seen: &seen, depth: depth + 1) }
            current = m.superclassMirror
        }
        return total
    }
}

extension ModelBundle {
    /// Estimated bytes held by the GPT (``ModelMemory``).
    public var gptBytes: Int { ModelMemory.bytes(of: t2s) }
    /// Estimated bytes held by SoVITS (``ModelMemory``).
    public var sovitsBytes: Int { ModelMemory.bytes(of: sovits) }
}
