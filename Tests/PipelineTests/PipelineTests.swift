import AudioFeatures
import Corpora
import Foundation
import Media
import Pipeline
import TensorCore
import Testing
import TestSupport
import Text

struct PipelineTests {
    static let corpus = repositoryRoot + "/corpora/sounding-objects"

    func videos() throws -> [SampledVideo] {
        let (videos, problems) = SampledVideo.load(corpus: try Corpus(path: Self.corpus), split: nil, needs: [.video, .audio],
                                                   geometry: .default)
        #expect(problems.isEmpty)
        return videos
    }

    /// Without augmentation a clip is exactly the reader's short-side-128 centre crop at the
    /// clip's frame times, normalised by (x/255 − 0.45)/0.225, laid out [3, T, 112, 112].
    @Test func anUnaugmentedClipIsTheCentreCropNormalised() throws {
        let videos = try videos()
        let loader = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none)
        var rng = SeededRandom(seed: 0)
        var clip = [Float](repeating: 0, count: loader.clipShape(.video).reduce(1, *))
        try clip.withUnsafeMutableBufferPointer { try loader.load(.video, video: 0, start: 1.0, rng: &rng, into: $0.baseAddress!) }
        let frames = try VideoReader(path: videos[0].path).frames(at: ClipGeometry.default.frameTimes(start: 1.0), geometry: .clip112)
        var worst: Float = 0
        for t in 0..<8 { for y in 0..<112 { for x in 0..<112 { for c in 0..<3 {
            let expected = (Float(frames.pixels[((t * 112 + y) * 112 + x) * 3 + c]) / 255 - 0.45) / 0.225
            worst = max(worst, abs(clip[((c * 8 + t) * 112 + y) * 112 + x] - expected))
        } } } }
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    /// Audio views are the default log-mel of the window, [1, 96, 64].
    @Test func anUnaugmentedAudioViewIsTheLogMelOfItsWindow() throws {
        let videos = try videos()
        let loader = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none)
        var rng = SeededRandom(seed: 0)
        var mel = [Float](repeating: 0, count: loader.clipShape(.audio).reduce(1, *))
        #expect(loader.clipShape(.audio) == [1, 96, 64])
        try mel.withUnsafeMutableBufferPointer { try loader.load(.audio, video: 1, start: 0.5, rng: &rng, into: $0.baseAddress!) }
        let samples = try AudioReader(path: videos[1].path, rate: 16000).read(start: 0.5, duration: 0.96)
        #expect(samples.count == 15360)
        let reference = try LogMelExtractor(.default).compute(samples, sampleRate: 16000)  // [97, 64]: frames past the clip are dropped
        #expect(zip(mel, reference.prefix(96 * 64)).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// Plans depend only on (seed, batch, index): two samplers agree, another seed differs;
    /// CVRL clips are ordered, inside the video, and the first-to-last span favours short gaps.
    @Test func plansAreDeterministicAndCVRLSpansFavourShortGaps() throws {
        let videos = try videos()
        let spec = ExampleSpec(timing: .cvrl(count: 3), views: (0..<3).map { ViewRequest(.video, clip: $0) })
        let a = ClipSampler(videos: videos, spec: spec, geometry: .default, seed: 5)
        let b = ClipSampler(videos: videos, spec: spec, geometry: .default, seed: 5)
        let c = ClipSampler(videos: videos, spec: spec, geometry: .default, seed: 6)
        var spans: [Double] = [], lengths: [Double] = []
        for batch in 0..<50 { for i in 0..<8 {
            let (p, q) = (a.plan(batch: batch, index: i, size: 8), b.plan(batch: batch, index: i, size: 8))
            #expect(p.video == q.video && p.starts == q.starts && p.seed == q.seed)
            #expect(p.starts == p.starts.sorted() && p.starts.first! >= 0)
            #expect(p.starts.last! + 0.96 <= videos[p.video].duration)
            spans.append(p.starts.last! - p.starts.first!)
            lengths.append(videos[p.video].duration - 0.98)
        } }
        #expect(c.plan(batch: 0, index: 0, size: 8).starts != a.plan(batch: 0, index: 0, size: 8).starts)
        // p(t) ∝ L − t has mean L/3: the spans average about a third of the room available.
        let ratio = zip(spans, lengths).map { $0 / $1 }.reduce(0, +) / Double(spans.count)
        #expect(abs(ratio - 1.0 / 3) < 0.05, "mean span share \(ratio)")
        // Each epoch visits every video once.
        let epoch = (0..<videos.count).map { a.plan(batch: 0, index: $0, size: videos.count).video }
        #expect(Set(epoch).count == videos.count)
    }

    /// avc's negatives: about the requested share of examples take their audio from another video.
    @Test func otherVideoViewsComeAtTheRequestedRate() throws {
        let videos = try videos()
        let spec = ExampleSpec(views: [ViewRequest(.video), ViewRequest(.audio, otherVideoProbability: 0.5)])
        let sampler = ClipSampler(videos: videos, spec: spec, geometry: .default, seed: 1)
        let plans = (0..<400).map { sampler.plan(batch: $0 / 8, index: $0 % 8, size: 8) }
        let negatives = plans.filter { !$0.allFromAnchor }
        #expect(abs(Double(negatives.count) / 400 - 0.5) < 0.08)
        #expect(negatives.allSatisfy { $0.views[1].video != $0.video } && plans.filter { $0.allFromAnchor }.allSatisfy { $0.views[1].video == $0.video })
    }

