/// The English G2P is the frontend's English phonemizer (`english.text_normalize` + `english.g2p`).
extension EnglishG2P: EnglishPhonemizer {}

extension TextFrontend {
    /// The complete frontend for `version`: Chinese and English with the bundled data.
    /// - Throws: `TextError.dataUnavailable` when bundled data cannot be loaded.
    public static func standard(version: ModelVersion = .v2, polyphonicDictionary: Bool = false,
                                detector: any LanguageDetector = LanguageSegmenter.defaultDetector) throws -> TextFrontend {
        try TextFrontend(version: version, english: EnglishG2P.shared(), detector: detector, polyphonicDictionary: polyphonicDictionary)
    }
}
