// Our own resumable training state (no official counterpart: the official code keeps Lightning /
// `G_*.pth` checkpoints): one safetensors file holding the parameters, the optimizer state and the
// progress counters, replaced atomically (written next to the target, then renamed over it).

import Foundation
import GSVTensor
import GSVWeights

/// Named tensors plus string metadata, saved and loaded as one file.
public struct StateFile: Sendable {
    public var tensors: [String: Tensor] = [:]
    public var metadata: [String: String] = [:]

    public init() {}

    /// Writes to `path` atomically (a temporary file in the same folder, then a rename).
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try SafeTensorsFile.write(tensors, metadata: metadata, to: tmp.path)
        // rename(2) replaces the target atomically (readers see the old or the new file, never a part).
        guard Foundation.rename(tmp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw TrainingError.invalidCheckpoint("cannot write \(path): \(reason)")
        }
    }

    /// Reads a file written by ``write(to:)``.
    /// - Throws: `WeightsError` for an unreadable file.
    public static func read(_ path: String) throws -> StateFile {
        let st = try SafeTensorsFile(path: path)
        var s = StateFile()
        s.metadata = st.metadata
        for (k, t) in st.tensors { s.tensors[k] = try t.floatTensor() }
        return s
    }

    /// Stores a parameter set under `prefix`.
    public mutating func store(_ set: ParameterSet, prefix: String) {
        for (k, v) in set.entries { tensors[prefix + k] = v }
    }

    /// The parameters stored under `prefix`, in `template`'s order and shapes.
    /// - Throws: ``TrainingError/invalidCheckpoint(_:)`` for a missing or misshapen tensor.
    public func restore(_ template: ParameterSet, prefix: String) throws -> ParameterSet {
        var out = template
        for (i, k) in template.names.enumerated() {
            guard let t = tensors[prefix + k], t.shape == template.values[i].shape else {
                throw TrainingError.invalidCheckpoint("training state lacks '\(prefix + k)' of shape \(template.values[i].shape)")
            }
            out.values[i] = t
        }
        return out
    }

    /// An integer from the metadata.
    public func int(_ key: String) throws -> Int {
        guard let s = metadata[key], let v = Int(s) else { throw TrainingError.invalidCheckpoint("training state has no '\(key)'") }
        return v
    }

    /// Flattened arrays of floats (optimizer moments), one tensor per entry; empty entries stored as `[0]` shape.
    mutating func storeArrays(_ arrays: [[Float]], prefix: String, names: [String]) {
        for (k, a) in zip(names, arrays) { tensors[prefix + k] = Tensor(shape: [a.count], scalars: a) }
    }

    func arrays(prefix: String, names: [String]) throws -> [[Float]] {
        try names.map { k in
            guard let t = tensors[prefix + k] else { throw TrainingError.invalidCheckpoint("training state lacks '\(prefix + k)'") }
            return t.scalars
        }
    }
}

extension AdamW {
    func store(into s: inout StateFile, prefix: String, names: [String]) {
        s.storeArrays(expAvg, prefix: prefix + "exp_avg.", names: names)
        s.storeArrays(expAvgSq, prefix: prefix + "exp_avg_sq.", names: names)
        s.tensors[prefix + "steps"] = Tensor(shape: [steps.count], scalars: steps.map { Float($0) })
    }

    mutating func restore(from s: StateFile, prefix: String, names: [String]) throws {
        expAvg = try s.arrays(prefix: prefix + "exp_avg.", names: names)
        expAvgSq = try s.arrays(prefix: prefix + "exp_avg_sq.", names: names)
        guard let st = s.tensors[prefix + "steps"], st.count == names.count else {
            throw TrainingError.invalidCheckpoint("training state lacks '\(prefix)steps'")
        }
        steps = st.scalars.map { Int($0) }
    }
}

extension ScaledAdam {
    func store(into s: inout StateFile, prefix: String, names: [String]) {
        s.storeArrays(delta, prefix: prefix + "delta.", names: names)
        s.storeArrays(expAvgSq, prefix: prefix + "exp_avg_sq.", names: names)
        s.storeArrays(scaleGrads, prefix: prefix + "scale_grads.", names: names)
        s.tensors[prefix + "param_rms"] = Tensor(paramRMS.map { $0 ?? -1 })
        s.tensors[prefix + "scale_exp_avg_sq"] = Tensor(scaleExpAvgSq)
        s.tensors[prefix + "model_norms"] = Tensor(shape: [modelNorms.count], scalars: modelNorms)
        s.metadata[prefix + "step"] = String(step)
        if let t = modelNormThreshold { s.metadata[prefix + "threshold"] = String(t) }
    }

    mutating func restore(from s: StateFile, prefix: String, names: [String]) throws {
        delta = try s.arrays(prefix: prefix + "delta.", names: names)
        expAvgSq = try s.arrays(prefix: prefix + "exp_avg_sq.", names: names)
        scaleGrads = try s.arrays(prefix: prefix + "scale_grads.", names: names)
        guard let rms = s.tensors[prefix + "param_rms"], rms.count == names.count,
              let sq = s.tensors[prefix + "scale_exp_avg_sq"], sq.count == names.count,
              let norms = s.tensors[prefix + "model_norms"] else {
            throw TrainingError.invalidCheckpoint("training state lacks the ScaledAdam statistics")
        }
        paramRMS = rms.scalars.map { $0 < 0 ? nil : $0 }
        scaleExpAvgSq = sq.scalars
        modelNorms = norms.scalars
        step = try s.int(prefix + "step")
        modelNormThreshold = s.metadata[prefix + "threshold"].flatMap(Float.init)
    }
}
