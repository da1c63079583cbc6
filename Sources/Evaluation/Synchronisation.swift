import Corpora
import Foundation
import Media
import Models
import Pipeline
import TensorCore

/// `eval sync` (`docs/methods.md#evaluation-protocols-concord-eval-name`): how well an
/// `avsync` model tells when a sound happens, on the videos of a split.
///
/// 1. In sync vs shifted: each of `clips` uniformly placed windows of a video with its own
///    audio (in sync) and with the same video's audio moved by ±[0.5, 2.0] s; accuracy of the
///    method's decision rule, and how often the in-sync pair scores above its shifted twin.
/// 2. Offset estimation (SyncNet, VocaLiST): each video's audio is delayed by a known offset
///    drawn from −15…+15 steps of 40 ms; for each window every candidate offset in that range
///    is scored, and the best taken — per window, and per video from the scores summed over
///    its windows; exact and within ±1 step.
/// 3. The Synchformer grid: the same with 21 offsets −2.0…+2.0 s in 0.2 s steps (Acc@1, ±1).
///
/// A delay `o` means the sound of video time `t` is heard at `t + o`; candidate `c` for the
/// clip at `t` reads the delayed track at `t + c`, i.e. the original audio at `t + c − o`,
/// and is right when `c = o`. Windows are placed so every candidate's audio lies inside the
/// video; a video too short for a grid is left out of it (counted in `skipped`).
public struct SyncEvaluation {
    /// An offset grid: `steps` candidates each side of 0, `step` seconds apart.
    public struct Grid: Sendable {
        public var name: String
        public var step: Double
        public var steps: Int
        public init(name: String, step: Double, steps: Int) { (self.name, self.step, self.steps) = (name, step, steps) }
        public var candidates: Int { 2 * steps + 1 }
        /// SyncNet's ±15 frames of 40 ms.
        public static let frames = Grid(name: "offset_40ms", step: 0.04, steps: 15)
        /// Synchformer's 21 classes over ±2 s.
        public static let synchformer = Grid(name: "offset_synchformer", step: 0.2, steps: 10)
    }

    public struct OffsetResult: Codable, Sendable {
        public var grid: String
        public var stepSeconds: Double
        public var candidates: Int
        public var videos: Int
        public var windows: Int
        public var skipped: Int
        public var windowExact: Double
        public var windowWithinOne: Double
        public var videoExact: Double
        public var videoWithinOne: Double
        /// Chance for a uniformly drawn true offset and a random guess.
        public var chanceExact: Double
        public var chanceWithinOne: Double
    }

    public struct Result: Codable, Sendable {
        public var pairs: Int
        /// The decision rule's accuracy on in-sync and shifted pairs (half each).
        public var accuracy: Double
        public var accuracyInSync: Double
        public var accuracyShifted: Double
        /// How often the in-sync pair scores above the same window with shifted audio.
        public var inSyncAboveShifted: Double
        /// The same pairs judged at a threshold chosen on another split (nil: not asked).
        public var calibrated: Calibrated?
        public var offsets: [OffsetResult]
    }

    /// A decision threshold chosen on one split's pairs (`calibrate`): the score above which a
    /// pair counts as in sync, how many pairs chose it and its accuracy on them.
    public struct Threshold: Sendable {
        public var split: String
        public var value: Float
        public var pairs: Int
        public var accuracy: Double
    }

    /// A decision threshold chosen on one split's pairs (the one that classifies most of them
    /// right) and the accuracy it gives on the evaluated split's pairs.
    public struct Calibrated: Codable, Sendable {
        public var split: String
        public var threshold: Double
        public var calibrationPairs: Int
        public var calibrationAccuracy: Double
        public var accuracy: Double
        public var accuracyInSync: Double
        public var accuracyShifted: Double
    }

