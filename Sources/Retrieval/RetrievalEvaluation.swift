import Corpora
import Foundation
import Pipeline
import TensorCore
import Text
import Models

/// Recall at 1/5/10 and the median and mean rank of the one relevant item of each query.
public struct RankMetrics: Codable, Equatable, Sendable {
    public var r1: Double, r5: Double, r10: Double
    public var medianRank: Double, meanRank: Double
    public var queries: Int, gallery: Int

    enum CodingKeys: String, CodingKey {
        case r1 = "R@1", r5 = "R@5", r10 = "R@10"
        case medianRank = "median_rank", meanRank = "mean_rank"
        case queries, gallery
    }

    /// `scores: [queries, gallery]` row-major; query i's relevant item is gallery item i. A
    /// rank counts the items scored strictly higher, plus one.
    public init(scores: [Float], queries q: Int, gallery g: Int) {
        precondition(scores.count == q * g && q <= g, "RankMetrics: \(scores.count) scores for \(q) queries x \(g) items")
        let ranks = (0..<q).map { i -> Int in
            let own = scores[i * g + i]
            return (0..<g).filter { scores[i * g + $0] > own }.count + 1
        }.sorted()
        func recall(_ k: Int) -> Double { Double(ranks.filter { $0 <= k }.count) / Double(max(q, 1)) }
        (r1, r5, r10) = (recall(1), recall(5), recall(10))
        medianRank = q == 0 ? 0 : q % 2 == 1 ? Double(ranks[q / 2]) : Double(ranks[q / 2 - 1] + ranks[q / 2]) / 2
        meanRank = Double(ranks.reduce(0, +)) / Double(max(q, 1))
        (queries, gallery) = (q, g)
    }
}

/// One step of a narrated video: its span (from the annotation's per-frame phases) and its
/// canonical text (the retrieval query).
public struct StepSegment: Codable, Equatable, Sendable {
    public var video: String
    public var start: Double
    public var end: Double
    public var text: String

    public init(video: String, start: Double, end: Double, text: String) {
        (self.video, self.start, self.end, self.text) = (video, start, end, text)
    }
}

public enum RetrievalEvaluation {
    /// The step segments of a split: each video's annotation gives `canonical_step_texts` and
    /// `frame_phases` (the step of each frame at `format.frameRate`, −1 between steps).
    public static func stepSegments(corpus: Corpus, split: String) throws -> [StepSegment] {
        var segments: [StepSegment] = []
        for e in corpus.entries where e.split == split {
            guard let a = e.annotation else { continue }
            let path = corpus.resolve(a)
            guard let data = FileManager.default.contents(atPath: path),
                  let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let texts = object["canonical_step_texts"] as? [String], let phases = object["frame_phases"] as? [Int],
                  let format = object["format"] as? [String: Any], let fps = (format["frameRate"] as? NSNumber)?.doubleValue, fps > 0 else {
                throw IndexError.malformed(path, "no canonical_step_texts, frame_phases and format.frameRate (not a narrated-howto annotation)")
            }
            for (k, text) in texts.enumerated() {
                guard let first = phases.firstIndex(of: k), let last = phases.lastIndex(of: k) else { continue }
                segments.append(StepSegment(video: e.id, start: Double(first) / fps, end: Double(last + 1) / fps, text: text))
            }
        }
        return segments
    }

    /// A segment's embedding in a table: the mean of the rows of its video's windows whose
    /// centre lies in the segment (the nearest window when none does), L2-normalised.
    /// `windows`: the index's window segments, decoded once by the caller.
    static func segmentEmbedding(_ s: StepSegment, windows: [Segment], index: EmbeddingIndex, table: String) throws -> [Float] {
        let rows = windows.indices.filter { windows[$0].video == s.video }
        guard !rows.isEmpty else { throw IndexError.noTable("no windows of \(s.video) in the index") }
        func centre(_ r: Int) -> Double { (windows[r].start + windows[r].end) / 2 }
        var inside = rows.filter { (s.start...s.end).contains(centre($0)) }
        if inside.isEmpty { inside = [rows.min { abs(centre($0) - (s.start + s.end) / 2) < abs(centre($1) - (s.start + s.end) / 2) }!] }
        return try index.withMatrix(table) { p, _, dim in
            var mean = [Float](repeating: 0, count: dim)
            for r in inside { for j in 0..<dim { mean[j] += p[r * dim + j] } }
            let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            return mean.map { $0 / norm }
        }
    }

