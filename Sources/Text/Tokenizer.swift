import Foundation

/// The narration tokenizer of `docs/design.md`, "Encoder presets and clip geometry": lower-cased words split on anything
/// that is not a letter or a digit, at most `maxTokens` (16) of them.
public struct Tokenizer: Codable, Equatable, Sendable {
    public var maxTokens: Int = 16

    public init(maxTokens: Int = 16) { self.maxTokens = maxTokens }

    /// The words of `text`, lower-cased, in order (all of them; `ids` keeps the first `maxTokens`).
    public func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }
}

/// Word ids for the narration encoder: 0 is padding, 1 an unknown word, then the corpus's
/// words by falling count (ties by the word), those seen at least `minimumCount` times, at
/// most `maximumSize` ids in all. Stored in checkpoints so a query is tokenised as training was.
public struct Vocabulary: Codable, Equatable, Sendable {
    public static let padding = 0
    public static let unknown = 1

    public var tokenizer: Tokenizer
    /// Words from id 2 on.
    public var words: [String]
    private var index: [String: Int]

    public init(words: [String], tokenizer: Tokenizer = Tokenizer()) {
        self.tokenizer = tokenizer
        self.words = words
        index = Dictionary(words.enumerated().map { ($1, $0 + 2) }, uniquingKeysWith: { a, _ in a })
    }

    /// The vocabulary of `texts`.
    public init(building texts: [String], minimumCount: Int = 1, maximumSize: Int = 10_000, tokenizer: Tokenizer = Tokenizer()) {
        precondition(maximumSize >= 2, "Vocabulary: maximumSize \(maximumSize) leaves no room for padding and unknown")
        var counts: [String: Int] = [:]
        for t in texts { for w in tokenizer.words(t) { counts[w, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= minimumCount }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        self.init(words: kept.prefix(maximumSize - 2).map(\.key), tokenizer: tokenizer)
    }

    /// Ids including padding and unknown.
    public var size: Int { words.count + 2 }

    /// The id of one word (unknown: 1).
    public func id(_ word: String) -> Int { index[word] ?? Self.unknown }

    /// `maxTokens` ids of `text`: its first words' ids, then padding.
    public func ids(_ text: String) -> [Int] {
        let ws = tokenizer.words(text).prefix(tokenizer.maxTokens)
        return ws.map(id) + [Int](repeating: Self.padding, count: tokenizer.maxTokens - ws.count)
    }

    /// The words of `text` (within the first `maxTokens`) that the vocabulary does not know.
    public func unknownWords(_ text: String) -> [String] {
        tokenizer.words(text).prefix(tokenizer.maxTokens).filter { index[$0] == nil }
    }

    enum CodingKeys: String, CodingKey { case tokenizer, words }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(words: try c.decode([String].self, forKey: .words), tokenizer: try c.decode(Tokenizer.self, forKey: .tokenizer))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encode(words, forKey: .words)
    }
}
