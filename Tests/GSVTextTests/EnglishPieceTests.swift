import Foundation
import GSVTestSupport
import Testing
@testable import GSVText

// Expected values below were produced with the Python packages the official frontend uses
// (inflect 7.6.0, wordsegment 1.3.1, g2p_en 2.1.0, nltk 3.9.1), e.g.
// `inflect.engine().number_to_words("1001", andword="")`, `wordsegment.segment("pytorch")`,
// `en_G2p().predict("gnarfle")` (via scripts/data/en_oracle.py --predict).

@Suite("English number words (inflect)")
struct EnglishNumberTests {
    @Test(arguments: [
        ("0", "zero"), ("1", "one"), ("7", "seven"), ("10", "ten"), ("13", "thirteen"), ("21", "twenty-one"),
        ("99", "ninety-nine"), ("100", "one hundred"), ("101", "one hundred and one"), ("110", "one hundred and ten"),
        ("999", "nine hundred and ninety-nine"), ("1000", "one thousand"), ("1001", "one thousand and one"),
        ("1010", "one thousand and ten"), ("1100", "one thousand, one hundred"), ("2000", "two thousand"),
        ("3001", "three thousand and one"), ("10000", "ten thousand"), ("100001", "one hundred thousand and one"),
        ("1000000", "one million"), ("1000005", "one million and five"),
        ("1234567", "one million, two hundred and thirty-four thousand, five hundred and sixty-seven"),
        ("20000000000", "twenty billion"),
        ("999999999999", "nine hundred and ninety-nine billion, nine hundred and ninety-nine million, nine hundred and ninety-nine thousand, nine hundred and ninety-nine"),
    ])
    func defaultWords(_ digits: String, _ expected: String) throws {
        #expect(try EnglishNumbers.words(digits: digits) == expected)
    }

    @Test(arguments: [
        ("101", "one hundred one"), ("1001", "one thousand one"), ("1100", "one thousand, one hundred"),
        ("3001", "three thousand one"), ("100001", "one hundred thousand one"), ("1000005", "one million five"),
        ("1234567", "one million, two hundred thirty-four thousand, five hundred sixty-seven"),
    ])
    func noAndWord(_ digits: String, _ expected: String) throws {
        #expect(try EnglishNumbers.words(digits: digits, andword: "") == expected)
    }

    @Test(arguments: [
        ("0", "zeroth"), ("1", "first"), ("2", "second"), ("3", "third"), ("11", "eleventh"), ("12", "twelfth"),
        ("13", "thirteenth"), ("21", "twenty-first"), ("101", "one hundred and first"),
        ("112", "one hundred and twelfth"), ("1000", "one thousandth"), ("05", "fifth"),
    ])
    func ordinalWords(_ digits: String, _ expected: String) throws {
        #expect(try EnglishNumbers.words(digits: digits, ordinal: true) == expected)
    }