    /// avsync's hard negatives: from the curriculum's end on, about `probability` of the
    /// examples read the anchor's audio moved by ±[minimum, maximum] inside the video, and
    /// the rest of the negative share comes from other videos; before it, none is shifted.
    @Test func shiftedViewsFollowTheCurriculumAndStayInTheVideo() throws {
        let videos = try videos()
        var audio = ViewRequest(.audio, otherVideoProbability: 0.5)
        audio.shift = TimeShift(probability: 0.25, minimum: 0.5, maximum: 2.0, fromBatch: 10)
        let sampler = ClipSampler(videos: videos, spec: ExampleSpec(views: [ViewRequest(.video), audio]), geometry: .default, seed: 3)
        let early = (0..<80).map { sampler.plan(batch: $0 / 8, index: $0 % 8, size: 8) }
        #expect(early.allSatisfy { $0.views[1].shift == 0 })
        let late = (0..<800).map { sampler.plan(batch: 10 + $0 / 8, index: $0 % 8, size: 8) }
        let shifted = late.filter { $0.views[1].shift != 0 }, other = late.filter { !$0.allFromAnchor }
        #expect(abs(Double(shifted.count) / 800 - 0.25) < 0.05, "\(shifted.count) shifted")
        #expect(abs(Double(other.count) / 800 - 0.25) < 0.05, "\(other.count) from other videos")
        for p in shifted {
            let s = p.views[1]
            #expect(s.video == p.video && (0.5...2.0).contains(abs(s.shift)) && abs(s.start - s.shift - p.starts[0]) < 1e-9)
            #expect(s.start >= 0 && s.start + 0.96 <= videos[p.video].duration)
            #expect(!p.inSync && p.allFromAnchor)
        }
        #expect(shifted.contains { $0.views[1].shift > 0 } && shifted.contains { $0.views[1].shift < 0 })
        #expect(late.filter(\.inSync).count == 800 - shifted.count - other.count)
    }

    /// avc's in-batch negatives: each example's partner is the next one of another video.
    @Test func inBatchPartnersAreTheNextExampleOfAnotherVideo() {
        func partners(_ videos: [Int]) -> [Int?] {
            Batch(step: 0, streams: [:], examples: videos.map { ExamplePlan(video: $0, starts: [0], views: [], seed: 0) }, loadSeconds: 0).otherVideoPartners
        }
        #expect(partners([4, 7, 2]) == [1, 2, 0])
        #expect(partners([4, 4, 7, 4]) == [2, 2, 3, 2])
        #expect(partners([5, 5]) == [nil, nil] && partners([3]) == [nil])
    }
}

/// Text views: the narrations nearest a clip's centre, within the window first.
struct NarrationViewTests {
    @Test func theNearestNarrationsWithinTheWindowComeFirstAndRepeatWhenFew() {
        var v = SampledVideo(id: "v", path: "v.mp4", duration: 30, hasVideo: true, hasAudio: true)
        v.narrations = [SubtitleSegment(start: 0, end: 2, text: "a"), SubtitleSegment(start: 4, end: 5, text: "b"),
                        SubtitleSegment(start: 9, end: 12, text: "c"), SubtitleSegment(start: 20, end: 21, text: "d")]
        // Centre 10: inside c; b is 5 s away, a 8 s, d 10 s: within ±5 only c and b.
        #expect(v.narrations(near: 10, window: 5, count: 3).map(\.text) == ["c", "b", "c"])
        #expect(v.narrations(near: 10, window: 8, count: 3).map(\.text) == ["c", "b", "a"])
        // Nothing within the window: the nearest line outside it.
        #expect(v.narrations(near: 17, window: 1, count: 2).map(\.text) == ["d", "d"])
    }

    @Test func textViewsAreTheIdsOfTheNearestNarrations() throws {
        let corpus = repositoryRoot + "/corpora/narrated-howto"
        let (videos, problems) = SampledVideo.load(corpus: try Corpus(path: corpus), split: "train", needs: [.video, .text], geometry: .default)
        #expect(problems.isEmpty && !videos.isEmpty && videos.allSatisfy { !$0.narrations.isEmpty })
        let vocabulary = Vocabulary(building: videos.flatMap { $0.narrations.map(\.text) })
        let loader = ClipLoader(videos: videos, geometry: .default, video: .none, audio: .none, vocabulary: vocabulary)
        #expect(loader.clipShape(.text) == [16])
        var ids = [Float](repeating: -1, count: 16)
        let start = 3.0
        try ids.withUnsafeMutableBufferPointer {
            try loader.loadText(video: 0, start: start, nearest: 1, window: 5, into: $0.baseAddress!)
        }
        let second = videos[0].narrations(near: start + 0.48, window: 5, count: 2)[1]
        #expect(ids.map { Int($0) } == vocabulary.ids(second.text))
    }
}