    /// The in-sync and shifted scores of `clips` uniformly placed windows of video `v`: each
    /// window with its own audio and with the same video's audio moved by ±[0.5, 2.0] s (the
    /// way that stays inside the video); `apart` says the two reads are at least 0.5 s apart.
    func pairScores(loader: ClipLoader, sampler: ClipSampler, video v: Int, clips: Int,
                    rng: inout SeededRandom) throws -> [(inSync: Float, shifted: Float, apart: Bool)] {
        let (videoShape, audioShape) = (loader.clipShape(.video), loader.clipShape(.audio))
        let (videoSize, audioSize) = (videoShape.reduce(1, *), audioShape.reduce(1, *))
        let last = sampler.lastStart(sampler.videos[v].duration)
        let starts = sampler.uniformStarts(video: v, count: clips)
        var frames = [Float](repeating: 0, count: starts.count * videoSize)
        try frames.withUnsafeMutableBufferPointer { b in
            for (k, s) in starts.enumerated() { try loader.load(.video, video: v, start: s, rng: &rng, into: b.baseAddress! + k * videoSize) }
        }
        var audioStarts: [Double] = []
        for s in starts {
            let size = rng.uniform(0.5, 2.0), sign: Double = rng.chance(0.5) ? 1 : -1
            let moved = [s + sign * size, s - sign * size].first { (0...last).contains($0) } ?? (s + size <= last ? s + size : max(0, s - size))
            audioStarts += [s, moved]
        }
        var audio = [Float](repeating: 0, count: audioStarts.count * audioSize)
        try audio.withUnsafeMutableBufferPointer { b in try loader.loadAudioViews(video: v, starts: audioStarts, rng: &rng, into: b.baseAddress!) }
        let scored = scores(clips: Tensor(shape: [starts.count] + videoShape, data: frames), rows: starts.indices.flatMap { [$0, $0] },
                            audio: Tensor(shape: [audioStarts.count] + audioShape, data: audio))
        return starts.indices.map { k in (scored[2 * k], scored[2 * k + 1], abs(audioStarts[2 * k + 1] - starts[k]) >= 0.5) }
    }

    /// The videos of a split that `eval sync` uses (long enough for a 2 s shift of a window),
    /// with the loader and the sampler that read their windows.
    func syncVideos(corpus: Corpus, split: String, geometry: ClipGeometry, seed: UInt64) throws
        -> (videos: [SampledVideo], problems: [CorpusProblem], loader: ClipLoader, sampler: ClipSampler) {
        var (videos, problems) = SampledVideo.load(corpus: corpus, split: split, needs: [.video, .audio], geometry: geometry)
        videos = videos.filter { $0.duration >= geometry.duration + 2 * 0.6 + 0.1 }
        guard videos.count >= 1 else { throw EvaluationError.missing("\(corpus.root): split '\(split)' has no video long enough to evaluate") }
        return (videos, problems, ClipLoader(videos: videos, geometry: geometry, video: .none, audio: .none),
                ClipSampler(videos: videos, spec: ExampleSpec(views: [ViewRequest(.video)]), geometry: geometry, seed: seed))
    }

    /// Chooses the in-sync threshold on the pairs of `split` (as `run` makes them): the one
    /// between two neighbouring scores that classifies most pairs right. Returns it with the
    /// number of pairs and their accuracy at it.
    public func calibrate(corpus: Corpus, split: String, clips: Int, geometry: ClipGeometry, seed: UInt64 = 0,
                          progress: (Int, Int) -> Void = { _, _ in }) throws -> Threshold {
        let (videos, _, loader, sampler) = try syncVideos(corpus: corpus, split: split, geometry: geometry, seed: seed)
        model.eval()
        defer { model.train() }
        var rng = SeededRandom(seed: seed)
        var labelled: [(score: Float, inSync: Bool)] = []
        progress(0, videos.count)
        for v in videos.indices {
            for p in try pairScores(loader: loader, sampler: sampler, video: v, clips: clips, rng: &rng) {
                labelled += [(p.inSync, true), (p.shifted, false)]
            }
            progress(v + 1, videos.count)
        }
        let best = Self.bestThreshold(labelled)
        return Threshold(split: split, value: best.threshold, pairs: best.pairs, accuracy: best.accuracy)
    }

