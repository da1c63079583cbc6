import Corpora
import Encoders
import Foundation
import Objectives
import Pipeline
import TensorCore
import Models

/// `eval avc`: correspondence accuracy on balanced held-out pairs. For each video of the split
/// and each of `clips` uniformly spaced times: the clip with its own audio (label 1) and the
/// clip with audio of another video of the split at a random time (label 0). The pairs of
/// label 0 are also counted by whether the other video has the same value of `label` (a
/// corpus label such as `class`): those negatives share the clip's kind of sound, so only
/// the timing can reject them.
public func correspondenceAccuracy(model: TrainModel, corpus: Corpus, split: String, clips: Int, geometry: ClipGeometry,
                                   label: String = "class", seed: UInt64 = 0) throws -> CorrespondenceResult {
    guard let (_, head) = model.objective(AVC.self), model.video != nil, model.audio != nil else {
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
    // Of the label-0 pairs whose two videos both carry `label`: right answers and counts,
    // [0] for another value, [1] for the same.
    var labelledCorrect = [0, 0], labelledCounts = [0, 0]
    for v in videos.indices {
        let starts = sampler.uniformStarts(video: v, count: clips)
        var frames = [Float](repeating: 0, count: 2 * starts.count * videoSize)
        var audio = [Float](repeating: 0, count: 2 * starts.count * audioSize)
        var labels: [Int] = []
        // Per row: for an other-audio pair whose videos both carry `label`, whether the values match.
        var sameLabel: [Bool?] = []
        try frames.withUnsafeMutableBufferPointer { fb in
            try audio.withUnsafeMutableBufferPointer { ab in
                for (k, s) in starts.enumerated() {
                    var other = Int(rng.next() % UInt64(videos.count - 1))
                    if other >= v { other += 1 }
                    let otherStart = rng.uniform(0, sampler.uniformStarts(video: other, count: 2)[1])
                    let same = videos[v].labels[label].flatMap { mine in videos[other].labels[label].map { $0 == mine } }
                    for (pair, (source, start)) in [(v, s), (other, otherStart)].enumerated() {
                        let row = 2 * k + pair
                        try loader.load(.video, video: v, start: s, rng: &rng, into: fb.baseAddress! + row * videoSize)
                        try loader.load(.audio, video: source, start: start, rng: &rng, into: ab.baseAddress! + row * audioSize)
                        labels.append(pair == 0 ? 1 : 0)
                        sameLabel.append(pair == 0 ? nil : same)
                    }
                }
            }
        }
        let logits = Autograd.withoutGradients {
            head(video: model.encode(.video, Tensor(shape: [labels.count] + loader.clipShape(.video), data: frames)),
                 audio: model.encode(.audio, Tensor(shape: [labels.count] + loader.clipShape(.audio), data: audio)))
        }
        for (predicted, (truth, same)) in zip(logits.argmax(axis: 1), zip(labels, sameLabel)) {
            counts[truth] += 1
            if predicted == truth { correct[truth] += 1 }
            if let same {
                labelledCounts[same ? 1 : 0] += 1
                if predicted == truth { labelledCorrect[same ? 1 : 0] += 1 }
            }
        }
    }
    return CorrespondenceResult(correct: correct, counts: counts, labelledCorrect: labelledCorrect,
                                labelledCounts: labelledCounts, problems: problems)
}

/// What `correspondenceAccuracy` found: overall, and on each kind of pair (a head that says
/// "yes" to everything is right on every own-audio pair and wrong on every other one).
public struct CorrespondenceResult {
    /// Right answers on the pairs with audio of another video (`[0]`) and with the clip's own audio (`[1]`).
    public var correct: [Int]
    public var counts: [Int]
    /// Of the pairs with audio of another video where both videos carry the label: right
    /// answers and counts when the label differs (`[0]`) and when it is the same (`[1]`).
    public var labelledCorrect: [Int]
    public var labelledCounts: [Int]
    public var problems: [CorpusProblem]

    public var pairs: Int { counts[0] + counts[1] }
    public var accuracy: Double { Double(correct[0] + correct[1]) / Double(max(pairs, 1)) }
    public var ownAudioAccuracy: Double { Double(correct[1]) / Double(max(counts[1], 1)) }
    public var otherAudioAccuracy: Double { Double(correct[0]) / Double(max(counts[0], 1)) }
    /// The other-audio pairs whose videos have another label (`sameLabel` false) or the same one.
    public func otherAudioPairs(sameLabel: Bool) -> Int { labelledCounts[sameLabel ? 1 : 0] }
    /// Accuracy on the other-audio pairs whose videos have another label (`sameLabel` false)
    /// or the same one; nil when there are none.
    public func otherAudioAccuracy(sameLabel: Bool) -> Double? {
        let pairs = otherAudioPairs(sameLabel: sameLabel)
        return pairs > 0 ? Double(labelledCorrect[sameLabel ? 1 : 0]) / Double(pairs) : nil
    }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case missing(String)
    public var description: String {
        switch self {
        case .missing(let why): why
        }
    }
}
