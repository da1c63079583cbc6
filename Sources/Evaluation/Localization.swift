import Corpora
import Foundation
import Media
import Models
import NN
import Objectives
import Pipeline
import TensorCore

/// Heatmaps of where a sound comes from, from an `avnce` checkpoint trained with
/// `localize: true` (EZ-VSL): for a time t, the clip of the checkpoint's geometry centred on t
/// (moved inside the file near its ends) is read at the whole frame — the short side at the
/// geometry's `shortSide`, the long side in proportion rounded to a multiple of 16, so nothing
/// is cropped — and each location of the time-averaged feature map is projected and compared
/// (cosine) with the projected audio of the same window. The coarse map `[h, w]` is upsampled
/// bilinearly (pixel centres aligned) to the file's frame size.
public struct Localizer {
    public let scorer: any LocationScorer
    public let geometry: ClipGeometry

    /// The heatmaps of an `avnce` `localize: true` model.
    public init(model: TrainModel, geometry: ClipGeometry) throws {
        self.init(scorer: try AVNCELocations(model: model), geometry: geometry)
    }

    /// Heatmaps from any scorer of locations (the tests use one whose answer is known).
    public init(scorer: any LocationScorer, geometry: ClipGeometry) {
        (self.scorer, self.geometry) = (scorer, geometry)
    }

    /// One file's heatmaps at a list of times.
    public struct Maps: Sendable {
        /// The file's frame size, and the coarse map's.
        public var width: Int, height: Int, coarseWidth: Int, coarseHeight: Int
        public var times: [Double]
        /// Where each clip started (seconds).
        public var clipStarts: [Double]
        /// Cosine similarity of the sound with each pixel: `times.count` maps of `[height * width]`.
        public var maps: [[Float]]
        /// The coarse maps `[coarseHeight * coarseWidth]` before upsampling.
        public var coarse: [[Float]]
    }

