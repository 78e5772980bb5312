// Follows GPT_SoVITS/s1_train.py: my_model_ckpt.on_train_epoch_end (GPT `.ckpt`: OrderedDict
// `weight` of fp16 tensors, `config`, `info = "GPT-e<N>"`) and GPT_SoVITS/process_ckpt.py: savee /
// my_save2 (SoVITS `.pth`: `weight` without `enc_q` keys in fp16, `config` as a `utils.HParams`,
// `info = "<epoch>epoch_<steps>iteration"`, header bytes `PK`, or `05`/`06` for v2Pro/v2ProPlus),
// written with GSVWeights' TorchSave.

import Foundation
import GSVTensor
import GSVWeights

/// Writers of the files the official code writes after training.
public enum OfficialExport {
    /// A configuration value as Python data (`dict`s, or `utils.HParams` objects when `hparams`).
    static func pickle(_ c: ConfigValue, hparams: Bool) -> TorchSaveValue {
        switch c {
        case .null: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .double(d): return .float(d)
        case let .string(s): return .string(s)
        case let .array(a): return .list(a.map { pickle($0, hparams: hparams) })
        case let .object(o):
            let entries = o.keys.sorted().map { (key: TorchSaveValue.string($0), value: pickle(o[$0]!, hparams: hparams)) }
            return hparams ? .object(module: "utils", name: "HParams", state: .dict(entries)) : .dict(entries)
        }
    }

    /// The state dict in fp16, optionally without some keys.
    static func halfWeights(_ set: ParameterSet, skipping skip: (String) -> Bool = { _ in false }) throws -> [(key: String, value: TorchSaveValue)] {
        try set.entries.filter { !skip($0.0) }.map { k, t in
            (key: k, value: .tensor(try TorchSaveTensor(float: t.scalars, shape: t.shape, half: true)))
        }
    }

    /// Writes a GPT `.ckpt` (`GPT_weights_<ver>/<name>-e<epoch>.ckpt`), atomically.
    public static func writeGPT(_ params: ParameterSet, config: ConfigValue, epoch: Int, to path: String) throws {
        let value = TorchSaveValue.orderedDict([
            (key: "weight", value: .orderedDict(try halfWeights(params))),
            (key: "config", value: pickle(config, hparams: false)),
            (key: "info", value: .string("GPT-e\(epoch)")),
        ])
        try makeFolder(for: path)
        try TorchSave.write(value, to: path)
    }

    /// The two header bytes `my_save2` writes for a SoVITS version (nil: keep `PK`).
    public static func headerBytes(version: String) -> [UInt8]? {
        switch version {
        case "v2Pro": return Array("05".utf8)
        case "v2ProPlus": return Array("06".utf8)
        default: return nil
        }
    }

    /// Writes a SoVITS `.pth` (`SoVITS_weights_<ver>/<name>_e<epoch>_s<steps>.pth`), atomically:
    /// every key except `enc_q.*` in fp16, the training `hps` as `utils.HParams`, and the header
    /// bytes of the version.
    public static func writeSoVITS(_ generator: ParameterSet, hps: ConfigValue, epoch: Int, steps: Int, version: String,
                                   to path: String) throws {
        let value = TorchSaveValue.orderedDict([
            (key: "weight", value: .dict(try halfWeights(generator) { $0.contains("enc_q") }.map { (key: .string($0.key), value: $0.value) })),
            (key: "config", value: pickle(hps, hparams: true)),
            (key: "info", value: .string("\(epoch)epoch_\(steps)iteration")),
        ])
        let url = URL(fileURLWithPath: path)
        var data = try TorchSave.data(value, archiveName: url.deletingPathExtension().lastPathComponent)
        if let h = headerBytes(version: version) { data.replaceSubrange(0..<2, with: h) }
        try makeFolder(for: path)
        do { try data.write(to: url, options: .atomic) } catch {
            throw TrainingError.invalidCheckpoint("cannot write \(path): \(error.localizedDescription)")
        }
    }

    private static func makeFolder(for path: String) throws {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
    }
}
