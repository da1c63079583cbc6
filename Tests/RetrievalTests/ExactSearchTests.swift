import Corpora
import Foundation
import Retrieval
import TensorCore
import Testing
import TestSupport

struct ExactSearchTests {
    /// Top-k over several blocks (queries spread over the threads) equals a full sort of the scores.
    @Test func topKEqualsSortingAllScores() {
        var rng = SeededRandom(seed: 4)
        let (n, d, q, k) = (ExactSearch.blockRows * 2 + 123, 16, 40, 10)  // 40 queries: the threaded path
        let base = Tensor.normal([n, d], rng: &rng).l2Normalized(axis: 1), queries = Tensor.normal([q, d], rng: &rng).l2Normalized(axis: 1)
        let hits = base.data.withUnsafeBufferPointer { b in
            queries.data.withUnsafeBufferPointer { qs in
                ExactSearch.topK(queries: qs.baseAddress!, count: q, base: b.baseAddress!, rows: n, dimension: d, k: k)
            }
        }
        for i in 0..<q {
            let scores = (0..<n).map { r in (0..<d).reduce(Float(0)) { $0 + queries.data[i * d + $1] * base.data[r * d + $1] } }
            let expected = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(k)
            #expect(hits[i].map(\.row) == Array(expected), "query \(i)")
            #expect(zip(hits[i], expected).allSatisfy { abs($0.score - scores[$1]) < 1e-5 })
        }
    }
}

struct MomentTests {
    /// Hits on windows that touch or overlap in one video become one moment scored by its best
    /// window; separate stretches and other videos stay apart; moments best first.
    @Test func adjacentWindowsMerge() {
        func w(_ video: String, _ start: Double) -> Segment { Segment(video: video, path: video + ".mp4", start: start, end: start + 1, modality: "window") }
        let segments = [w("a", 0), w("a", 1), w("a", 5), w("b", 1), w("a", 2)]
        let hits = [Hit(row: 1, score: 0.9), Hit(row: 3, score: 0.8), Hit(row: 0, score: 0.7), Hit(row: 2, score: 0.6), Hit(row: 4, score: 0.5)]
        let moments = Searcher.merge(hits.map { ($0, segments[$0.row]) })
        #expect(moments.map { "\($0.video) \($0.start)-\($0.end) \($0.score)" } == ["a 0.0-3.0 0.9", "b 1.0-2.0 0.8", "a 5.0-6.0 0.6"])
    }
}

struct RetrievalMetricTests {
    /// Ranks of the relevant (diagonal) items: 1, 3 (two scored higher), 2 (a tie does not
    /// count against it, one higher does).
    @Test func ranksAndRecalls() {
        let scores: [Float] = [0.9, 0.1, 0.2,
                               0.8, 0.3, 0.7,
                               0.5, 0.6, 0.5]
        let m = RankMetrics(scores: scores, queries: 3, gallery: 3)
        #expect(m.r1 == 1.0 / 3 && m.r5 == 1 && m.r10 == 1)
        #expect(m.medianRank == 2 && m.meanRank == 2)
    }

    /// A window is a moment of a step when its centre lies in a segment of that step's text in
    /// its own video (the step-level R@1 of `eval retrieval` and the demo).
    @Test func aWindowIsAMomentOfAStepByItsCentre() {
        let segments = [StepSegment(video: "a", start: 2, end: 4, text: "pour the water"),
                        StepSegment(video: "b", start: 0, end: 3, text: "stir the mixture")]
        func window(_ video: String, _ start: Double) -> Segment { Segment(video: video, path: video + ".mp4", start: start, end: start + 0.96, modality: "video") }
        #expect(RetrievalEvaluation.isMoment(window("a", 1.6), of: "pour the water", in: segments))   // centre 2.08
        #expect(!RetrievalEvaluation.isMoment(window("a", 1.0), of: "pour the water", in: segments))  // centre 1.48: before it
        #expect(RetrievalEvaluation.isMoment(window("a", 3.52), of: "pour the water", in: segments))  // centre 4.0: its last instant
        #expect(!RetrievalEvaluation.isMoment(window("a", 2.5), of: "stir the mixture", in: segments))  // another step's text
        #expect(!RetrievalEvaluation.isMoment(window("b", 1.6), of: "pour the water", in: segments))    // another video
        #expect(RetrievalEvaluation.isMoment(window("b", 1.6), of: "stir the mixture", in: segments))
    }

    @Test func stepSegmentsComeFromTheAnnotations() throws {
        let corpus = try Corpus(path: repositoryRoot + "/corpora/narrated-howto")
        let segments = try RetrievalEvaluation.stepSegments(corpus: corpus, split: "test")
        #expect(!segments.isEmpty)
        for s in segments { #expect(s.end > s.start && !s.text.isEmpty, "\(s)") }
        #expect(throws: IndexError.self) { try RetrievalEvaluation.stepSegments(corpus: Corpus(path: repositoryRoot + "/corpora/sounding-objects"), split: "test") }
    }
}
