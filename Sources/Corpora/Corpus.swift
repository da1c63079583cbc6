import Foundation
import Media

/// An error that stops a corpus from being read at all.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case notACorpus(String, reason: String)
    case empty(String)

    public var description: String {
        switch self {
        case .notACorpus(let path, let reason): return "\(path): not a corpus: \(reason)"
        case .empty(let path): return "\(path): the corpus has no readable entries"
        }
    }
}

/// A corpus: a folder holding `manifest.jsonl`, the media, narrations and annotations.
///
/// Loading checks that every entry's files exist; bad entries are reported in `problems`
/// and left out of `entries`, so the good ones can be used.
public struct Corpus: Sendable {
    public let root: String
    public private(set) var entries: [CorpusEntry]
    public private(set) var problems: [CorpusProblem]
    /// The recipe's description (`corpus.json`), when the corpus was synthesised.
    public let metadata: [String: JSONValue]?

    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CorpusError.notACorpus(path, reason: "no such folder")
        }
        let manifestPath = isDirectory.boolValue ? (path as NSString).appendingPathComponent(Manifest.fileName) : path
        let root = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw CorpusError.notACorpus(path, reason: "no \(Manifest.fileName)")
        }
        self.root = root.isEmpty ? "." : root
        let (entries, problems) = Manifest.decode(data, path: manifestPath)
        self.entries = []
        self.problems = problems
        let metaPath = (self.root as NSString).appendingPathComponent("corpus.json")
        if let meta = FileManager.default.contents(atPath: metaPath) {
            self.metadata = try? JSONDecoder().decode([String: JSONValue].self, from: meta)
        } else {
            self.metadata = nil
        }
        for e in entries {
            if let problem = checkFiles(e) { self.problems.append(problem) } else { self.entries.append(e) }
        }
    }

    /// The absolute path of a path stored in the manifest.
    public func resolve(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : (root as NSString).appendingPathComponent(relative)
    }

    private func checkFiles(_ e: CorpusEntry) -> CorpusProblem? {
        for (kind, p) in [("media", e.media), ("narration", e.narration), ("annotation", e.annotation)] {
            guard let p else { continue }
            // NOTE: a relative path stays inside the corpus folder (`../../` would read
            // whatever lies above it); an absolute path is the user's explicit choice.
            if !p.hasPrefix("/") {
                let root = URL(fileURLWithPath: self.root).standardizedFileURL.path
                let full = URL(fileURLWithPath: resolve(p)).standardizedFileURL.path
                guard full.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                    return CorpusProblem(file: resolve(p), problem: "\(kind) of '\(e.id)': the path '\(p)' leaves the corpus folder")
                }
            }
            do { try checkReadableFile(resolve(p)) } catch {
                return CorpusProblem(file: resolve(p), problem: "\(kind) of '\(e.id)': \(error)".replacingOccurrences(of: resolve(p) + ": ", with: ""))
            }
        }
        return nil
    }

    /// Opens every media file (and narration file) and moves the entries that cannot be
    /// read to `problems`. Returns the media descriptions of the good entries by id.
    @discardableResult
    public mutating func probeMedia() -> [String: MediaInfo] {
        var infos: [String: MediaInfo] = [:]
        var good: [CorpusEntry] = []
        for e in entries {
            do {
                let info = try MediaInfo(path: resolve(e.media))
                if info.video.isEmpty && info.audio.isEmpty { throw MediaError.noStream(resolve(e.media), kind: "audio or video") }
                try info.checkWhole()
                if let n = e.narration { _ = try Subtitles.read(path: resolve(n)) }
                infos[e.id] = info
                good.append(e)
            } catch {
                problems.append(CorpusProblem(file: resolve(e.media), problem: "\(error)".replacingOccurrences(of: resolve(e.media) + ": ", with: "")))
            }
        }
        entries = good
        return infos
    }

    /// Entries of one split.
    public func split(_ name: String) -> [CorpusEntry] { entries.filter { $0.split == name } }
}

/// Counts of a corpus per split and modality, its duration and its problems.
public struct CorpusSummary: Codable, Sendable {
    public struct SplitCounts: Codable, Sendable {
        public var videos = 0
        public var withVideo = 0
        public var withAudio = 0
        public var withNarration = 0
        public var duration = 0.0
    }
    public var path: String
    public var recipe: String?
    public var entries: Int
    public var splits: [String: SplitCounts]
    public var labels: [String: [String: Int]]
    public var totalDuration: Double
    public var problems: [CorpusProblem]

    /// Probes every media file of `corpus` and summarises it.
    public init(corpus: Corpus) {
        var c = corpus
        let infos = c.probeMedia()
        path = c.root
        if case .string(let r)? = c.metadata?["recipe"] { recipe = r } else { recipe = nil }
        var splits: [String: SplitCounts] = [:]
        var labels: [String: [String: Int]] = [:]
        var total = 0.0
        for e in c.entries {
            guard let info = infos[e.id] else { continue }
            var s = splits[e.split] ?? SplitCounts()
            s.videos += 1
            if !info.video.isEmpty { s.withVideo += 1 }
            if !info.audio.isEmpty { s.withAudio += 1 }
            if e.narration != nil || !info.subtitles.isEmpty { s.withNarration += 1 }
            s.duration += info.duration
            splits[e.split] = s
            total += info.duration
            for (k, v) in e.labels { labels[k, default: [:]][v, default: 0] += 1 }
        }
        self.entries = c.entries.count
        self.splits = splits
        self.labels = labels
        self.totalDuration = total
        self.problems = c.problems
    }
}