    /// The decoding size for a `width`x`height` source: short side `shortSide`, long side in
    /// proportion rounded to a multiple of 16 (the encoder's stride).
    public func inputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let s = geometry.shortSide
        func long(_ l: Int, _ short: Int) -> Int { max(16, Int((Double(l) * Double(s) / Double(short) / 16).rounded()) * 16) }
        return width >= height ? (long(width, height), s) : (s, long(height, width))
    }

    /// Heatmaps of `file` at each of `times` (seconds); throws naming the file when it lacks
    /// video or audio or is shorter than one clip.
    public func heatmaps(file: String, times: [Double], batch: Int = 8) throws -> Maps {
        let info = try MediaInfo(path: file)
        guard let stream = info.video.first else { throw EvaluationError.missing("\(file): no video stream (localisation needs video and audio)") }
        guard !info.audio.isEmpty else { throw EvaluationError.missing("\(file): no audio stream (localisation needs video and audio)") }
        let span = geometry.frameSpacing * Double(geometry.frames - 1)
        let clip = max(geometry.duration, span + 1e-3)
        guard info.duration >= clip else {
            throw EvaluationError.missing(String(format: "%@: %.2f s is shorter than one %.2f s clip", file, info.duration, clip))
        }
        if let bad = times.first(where: { !$0.isFinite || $0 < 0 || $0 > info.duration }) {
            throw EvaluationError.missing(String(format: "%@: time %g s is outside the file (0 to %.2f s)", file, bad, info.duration))
        }
        let (w, h) = (stream.width, stream.height)
        let input = inputSize(width: w, height: h)
        let starts = times.map { min(max($0 - clip / 2, 0), max(0, info.duration - clip - 1e-3)) }
        let reader = try VideoReader(path: file, threads: 1)
        let item = SampledVideo(id: (file as NSString).lastPathComponent, path: file, duration: info.duration, hasVideo: true, hasAudio: true)
        let loader = ClipLoader(videos: [item], geometry: geometry, video: .none, audio: .none)
        let audioShape = loader.clipShape(.audio)
        let plane = input.width * input.height
        let scale = 1 / (255 * geometry.std), offset = geometry.mean / geometry.std
        var rng = SeededRandom(seed: 0)
        var maps: [[Float]] = [], coarse: [[Float]] = []
        var coarseSize = (width: 0, height: 0)
        for first in stride(from: 0, to: times.count, by: batch) {
            let part = Array(starts[first..<min(first + batch, starts.count)])
            let n = part.count
            var video = [Float](repeating: 0, count: n * 3 * geometry.frames * plane)
            var audio = [Float](repeating: 0, count: n * audioShape.reduce(1, *))
            for (k, s) in part.enumerated() {
                let frames = try reader.frames(at: geometry.frameTimes(start: s),
                                               geometry: FrameGeometry(resize: .exact(width: input.width, height: input.height)))
                // [3, T, H, W] per clip, normalised as the training views are.
                let base = k * 3 * geometry.frames * plane
                for t in 0..<geometry.frames {
                    for p in 0..<plane {
                        for c in 0..<3 {
                            video[base + (c * geometry.frames + t) * plane + p] = Float(frames.pixels[(t * plane + p) * 3 + c]) * scale - offset
                        }
                    }
                }
                try audio.withUnsafeMutableBufferPointer { b in
                    try loader.load(.audio, video: 0, start: s, rng: &rng, into: b.baseAddress! + k * audioShape.reduce(1, *))
                }
            }
            let scores = scorer.scores(video: Tensor(shape: [n, 3, geometry.frames, input.height, input.width], data: video),
                                       audio: Tensor(shape: [n] + audioShape, data: audio))
            precondition(scores.rank == 3 && scores.shape[0] == n, "Localizer: the scorer gave \(scores.shape) for \(n) clips")
            let (ch, cw) = (scores.shape[1], scores.shape[2])
            coarseSize = (cw, ch)
            for k in 0..<n {
                let map = Array(scores.data[(k * ch * cw)..<((k + 1) * ch * cw)])
                coarse.append(map)
                maps.append(LocalizationMetrics.upsampled(map, h: ch, w: cw, height: h, width: w))
            }
        }
        return Maps(width: w, height: h, coarseWidth: coarseSize.width, coarseHeight: coarseSize.height,
                    times: times, clipStarts: starts, maps: maps, coarse: coarse)
    }
}

/// Scores each location of clips for how much it makes the sound of the same window.
public protocol LocationScorer {
    /// `video: [n, 3, frames, H, W]` (normalised as the training views), `audio: [n, 1, melFrames,
    /// bands]` → `[n, h, w]` scores, one per location of a coarse grid over the frame.
    func scores(video: Tensor, audio: Tensor) -> Tensor
}

/// The locations of an `avnce` `localize: true` model: the cosine similarity of each projected
/// location of the time-averaged video feature map with the projected audio.
public struct AVNCELocations: LocationScorer {
    public let model: TrainModel
    let head: AVNCE.Head
    let locations: Conv2d

    public init(model: TrainModel) throws {
        guard model.video != nil, model.audio != nil, let (_, head) = model.objective(AVNCE.self), let locations = head.locations else {
            throw EvaluationError.missing("the checkpoint has no localising head (train avnce with localize: true)")
        }
        (self.model, self.head, self.locations) = (model, head, locations)
    }

    public func scores(video: Tensor, audio: Tensor) -> Tensor {
        model.eval()
        defer { model.train() }
        return Autograd.withoutGradients {
            let features = model.featureMap(.video, video)
            let v = locations(features.mean(axes: [2])).l2Normalized(axis: 1)  // [n, 128, h, w]
            let a = head.audio(model.encode(.audio, audio))  // [n, 128]
            let (n, d, h, w) = (v.shape[0], v.shape[1], v.shape[2], v.shape[3])
            return LocalizedInfoNCE().heatmaps(locations: v.reshaped([n, d, h * w]), audio: a).reshaped([n, h, w])
        }
    }
}
