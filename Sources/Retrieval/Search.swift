import Foundation
import Media
import Pipeline
import TensorCore
import Text
import Models

/// One answer of a search: a stretch of a video (adjacent windows merged) or a narration line.
public struct Moment: Codable, Equatable, Sendable {
    public var video: String
    public var path: String
    public var start: Double
    public var end: Double
    public var score: Float
    public var modality: String
    /// The narration line nearest the moment (within 5 s), or the line itself for text.
    public var narration: String?
}

/// Queries an index with the checkpoint that made it: a query is embedded in the joint space
/// it shares with the searched modality, scored against every row (exact inner product), and
/// adjacent windows of one video are merged into one moment.
public struct Searcher {
    public let index: EmbeddingIndex
    public let model: TrainModel
    let checkpoint: String
    /// The narration lines (fewer than the windows), decoded once for "narration nearby".
    let narrationLines: [Segment]

    public init(index directory: String, checkpoint: String) throws {
        index = try EmbeddingIndex(directory: directory)
        let crc = try fileCRC32(checkpoint)
        guard crc == index.metadata.checkpointCRC32 else {
            throw IndexError.otherCheckpoint(directory, "was built by another checkpoint (\(index.metadata.checkpoint)) than \(checkpoint)")
        }
        (model, _) = try loadModel(checkpoint: checkpoint, randomInit: false)
        self.checkpoint = checkpoint
        narrationLines = try index.narrations.all()
    }

    /// The joint space holding both modalities, and the index table of the target.
    public func space(query: Modality, target: Modality) throws -> (space: String, table: String) {
        for (space, modalities) in model.jointSpaces where modalities.contains(query) && modalities.contains(target) {
            let table = "\(target.rawValue).\(space)"
            if index.metadata.tables[table] != nil { return (space, table) }
        }
        let have = model.jointSpaces.map { "\($0.space) (\($0.modalities.map(\.rawValue).joined(separator: ", ")))" }.joined(separator: "; ")
        throw IndexError.noTable("\(checkpoint) cannot match \(query.rawValue) against \(target.rawValue) in this index (its joint spaces: \(have.isEmpty ? "none" : have))")
    }

    /// The embedding of a text query in `space`, and the query's unknown words. An empty query,
    /// or one whose words are all unknown, is an error that says so.
    public func embed(text: String, space: String) throws -> (embedding: [Float], unknown: [String]) {
        guard let vocabulary = model.vocabulary else { throw IndexError.noTable("\(checkpoint) has no text encoder") }
        let words = vocabulary.tokenizer.words(text)
        guard !words.isEmpty else { throw IndexError.badQuery("the query \"\(text)\" has no words") }
        let unknown = vocabulary.unknownWords(text)
        guard unknown.count < min(words.count, vocabulary.tokenizer.maxTokens) else {
            throw IndexError.badQuery("none of the words of \"\(text)\" is in the checkpoint's vocabulary (\(vocabulary.size) ids)")
        }
        let ids = Tensor(shape: [1, vocabulary.tokenizer.maxTokens], data: vocabulary.ids(text).map(Float.init))
        return (model.embed(.text, ids, space: space).data, unknown)
    }

    /// The embedding of the `modality` view (video clip or audio window) of `file` at `start`.
    public func embed(file: String, modality: Modality, start: Double, space: String) throws -> [Float] {
        let info = try MediaInfo(path: file)
        let video = SampledVideo(id: file, path: file, duration: info.duration, hasVideo: !info.video.isEmpty, hasAudio: !info.audio.isEmpty)
        guard modality == .video ? video.hasVideo : video.hasAudio else {
            throw IndexError.badQuery("\(file): no \(modality.rawValue) stream")
        }
        let geometry = modality == .video ? index.metadata.geometry : ClipGeometry.default
        let loader = ClipLoader(videos: [video], geometry: geometry, video: .none, audio: .none)
        var values = [Float](repeating: 0, count: loader.clipShape(modality).reduce(1, *))
        var rng = SeededRandom(seed: 0)
        do {
            try values.withUnsafeMutableBufferPointer { try loader.load(modality, video: 0, start: start, rng: &rng, into: $0.baseAddress!) }
        } catch let e as ViewLoadError {
            throw IndexError.badQuery("\(file): \(e.underlying)")
        }
        return model.embed(modality, Tensor(shape: [1] + loader.clipShape(modality), data: values), space: space).data
    }

    /// The `top` best moments of `table` for a query embedding.
    public func search(_ embedding: [Float], table: String, top: Int) throws -> [Moment] {
        let segments = index.segments(table)
        let merging = !table.hasPrefix("text.")
        // Windows enough that merging neighbours still leaves `top` moments: more while not.
        var wanted = merging ? top * 4 * max(1, Int((index.metadata.length / index.metadata.stride).rounded(.up))) : top
        var moments: [Moment]
        while true {
            let hits = try index.withMatrix(table) { base, rows, dim in
                guard dim == embedding.count else {
                    throw IndexError.malformed(index.tablePath(table), "dimension \(dim), the query's is \(embedding.count)")
                }
                return embedding.withUnsafeBufferPointer { q in
                    ExactSearch.topK(queries: q.baseAddress!, count: 1, base: base, rows: rows, dimension: dim, k: wanted)[0]
                }
            }
            let found = try hits.map { (hit: $0, segment: try segments.at($0.row)) }
            moments = merging ? Self.merge(found) : found.map { h, s in
                Moment(video: s.video, path: s.path, start: s.start, end: s.end, score: h.score, modality: "text", narration: s.text)
            }
            if moments.count >= top || hits.count < wanted { break }
            wanted *= 4
        }
        return moments.prefix(top).map { m in
            var m = m
            if merging { m.narration = nearestNarration(video: m.video, time: (m.start + m.end) / 2) }
            return m
        }
    }

    /// Hits (best first) as moments: the windows of one video that overlap or touch, among the
    /// hits, form one moment scored by its best window; moments best first.
    public static func merge(_ hits: [(hit: Hit, segment: Segment)]) -> [Moment] {
        var byVideo: [String: [(Segment, Float)]] = [:]
        for (h, s) in hits { byVideo[s.video, default: []].append((s, h.score)) }
        var moments: [Moment] = []
        for (_, windows) in byVideo {
            var current: Moment?
            for (s, score) in windows.sorted(by: { $0.0.start < $1.0.start }) {
                if var c = current, s.start <= c.end + 1e-6 {
                    c.end = max(c.end, s.end)
                    c.score = max(c.score, score)
                    current = c
                } else {
                    if let c = current { moments.append(c) }
                    current = Moment(video: s.video, path: s.path, start: s.start, end: s.end, score: score, modality: "video")
                }
            }
            if let c = current { moments.append(c) }
        }
        return moments.sorted { $0.score != $1.score ? $0.score > $1.score : ($0.video, $0.start) < ($1.video, $1.start) }
    }

    /// The narration line of `video` nearest `time` (within 5 s), if the index holds narrations.
    public func nearestNarration(video: String, time: Double) -> String? {
        func distance(_ s: Segment) -> Double { time < s.start ? s.start - time : time > s.end ? time - s.end : 0 }
        return narrationLines.filter { $0.video == video && distance($0) <= 5 }.min { distance($0) < distance($1) }?.text
    }
}