    @Test func ordinalSuffixes() {
        let cases = [("1", "1st"), ("2", "2nd"), ("3", "3rd"), ("4", "4th"), ("11", "11th"), ("12", "12th"),
                     ("13", "13th"), ("21", "21st"), ("22", "22nd"), ("23", "23rd"), ("101", "101st"),
                     ("111", "111th"), ("0", "0th"), ("100", "100th")]
        for (digits, expected) in cases { #expect(EnglishNumbers.ordinalSuffix(digits: digits) == expected) }
        let words = [("one", "first"), ("twenty", "twentieth"), ("twenty-three", "twenty-third"), ("twelve", "twelfth"),
                     ("one hundred", "one hundredth"), ("eight", "eighth"), ("nine", "ninth"), ("seven", "seventh")]
        for (w, expected) in words { #expect(EnglishNumbers.ordinalOfWords(w) == expected) }
    }

    @Test func yearsInPairs() {
        let cases = [(1001, "ten oh one"), (1099, "ten ninety-nine"), (1205, "twelve oh five"),
                     (1999, "nineteen ninety-nine"), (2010, "twenty ten"), (2024, "twenty twenty-four"),
                     (2999, "twenty-nine ninety-nine"), (1010, "ten ten")]
        for (n, expected) in cases { #expect(EnglishNumbers.yearWords(n) == expected) }
    }

    @Test func tooManyDigitsIsAnErrorNotACrash() {
        #expect(throws: EnglishNumbers.OutOfRange.self) { try EnglishNumbers.words(digits: String(repeating: "9", count: 40)) }
        // The normaliser then reads the digits one by one.
        let g2p = try? EnglishG2P.shared()
        let text = g2p?.normalize(String(repeating: "7", count: 40)) ?? ""
        #expect(text == Array(repeating: "seven", count: 40).joined(separator: " "))
    }
}

@Suite("English normaliser")
struct EnglishNormalizerTests {
    // Outputs of the official text_normalize for each input (see scripts/data/en_oracle.py).
    @Test(arguments: [
        ("1. test ordinal number 1st", "first, test ordinal number first"),
        ("3/23, 1/2, 3/2, 1/3, 6/1", "three twenty-thirds, one half, three halves, one third, six"),
        ("a test of time 4:00, 13:00, 13:30", "a test of time four o'clock a.m. one o'clock p.m. one thirty p.m."),
        ("a test of temperature 4°F, 23°C, -19°C", "a test of temperature four degrees fahrenheit, twenty-three degrees celsius,negative nineteen degrees celsius"),
        ("It costs $12.50, or about €11.", "It costs twelve dollars and fifty cents, or about eleven."),
        ("The year 1999 was a big one.", "The year nineteen ninety-nine was a big one."),
        ("OpenAI released GPT-4 in 2023.", "Open A I released G P T-four in twenty twenty-three."),
        ("She scored 95% on the test.", "She scored ninety-five percent on the test."),
        ("Wait... what? No way!!!", "Wait. what? No way!"),
        ("I'm sure you'll love it; it's wonderful!", "I'm sure you'll love it it's wonderful!"),
        ("3 + 4 = 7", "three plus four Equals seven"),
        ("Naïve café", "Naive cafe"),
        ("e.g. this, i.e. that", "for example this, that is that"),
    ])
    func examples(_ input: String, _ expected: String) throws {
        #expect(try EnglishG2P.shared().normalize(input) == expected)
    }
}

@Suite("English tokenizer, tagger, segmenter, GRU")
struct EnglishComponentTests {
    @Test func tokenizerFollowsTweetTokenizer() {
        #expect(EnglishTokenizer.tokenize("I'm well-known, isn't it?") == ["I'm", "well-known", ",", "isn't", "it", "?"])
        #expect(EnglishTokenizer.tokenize("see example.com. then") == ["see", "example.com", ".", "then"])
        #expect(EnglishTokenizer.tokenize("wait . . . now...") == ["wait", ". . .", "now", "..."])
        #expect(EnglishTokenizer.tokenize("dogs' '''''") == ["dogs", "'", "'", "'", "'"])
        #expect(EnglishTokenizer.tokenize("  ") == [])
    }

    @Test func taggerMatchesFixtureTags() throws {
        let g2p = try EnglishG2P.shared()
        var checked = 0
        for s in try EnglishGolden.segments() {
            let tags = g2p.posTags(forNormalized: s.normText).map { [$0.0, $0.1] }
            #expect(tags == s.posTags, "\(s.normText)")
            checked += tags.count
        }
        #expect(checked > 300)
    }

    @Test func homographsFollowTags() throws {
        let g2p = try EnglishG2P.shared()
        let verb = g2p.phonemes(forNormalized: "They refuse to go")
        let noun = g2p.phonemes(forNormalized: "the refuse")
        #expect(verb.contains("UW1") && !verb.contains("UW2"))
        #expect(noun.suffix(6) == ["R", "EH1", "F", "Y", "UW2", "Z"])
    }

    @Test(arguments: [
        ("sunflowerseeds", ["sunflower", "seeds"]), ("bookshelfcorner", ["bookshelf", "corner"]),
        ("keyboardwarrior", ["keyboard", "warrior"]), ("moonlightsonata", ["moonlight", "sonata"]),
        ("thisisatest", ["this", "is", "a", "test"]), ("imagenet", ["image", "net"]), ("pytorch", ["py", "torch"]),
        ("wifi", ["wifi"]), ("openai", ["open", "a", "i"]), ("helloworld", ["helloworld"]),
    ])
    func segmenter(_ word: String, _ expected: [String]) throws {
        #expect(try EnglishG2P.shared().segmenter.segment(word) == expected)
    }

    @Test(arguments: [
        ("activationist", "AE2 K T IH0 V EY1 SH AH0 N IH0 S T"),
        ("blorptastic", "B L AO2 R P T AE1 S T IH0 K"),
        ("gnarfle", "N AA1 R F AH0 L"),
        ("wibbledoo", "W IH1 B AH0 L D OW2"),
        ("zxqv", "Z K AA1 V K S"),
        ("sprachgefuhl", "S P R AE1 K S HH Y UW2 G AH0 L"),
        ("kubernetes", "K AH0 B ER1 N AH0 T S"),
        ("xylophonic", "Z AY2 L AH0 F AH0 N AA1 K IH0 NG"),
    ])
    func neuralFallback(_ word: String, _ expected: String) throws {
        #expect(try EnglishG2P.shared().neural.predict(word).joined(separator: " ") == expected)
    }

    @Test func dictionaryPriorityAndDeletions() throws {
        let g2p = try EnglishG2P.shared()
        // engdict-hot.rep overrides, cmudict.rep wins over cmudict-fast.rep, ae/ai/… are removed.
        #expect(g2p.dictionary.cmu.lookup("chatgpt") == ["CH", "AE1", "T", "JH", "IY1", "P", "IY1", "T", "IY1"])
        #expect(g2p.dictionary.cmu.lookup("json") == ["JH", "EY1", "S", "AH0", "N"])
        #expect(g2p.dictionary.cmu.lookup("ai") == nil)
        #expect(g2p.dictionary.cmu.lookup("ios") == nil)
        #expect(g2p.dictionary.cmu.lookup("hello") != nil)
        // Short unknown words are spelled; "A I" reads as letters.
        #expect(g2p.phonemes(forNormalized: "A I") == ["EY1", "AY1"])
        #expect(g2p.phonemes(forNormalized: "the fox's den").contains("AH0"))
    }

    @Test func everyPhoneIsAV2Symbol() throws {
        let data = try Data(contentsOf: Fixtures.url("v2/text/symbols_v2.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let symbols = Set(try #require(object["symbols"] as? [String]))
        let nonLetter = symbols.filter { !$0.unicodeScalars.contains { ($0.value | 0x20) >= 0x61 && ($0.value | 0x20) <= 0x7A } }
        #expect(nonLetter == EnglishG2P.v2NonLetterSymbols)
        #expect(EnglishG2P.arpabet.isSubset(of: symbols))
        let g2p = try EnglishG2P.shared()
        let texts = englishOracleCases.map(\.norm) + (try EnglishGolden.segments()).map(\.normText)
        var count = 0
        for text in texts {
            for ph in g2p.phonemes(forNormalized: text) { #expect(symbols.contains(ph), "\(ph) from \(text)"); count += 1 }
        }
        #expect(count > 1000)
    }

    @Test func oddInputNeverCrashes() throws {
        let g2p = try EnglishG2P.shared()
        for text in ["", " ", "£", "$", "(5$", "$,5", "1/0", "0/0", "9999999999999999999999999999999999999999/3",
                     "\u{0}", "😀😀😀", "ééé", "日本語", "-", "—", "..", "'", "12:60", "25:00", "1.2.3.4km"] {
            let norm = g2p.normalize(text)
            _ = g2p.phonemes(forNormalized: norm)
            _ = g2p.phonemes(forNormalized: text)
        }
        #expect(g2p.normalize("") == "")
        #expect(g2p.phonemes(forNormalized: "") == [])
    }

    @Test func corruptDataIsReported() {
        #expect(throws: TextError.self) { try EnglishDataFile(name: "x.bin", data: Data("GSVENDAT".utf8)) }
        #expect(throws: TextError.self) { try EnglishDataFile(name: "x.bin", data: Data(repeating: 0, count: 32)) }
        var bad = Data("GSVENDAT".utf8)
        bad.append(contentsOf: [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0x41, 9, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: TextError.self) { try EnglishDataFile(name: "x.bin", data: bad) }
    }
}