    /// The threshold (score > threshold: in sync) that classifies most of `labelled` right:
    /// a midpoint between neighbouring distinct scores, or below/above all of them.
    public static func bestThreshold(_ labelled: [(score: Float, inSync: Bool)]) -> (threshold: Float, pairs: Int, accuracy: Double) {
        let sorted = labelled.sorted { $0.score < $1.score }
        guard let first = sorted.first, let lastScore = sorted.last?.score else { return (0, 0, 0) }
        // Below every score: all called in sync.
        var correct = sorted.filter(\.inSync).count
        var best = (correct, first.score - 1)
        var i = 0
        while i < sorted.count {
            var j = i
            while j < sorted.count && sorted[j].score == sorted[i].score {  // move ties together
                correct += sorted[j].inSync ? -1 : 1
                j += 1
            }
            let threshold = j < sorted.count ? (sorted[i].score + sorted[j].score) / 2 : lastScore + 1
            if correct > best.0 { best = (correct, threshold) }
            i = j
        }
        return (best.1, sorted.count / 2, Double(best.0) / Double(sorted.count))
    }

    let model: TrainModel
    let method: AVSync
    let head: AVSync.Head

    /// Throws when the model has no `avsync` objective.
    public init(model: TrainModel) throws {
        guard let (method, head) = model.objective(AVSync.self), model.video != nil, model.audio != nil else {
            throw EvaluationError.missing("the checkpoint has no avsync head (train with the avsync objective)")
        }
        (self.model, self.method, self.head) = (model, method, head)
    }

    /// In-sync scores `[pairs]` of pairs (`rows[i]`-th clip, `audio[i]`): clips `[K, 3, T, H, W]`
    /// are encoded once, audio views `[pairs, 1, 96, 64]`.
    func scores(clips: Tensor, rows: [Int], audio: Tensor) -> [Float] {
        Autograd.withoutGradients {
            let video = AVSync.timeResolved(video: model.featureMap(.video, clips)).indexSelect(axis: 0, rows)
            return method.syncScores(video: video, audio: AVSync.timeResolved(audio: model.featureMap(.audio, audio)), head: head)
        }
    }

    /// For each window start `t` (seconds of video time), the in-sync score of every candidate
    /// offset of `grid` (index j: offset `(j − steps)·step`) when the file's audio is delayed
    /// by `delay` seconds more than it is: candidate c reads the audio at `t + c − delay`.
    /// `[windows][candidates]`; every read must lie inside the video.
    public func offsetCurves(loader: ClipLoader, video v: Int, windows: [Double], grid: Grid, delay: Double = 0,
                             rng: inout SeededRandom) throws -> [[Float]] {
        let (videoShape, audioShape) = (loader.clipShape(.video), loader.clipShape(.audio))
        let (videoSize, audioSize) = (videoShape.reduce(1, *), audioShape.reduce(1, *))
        var frames = [Float](repeating: 0, count: windows.count * videoSize)
        try frames.withUnsafeMutableBufferPointer { b in
            for (k, t) in windows.enumerated() { try loader.load(.video, video: v, start: t, rng: &rng, into: b.baseAddress! + k * videoSize) }
        }
        let reads = windows.flatMap { t in (0..<grid.candidates).map { j in t + Double(j - grid.steps) * grid.step - delay } }
        var audio = [Float](repeating: 0, count: reads.count * audioSize)
        try audio.withUnsafeMutableBufferPointer { b in try loader.loadAudioViews(video: v, starts: reads, rng: &rng, into: b.baseAddress!) }
        let s = scores(clips: Tensor(shape: [windows.count] + videoShape, data: frames),
                       rows: windows.indices.flatMap { [Int](repeating: $0, count: grid.candidates) },
                       audio: Tensor(shape: [reads.count] + audioShape, data: audio))
        return windows.indices.map { Array(s[($0 * grid.candidates)..<(($0 + 1) * grid.candidates)]) }
    }

