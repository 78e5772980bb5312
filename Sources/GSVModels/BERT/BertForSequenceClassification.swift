// Follows the role emotion classifier of the TTS service built on GPT-SoVITS api_v2 (fixture
// roles/README.md): transformers' modeling_bert.py BertForSequenceClassification = BertModel →
// BertPooler (dense + tanh on [CLS]) → dropout (off at inference) → classifier Linear.
import Foundation
import GSVNN
import GSVTensor
import GSVText
import GSVWeights

/// One prediction of ``BertSequenceClassifier``.
public struct SequenceClassification: Sendable, Equatable {
    /// The winning class index (argmax of ``logits``; the first on ties).
    public let label: Int
    /// Its name from `id2label`.
    public let name: String
    /// Raw scores, one per class.
    public let logits: [Float]
}

/// A BERT text classifier (`BertForSequenceClassification`), e.g. a role folder's `BERT/` emotion
/// model with 15 labels. Immutable and `Sendable`.
///
/// ```swift
/// let clf = try BertSequenceClassifier.load(folder: "roles/小明/BERT")
/// let emotion = try clf.classify("今天真是太开心了！").name
/// ```
public struct BertSequenceClassifier: Sendable {
    /// The WordPiece tokenizer of the folder.
    public let tokenizer: BertTokenizer
    /// `bert` (all layers, with the pooler).
    public let bert: BertModel
    /// `bert.pooler`.
    public let pooler: BertPooler
    /// `classifier [labels, hidden]`.
    public let classifier: Linear
    /// Class names by index (`id2label`).
    public let labels: [String]

    /// Assembles a classifier; `labels.count` must equal the classifier's outputs.
    /// - Throws: ``BERTError/badLabels(_:)`` otherwise, or when `bert` has no pooler.
    public init(tokenizer: BertTokenizer, bert: BertModel, classifier: Linear, labels: [String]) throws {
        guard let pooler = bert.pooler else { throw BERTError.badLabels("the BERT model has no pooler") }
        guard labels.count == classifier.outFeatures, classifier.inFeatures == bert.config.hiddenSize else {
            throw BERTError.badLabels(
                "\(labels.count) labels for a classifier of shape [\(classifier.outFeatures), \(classifier.inFeatures)]")
        }
        self.tokenizer = tokenizer
        self.bert = bert
        self.pooler = pooler
        self.classifier = classifier
        self.labels = labels
    }

    /// Loads a `save_pretrained` folder: `config.json` (with `id2label`), `model.safetensors` or
    /// `pytorch_model.bin`, `vocab.txt` or `tokenizer.json`. Every weight must be used.
    public static func load(folder: String) throws -> BertSequenceClassifier {
        let archive = try WeightArchive.open(folder)
        let config = try BertConfig(archive: archive)
        let root = WeightReader(archive)
        let bert = try BertModel.load(reader: root.scoped(BertModel.keyPrefix(archive)), config: config,
                                      layerCount: config.numHiddenLayers, pooler: true)
        let p = ParameterSource(reader: root)
        guard let stored = p.storedShape("classifier.weight"), stored.count == 2 else {
            if let stored = p.storedShape("classifier.weight") {
                throw WeightsError.shapeMismatch(key: "classifier.weight", expected: [-1, config.hiddenSize], actual: stored)
            }
            throw WeightsError.missingKey("classifier.weight")
        }
        let count = stored[0]
        let classifier = try Linear(p.scoped("classifier"), in: config.hiddenSize, out: count)
        try root.verifyAllConsumed()
        var labels: [String] = []
        for i in 0..<count {
            // transformers names unlabelled classes LABEL_i.
            labels.append(config.id2label[i] ?? "LABEL_\(i)")
        }
        if let extra = config.id2label.keys.first(where: { $0 < 0 || $0 >= count }) {
            throw BERTError.badLabels("id2label names class \(extra) but the classifier has \(count) outputs")
        }
        let tokenizer = try BertTokenizer(folder: URL(fileURLWithPath: folder, isDirectory: true))
        return try BertSequenceClassifier(tokenizer: tokenizer, bert: bert, classifier: classifier, labels: labels)
    }

    /// Logits for token-id rows (each framed `[CLS] … [SEP]`): `[B, labels]`. Shorter rows are
    /// padded and masked, so each row's logits equal those of the row alone.
    /// - Throws: ``BERTError`` for empty, out-of-range or too long rows.
    public func logits(inputIDs: [[Int]]) throws -> Tensor {
        let hidden = try bert.hiddenState(bert.layers.count, inputIDs: inputIDs)
        return classifier(pooler(hidden))
    }

    /// Token ids of `text` as the classifier sees them: `[CLS] … [SEP]`, cut to the model's
    /// position count keeping `[SEP]` last (tokenizer `truncation=True`).
    public func encode(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text)
        let maximum = bert.config.maxPositionEmbeddings
        if ids.count > maximum { ids = Array(ids.prefix(max(maximum - 1, 1))) + [tokenizer.sepID] }
        return ids
    }

    /// Classifies `text`.
    public func classify(_ text: String) throws -> SequenceClassification {
        let scores = try logits(inputIDs: [encode(text)]).scalars
        let best = scores.indices.max { a, b in scores[a] < scores[b] || (scores[a] == scores[b] && a > b) } ?? 0
        return SequenceClassification(label: best, name: labels[best], logits: scores)
    }
}
