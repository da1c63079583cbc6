import Corpora
import Encoders
import Foundation
import Objectives
import Pipeline
import TensorCore
import Training

/// `eval avc`: correspondence accuracy on balanced held-out pairs. For each video of the split
/// and each of `clips` uniformly spaced times: the clip with its own audio (label 1) and the
/// clip with audio of another video of the split at a random time (label 0).
public func correspondenceAccuracy(model: TrainModel, corpus: Corpus, split: String, clips: Int, geometry: ClipGeometry,
                                   seed: UInt64 = 0) throws -> CorrespondenceResult {
    guard let head = model.heads.items.first(where: { $0.0 == "avc" })?.1 as? AVCHead, model.video != nil, model.audio != nil else {
        throw EvaluationError.missing("the checkpoint has no avc head (train with the avc objective)")
    }
    let (videos, problems) = SampledVideo.load(corpus: corpus, split: split, needs: [.video, .audio], geometry: geometry)
    guard videos.count >= 2 else { throw EvaluationError.missing("\(corpus.root): split '\(split)' has \(videos.count) usable video(s); need 2") }
    let loader = ClipLoader(videos: videos, geometry: geometry, video: .none, audio: .none)
    let sampler = ClipSampler(videos: videos, spec: ExampleSpec(views: [ViewRequest(.video)]), geometry: geometry, seed: seed)
    var rng = SeededRandom(seed: seed)
    let (videoSize, audioSize) = (loader.clipShape(.video).reduce(1, *), loader.clipShape(.audio).reduce(1, *))
    model.eval()
    defer { model.train() }
    // Right answers on pairs of label 0 and 1, and how many of each.
    var correct = [0, 0], counts = [0, 0]
    for v in videos.indices {
        let starts = sampler.uniformStarts(video: v, count: clips)
        var frames = [Float](repeating: 0, count: 2 * starts.count * videoSize)
        var audio = [Float](repeating: 0, count: 2 * starts.count * audioSize)
        var labels: [Int] = []
        try frames.withUnsafeMutableBufferPointer { fb in
            try audio.withUnsafeMutableBufferPointer { ab in
                for (k, s) in starts.enumerated() {
                    var other = Int(rng.next() % UInt64(videos.count - 1))
                    if other >= v { other += 1 }
                    let otherStart = rng.uniform(0, sampler.uniformStarts(video: other, count: 2)[1])
                    for (pair, (source, start)) in [(v, s), (other, otherStart)].enumerated() {
                        let row = 2 * k + pair
                        try loader.load(.video, video: v, start: s, rng: &rng, into: fb.baseAddress! + row * videoSize)
                        try loader.load(.audio, video: source, start: start, rng: &rng, into: ab.baseAddress! + row * audioSize)
                        labels.append(pair == 0 ? 1 : 0)
                    }
                }
            }
        }
        let logits = Autograd.withoutGradients {
            head(video: model.video!(Tensor(shape: [labels.count] + loader.clipShape(.video), data: frames)),
                 audio: model.audio!(Tensor(shape: [labels.count] + loader.clipShape(.audio), data: audio)))
        }
        for (predicted, label) in zip(logits.argmax(axis: 1), labels) {
            counts[label] += 1
            if predicted == label { correct[label] += 1 }
        }
    }
    return CorrespondenceResult(correct: correct, counts: counts, problems: problems)
}

/// What `correspondenceAccuracy` found: overall, and on each kind of pair (a head that says
/// "yes" to everything is right on every own-audio pair and wrong on every other one).
public struct CorrespondenceResult {
    /// Right answers on the pairs with audio of another video (`[0]`) and with the clip's own audio (`[1]`).
    public var correct: [Int]
    public var counts: [Int]
    public var problems: [CorpusProblem]

    public var pairs: Int { counts[0] + counts[1] }
    public var accuracy: Double { Double(correct[0] + correct[1]) / Double(max(pairs, 1)) }
    public var ownAudioAccuracy: Double { Double(correct[1]) / Double(max(counts[1], 1)) }
    public var otherAudioAccuracy: Double { Double(correct[0]) / Double(max(counts[0], 1)) }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case missing(String)
    public var description: String {
        switch self {
        case .missing(let why): why
        }
    }
}