    /// `calibration`: a threshold chosen on another split (`calibrate`) at which the in-sync
    /// vs shifted pairs are judged as well as at the method's own rule.
    public func run(corpus: Corpus, split: String, clips: Int, geometry: ClipGeometry, seed: UInt64 = 0,
                    grids: [Grid] = [.frames, .synchformer], calibration: Threshold? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> (Result, [CorpusProblem]) {
        let (videos, problems, loader, sampler) = try syncVideos(corpus: corpus, split: split, geometry: geometry, seed: seed)
        model.eval()
        defer { model.train() }
        var rng = SeededRandom(seed: seed)
        var pairCorrect = [0, 0], pairCount = [0, 0], above = 0, twins = 0, calibratedCorrect = [0, 0]
        var tallies = grids.map { _ in (videos: 0, windows: 0, skipped: 0, wExact: 0, wOne: 0, vExact: 0, vOne: 0) }
        progress(0, videos.count)
        for v in videos.indices {
            let last = sampler.lastStart(videos[v].duration)
            // 1. In sync vs shifted, at windows that leave room for a 2 s shift one way or the other.
            for p in try pairScores(loader: loader, sampler: sampler, video: v, clips: clips, rng: &rng) {
                pairCount[1] += 1; pairCount[0] += 1
                if p.inSync > method.decisionThreshold { pairCorrect[1] += 1 }
                if p.shifted <= method.decisionThreshold { pairCorrect[0] += 1 }
                if let c = calibration {
                    if p.inSync > c.value { calibratedCorrect[1] += 1 }
                    if p.shifted <= c.value { calibratedCorrect[0] += 1 }
                }
                if p.apart { twins += 1; if p.inSync > p.shifted { above += 1 } }
            }
            // 2, 3. Offset estimation on each grid.
            for (g, grid) in grids.enumerated() {
                let reach = 2 * Double(grid.steps) * grid.step
                let (lo, hi) = (reach, last - reach)
                guard hi >= lo else { tallies[g].skipped += 1; continue }
                let truth = Int(rng.next() % UInt64(grid.candidates)) - grid.steps
                let windows = (0..<clips).map { clips == 1 ? (lo + hi) / 2 : lo + (hi - lo) * Double($0) / Double(clips - 1) }
                let curves = try offsetCurves(loader: loader, video: v, windows: windows, grid: grid, delay: Double(truth) * grid.step, rng: &rng)
                var summed = [Float](repeating: 0, count: grid.candidates)
                for row in curves {
                    for j in row.indices { summed[j] += row[j] }
                    let best = (row.indices.max { row[$0] < row[$1] } ?? 0) - grid.steps
                    tallies[g].windows += 1
                    if best == truth { tallies[g].wExact += 1 }
                    if abs(best - truth) <= 1 { tallies[g].wOne += 1 }
                }
                let best = (summed.indices.max { summed[$0] < summed[$1] } ?? 0) - grid.steps
                tallies[g].videos += 1
                if best == truth { tallies[g].vExact += 1 }
                if abs(best - truth) <= 1 { tallies[g].vOne += 1 }
            }
            progress(v + 1, videos.count)
        }
        func share(_ a: Int, _ b: Int) -> Double { Double(a) / Double(max(b, 1)) }
        let offsets = zip(grids, tallies).map { grid, t in
            let n = Double(grid.candidates)
            return OffsetResult(grid: grid.name, stepSeconds: grid.step, candidates: grid.candidates, videos: t.videos, windows: t.windows,
                                skipped: t.skipped, windowExact: share(t.wExact, t.windows), windowWithinOne: share(t.wOne, t.windows),
                                videoExact: share(t.vExact, t.videos), videoWithinOne: share(t.vOne, t.videos),
                                chanceExact: 1 / n, chanceWithinOne: (3 * n - 2) / (n * n))
        }
        let result = Result(pairs: pairCount[0] + pairCount[1], accuracy: share(pairCorrect[0] + pairCorrect[1], pairCount[0] + pairCount[1]),
                            accuracyInSync: share(pairCorrect[1], pairCount[1]), accuracyShifted: share(pairCorrect[0], pairCount[0]),
                            inSyncAboveShifted: share(above, twins),
                            calibrated: calibration.map { c in
                                Calibrated(split: c.split, threshold: Double(c.value), calibrationPairs: c.pairs, calibrationAccuracy: c.accuracy,
                                           accuracy: share(calibratedCorrect[0] + calibratedCorrect[1], pairCount[0] + pairCount[1]),
                                           accuracyInSync: share(calibratedCorrect[1], pairCount[1]), accuracyShifted: share(calibratedCorrect[0], pairCount[0]))
                            },
                            offsets: offsets)
        return (result, problems)
    }
}

/// `concord sync`: a file's audio-to-video offset as an avsync model sees it.
public struct SyncEstimate: Codable, Sendable {
    public var file: String
    /// Seconds the audio lags the video (negative: it leads); move the audio by minus this to fix it.
    public var offset: Double
    /// The offset in frames at the file's frame rate.
    public var frames: Double
    public var frameRate: Double
    /// SyncNet's confidence: the best mean score minus the median over the candidates.
    public var confidence: Double
    public var windows: Int
    /// The candidate offsets (seconds) and their mean scores over the windows.
    public var candidates: [Double]
    public var curve: [Double]
}

extension SyncEvaluation {
    /// Estimates the offset of one media file from windows `stride` seconds apart over the
    /// whole file, each scoring every candidate of `grid`; throws naming the file when it has
    /// no video or no audio stream or is too short for one window with the grid's reach.
    public func estimate(file: String, geometry: ClipGeometry, grid: Grid, stride: Double) throws -> SyncEstimate {
        let info = try MediaInfo(path: file)
        guard let video = info.video.first else { throw EvaluationError.missing("\(file): no video stream (sync needs video and audio)") }
        guard !info.audio.isEmpty else { throw EvaluationError.missing("\(file): no audio stream (sync needs video and audio)") }
        let item = SampledVideo(id: (file as NSString).lastPathComponent, path: file, duration: info.duration, hasVideo: true, hasAudio: true)
        let loader = ClipLoader(videos: [item], geometry: geometry, video: .none, audio: .none)
        let sampler = ClipSampler(videos: [item], spec: ExampleSpec(views: [ViewRequest(.video)]), geometry: geometry, seed: 0)
        let reach = Double(grid.steps) * grid.step
        let (lo, hi) = (reach, sampler.lastStart(info.duration) - reach)
        guard hi >= lo else {
            throw EvaluationError.missing(String(format: "%@: too short (%.2f s) for one %.2f s window with ±%.2f s of offsets (needs %.2f s)",
                                                 file, info.duration, geometry.duration, reach, geometry.duration + 2 * reach + 0.02))
        }
        let count = max(1, Int(((hi - lo) / stride).rounded(.down)) + 1)
        let windows = (0..<count).map { lo + Double($0) * stride }
        model.eval()
        defer { model.train() }
        var rng = SeededRandom(seed: 0)
        var summed = [Double](repeating: 0, count: grid.candidates)
        // Chunks of windows keep the audio batch small.
        for chunk in Swift.stride(from: 0, to: windows.count, by: 8) {
            let part = Array(windows[chunk..<min(chunk + 8, windows.count)])
            for row in try offsetCurves(loader: loader, video: 0, windows: part, grid: grid, rng: &rng) {
                for j in row.indices { summed[j] += Double(row[j]) }
            }
        }
        let curve = summed.map { $0 / Double(windows.count) }
        let best = curve.indices.max { curve[$0] < curve[$1] } ?? grid.steps
        let offset = Double(best - grid.steps) * grid.step
        let median = curve.sorted()[curve.count / 2]
        return SyncEstimate(file: file, offset: offset, frames: offset * video.frameRate, frameRate: video.frameRate,
                            confidence: curve[best] - median, windows: windows.count,
                            candidates: (0..<grid.candidates).map { Double($0 - grid.steps) * grid.step }, curve: curve)
    }
}
