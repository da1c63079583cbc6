import Foundation
import Testing
import Text

struct TokenizerTests {
    @Test func wordsAreLowerCasedAndSplitOnAnythingButLettersAndDigits() {
        let t = Tokenizer()
        #expect(t.words("Now STIR the soup -- for 2 minutes, O'Brien!") == ["now", "stir", "the", "soup", "for", "2", "minutes", "o", "brien"])
        #expect(t.words("Crème brûlée, naïve") == ["crème", "brûlée", "naïve"])
        #expect(t.words("  ...  ").isEmpty)
    }

    @Test func idsArePaddedToSixteenWithUnknownsAsOne() {
        let v = Vocabulary(building: ["stir the soup", "stir the sauce", "chop the onion"])
        // Counts: the 3, stir 2, then chop, onion, sauce, soup once each (ties by the word).
        #expect(v.words == ["the", "stir", "chop", "onion", "sauce", "soup"])
        #expect(v.size == 8)
        let ids = v.ids("Stir the GRAVY")
        #expect(ids.count == 16)
        #expect(Array(ids.prefix(4)) == [3, 2, Vocabulary.unknown, Vocabulary.padding])
        #expect(v.unknownWords("Stir the GRAVY") == ["gravy"])
        let long = v.ids(Array(repeating: "soup", count: 20).joined(separator: " "))
        #expect(long == Array(repeating: 7, count: 16), "at most 16 tokens")
    }

    @Test func minimumCountAndMaximumSizeAndRoundTrip() throws {
        let texts = ["a a a b b c", "a b d"]
        #expect(Vocabulary(building: texts, minimumCount: 2).words == ["a", "b"])
        #expect(Vocabulary(building: texts, maximumSize: 3).words == ["a"])
        let v = Vocabulary(building: texts)
        let decoded = try JSONDecoder().decode(Vocabulary.self, from: JSONEncoder().encode(v))
        #expect(decoded == v && decoded.ids("b d e") == v.ids("b d e"))
    }
}
