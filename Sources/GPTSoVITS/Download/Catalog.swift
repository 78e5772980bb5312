import Foundation
import GSVCore
import GSVModels

/// Where pretrained files are downloaded from, as the official installer offers them.
public enum ModelSource: String, Sendable, CaseIterable, Codable {
    /// huggingface.co, or the endpoint in the standard `HF_ENDPOINT` environment variable.
    case huggingFace = "hf"
    /// hf-mirror.com (same URL paths as Hugging Face).
    case hfMirror = "hf-mirror"
    /// modelscope.cn.
    case modelScope = "modelscope"

    /// The URL of `path` inside repository `repo`.
    ///
    /// - Parameter environment: consulted for `HF_ENDPOINT` (Hugging Face source only).
    public func url(repo: String, path: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let encodedPath = path.split(separator: "/").map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "=+&?#"))) ?? String($0)
        }.joined(separator: "/")
        switch self {
        case .huggingFace:
            var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            return URL(string: "\(endpoint)/\(repo)/resolve/main/\(encodedPath)")
        case .hfMirror:
            return URL(string: "https://hf-mirror.com/\(repo)/resolve/main/\(encodedPath)")
        case .modelScope:
            return URL(string: "https://www.modelscope.cn/models/\(repo)/resolve/master/\(encodedPath)")
        }
    }
}

/// One file of an official pretrained set, at its path inside the official
/// `GPT_SoVITS/pretrained_models` layout (which is also our cache layout).
public struct PretrainedFile: Sendable, Equatable, Codable {
    /// Path relative to the pretrained-models root, e.g. `gsv-v2final-pretrained/s2G2333k.pth`.
    public let path: String
    /// What the file is.
    public let role: Role

    /// The part of the pipeline a file serves.
    public enum Role: String, Sendable, Codable {
        case gpt, sovits, hubert, bert, speakerVerification = "sv", vocoder
    }
}

/// The official pretrained model sets (`README.md` "Pretrained Models", `config.py`), all hosted in
/// the Hugging Face repository `lj1995/GPT-SoVITS`.
public enum PretrainedCatalog {
    /// The repository every official pretrained file lives in.
    public static let repository = "lj1995/GPT-SoVITS"

    static let hubert: [PretrainedFile] = [
        .init(path: "chinese-hubert-base/config.json", role: .hubert),
        .init(path: "chinese-hubert-base/preprocessor_config.json", role: .hubert),
        .init(path: "chinese-hubert-base/pytorch_model.bin", role: .hubert),
    ]
    static let bert: [PretrainedFile] = [
        .init(path: "chinese-roberta-wwm-ext-large/config.json", role: .bert),
        .init(path: "chinese-roberta-wwm-ext-large/tokenizer.json", role: .bert),
        .init(path: "chinese-roberta-wwm-ext-large/pytorch_model.bin", role: .bert),
    ]
    /// The ERes2NetV2 speaker-verification model v2Pro/v2ProPlus need (`GPT_SoVITS/sv.py`).
    public static let speakerModel = PretrainedFile(path: ERes2NetV2.officialFolder + "/" + ERes2NetV2.officialFileName,
                                                         role: .speakerVerification)

    /// The version names `gpt-sovits models download` accepts.
    public static let versions = ModelVersion.allCases.map(\.rawValue)

    /// The files of the version called `name` (case-insensitive); nil for an unknown name.
    public static func files(for name: String) -> [PretrainedFile]? {
        ModelVersion(name: name).map { files(for: $0) }
    }

    /// The files of one version's pretrained set (shared encoders included).
    public static func files(for version: ModelVersion) -> [PretrainedFile] {
        let common = hubert + bert
        switch version {
        case .v1:
            return [.init(path: "s1bert25hz-2kh-longer-epoch=68e-step=50232.ckpt", role: .gpt),
                    .init(path: "s2G488k.pth", role: .sovits)] + common
        case .v2:
            return [.init(path: "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", role: .gpt),
                    .init(path: "gsv-v2final-pretrained/s2G2333k.pth", role: .sovits)] + common
        case .v2Pro:
            return [.init(path: "s1v3.ckpt", role: .gpt), .init(path: "v2Pro/s2Gv2Pro.pth", role: .sovits), speakerModel] + common
        case .v2ProPlus:
            return [.init(path: "s1v3.ckpt", role: .gpt), .init(path: "v2Pro/s2Gv2ProPlus.pth", role: .sovits), speakerModel] + common
        case .v3:
            return [.init(path: "s1v3.ckpt", role: .gpt), .init(path: "s2Gv3.pth", role: .sovits),
                    .init(path: "models--nvidia--bigvgan_v2_24khz_100band_256x/config.json", role: .vocoder),
                    .init(path: "models--nvidia--bigvgan_v2_24khz_100band_256x/bigvgan_generator.pt", role: .vocoder)] + common
        case .v4:
            return [.init(path: "s1v3.ckpt", role: .gpt), .init(path: "gsv-v4-pretrained/s2Gv4.pth", role: .sovits),
                    .init(path: "gsv-v4-pretrained/vocoder.pth", role: .vocoder)] + common
        }
    }
}

/// The local folder downloaded models are kept in.
public enum ModelCache {
    /// `$GSV_CACHE_DIR` if set; else `$XDG_CACHE_HOME/gpt-sovits` or `~/.cache/gpt-sovits` on Linux,
    /// `~/Library/Caches/gpt-sovits` on Apple platforms. Files keep the official
    /// `pretrained_models` layout, so the folder can be passed as `--models`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["GSV_CACHE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir, isDirectory: true) }
        #if canImport(Darwin)
        let base = FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask).first
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent("Library/Caches")
        return base.appendingPathComponent("gpt-sovits", isDirectory: true)
        #else
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("gpt-sovits", isDirectory: true)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".cache/gpt-sovits", isDirectory: true)
        #endif
    }
}
