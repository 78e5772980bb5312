import Foundation

// Follows nltk 3.9.1 nltk/tag/perceptron.py: PerceptronTagger.tag, normalize, _get_features and
// AveragedPerceptron.predict, loaded with the textblob-aptagger 0.2.0 model
// (trontagger-0.1.0.pickle, MIT) that the GPT-SoVITS fixtures were generated with.

/// Averaged-perceptron part-of-speech tagger (Penn Treebank tags).
struct PerceptronTagger: Sendable {
    let classes: [String]
    let tagdict: SortedStringTable
    let tagdictTag: [UInt8]
    let features: SortedStringTable
    let featureStart: [UInt32]
    let featureClass: [UInt8]
    /// Weights in thousandths (the model's weights have 3 decimals); used as Double(milli) / 1000,
    /// which is exactly the Python float of the stored weight.
    let featureMilli: [Int32]

    init(file: EnglishDataFile) throws(TextError) {
        let classTable = try file.strings("classes")
        classes = (0..<classTable.count).map { classTable.key($0) }
        tagdict = try file.strings("tagdict")
        tagdictTag = try file.bytes("tagdict.tag")
        features = try file.strings("features")
        featureStart = try file.uint32s("features.start")
        featureClass = try file.bytes("features.class")
        featureMilli = try file.int32s("features.milli")
        let nClasses = classes.count
        guard tagdictTag.count == tagdict.count, featureStart.count == features.count + 1,
              Int(featureStart.last ?? 0) == featureClass.count, featureClass.count == featureMilli.count,
              Int(maxElement(tagdictTag)) < nClasses, Int(maxElement(featureClass)) < nClasses
        else {
            throw TextError.dataUnavailable(name: file.name, reason: "tagger tables are inconsistent")
        }
    }

    /// nltk PerceptronTagger.normalize.
    static func normalize(_ word: String) -> String {
        if let first = word.unicodeScalars.first, first != "-", word.unicodeScalars.contains("-") { return "!HYPHEN" }
        let scalars = word.unicodeScalars
        // Python str.isdigit(): Numeric_Type Decimal or Digit (superscripts included).
        func isDigit(_ c: Unicode.Scalar) -> Bool {
            let t = c.properties.numericType
            return t == .decimal || t == .digit
        }
        let isDigits = !scalars.isEmpty && scalars.allSatisfy(isDigit)
        if isDigits && scalars.count == 4 { return "!YEAR" }
        if let first = scalars.first, isDigit(first) { return "!DIGITS" }
        return word.lowercased()
    }

    /// Tags `tokens`; returns one Penn tag per token.
    func tag(_ tokens: [String]) -> [String] {
        let context = ["-START-", "-START2-"] + tokens.map(Self.normalize) + ["-END-", "-END2-"]
        var prev = "-START-", prev2 = "-START2-"
        var out: [String] = []
        out.reserveCapacity(tokens.count)
        var scores = [Double](repeating: 0, count: classes.count)
        for (i, word) in tokens.enumerated() {
            var tag: String
            if let d = tagdict.index(of: word) {
                tag = classes[Int(tagdictTag[d])]
            } else {
                let c = i + 2
                let feats = [
                    "bias",
                    "i suffix " + Self.suffix(word),
                    "i pref1 " + (word.unicodeScalars.first.map { String($0) } ?? ""),
                    "i-1 tag " + prev,
                    "i-2 tag " + prev2,
                    "i tag+i-2 tag " + prev + " " + prev2,
                    "i word " + context[c],
                    "i-1 tag+i word " + prev + " " + context[c],
                    "i-1 word " + context[c - 1],
                    "i-1 suffix " + Self.suffix(context[c - 1]),
                    "i-2 word " + context[c - 2],
                    "i+1 word " + context[c + 1],
                    "i+1 suffix " + Self.suffix(context[c + 1]),
                    "i+2 word " + context[c + 2],
                ]
                for k in 0..<scores.count { scores[k] = 0 }
                // Feature names are distinct, so every feature has value 1 (the defaultdict count).
                for f in feats {
                    guard let fi = features.index(of: f) else { continue }
                    for j in Int(featureStart[fi])..<Int(featureStart[fi + 1]) {
                        let k = Int(featureClass[j])
                        scores[k] += Double(featureMilli[j]) / 1000
                    }
                }
                // max over classes by (score, label): ties go to the larger label.
                var best = 0
                for k in 1..<classes.count {
                    if scores[k] > scores[best] || (scores[k] == scores[best] && classes[k] > classes[best]) { best = k }
                }
                tag = classes[best]
            }
            out.append(tag)
            prev2 = prev
            prev = tag
        }
        return out
    }

    /// Python `word[-3:]` on code points.
    static func suffix(_ s: String) -> String {
        let scalars = s.unicodeScalars
        if scalars.count <= 3 { return s }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars.suffix(3))
        return String(v)
    }
}
