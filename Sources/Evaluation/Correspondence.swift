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
/// The judge is the checkpoint's avc head (the larger of its two logits) or, for a checkpoint
/// trained with `avsync` alone, the avsync head's decision (its in-sync score above the
/// method's threshold, on time-resolved features): both answer "does this sound belong to
/// this clip?".
/// `progress(done, total)` is called after each video.
public func correspondenceAccuracy(model: TrainModel, corpus: Corpus, split: String, clips: Int, geometry: ClipGeometry,
                                   label: String = "class", seed: UInt64 = 0,
                                   progress: ((Int, Int) -> Void)? = nil) throws -> CorrespondenceResult {
    guard model.video != nil, model.audio != nil, let judge = CorrespondenceJudge(model: model) else {
        throw EvaluationError.missing("the checkpoint has no avc or avsync head (train with the avc or avsync objective)")
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
        defer { progress?(v + 1, videos.count) }
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
        let predictions = judge.corresponds(video: Tensor(shape: [labels.count] + loader.clipShape(.video), data: frames),
                                            audio: Tensor(shape: [labels.count] + loader.clipShape(.audio), data: audio))
        for (predicted, (truth, same)) in zip(predictions.map { $0 ? 1 : 0 }, zip(labels, sameLabel)) {
            counts[truth] += 1
            if predicted == truth { correct[truth] += 1 }
            if let same {
                labelledCounts[same ? 1 : 0] += 1
                if predicted == truth { labelledCorrect[same ? 1 : 0] += 1 }
            }
        }
    }
    return CorrespondenceResult(judge: judge.name, correct: correct, counts: counts, labelledCorrect: labelledCorrect,
                                labelledCounts: labelledCounts, problems: problems)
}

/// Which head says whether a sound belongs to a clip: the avc head when the checkpoint has
/// one, else the avsync head.
enum CorrespondenceJudge {
    case avc(TrainModel, AVCHead)
    case avsync(TrainModel, AVSync, AVSync.Head)

    init?(model: TrainModel) {
        if let (_, head) = model.objective(AVC.self) { self = .avc(model, head) }
        else if let (method, head) = model.objective(AVSync.self) { self = .avsync(model, method, head) }
        else { return nil }
    }

    /// The name users know the head by.
    var name: String {
        switch self {
        case .avc: "avc"
        case .avsync: "avsync"
        }
    }

    /// `video: [B, 3, T, H, W]` clips, `audio: [B, 1, 96, 64]` log-mels → `[B]`: does row i's
    /// sound belong to row i's clip?
    func corresponds(video: Tensor, audio: Tensor) -> [Bool] {
        Autograd.withoutGradients {
            switch self {
            case .avc(let model, let head):
                return head(video: model.encode(.video, video), audio: model.encode(.audio, audio)).argmax(axis: 1).map { $0 == 1 }
            case .avsync(let model, let method, let head):
                let scores = method.syncScores(video: AVSync.timeResolved(video: model.featureMap(.video, video)),
                                               audio: AVSync.timeResolved(audio: model.featureMap(.audio, audio)), head: head)
                return scores.map { $0 > method.decisionThreshold }
            }
        }
    }
}

/// What `correspondenceAccuracy` found: overall, and on each kind of pair (a head that says
/// "yes" to everything is right on every own-audio pair and wrong on every other one).
public struct CorrespondenceResult {
    /// The head that judged the pairs: `avc` or `avsync` (`CorrespondenceJudge`).
    public var judge: String
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
