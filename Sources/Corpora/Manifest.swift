import Foundation

/// One video of a corpus: a line of `manifest.jsonl`. Paths are relative to the corpus folder.
public struct CorpusEntry: Codable, Equatable, Sendable {
    public var id: String
    /// The media file (video with or without audio).
    public var media: String
    /// `train`, `val` or `test`.
    public var split: String
    /// Labels by name (`class`, `task`, …); empty for unlabelled corpora.
    public var labels: [String: String]
    /// A narration side file (`.srt`/`.vtt`), if any. Narrations may also be a subtitle stream of `media`.
    public var narration: String?
    /// A ground-truth annotation file (JSON), if any.
    public var annotation: String?
    /// Seconds, when known.
    public var duration: Double?
    /// Where the sounds came from and under which licence.
    public var soundSource: String?

    public init(id: String, media: String, split: String, labels: [String: String] = [:], narration: String? = nil,
                annotation: String? = nil, duration: Double? = nil, soundSource: String? = nil) {
        self.id = id
        self.media = media
        self.split = split
        self.labels = labels
        self.narration = narration
        self.annotation = annotation
        self.duration = duration
        self.soundSource = soundSource
    }

    enum CodingKeys: String, CodingKey {
        case id, media, split, labels, narration, annotation, duration
        case soundSource = "sound_source"
    }

    /// `id` and `media` are required; an entry without `split` is in `train`, one without
    /// `labels` is unlabelled (a folder of one's own videos needs neither).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        media = try c.decode(String.self, forKey: .media)
        split = try c.decodeIfPresent(String.self, forKey: .split) ?? "train"
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        narration = try c.decodeIfPresent(String.self, forKey: .narration)
        annotation = try c.decodeIfPresent(String.self, forKey: .annotation)
        duration = try c.decodeIfPresent(Double.self, forKey: .duration)
        soundSource = try c.decodeIfPresent(String.self, forKey: .soundSource)
    }
}

/// Reading and writing `manifest.jsonl`.
public enum Manifest {
    public static let fileName = "manifest.jsonl"

    /// One JSON object a line, keys sorted so the file is stable.
    public static func encode(_ entries: [CorpusEntry]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for e in entries {
            data.append(try encoder.encode(e))
            data.append(0x0A)
        }
        return data
    }

    /// Parses the lines of a manifest; a bad line becomes a problem, not an error.
    public static func decode(_ data: Data, path: String) -> (entries: [CorpusEntry], problems: [CorpusProblem]) {
        var entries: [CorpusEntry] = []
        var problems: [CorpusProblem] = []
        let decoder = JSONDecoder()
        var seen = Set<String>()
        for (k, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                let e = try decoder.decode(CorpusEntry.self, from: Data(line))
                if seen.contains(e.id) {
                    problems.append(CorpusProblem(file: "\(path):\(k + 1)", problem: "duplicate id '\(e.id)'"))
                    continue
                }
                seen.insert(e.id)
                entries.append(e)
            } catch {
                problems.append(CorpusProblem(file: "\(path):\(k + 1)", problem: "not a manifest entry (\(describe(error)))"))
            }
        }
        return (entries, problems)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c): return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: return "invalid JSON"
        default: return "\(error)"
        }
    }
}

/// Something wrong with one file of a corpus.
public struct CorpusProblem: Codable, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var problem: String
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "\(file): \(problem)" }
}