    /// text→video, video→text (a joint space with text and video), audio→video and
    /// video→audio (one with audio and video), over the step segments: query i's relevant
    /// item is segment i. Directions the checkpoint has no joint space for are left out.
    public static func evaluate(index: EmbeddingIndex, model: TrainModel, segments: [StepSegment]) throws -> [String: RankMetrics] {
        var results: [String: RankMetrics] = [:]
        let n = segments.count
        guard n > 0 else { return results }
        func scores(_ a: [[Float]], _ b: [[Float]]) -> [Float] {
            a.flatMap { q in b.map { g in zip(q, g).reduce(0) { $0 + $1.0 * $1.1 } } }
        }
        let windows = try index.windows.all()
        for (space, modalities) in model.jointSpaces where modalities.contains(.video) {
            let video = try segments.map { try segmentEmbedding($0, windows: windows, index: index, table: "video.\(space)") }
            if modalities.contains(.text), let vocabulary = model.vocabulary, results["text->video"] == nil {
                let ids = Tensor(shape: [n, vocabulary.tokenizer.maxTokens], data: segments.flatMap { vocabulary.ids($0.text).map(Float.init) })
                let flat = model.embed(.text, ids, space: space).data
                let dim = flat.count / n
                let text = (0..<n).map { Array(flat[($0 * dim)..<(($0 + 1) * dim)]) }
                results["text->video"] = RankMetrics(scores: scores(text, video), queries: n, gallery: n)
                results["video->text"] = RankMetrics(scores: scores(video, text), queries: n, gallery: n)
            }
            if modalities.contains(.audio), index.metadata.tables["audio.\(space)"] != nil, results["audio->video"] == nil {
                let audio = try segments.map { try segmentEmbedding($0, windows: windows, index: index, table: "audio.\(space)") }
                results["audio->video"] = RankMetrics(scores: scores(audio, video), queries: n, gallery: n)
                results["video->audio"] = RankMetrics(scores: scores(video, audio), queries: n, gallery: n)
            }
        }
        return results
    }
}

/// One canonical step text asked of the video windows of an index: its best window and
/// whether that window is a moment of the step.
public struct StepTextHit: Sendable {
    public var text: String
    public var window: Segment
    public var score: Float
    /// The best window's centre lies in a segment of its video whose step text is the query.
    public var correct: Bool
    /// Share of the candidate windows that are moments of this step (what a random pick gets).
    public var chance: Double
}

extension RetrievalEvaluation {
    /// Whether `window`'s centre lies in a segment of its video whose step text is `text`.
    public static func isMoment(_ window: Segment, of text: String, in segments: [StepSegment]) -> Bool {
        let centre = (window.start + window.end) / 2
        return segments.contains { $0.video == window.video && $0.text == text && ($0.start...$0.end).contains(centre) }
    }

    /// Each distinct step text of `segments` as a text query over the video windows of the
    /// searcher's index (text→video space) that belong to the segments' videos: the best
    /// window, and whether its centre lies in a
    /// segment of that text in the same video. The mean of `correct` is the step-level R@1
    /// (a hit anywhere in the step counts; `evaluate` instead asks for the one segment).
    public static func stepTextHits(searcher: Searcher, segments: [StepSegment]) throws -> [StepTextHit] {
        let (space, table) = try searcher.space(query: .text, target: .video)
        let all = try searcher.index.segments(table).all()
        // Only the windows of the segments' videos compete (an index may hold other splits too).
        let videos = Set(segments.map(\.video))
        let rows = all.indices.filter { videos.contains(all[$0].video) }
        guard !rows.isEmpty else { throw IndexError.noTable("no windows of the segments' videos in the index") }
        var texts: [String] = []
        for s in segments where !texts.contains(s.text) { texts.append(s.text) }
        return try texts.map { text in
            let query = try searcher.embed(text: text, space: space).embedding
            let (best, score) = try searcher.index.withMatrix(table) { base, _, dim -> (Int, Float) in
                var best = rows[0], bestScore = -Float.infinity
                for r in rows {
                    var dot: Float = 0
                    for j in 0..<dim { dot += base[r * dim + j] * query[j] }
                    if dot > bestScore { (best, bestScore) = (r, dot) }
                }
                return (best, bestScore)
            }
            let chance = Double(rows.filter { isMoment(all[$0], of: text, in: segments) }.count) / Double(rows.count)
            return StepTextHit(text: text, window: all[best], score: score, correct: isMoment(all[best], of: text, in: segments), chance: chance)
        }
    }
}
