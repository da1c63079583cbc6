import Corpora
import Foundation
import Pipeline
import TensorCore
import Models

/// Frozen features of whole videos (`docs/methods.md`, "Evaluation protocols"): a video's feature is the mean of its
/// encoder's embeddings of `clips` uniformly spaced clips, centre-cropped, unaugmented.
public struct VideoFeatures {
    public var ids: [String]
    public var labels: [String]
    /// `[videos, dimension]`, row-major.
    public var values: [Float]
    public var dimension: Int

    public init(ids: [String], labels: [String], values: [Float], dimension: Int) {
        precondition(values.count == ids.count * dimension && labels.count == ids.count,
                     "VideoFeatures: \(ids.count) ids, \(labels.count) labels and \(values.count) values of dimension \(dimension)")
        (self.ids, self.labels, self.values, self.dimension) = (ids, labels, values, dimension)
    }

    /// Features of the videos of `split` with a `labelKey` label (the others are skipped).
    public static func extract(model: TrainModel, modality: Modality, corpus: Corpus, split: String, labelKey: String,
                               clips: Int, geometry: ClipGeometry,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> (VideoFeatures, [CorpusProblem]) {
        let (features, problems) = try extract(models: [model], modality: modality, corpus: corpus, split: split, labelKey: labelKey,
                                               clips: clips, geometry: geometry, progress: progress)
        return (features[0], problems)
    }

    /// The features of several models (the same architecture's input: e.g. trained and at
    /// initialisation) from one decode of each video's clips; one `VideoFeatures` per model.
    public static func extract(models: [TrainModel], modality: Modality, corpus: Corpus, split: String, labelKey: String,
                               clips: Int, geometry: ClipGeometry,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> ([VideoFeatures], [CorpusProblem]) {
        precondition(!models.isEmpty, "VideoFeatures.extract: no models")
        var (videos, problems) = SampledVideo.load(corpus: corpus, split: split, needs: [modality], geometry: geometry)
        videos = videos.filter { $0.labels[labelKey] != nil }
        let loader = ClipLoader(videos: videos, geometry: geometry, video: .none, audio: .none)
        let sampler = ClipSampler(videos: videos.isEmpty ? [placeholder] : videos, spec: ExampleSpec(views: [ViewRequest(modality)]),
                                  geometry: geometry, seed: 0)
        for model in models { model.eval() }
        defer { for model in models { model.train() } }
        let shape = loader.clipShape(modality), size = shape.reduce(1, *)
        var features = [VideoFeatures](repeating: VideoFeatures(ids: [], labels: [], values: [], dimension: 0), count: models.count)
        var rng = SeededRandom(seed: 0)
        progress(0, videos.count)
        for (v, video) in videos.enumerated() {
            let starts = sampler.uniformStarts(video: v, count: clips)
            var values = [Float](repeating: 0, count: starts.count * size)
            do {
                try values.withUnsafeMutableBufferPointer { b in
                    for (k, s) in starts.enumerated() { try loader.load(modality, video: v, start: s, rng: &rng, into: b.baseAddress! + k * size) }
                }
            } catch {
                problems.append(CorpusProblem(file: video.path, problem: "\(error)"))
                continue
            }
            let x = Tensor(shape: [starts.count] + shape, data: values)
            for (m, model) in models.enumerated() {
                let embedding = Autograd.withoutGradients {
                    model.encode(modality, x).mean(axes: [0])
                }
                features[m].ids.append(video.id)
                features[m].labels.append(video.labels[labelKey]!)
                features[m].values += embedding.data
                features[m].dimension = embedding.count
            }
            progress(v + 1, videos.count)
        }
        return (features, problems)
    }

    static let placeholder = SampledVideo(id: "", path: "", duration: 10, hasVideo: true, hasAudio: true)

    public var count: Int { ids.count }

    public func row(_ i: Int) -> ArraySlice<Float> { values[(i * dimension)..<((i + 1) * dimension)] }
}

