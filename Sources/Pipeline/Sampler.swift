import Corpora
import Foundation
import Media
import TensorCore

/// A video the sampler may draw from: its file, usable duration and streams.
public struct SampledVideo: Sendable {
    public var id: String
    public var path: String
    public var duration: Double
    public var hasVideo: Bool
    public var hasAudio: Bool
    public var labels: [String: String]
    /// Timed narration lines (loaded when an objective asks for text).
    public var narrations: [SubtitleSegment] = []

    public init(id: String, path: String, duration: Double, hasVideo: Bool, hasAudio: Bool, labels: [String: String] = [:]) {
        (self.id, self.path, self.duration, self.hasVideo, self.hasAudio, self.labels) = (id, path, duration, hasVideo, hasAudio, labels)
    }

    /// The narration lines nearest `time` (by the distance from it to their span; ties by
    /// start), those within `window` seconds first; when fewer than `count` lie within the
    /// window, the list is filled by repeating them in order (or, with none inside, by the
    /// nearest lines outside it).
    public func narrations(near time: Double, window: Double, count: Int) -> [SubtitleSegment] {
        guard !narrations.isEmpty, count > 0 else { return [] }
        func distance(_ s: SubtitleSegment) -> Double { time < s.start ? s.start - time : time > s.end ? time - s.end : 0 }
        let sorted = narrations.sorted { (distance($0), $0.start) < (distance($1), $1.start) }
        let inside = sorted.filter { distance($0) <= window }
        let pool = inside.isEmpty ? [sorted[0]] : inside
        return (0..<count).map { pool[$0 % pool.count] }
    }

    /// The videos of one split of a corpus that can serve clips of `geometry` with the given
    /// modalities; every other entry is returned as a problem (file and reason) to report.
    public static func load(corpus: Corpus, split: String?, needs modalities: Set<Modality>,
                            geometry: ClipGeometry) -> (videos: [SampledVideo], problems: [CorpusProblem]) {
        var corpus = corpus
        let infos = corpus.probeMedia()
        var problems = corpus.problems
        var videos: [SampledVideo] = []
        for e in corpus.entries where split == nil || e.split == split {
            guard let info = infos[e.id] else { continue }
            let path = corpus.resolve(e.media)
            var video = SampledVideo(id: e.id, path: path, duration: info.duration, hasVideo: !info.video.isEmpty,
                                     hasAudio: !info.audio.isEmpty, labels: e.labels)
            if modalities.contains(.text) {
                do {
                    video.narrations = try e.narration.map { try Subtitles.read(path: corpus.resolve($0)) }
                        ?? (info.subtitles.isEmpty ? [] : Subtitles.readStream(path: path))
                } catch {
                    problems.append(CorpusProblem(file: e.narration.map(corpus.resolve) ?? path, problem: "\(error)"))
                    continue
                }
            }
            if modalities.contains(.text) && video.narrations.isEmpty {
                problems.append(CorpusProblem(file: path, problem: "no narration (this objective needs text)"))
            } else if modalities.contains(.video) && !video.hasVideo {
                problems.append(CorpusProblem(file: path, problem: "no video stream (this objective needs video)"))
            } else if modalities.contains(.audio) && !video.hasAudio {
                problems.append(CorpusProblem(file: path, problem: "no audio stream (this objective needs audio)"))
            } else if info.duration < geometry.duration + 0.05 {
                problems.append(CorpusProblem(file: path, problem: String(format: "%.2f s is shorter than one %.2f s clip", info.duration, geometry.duration)))
            } else {
                videos.append(video)
            }
        }
        return (videos, problems)
    }
}

extension SampledVideo {
    /// Reads the narration side files of `videos` (matched to `corpus`'s entries by id); a
    /// side file that cannot be read is returned as a problem and its video keeps none.
    public static func attachNarrations(_ videos: inout [SampledVideo], from corpus: Corpus) -> [CorpusProblem] {
        let entries = Dictionary(corpus.entries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var problems: [CorpusProblem] = []
        for i in videos.indices {
            guard let n = entries[videos[i].id]?.narration else { continue }
            do { videos[i].narrations = try Subtitles.read(path: corpus.resolve(n)) } catch {
                problems.append(CorpusProblem(file: corpus.resolve(n), problem: "\(error)"))
            }
        }
        return problems
    }
}

/// Where and when one view is read.
public struct ViewPlan: Sendable {
    public var video: Int
    public var start: Double
    /// Seconds this view was moved from its clip time (a hard synchronisation negative); 0 otherwise.
    public var shift: Double = 0

    public init(video: Int, start: Double, shift: Double = 0) { (self.video, self.start, self.shift) = (video, start, shift) }
}

/// One example's plan: its anchor video, clip times, and where each view is read.
public struct ExamplePlan: Sendable {
    public var video: Int
    public var starts: [Double]
    public var views: [ViewPlan]
    /// Seed of this example's augmentation draws.
    public var seed: UInt64

    public init(video: Int, starts: [Double], views: [ViewPlan], seed: UInt64) {
        (self.video, self.starts, self.views, self.seed) = (video, starts, views, seed)
    }

    /// Every view comes from the anchor video (avc's positive pairs).
    public var allFromAnchor: Bool { views.allSatisfy { $0.video == video } }
    /// Every view comes from the anchor video at its own clip time (synchronisation's positives).
    public var inSync: Bool { views.allSatisfy { $0.video == video && $0.shift == 0 } }
}

/// Draws examples deterministically: the plan of example `i` of batch `b` depends only on
/// (seed, b, i) and the video list, so a resumed run sees exactly the batches it would have.
/// Videos are visited in a fresh permutation each epoch.
public struct ClipSampler: Sendable {
    public let videos: [SampledVideo]
    public let spec: ExampleSpec
    public let geometry: ClipGeometry
    public let seed: UInt64

    public init(videos: [SampledVideo], spec: ExampleSpec, geometry: ClipGeometry, seed: UInt64) {
        precondition(!videos.isEmpty, "ClipSampler: no videos")
        (self.videos, self.spec, self.geometry, self.seed) = (videos, spec, geometry, seed)
    }

    static func mix(_ values: UInt64...) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for v in values { h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9; h ^= h >> 31 }
        return h
    }

    /// The anchor video of the `k`-th example overall (epoch = k / videos.count).
    func anchor(_ k: Int) -> Int {
        let n = videos.count
        var rng = SeededRandom(seed: Self.mix(seed, 0xE90C, UInt64(k / n)))
        return rng.permutation(n)[k % n]
    }

    /// Example `index` of batch `batch` (batches of `size`); `attempt` > 0 draws a replacement
    /// video for an example whose video failed to load.
    public func plan(batch: Int, index: Int, size: Int, attempt: Int = 0) -> ExamplePlan {
        var rng = SeededRandom(seed: Self.mix(seed, UInt64(batch), UInt64(index), UInt64(attempt)))
        let v = attempt == 0 ? anchor(batch * size + index) : Int(rng.next() % UInt64(videos.count))
        let starts = clipStarts(videos[v].duration, &rng)
        let views = spec.views.map { request -> ViewPlan in
            func otherVideo() -> ViewPlan {
                var other = Int(rng.next() % UInt64(videos.count - 1))
                if other >= v { other += 1 }
                return ViewPlan(video: other, start: rng.uniform(0, lastStart(videos[other].duration)))
            }
            if let shift = request.shift, batch >= shift.fromBatch {
                // One draw decides: shifted (hard), another video (easy) or in sync.
                let u = rng.unit()
                if u < shift.probability, let moved = shifted(starts[request.clip], by: shift, video: v, &rng) {
                    return ViewPlan(video: v, start: moved, shift: moved - starts[request.clip])
                }
                if u < request.otherVideoProbability && videos.count > 1 { return otherVideo() }
                return ViewPlan(video: v, start: starts[request.clip])
            }
            if request.otherVideoProbability > 0 && videos.count > 1 && rng.chance(request.otherVideoProbability) {
                return otherVideo()
            }
            return ViewPlan(video: v, start: starts[request.clip])
        }
        return ExamplePlan(video: v, starts: starts, views: views, seed: rng.next())
    }

    /// `start` moved by a drawn ±[minimum, maximum] seconds within the video (the other sign
    /// when the drawn one leaves it); nil when the video is too short for either.
    func shifted(_ start: Double, by shift: TimeShift, video v: Int, _ rng: inout SeededRandom) -> Double? {
        let size = rng.uniform(shift.minimum, shift.maximum)
        let sign: Double = rng.chance(0.5) ? 1 : -1
        let last = lastStart(videos[v].duration)
        for s in [sign, -sign] where (0...last).contains(start + s * size) { return start + s * size }
        return nil
    }

    /// The latest start of a whole clip (frames and audio) in a video of `duration` seconds.
    public func lastStart(_ duration: Double) -> Double { max(0, duration - geometry.duration - 0.02) }

    func clipStarts(_ duration: Double, _ rng: inout SeededRandom) -> [Double] {
        let last = lastStart(duration)
        switch spec.timing {
        case .single:
            return [rng.uniform(0, last)]
        case .cvrl(let count):
            // Span between the first and last clip t ~ p(t) ∝ (L − t) on [0, L]: t = L(1 − √(1 − u)).
            let span = last * (1 - (1 - rng.unit()).squareRoot())
            let first = rng.uniform(0, last - span)
            let middle = (0..<max(count - 2, 0)).map { _ in first + rng.uniform(0, span) }.sorted()
            return count == 1 ? [first] : [first] + middle + [first + span]
        case .offsets(let offsets):
            let lo = max(0, -(offsets.min() ?? 0)), hi = last - max(0, offsets.max() ?? 0)
            let anchor = hi > lo ? rng.uniform(lo, hi) : lo
            return [anchor] + offsets.map { min(max(anchor + $0, 0), last) }
        }
    }

    /// `count` uniformly spaced clip starts over a video (evaluation: a video's feature is the
    /// mean over them).
    public func uniformStarts(video: Int, count: Int) -> [Double] {
        let last = lastStart(videos[video].duration)
        return count == 1 ? [last / 2] : (0..<count).map { last * Double($0) / Double(count - 1) }
    }
}
